// Remote Credential Guard at the SSPI boundary, side by side with WinPR's built-in Kerberos, in one
// process against a throwaway MIT KDC (tests/lab/kdc.sh): after a login driven as FreeRDP drives it
// (tests/interop/harness), QueryContextAttributes(SECPKG_CRED_ATTR_TICKET_LOGON) on the client
// context, as nla.c asks for it with +remoteGuard. What comes back is checked with libkrb5 the way a
// server uses it (tests/e2e/rcg_proof.c): the service ticket decrypts with the server's keytab, the
// KRB-CRED reads with krb5_rd_cred, holds the client's TGT flagged forwarded, and that TGT gets a
// ticket for HTTP/proof.lab.test from the KDC. Our buffers also go through our KERB_TICKET_LOGON
// encoder and decoder unchanged.
//
// Ours is asserted exactly; WinPR's outcome is printed as "finding:" (side by side) and asserted
// only where it works.
// Standard headers before cmocka's (its fail() macro breaks <fstream>).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <winpr/secapi.h>

#include "../e2e/rcg_proof.h"
#include "interop/fixture.h"
#include "interop/kdc_lab.h"
#include "kerberos/ticket_logon.h"

#ifndef NLASSP_KDC_SH
#error "NLASSP_KDC_SH must name tests/lab/kdc.sh"
#endif

using namespace nlassp::interop;

namespace {

constexpr Impl M = Impl::Module;
constexpr Impl W = Impl::WinPR;
constexpr const char* kProof = "HTTP/proof.lab.test@LAB.TEST";

KdcLab g_lab;
std::string g_ccache;        // FILE: ccache of `kinit -f alice` (or -F)
std::string g_conf;          // the lab's krb5.conf
std::string g_conf_nofwd;    // the same with forwardable = false

const char* impl_name(Impl i) { return i == M ? "module" : "WinPR"; }

const char* kdc_sh()
{
	const char* env = std::getenv("NLASSP_KDC_SH");
	return env && *env ? env : NLASSP_KDC_SH;
}

int sh(const std::string& cmd)
{
	const int rc = std::system(cmd.c_str());
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool kadmin(const std::string& query)
{
	return sh("PATH=\"$PATH:/usr/sbin\" kadmin.local -r LAB.TEST -q '" + query + "' >>'" + g_lab.dir +
	          "/rcg-setup.log' 2>&1") == 0;
}

// kinit alice with kinit's `flag` (-f forwardable, -F not) into g_ccache.
bool kinit(const char* flag)
{
	return sh("printf '%s\\n' 'Passw0rd!' | KRB5CCNAME='" + g_ccache + "' kinit " + flag +
	          " alice@LAB.TEST >>'" + g_lab.dir + "/rcg-setup.log' 2>&1") == 0;
}

int group_setup(void**)
{
	std::string why;
	if (!kdc_lab_start(g_lab, kdc_sh(), &why)) {
		print_error("cannot start the lab KDC: %s\n", why.c_str());
		kdc_lab_teardown(g_lab);
		return -1;
	}
	// The server's host/ keys (ours asks for host/, WinPR's for HOST/) and a principal for the
	// forwarded TGT to prove itself with.
	for (const char* p : {"host/localhost", "HOST/localhost"})
		if (!kadmin(std::string("addprinc -randkey ") + p) || !kadmin("ktadd -k " + g_lab.keytab() + " " + p))
			return -1;
	if (!kadmin(std::string("addprinc -randkey ") + kProof))
		return -1;
	// A user who logs on with her UPN (the enterprise name is the account: MIT's db2 has no aliases).
	if (!kadmin("addprinc -pw Passw0rd! grace\\@corp.example"))
		return -1;
	g_ccache = "FILE:" + g_lab.dir + "/alice.ccache";
	g_conf = g_lab.krb5_conf();
	g_conf_nofwd = g_lab.dir + "/krb5.noforward.conf";
	return sh("sed 's/forwardable = true/forwardable = false/' '" + g_conf + "' >'" + g_conf_nofwd + "'") == 0 ? 0
	                                                                                                          : -1;
}

int group_teardown(void**)
{
	kdc_lab_teardown(g_lab);
	return 0;
}

int rg_setup(void** state)
{
	if (fixture_setup(state) != 0)
		return -1;
	setenv("KRB5_CONFIG", g_conf.c_str(), 1);
	kdc_lab_remove_ccache(g_ccache);
	kdc_lab_remove_ccache(g_lab.default_ccache());
	return 0;
}

int rg_teardown(void** state)
{
	setenv("KRB5_CONFIG", g_conf.c_str(), 1);
	kdc_lab_remove_ccache(g_ccache);
	kdc_lab_remove_ccache(g_lab.default_ccache());
	return fixture_teardown(state);
}

// Negotiate (as FreeRDP), target TERMSRV/localhost, the server with the keytab, the ticket logon
// asked for. `from_ccache`: alice with an empty password and the kinit cache (FreeRDP's "/p:").
void configure_rg(Fixture* fx, Impl client, Impl server, bool from_ccache, const char* list = "")
{
	configure(fx, client, server, "Negotiate", false);
	Config& c = fx->config;
	c.client.domain = "LAB.TEST";
	c.client.package_list = list;
	if (from_ccache) {
		c.client.password = "";
		c.client.kerberos_cache = g_ccache;
	}
	c.server.keytab = g_lab.keytab();
	c.server.sam_file = fx->sam;
	c.query_ticket_logon = true;
	c.messages = 1;
}

int proof_tgs() { return kdc_lab_count_tgs(g_lab, kProof); }

// The login worked and `who`'s ticket logon is what a server can use; prints it.
void expect_usable_ticket_logon(Fixture* fx, Impl who, const char* client = "alice@LAB.TEST")
{
	const TicketLogonQuery& q = fx->result.ticket_logon;
	EXPECT_TRUE(fx, fx->result.established);
	EXPECT_STATUS(fx, q.status, SEC_E_OK);
	EXPECT_TRUE(fx, q.message_type == KerbTicketLogon);
	EXPECT_TRUE(fx, q.flags == KERB_LOGON_FLAG_REDIRECTED);
	const int before = proof_tgs();
	rcg_proof proof{};
	const int rc = rcg_prove(g_lab.keytab().c_str(), q.service_ticket.data(), q.service_ticket.size(),
	                         q.ticket_granting_ticket.data(), q.ticket_granting_ticket.size(), kProof, &proof);
	print_message("finding: %s ticket logon: %zu-byte ticket for %s, %zu-byte KRB-CRED %s, TGT %s %s, proof %s%s\n",
	              impl_name(who), q.service_ticket.size(), proof.service, q.ticket_granting_ticket.size(),
	              proof.krb_cred_sealed ? "sealed" : "unsealed (etype 0)", proof.tgt_server,
	              proof.tgt_forwarded ? "forwarded" : "NOT forwarded",
	              rc == 0 ? proof.proof_service : "failed: ", rc == 0 ? "" : proof.error);
	EXPECT_TRUE(fx, rc == 0);
	if (std::strcmp(proof.client, client) != 0)
		print_message("the ticket logon is %s's, not %s's\n", proof.client, client);
	EXPECT_TRUE(fx, std::strcmp(proof.client, client) == 0);
	EXPECT_TRUE(fx, proof.tgt_forwarded == 1);
	EXPECT_TRUE(fx, proof_tgs() == before + 1);   // the forwarded TGT really talked to the KDC
}

void module_client_from_ccache(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	assert_true(kinit("-f"));
	configure_rg(fx, M, W, true);
	run(fx);
	expect_usable_ticket_logon(fx, M);
	const TicketLogonQuery& q = fx->result.ticket_logon;
	// Ours: host/<target host>, an unsealed KRB-CRED (as WinPR's), and our KERB_TICKET_LOGON wire
	// form round-trips the real buffers.
	nlassp::TicketLogon t;
	t.flags = q.flags;
	t.service_ticket = nlassp::SecretBytes(nlassp::ByteView(q.service_ticket));
	t.ticket_granting_ticket = nlassp::SecretBytes(nlassp::ByteView(q.ticket_granting_ticket));
	nlassp::SecretBytes wire;
	nlassp::TicketLogon back;
	assert_true(nlassp::kerberos::encode_ticket_logon(t, wire));
	assert_true(nlassp::kerberos::decode_ticket_logon(wire.view(), back) == nlassp::Error::None);
	assert_true(back.service_ticket.view().size() == q.service_ticket.size() &&
	            std::memcmp(back.service_ticket.data(), q.service_ticket.data(), q.service_ticket.size()) == 0);
	assert_true(back.ticket_granting_ticket.view().size() == q.ticket_granting_ticket.size() &&
	            std::memcmp(back.ticket_granting_ticket.data(), q.ticket_granting_ticket.data(),
	                        q.ticket_granting_ticket.size()) == 0);
}

void winpr_client_from_ccache(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	assert_true(kinit("-f"));
	configure_rg(fx, W, M, true);
	run(fx);
	expect_usable_ticket_logon(fx, W);
	// A server context makes no ticket logon.
	EXPECT_STATUS(fx, fx->result.server_ticket_logon_status, SEC_E_UNSUPPORTED_FUNCTION);
}

void kerberos_package_directly(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	assert_true(kinit("-f"));
	configure_rg(fx, M, M, true);
	fx->config.package = "Kerberos";
	run(fx);
	expect_usable_ticket_logon(fx, M);
	EXPECT_STATUS(fx, fx->result.server_ticket_logon_status, SEC_E_UNSUPPORTED_FUNCTION);
}

// A password logon's private TGT is asked forwardable even where krb5.conf says forwardable =
// false; WinPR's asks for a non-forwardable one (krb5glue_get_init_creds) and cannot forward it.
void password_logon(void** state, Impl client)
{
	auto* fx = static_cast<Fixture*>(*state);
	setenv("KRB5_CONFIG", g_conf_nofwd.c_str(), 1);
	configure_rg(fx, client, client == M ? W : M, false);
	run(fx);
	if (client == M) {
		expect_usable_ticket_logon(fx, M);
		return;
	}
	print_message("finding: WinPR password logon (forwardable = false): login %s, ticket logon %s\n",
	              fx->result.established ? "ok" : "failed", status_string(fx->result.ticket_logon.status).c_str());
}
void module_password_logon(void** state) { password_logon(state, M); }
void winpr_password_logon(void** state) { password_logon(state, W); }

// A password logon with a UPN (/u:grace@corp.example, no domain): the logon asks the enterprise
// name grace\@corp.example@LAB.TEST, and the ticket logon is made for the tickets' own client, the
// name in the logon's cache: the service ticket and the forwarded TGT are grace's.
void module_upn_password_logon(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_rg(fx, M, W, false);
	fx->config.client.user = "grace@corp.example";
	fx->config.client.domain = "";
	run(fx);
	expect_usable_ticket_logon(fx, M, "grace\\@corp.example@LAB.TEST");
}

int forwarded_tgt_requests()
{
	std::ifstream log(g_lab.log());
	std::string line;
	int n = 0;
	while (std::getline(log, line))
		n += line.find("TGS_REQ") != std::string::npos && line.find("for krbtgt/LAB.TEST@LAB.TEST") != std::string::npos;
	return n;
}

// kinit -F: the TGT is not forwardable. Ours refuses with SEC_E_DELEGATION_POLICY before asking
// the KDC; WinPR's asks and gets KDC_ERR_BADOPTION.
void not_forwardable(void** state, Impl client)
{
	auto* fx = static_cast<Fixture*>(*state);
	assert_true(kinit("-F"));
	configure_rg(fx, client, client == M ? W : M, true);
	const int before = forwarded_tgt_requests();
	run(fx);
	EXPECT_TRUE(fx, fx->result.established);
	const SECURITY_STATUS st = fx->result.ticket_logon.status;
	print_message("finding: %s, TGT not forwardable: %s, %d TGS_REQ for a forwarded TGT\n", impl_name(client),
	              status_string(st).c_str(), forwarded_tgt_requests() - before);
	if (client == M) {
		EXPECT_STATUS(fx, st, SEC_E_DELEGATION_POLICY);
		EXPECT_TRUE(fx, forwarded_tgt_requests() == before);
		EXPECT_TRUE(fx, fx->result.ticket_logon.service_ticket.empty());
	} else {
		EXPECT_TRUE(fx, st != SEC_E_OK);
	}
}
void module_not_forwardable(void** state) { not_forwardable(state, M); }
void winpr_not_forwardable(void** state) { not_forwardable(state, W); }

// The KDC refuses the forwarded TGT (krbtgt/LAB.TEST -allow_tgs_req: KDC_ERR_POLICY):
// SEC_E_DELEGATION_POLICY.
void kdc_refuses_forwarding(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	assert_true(kinit("-f"));
	assert_true(kadmin("modprinc -allow_tgs_req krbtgt/LAB.TEST@LAB.TEST"));
	configure_rg(fx, M, W, true);
	run(fx);
	const bool restored = kadmin("modprinc +allow_tgs_req krbtgt/LAB.TEST@LAB.TEST");
	EXPECT_TRUE(fx, fx->result.established);
	print_message("finding: module, KDC refuses to forward: %s\n",
	              status_string(fx->result.ticket_logon.status).c_str());
	EXPECT_STATUS(fx, fx->result.ticket_logon.status, SEC_E_DELEGATION_POLICY);
	assert_true(restored);
}

// Negotiate that ran NTLM cannot make a ticket logon.
void ntlm_logon(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_rg(fx, M, W, false, "!kerberos");
	fx->config.client.domain = "LAB";
	run(fx);
	EXPECT_TRUE(fx, fx->result.established);
	EXPECT_STATUS(fx, fx->result.ticket_logon.status, SEC_E_UNSUPPORTED_FUNCTION);
	EXPECT_TRUE(fx, fx->result.ticket_logon.service_ticket.empty());
}

} // namespace

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(module_client_from_ccache, rg_setup, rg_teardown),
		cmocka_unit_test_setup_teardown(winpr_client_from_ccache, rg_setup, rg_teardown),
		cmocka_unit_test_setup_teardown(kerberos_package_directly, rg_setup, rg_teardown),
		cmocka_unit_test_setup_teardown(module_password_logon, rg_setup, rg_teardown),
		cmocka_unit_test_setup_teardown(winpr_password_logon, rg_setup, rg_teardown),
		cmocka_unit_test_setup_teardown(module_upn_password_logon, rg_setup, rg_teardown),
		cmocka_unit_test_setup_teardown(module_not_forwardable, rg_setup, rg_teardown),
		cmocka_unit_test_setup_teardown(winpr_not_forwardable, rg_setup, rg_teardown),
		cmocka_unit_test_setup_teardown(kdc_refuses_forwarding, rg_setup, rg_teardown),
		cmocka_unit_test_setup_teardown(ntlm_logon, rg_setup, rg_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
