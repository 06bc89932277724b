// Kerberos and Negotiate between our module and WinPR's built-in packages, in one process, the
// way FreeRDP drives them (tests/interop/harness), against a throwaway MIT KDC on 127.0.0.1
// (tests/lab/kdc.sh, one per binary, started in the group setup before any GSSAPI use):
// module client -> WinPR server, WinPR client -> module server, module <-> module; password
// logins, logins from a kinit ccache with a NULL identity, wrong password, unknown service
// principal, KDC stopped; every successful login then seals messages both ways.
//
// Our statuses are asserted exactly; WinPR's are printed ("finding: ...") and only asserted as
// far as the scenario needs (a login either works or not).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "interop/fixture.h"
#include "interop/kdc_lab.h"

#ifndef NLASSP_KDC_SH
#error "NLASSP_KDC_SH must name tests/lab/kdc.sh"
#endif

using namespace nlassp::interop;

// Windows' value (sspi.h); WinPR 3.10 does not define it.
#ifndef SECPKG_NEGOTIATION_COMPLETE
#define SECPKG_NEGOTIATION_COMPLETE 0
#endif

namespace {

constexpr Impl M = Impl::Module;
constexpr Impl W = Impl::WinPR;
constexpr const char* kService = "TERMSRV/localhost@LAB.TEST";
constexpr const char* kUnknownTarget = "TERMSRV/nosuchhost";
constexpr const char* kUnknownService = "TERMSRV/nosuchhost@LAB.TEST";

KdcLab g_lab;

const char* impl_name(Impl i)
{
	return i == M ? "module" : "WinPR";
}

const char* kdc_sh()
{
	const char* env = std::getenv("NLASSP_KDC_SH");
	return env && *env ? env : NLASSP_KDC_SH;
}

int group_setup(void**)
{
	// KRB5_CONFIG / KRB5_KDC_PROFILE / KRB5CCNAME point into the lab before anything (WinPR's
	// table, our module) makes a krb5 context.
	std::string why;
	if (!kdc_lab_start(g_lab, kdc_sh(), &why)) {
		print_error("cannot start the lab KDC: %s\n", why.c_str());
		kdc_lab_teardown(g_lab);
		return -1;
	}
	return 0;
}

int group_teardown(void**)
{
	kdc_lab_teardown(g_lab);
	return 0;
}

// Per test: the interop fixture, a SAM that also knows alice in LAB.TEST (for NTLM fallbacks
// with the Kerberos domain), a running KDC and no default ccache.
int krb_setup(void** state)
{
	if (fixture_setup(state) != 0)
		return -1;
	auto* fx = static_cast<Fixture*>(*state);
	if (!write_sam_file(fx->sam, { { "alice", "LAB.TEST", "Passw0rd!" },
	                               { "alice", "LAB", "Passw0rd!" } }))
		return -1;
	fx->expected_domain = "LAB.TEST";
	std::string why;
	if (!kdc_lab_start_kdc(g_lab, &why)) {
		print_error("cannot restart the lab KDC: %s\n", why.c_str());
		return -1;
	}
	kdc_lab_remove_ccache(g_lab.default_ccache());
	return 0;
}

int krb_teardown(void** state)
{
	kdc_lab_remove_ccache(g_lab.default_ccache());
	return fixture_teardown(state);
}

// Kerberos-ready config: alice@LAB.TEST with her password, the server with the TERMSRV/localhost
// keytab and the SAM, and both sides asked for PACKAGE_INFO / NEGOTIATION_INFO.
void configure_krb(Fixture* fx, Impl client, Impl server, const char* package, const char* list)
{
	configure(fx, client, server, package, false);
	Config& c = fx->config;
	c.client.domain = "LAB.TEST";
	c.client.package_list = list;
	c.server.keytab = g_lab.keytab();
	c.server.sam_file = fx->sam;
	c.query_packages = true;
	// WinPR 3.10's Kerberos package (used alone, not under Negotiate) has no NAMES, AUTH_IDENTITY,
	// PACKAGE_INFO, Impersonate or Revert on the acceptor (winpr_kerberos_acceptor_queries).
	c.query_server = !(server == W && std::strcmp(package, "Kerberos") == 0);
}

int tgs(const char* service = kService)
{
	return kdc_lab_count_tgs(g_lab, service);
}

// Lines of the KDC log containing `what` (and `also`, if given): "AS_REQ", "TGS_REQ". -1 if the
// log cannot be read.
int kdc_log_lines(const char* what, const char* also = nullptr)
{
	std::ifstream log(g_lab.log());
	if (!log)
		return -1;
	int n = 0;
	std::string line;
	while (std::getline(log, line))
		n += line.find(what) != std::string::npos && (!also || line.find(also) != std::string::npos) ? 1 : 0;
	return n;
}

void print_query(const char* side, Impl impl, const PackageQuery& q)
{
	print_message("finding: %s %s: PACKAGE_INFO %s '%s', NEGOTIATION_INFO %s '%s' state %lu\n",
	              side, impl_name(impl), status_string(q.package_info).c_str(),
	              q.package_info_name.c_str(), status_string(q.negotiation_info).c_str(),
	              q.negotiation_name.c_str(), static_cast<unsigned long>(q.negotiation_state));
}

void check_query(Fixture* fx, const PackageQuery& q, const char* name)
{
	EXPECT_STATUS(fx, q.package_info, SEC_E_OK);
	EXPECT_TRUE(fx, q.package_info_name == name);
	EXPECT_STATUS(fx, q.negotiation_info, SEC_E_OK);
	EXPECT_TRUE(fx, q.negotiation_name == name);
	EXPECT_TRUE(fx, q.negotiation_state == SECPKG_NEGOTIATION_COMPLETE);
}

// Our side(s) say `name` was used (PACKAGE_INFO and NEGOTIATION_INFO); WinPR's answers printed.
void expect_package(Fixture* fx, Impl client, Impl server, const char* name)
{
	const Result& r = fx->result;
	if (client == M)
		check_query(fx, r.client_query, name);
	else
		print_query("client", client, r.client_query);
	if (server == M)
		check_query(fx, r.server_query, name);
	else
		print_query("server", server, r.server_query);
}

// A complete login with Kerberos (proven by the KDC's TGS_REQ for the service and by our side's
// PACKAGE_INFO), then messages both ways.
void kerberos_login(Fixture* fx, Impl client, Impl server)
{
	const int before = tgs();
	run(fx);
	expect_full_success(fx, server);
	expect_package(fx, client, server, "Kerberos");
	const int issued = tgs() - before;
	print_message("finding: %s -> %s %s (%s): %d TGS_REQ for %s, %d ISC/ASC calls\n",
	              impl_name(client), impl_name(server), fx->config.package.c_str(),
	              identity_form_name(fx->config.client.form), issued, kService, fx->result.calls);
	if (client == M && fx->config.client.form != IdentityForm::None)
		EXPECT_TRUE(fx, issued == 1);  // a password login: one service ticket, from our memory ccache
	else if (fx->config.client.form != IdentityForm::None)
		EXPECT_TRUE(fx, issued >= 1);  // Kerberos, not an NTLM fallback
	else
		EXPECT_TRUE(fx, issued <= 1);
}

// The login failed on the client's first call, before any token was sent, with `expected`.
void expect_client_refusal(Fixture* fx, SECURITY_STATUS expected)
{
	const Result& r = fx->result;
	EXPECT_TRUE(fx, r.failed);
	EXPECT_TRUE(fx, !r.hang);
	EXPECT_TRUE(fx, r.failed_side == Side::Client);
	EXPECT_TRUE(fx, r.failed_call == 0);
	EXPECT_TRUE(fx, r.tokens.empty());
	EXPECT_STATUS(fx, r.failure_status, expected);
}

void print_outcome(Fixture* fx, const char* what)
{
	const Result& r = fx->result;
	if (r.protocol_error == "setup failed")
		print_message("finding: %s: setup failed: AcquireCredentialsHandle client %s, server %s\n",
		              what, status_string(r.client_acquire).c_str(),
		              status_string(r.server_acquire).c_str());
	else if (r.established)
		print_message("finding: %s: established after %d calls (messages %s)\n", what, r.calls,
		              r.messages_ok ? "ok" : "FAILED");
	else
		print_message("finding: %s: %s on the %s's call %d (%s)\n", what,
		              status_string(r.failure_status).c_str(), side_name(r.failed_side),
		              r.failed_call, r.protocol_error.c_str());
}

// The first token of the exchange (empty if none was sent).
const Bytes& first_token(const Fixture* fx)
{
	static const Bytes none;
	return fx->result.tokens.empty() ? none : fx->result.tokens.front();
}

// Does the token contain this DER OID (06 len bytes)?
bool token_has_oid(const Bytes& token, const uint8_t* oid, size_t n)
{
	for (size_t i = 0; i + n <= token.size(); i++)
		if (std::memcmp(token.data() + i, oid, n) == 0)
			return true;
	return false;
}

// 1.2.840.113554.1.2.2.3 (Kerberos user-to-user) and 1.2.840.113554.1.2.2 (Kerberos), DER.
const uint8_t kU2uOid[] = { 0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x03 };
const uint8_t kKrbOid[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02 };

// ---- password logins ------------------------------------------------------------------------

void password_login(void** state, Impl client, Impl server, const char* package, const char* list)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_krb(fx, client, server, package, list);
	kerberos_login(fx, client, server);
}

} // namespace

static void krb_password_module_to_winpr(void** s) { password_login(s, M, W, "Kerberos", ""); }
static void krb_password_winpr_to_module(void** s) { password_login(s, W, M, "Kerberos", ""); }
static void krb_password_module_to_module(void** s) { password_login(s, M, M, "Kerberos", ""); }
// Negotiate with no package list prefers Kerberos; with "!ntlm" it may only use Kerberos.
static void nego_password_module_to_winpr(void** s) { password_login(s, M, W, "Negotiate", ""); }
static void nego_password_module_to_module(void** s) { password_login(s, M, M, "Negotiate", ""); }
static void nego_password_module_to_winpr_no_ntlm(void** s)
{
	password_login(s, M, W, "Negotiate", "!ntlm");
}
static void nego_password_module_to_module_no_ntlm(void** s)
{
	password_login(s, M, M, "Negotiate", "!ntlm");
}
static void nego_password_winpr_to_module_no_ntlm(void** s)
{
	password_login(s, W, M, "Negotiate", "!ntlm");
}

// WinPR's Negotiate client (what stock xfreerdp3 runs) offers Kerberos user-to-user first, with
// a KERB-TGT-REQUEST as its optimistic token; our acceptor must log it in with plain Kerberos.
static void nego_password_winpr_to_module_u2u_first(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_krb(fx, W, M, "Negotiate", "");
	kerberos_login(fx, W, M);
	const Bytes& first = first_token(fx);
	const bool u2u = token_has_oid(first, kU2uOid, sizeof(kU2uOid));
	const bool krb = token_has_oid(first, kKrbOid, sizeof(kKrbOid));
	print_message("finding: WinPR Negotiate client's first token: %zu bytes, offers U2U %d, Kerberos %d\n",
	              first.size(), u2u, krb);
	EXPECT_TRUE(fx, u2u);
	EXPECT_TRUE(fx, krb);
}

// ---- from a kinit ccache with a NULL identity ------------------------------------------------

namespace {

void ccache_login(void** state, Impl client, Impl server, const char* package)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_krb(fx, client, server, package, "");
	fx->config.client.form = IdentityForm::None;
	assert_true(kdc_lab_kinit(g_lab, g_lab.default_ccache()));
	kerberos_login(fx, client, server);
}

} // namespace

static void krb_ccache_module_to_winpr(void** s) { ccache_login(s, M, W, "Kerberos"); }
static void krb_ccache_winpr_to_module(void** s) { ccache_login(s, W, M, "Kerberos"); }
static void krb_ccache_module_to_module(void** s) { ccache_login(s, M, M, "Kerberos"); }
static void nego_ccache_module_to_winpr(void** s) { ccache_login(s, M, W, "Negotiate"); }
static void nego_ccache_winpr_to_module(void** s) { ccache_login(s, W, M, "Negotiate"); }
static void nego_ccache_module_to_module(void** s) { ccache_login(s, M, M, "Negotiate"); }

// ---- wrong password -------------------------------------------------------------------------

namespace {

// Our initiator learns of the wrong password from the KDC (preauth failed) before any token.
void wrong_password_ours(void** state, Impl server, const char* package, const char* list)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_krb(fx, M, server, package, list);
	fx->config.client.password = "wrong";
	run(fx);
	expect_client_refusal(fx, SEC_E_LOGON_DENIED);
}

} // namespace

static void krb_wrong_password_module_to_winpr(void** s)
{
	wrong_password_ours(s, W, "Kerberos", "");
}
static void krb_wrong_password_module_to_module(void** s)
{
	wrong_password_ours(s, M, "Kerberos", "");
}
static void nego_wrong_password_module_to_winpr_no_ntlm(void** s)
{
	wrong_password_ours(s, W, "Negotiate", "!ntlm");
}
static void nego_wrong_password_module_to_module_no_ntlm(void** s)
{
	wrong_password_ours(s, M, "Negotiate", "!ntlm");
}

// Negotiate allowed to use NTLM, wrong password: the KDC refuses the password (preauth failed)
// and our initiator stops there with SEC_E_LOGON_DENIED on its first call. It must not try the
// same password again with NTLM, which would count a second failure toward an account lockout:
// no token reaches the acceptor (which has the SAM and would check an NTLM attempt), and the
// KDC saw exactly one AS exchange for alice (the lab's alice needs no preauth: the KDC answers,
// and the reply does not decrypt with the wrong password) and no TGS request at all.
static void nego_wrong_password_module_to_module(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_krb(fx, M, M, "Negotiate", "");
	fx->config.client.password = "wrong";
	const int as_before = kdc_log_lines("AS_REQ", "alice@LAB.TEST");
	const int tgs_before = kdc_log_lines("TGS_REQ");
	run(fx);
	print_outcome(fx, "module -> module Negotiate, wrong password, NTLM allowed");
	expect_client_refusal(fx, SEC_E_LOGON_DENIED);   // first call, client side, no token sent
	EXPECT_TRUE(fx, fx->result.steps.size() == 1);   // the acceptor was never called
	EXPECT_TRUE(fx, fx->result.calls == 1);
	EXPECT_TRUE(fx, kdc_log_lines("AS_REQ", "alice@LAB.TEST") - as_before == 1);
	EXPECT_TRUE(fx, kdc_log_lines("TGS_REQ") - tgs_before == 0);
}

// WinPR's initiator with a wrong password against our acceptor: it must not get in.
static void krb_wrong_password_winpr_to_module(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_krb(fx, W, M, "Kerberos", "");
	fx->config.client.password = "wrong";
	run(fx);
	print_outcome(fx, "WinPR -> module Kerberos, wrong password");
	EXPECT_TRUE(fx, fx->result.failed || fx->result.hang);
	EXPECT_TRUE(fx, !fx->result.established);
}
static void nego_wrong_password_winpr_to_module_no_ntlm(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_krb(fx, W, M, "Negotiate", "!ntlm");
	fx->config.client.password = "wrong";
	run(fx);
	print_outcome(fx, "WinPR -> module Negotiate !ntlm, wrong password");
	EXPECT_TRUE(fx, !fx->result.established);
}

// ---- unknown service principal ----------------------------------------------------------------

namespace {

void unknown_target_refused(void** state, Impl server, const char* package, const char* list)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_krb(fx, M, server, package, list);
	fx->config.target = kUnknownTarget;
	const int before = tgs(kUnknownService);
	run(fx);
	expect_client_refusal(fx, SEC_E_TARGET_UNKNOWN);
	// The KDC was asked (and said it does not know the service).
	EXPECT_TRUE(fx, tgs(kUnknownService) - before >= 1);
}

// Negotiate may use NTLM: Kerberos finds no such service, NTLM logs in against the SAM.
void unknown_target_falls_back(void** state, Impl server)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_krb(fx, M, server, "Negotiate", "");
	fx->config.target = kUnknownTarget;
	fx->expected_domain = "LAB.TEST";
	const int before = tgs(kUnknownService);
	run(fx);
	expect_full_success(fx, server);
	expect_package(fx, M, server, "NTLM");
	EXPECT_TRUE(fx, tgs(kUnknownService) - before >= 1);  // Kerberos was tried first
	// The first token already carries NTLM: the fallback happened before anything was sent.
	EXPECT_TRUE(fx, find_ntlmssp(first_token(fx)) > 0);
}

} // namespace

static void krb_unknown_target_module_to_winpr(void** s)
{
	unknown_target_refused(s, W, "Kerberos", "");
}
static void krb_unknown_target_module_to_module(void** s)
{
	unknown_target_refused(s, M, "Kerberos", "");
}
static void nego_unknown_target_module_to_module_no_ntlm(void** s)
{
	unknown_target_refused(s, M, "Negotiate", "!ntlm");
}
static void nego_unknown_target_module_to_winpr_falls_back(void** s)
{
	unknown_target_falls_back(s, W);
}
static void nego_unknown_target_module_to_module_falls_back(void** s)
{
	unknown_target_falls_back(s, M);
}
static void krb_unknown_target_winpr_to_module(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_krb(fx, W, M, "Kerberos", "");
	fx->config.target = kUnknownTarget;
	run(fx);
	print_outcome(fx, "WinPR -> module Kerberos, target TERMSRV/nosuchhost");
	EXPECT_TRUE(fx, !fx->result.established);  // no service ticket, no Kerberos login
}

// WinPR's Negotiate client, unknown service principal, against our acceptor. It offers U2U
// first; we choose Kerberos; its Kerberos then finds no service ticket and fails, and WinPR
// 3.10 then crashes in its own DeleteSecurityContext (a double free: AddressSanitizer shows the
// block freed inside its failing InitializeSecurityContext and again in DeleteSecurityContext),
// which credssp_auth_free calls. Run in a child process so the crash is observed, not fatal.
static void nego_unknown_target_winpr_to_module(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_krb(fx, W, M, "Negotiate", "");
	fx->config.target = kUnknownTarget;
	std::fflush(stdout);
	const pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		// Not cmocka's handlers: a crash here must end this child, not resume the test run.
		for (int sig : { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT })
			(void)signal(sig, SIG_DFL);
		run(fx);
		print_outcome(fx, "WinPR -> module Negotiate, target TERMSRV/nosuchhost (child)");
		std::fflush(stdout);
		_exit(fx->result.established ? 0 : 3);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		print_message("finding: WinPR -> module Negotiate, target TERMSRV/nosuchhost: the process "
		              "died of signal %d (WinPR's client tearing down its context)\n",
		              WTERMSIG(status));
	else
		print_message("finding: WinPR -> module Negotiate, target TERMSRV/nosuchhost: child exit %d "
		              "(0: logged in, 3: refused, other: sanitizer report)\n",
		              WEXITSTATUS(status));
}

// What WinPR's Kerberos acceptor (the package alone) answers after a login from our client.
static void winpr_kerberos_acceptor_queries(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_krb(fx, M, W, "Kerberos", "");
	fx->config.query_server = true;
	run(fx);
	EXPECT_TRUE(fx, fx->result.established);
	EXPECT_TRUE(fx, fx->result.messages_ok);
	const Result& r = fx->result;
	print_message("finding: WinPR Kerberos acceptor: NAMES %s, AUTH_IDENTITY %s, PACKAGE_INFO %s, "
	              "Impersonate %s, Revert %s\n",
	              status_string(r.names_status).c_str(), status_string(r.auth_identity_status).c_str(),
	              status_string(r.package_info_status).c_str(),
	              status_string(r.impersonate_status).c_str(), status_string(r.revert_status).c_str());
}

// ---- KDC stopped ----------------------------------------------------------------------------

namespace {

void kdc_stopped_refused(void** state, Impl server, const char* package, const char* list)
{
	auto* fx = static_cast<Fixture*>(*state);
	kdc_lab_stop_kdc(g_lab);
	configure_krb(fx, M, server, package, list);
	run(fx);
	expect_client_refusal(fx, SEC_E_NO_AUTHENTICATING_AUTHORITY);
}

void kdc_stopped_falls_back(void** state, Impl server)
{
	auto* fx = static_cast<Fixture*>(*state);
	kdc_lab_stop_kdc(g_lab);
	configure_krb(fx, M, server, "Negotiate", "");
	run(fx);
	expect_full_success(fx, server);
	// NTLM, as both sides report it (WinPR's answers printed).
	expect_package(fx, M, server, "NTLM");
	EXPECT_TRUE(fx, find_ntlmssp(first_token(fx)) > 0);
}

} // namespace

static void krb_kdc_stopped_module_to_winpr(void** s)
{
	kdc_stopped_refused(s, W, "Kerberos", "");
}
static void krb_kdc_stopped_module_to_module(void** s)
{
	kdc_stopped_refused(s, M, "Kerberos", "");
}
static void nego_kdc_stopped_module_to_module_no_ntlm(void** s)
{
	kdc_stopped_refused(s, M, "Negotiate", "!ntlm");
}
static void nego_kdc_stopped_module_to_winpr_falls_back(void** s)
{
	kdc_stopped_falls_back(s, W);
}
static void nego_kdc_stopped_module_to_module_falls_back(void** s)
{
	kdc_stopped_falls_back(s, M);
}
// WinPR's Negotiate client with the KDC stopped, against our acceptor (which has the SAM too).
static void nego_kdc_stopped_winpr_to_module(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	kdc_lab_stop_kdc(g_lab);
	configure_krb(fx, W, M, "Negotiate", "");
	run(fx);
	print_outcome(fx, "WinPR -> module Negotiate, KDC stopped");
	if (fx->result.established) {
		expect_full_success(fx, M);
		check_query(fx, fx->result.server_query, "NTLM");
	}
}

// WinPR's Kerberos client with the KDC stopped: it cannot log in (its status printed).
static void krb_kdc_stopped_winpr_to_module(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	kdc_lab_stop_kdc(g_lab);
	configure_krb(fx, W, M, "Kerberos", "");
	run(fx);
	print_outcome(fx, "WinPR -> module Kerberos, KDC stopped");
	EXPECT_TRUE(fx, !fx->result.established);
}

int main()
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, krb_setup, krb_teardown)
		T(krb_password_module_to_winpr),
		T(krb_password_winpr_to_module),
		T(krb_password_module_to_module),
		T(nego_password_module_to_winpr),
		T(nego_password_module_to_module),
		T(nego_password_module_to_winpr_no_ntlm),
		T(nego_password_module_to_module_no_ntlm),
		T(nego_password_winpr_to_module_no_ntlm),
		T(nego_password_winpr_to_module_u2u_first),
		T(krb_ccache_module_to_winpr),
		T(krb_ccache_winpr_to_module),
		T(krb_ccache_module_to_module),
		T(nego_ccache_module_to_winpr),
		T(nego_ccache_winpr_to_module),
		T(nego_ccache_module_to_module),
		T(krb_wrong_password_module_to_winpr),
		T(krb_wrong_password_module_to_module),
		T(nego_wrong_password_module_to_winpr_no_ntlm),
		T(nego_wrong_password_module_to_module_no_ntlm),
		T(nego_wrong_password_module_to_module),
		T(krb_wrong_password_winpr_to_module),
		T(nego_wrong_password_winpr_to_module_no_ntlm),
		T(krb_unknown_target_module_to_winpr),
		T(krb_unknown_target_module_to_module),
		T(nego_unknown_target_module_to_module_no_ntlm),
		T(nego_unknown_target_module_to_winpr_falls_back),
		T(nego_unknown_target_module_to_module_falls_back),
		T(krb_unknown_target_winpr_to_module),
		T(nego_unknown_target_winpr_to_module),
		T(winpr_kerberos_acceptor_queries),
		T(krb_kdc_stopped_module_to_winpr),
		T(krb_kdc_stopped_module_to_module),
		T(nego_kdc_stopped_module_to_module_no_ntlm),
		T(nego_kdc_stopped_module_to_winpr_falls_back),
		T(nego_kdc_stopped_module_to_module_falls_back),
		T(nego_kdc_stopped_winpr_to_module),
		T(krb_kdc_stopped_winpr_to_module),
#undef T
	};
	return cmocka_run_group_tests_name("kerberos interop", tests, group_setup, group_teardown);
}
