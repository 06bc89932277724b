// RC4-HMAC session keys, as Active Directory issues them for a service limited to RC4: the realm
// allows RC4 (tests/lab/kdc.sh kdc_rc4_enable) and TERMSRV/localhost has only an arcfour-hmac key
// and RC4 session keys (kdc_rc4_service); the KDC log must show ses=...arcfour-hmac for every
// service ticket. Our module against WinPR's built-in Kerberos (as FreeRDP runs it) both as client
// and as server, and against itself, through the harness (FreeRDP's credssp_auth.c sequence):
// login, then messages sealed both ways, as CredSSP's pubKeyAuth and TSCredentials are.
//
// Which per-message key and token format each pairing ends up with is decided in the handshake:
//   - WinPR's client sends no RFC 4537 enctype list, so our (MIT) acceptor keeps the RC4 key, and
//     WinPR wraps with RFC 4121 tokens under the RC4 key (its own layout, not RFC 4757);
//   - our client lists AES in its authenticator, so an acceptor that may use AES (WinPR's, ours)
//     answers with an AES acceptor subkey and both sides use RFC 4121 with AES;
//   - a client limited to RC4 (permitted_enctypes arcfour-hmac, alice given an RC4 key) keeps RC4
//     on both sides: every message is sealed with the RC4 key in WinPR's 56-byte layout, which
//     FreeRDP's credssp_auth.c (emulated by the harness: it cuts at cbSecurityTrailer and shrinks
//     the token buffer to the last token) carries; our client -> our server, WinPR's client -> our
//     server, and our client -> WinPR's acceptor, which seals with an RC4 acceptor subkey from its
//     AP-REP that MIT's GSSAPI drops and we take ourselves (kerberos/ap_rep.h).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "interop/fixture.h"
#include "interop/kdc_lab.h"

#ifndef NLASSP_KDC_SH
#error "NLASSP_KDC_SH must name tests/lab/kdc.sh"
#endif

using namespace nlassp::interop;

namespace {

constexpr Impl M = Impl::Module;
constexpr Impl W = Impl::WinPR;
constexpr const char* kService = "TERMSRV/localhost@LAB.TEST";

KdcLab g_lab;

const char* kdc_sh()
{
	const char* env = std::getenv("NLASSP_KDC_SH");
	return env && *env ? env : NLASSP_KDC_SH;
}

const char* impl_name(Impl i)
{
	return i == M ? "module" : "WinPR";
}

int group_setup(void**)
{
	std::string why;
	if (!kdc_lab_start(g_lab, kdc_sh(), &why)) {
		print_error("cannot start the lab KDC: %s\n", why.c_str());
		kdc_lab_teardown(g_lab);
		return -1;
	}
	// RC4 for the realm (the KDC reads it at start: restart it) and for the service.
	kdc_lab_stop_kdc(g_lab);
	if (!kdc_lab_run(g_lab, "kdc_rc4_enable && kdc_rc4_service TERMSRV/localhost \"$KDC_KEYTAB\" && "
	                        "kdc_rc4_client \"$KDC_DIR/rc4-only.conf\" alice") ||
	    !kdc_lab_start_kdc(g_lab, &why)) {
		print_error("cannot make the realm RC4: %s\n", why.c_str());
		return -1;
	}
	return 0;
}

int group_teardown(void**)
{
	kdc_lab_teardown(g_lab);
	return 0;
}

int rc4_setup(void** state)
{
	if (fixture_setup(state) != 0)
		return -1;
	auto* fx = static_cast<Fixture*>(*state);
	fx->expected_domain = "LAB.TEST";
	kdc_lab_remove_ccache(g_lab.default_ccache());
	return 0;
}

int rc4_teardown(void** state)
{
	kdc_lab_remove_ccache(g_lab.default_ccache());
	return fixture_teardown(state);
}

// TGS_REQ lines for the service whose session key was RC4.
int rc4_tickets()
{
	return kdc_lab_count_lines(g_lab, { "TGS_REQ", "ses=DEPRECATED:arcfour-hmac", "for TERMSRV/localhost@LAB.TEST" }) +
	       kdc_lab_count_lines(g_lab, { "TGS_REQ", "ses=arcfour-hmac", "for TERMSRV/localhost@LAB.TEST" });
}

void configure_rc4(Fixture* fx, Impl client, Impl server, const char* package, const char* list)
{
	configure(fx, client, server, package, false);
	Config& c = fx->config;
	c.client.domain = "LAB.TEST";
	c.client.package_list = list;
	c.server.keytab = g_lab.keytab();
	c.server.sam_file = fx->sam;
	// Five messages each way: 270, 1, 1024, 32 and 4096 bytes.
	c.messages = 5;
	// WinPR 3.10's Kerberos acceptor alone answers none of the acceptor queries.
	c.query_server = !(server == W && std::strcmp(package, "Kerberos") == 0);
}

// A complete login over an RC4 service ticket, then sealed messages both ways.
void rc4_login(void** state, Impl client, Impl server, const char* package, const char* list)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_rc4(fx, client, server, package, list);
	const int before = rc4_tickets();
	const int tgs_before = kdc_lab_count_tgs(g_lab, kService);
	run(fx);
	print_message("finding: %s -> %s %s: %s; trailer client %lu server %lu; %d RC4 ticket(s)\n", impl_name(client),
	              impl_name(server), package, fx->result.established ? "established" : "failed",
	              static_cast<unsigned long>(fx->result.client_sizes.cbSecurityTrailer),
	              static_cast<unsigned long>(fx->result.server_sizes.cbSecurityTrailer), rc4_tickets() - before);
	expect_full_success(fx, server);
	// A new service ticket, and its session key was RC4 (not an NTLM fallback, not AES).
	EXPECT_TRUE(fx, kdc_lab_count_tgs(g_lab, kService) == tgs_before + 1);
	EXPECT_TRUE(fx, rc4_tickets() == before + 1);
	// The per-message key: WinPR's client keeps the RC4 key (56-byte RFC 4121 tokens under RC4,
	// WinPR's layout); our client negotiates an AES acceptor subkey (60-byte AES tokens).
	const unsigned long want = client == W ? 56 : 60;
	for (const MessageRecord& m : fx->result.messages)
		EXPECT_TRUE(fx, m.signature_size == want);
}

// The client's krb5.conf permits RC4 only (both sides of the in-process run read it; the acceptor
// only needs RC4 allowed).
int rc4_only_setup(void** state)
{
	setenv("KRB5_CONFIG", (g_lab.dir + "/rc4-only.conf").c_str(), 1);
	return rc4_setup(state);
}

int rc4_only_teardown(void** state)
{
	setenv("KRB5_CONFIG", g_lab.krb5_conf().c_str(), 1);
	return rc4_teardown(state);
}

// alice, limited to RC4: every message both ways sealed with the RC4 key in WinPR's 56-byte layout,
// through FreeRDP's handling of the token buffer.
void rc4_only_login(void** state, Impl client, Impl server, const char* package, const char* list)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_rc4(fx, client, server, package, list);
	const int before = rc4_tickets();
	run(fx);
	print_message("finding: RC4-only %s -> %s %s: %s; trailer client %lu server %lu\n", impl_name(client),
	              impl_name(server), package, fx->result.established ? "established" : "failed",
	              static_cast<unsigned long>(fx->result.client_sizes.cbSecurityTrailer),
	              static_cast<unsigned long>(fx->result.server_sizes.cbSecurityTrailer));
	expect_full_success(fx, server);
	EXPECT_TRUE(fx, rc4_tickets() == before + 1);
	for (const MessageRecord& m : fx->result.messages)
		EXPECT_TRUE(fx, m.signature_size == 56);
}

} // namespace

static void rc4_only_krb_module_to_module(void** s) { rc4_only_login(s, M, M, "Kerberos", ""); }
static void rc4_only_nego_module_to_module(void** s) { rc4_only_login(s, M, M, "Negotiate", "!ntlm"); }
static void rc4_only_krb_module_to_winpr(void** s) { rc4_only_login(s, M, W, "Kerberos", ""); }
static void rc4_only_nego_module_to_winpr(void** s) { rc4_only_login(s, M, W, "Negotiate", "!ntlm"); }
static void rc4_only_krb_winpr_to_module(void** s) { rc4_only_login(s, W, M, "Kerberos", ""); }
static void rc4_only_nego_winpr_to_module(void** s) { rc4_only_login(s, W, M, "Negotiate", ""); }
static void krb_winpr_to_module(void** s) { rc4_login(s, W, M, "Kerberos", ""); }
static void krb_module_to_winpr(void** s) { rc4_login(s, M, W, "Kerberos", ""); }
static void krb_module_to_module(void** s) { rc4_login(s, M, M, "Kerberos", ""); }
static void nego_winpr_to_module(void** s) { rc4_login(s, W, M, "Negotiate", ""); }
static void nego_module_to_winpr(void** s) { rc4_login(s, M, W, "Negotiate", "!ntlm"); }
static void nego_module_to_module(void** s) { rc4_login(s, M, M, "Negotiate", "!ntlm"); }

int main()
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, rc4_setup, rc4_teardown)
		T(krb_winpr_to_module),
		T(krb_module_to_winpr),
		T(krb_module_to_module),
		T(nego_winpr_to_module),
		T(nego_module_to_winpr),
		T(nego_module_to_module),
#undef T
#define T(name) cmocka_unit_test_setup_teardown(name, rc4_only_setup, rc4_only_teardown)
		T(rc4_only_krb_module_to_module),
		T(rc4_only_nego_module_to_module),
		T(rc4_only_krb_module_to_winpr),
		T(rc4_only_nego_module_to_winpr),
		T(rc4_only_krb_winpr_to_module),
		T(rc4_only_nego_winpr_to_module),
#undef T
	};
	return cmocka_run_group_tests_name("kerberos with RC4 session keys", tests, group_setup, group_teardown);
}
