// What the KDC says about the account reaches the user, and no logon wastes a lockout count:
// our module as client (Kerberos, and Negotiate with NTLM allowed) against a throwaway MIT KDC
// (tests/lab/kdc.sh) and our module as server, the way FreeRDP drives them (tests/interop/harness).
//   - a user name with an empty password (or none) never sends an AS-REQ, nor an NTLM logon: with a TGT
//     for that principal in the ccache it is used, else SEC_E_NO_CREDENTIALS and "give a password or kinit";
//   - a disabled account (modprinc -allow_tix) and a locked-out one (a lockout policy) are
//     KDC_ERR_CLIENT_REVOKED: SEC_E_LOGON_DENIED (as Windows' SSPI returns it, and what FreeRDP
//     reports as "logon failed") with ERROR_ACCOUNT_RESTRICTION as the last error and a line that
//     says so (not "check the password"); an expired account (KDC_ERR_NAME_EXP) is
//     SEC_E_LOGON_DENIED with ERROR_ACCOUNT_EXPIRED; an expired password keeps its own line;
//   - a refused password costs exactly one failed AS exchange in the KDC's log, and Negotiate
//     never tries NTLM after any of these;
//   - each refusal is one line: Negotiate's (INFO), carrying the KDC's reason with the principal,
//     the server and the fix; Kerberos's own line is DEBUG then, so nothing is said twice;
//   - a service ticket the KDC's policy refuses (KDC_ERR_POLICY on the TGS exchange) is not a wrong
//     password: its own line.
// AD's own reasons (KERB-EXT-ERROR: logon hours, workstation, disabled vs locked out) cannot come
// from MIT's KDC; tests/kerberos/test_ext_error.cpp covers them from crafted bytes.
//
// The module's log is read through WLog's FILE appender (set in main() before WinPR starts).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <winpr/error.h>

#include "interop/fixture.h"
#include "interop/kdc_lab.h"

#ifndef NLASSP_KDC_SH
#error "NLASSP_KDC_SH must name tests/lab/kdc.sh"
#endif

using namespace nlassp::interop;

namespace {

constexpr Impl M = Impl::Module;

KdcLab g_lab;
std::string g_log_dir;
std::string g_log;
size_t g_log_mark = 0;

const char* kdc_sh()
{
	const char* env = std::getenv("NLASSP_KDC_SH");
	return env && *env ? env : NLASSP_KDC_SH;
}

std::string read_text(const std::string& path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

// Our log lines since the run began.
std::vector<std::string> our_lines()
{
	const std::string text = read_text(g_log);
	std::vector<std::string> out;
	std::istringstream in(text.size() > g_log_mark ? text.substr(g_log_mark) : std::string());
	std::string line;
	while (std::getline(in, line))
		if (line.find("[com.nlassp.") != std::string::npos)
			out.push_back(line);
	return out;
}

// Lines of ours (since the run began) at `level` ("" for any) containing every needle.
int lines_with(const char* level, std::initializer_list<const char*> needles)
{
	int n = 0;
	for (const std::string& l : our_lines()) {
		bool all = !*level || l.find(std::string("[") + level + "][com.nlassp.") != std::string::npos;
		for (const char* needle : needles)
			all = all && l.find(needle) != std::string::npos;
		n += all ? 1 : 0;
	}
	return n;
}

void print_our_lines()
{
	for (const std::string& l : our_lines())
		print_message("  log: %s\n", l.c_str());
}

int group_setup(void**)
{
	std::string why;
	if (!kdc_lab_start(g_lab, kdc_sh(), &why)) {
		print_error("cannot start the lab KDC: %s\n", why.c_str());
		kdc_lab_teardown(g_lab);
		return -1;
	}
	// A lockout after two failures that never expires; carol is disabled, dave has the lockout
	// policy (and, as in AD, must pre-authenticate, so that the KDC sees wrong passwords), erin's account expired long ago, frank's password did.
	const char* queries[] = {
		"addpol -maxfailure 2 -failurecountinterval 0 -lockoutduration 0 lockout",
		"addprinc -pw Passw0rd! -allow_tix carol",
		"addprinc -pw Passw0rd! -policy lockout +requires_preauth dave",
		"addprinc -pw Passw0rd! -expire 2000-01-01 erin",
		"addprinc -pw Passw0rd! -pwexpire 2000-01-01 frank",
		// A service the KDC refuses tickets for (MIT's KDC_ERR_POLICY on the TGS exchange).
		"addprinc -randkey -allow_tgs_req HTTP/localhost",
		// grace logs on with her UPN grace@corp.example; MIT's db2 has no aliases, so the account
		// is named by that enterprise name itself (an AD KDC finds the UPN on the account).
		"addprinc -pw Passw0rd! grace\\@corp.example",
	};
	for (const char* q : queries)
		if (!kdc_lab_kadmin(g_lab, q)) {
			print_error("kadmin.local failed: %s\n", q);
			return -1;
		}
	return 0;
}

int group_teardown(void**)
{
	kdc_lab_teardown(g_lab);
	return 0;
}

int account_setup(void** state)
{
	if (fixture_setup(state) != 0)
		return -1;
	auto* fx = static_cast<Fixture*>(*state);
	// NTLM would succeed for every one of them: a fallback could not hide behind a failure.
	std::vector<SamUser> users;
	for (const char* u : {"alice", "carol", "dave", "erin", "frank"})
		users.push_back({ u, "LAB.TEST", "Passw0rd!" });
	if (!write_sam_file(fx->sam, users))
		return -1;
	fx->expected_domain = "LAB.TEST";
	kdc_lab_remove_ccache(g_lab.default_ccache());
	return 0;
}

int account_teardown(void** state)
{
	kdc_lab_remove_ccache(g_lab.default_ccache());
	return fixture_teardown(state);
}

// Our module on both sides; `package` with `list` ("" = everything allowed, NTLM included).
void configure_user(Fixture* fx, const char* user, const char* password, const char* package, const char* list)
{
	configure(fx, M, M, package, false);
	Config& c = fx->config;
	c.client.user = user;
	c.client.domain = "LAB.TEST";
	c.client.password = password;
	c.client.package_list = list;
	c.server.keytab = g_lab.keytab();
	c.server.sam_file = fx->sam;
}

// NLASSP_PRINT_LOG=1 prints our lines of every run.
void run_logged(Fixture* fx)
{
	g_log_mark = read_text(g_log).size();
	run(fx);
	if (std::getenv("NLASSP_PRINT_LOG"))
		print_our_lines();
}

// The client failed on its first call, before any token (so no NTLM either), with `expected`
// (and, when `last_error` is not 0, that Win32 error left by the call).
void expect_refused_before_any_token(Fixture* fx, SECURITY_STATUS expected, uint32_t last_error = 0)
{
	const Result& r = fx->result;
	if (!r.failed || r.failed_call != 0 || !r.tokens.empty())
		print_our_lines();
	EXPECT_TRUE(fx, r.failed);
	EXPECT_TRUE(fx, r.failed_side == Side::Client);
	EXPECT_TRUE(fx, r.failed_call == 0);
	EXPECT_TRUE(fx, r.tokens.empty());
	EXPECT_STATUS(fx, r.failure_status, expected);
	if (last_error && r.failure_last_error != last_error)
		print_message("last error %u, want %u\n", static_cast<unsigned>(r.failure_last_error),
		              static_cast<unsigned>(last_error));
	EXPECT_TRUE(fx, !last_error || r.failure_last_error == last_error);
}

int as_requests(const char* principal)
{
	return kdc_lab_count_lines(g_lab, { "AS_REQ", principal });
}

} // namespace

// ---- an empty password ----------------------------------------------------------------------

static void empty_password_without_ticket_sends_nothing(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	// No password (NULL) and an empty one (what FreeRDP makes of /p:): neither reaches the KDC nor,
	// with NTLM allowed, the server as an NTLM logon (which would count toward the lockout).
	const struct {
		const char* package;
		const char* list;
	} forms[] = {{"Kerberos", ""}, {"Negotiate", "!ntlm"}, {"Negotiate", ""}};
	for (const bool given : {false, true})
	for (const auto& [package, list] : forms) {
		configure_user(fx, "alice", "", package, list);
		fx->config.client.empty_password_not_null = given;
		const int before = as_requests("alice@LAB.TEST");
		run_logged(fx);
		expect_refused_before_any_token(fx, SEC_E_NO_CREDENTIALS);
		EXPECT_TRUE(fx, as_requests("alice@LAB.TEST") == before);
		// One line (Kerberos's own, or Negotiate's carrying Kerberos's reason) says why and what to do.
		// (At INFO and above: a TRACE run, for the secret check, adds Kerberos's own DEBUG line.)
		int said = 0;
		for (const char* level : {"INFO", "WARN", "ERROR"})
			said += lines_with(level, {"no password (or an empty one) for alice@LAB.TEST", "give a password or kinit alice@LAB.TEST"});
		if (said != 1)
			print_our_lines();
		EXPECT_TRUE(fx, said == 1);
		// NTLM (allowed in Negotiate with list "") says it does not send an empty password.
		if (given && std::strcmp(package, "Negotiate") == 0 && !list[0])
			EXPECT_TRUE(fx, lines_with("WARN", {"NTLM: the password is empty"}) == 1);
	}
}

static void empty_password_uses_the_users_ticket(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	assert_true(kdc_lab_kinit(g_lab, g_lab.default_ccache()));
	configure_user(fx, "alice", "", "Kerberos", "");
	const int as_before = as_requests("alice@LAB.TEST");
	const int tgs_before = kdc_lab_count_tgs(g_lab, "TERMSRV/localhost@LAB.TEST");
	run_logged(fx);
	expect_full_success(fx, M);
	EXPECT_TRUE(fx, as_requests("alice@LAB.TEST") == as_before);
	EXPECT_TRUE(fx, kdc_lab_count_tgs(g_lab, "TERMSRV/localhost@LAB.TEST") == tgs_before + 1);
	// Another user's name with an empty password does not borrow alice's ticket.
	configure_user(fx, "dave", "", "Kerberos", "");
	run_logged(fx);
	expect_refused_before_any_token(fx, SEC_E_NO_CREDENTIALS);
	EXPECT_TRUE(fx, as_requests("dave@LAB.TEST") == 0);
}

// ---- a UPN as the user name ----------------------------------------------------------------------

// FreeRDP hands "/u:grace@corp.example" over as that user name with no domain. corp.example is a
// UPN suffix, not a realm: the AS-REQ names grace\@corp.example@LAB.TEST (an enterprise name of the
// default realm), never grace of a realm CORP.EXAMPLE that has no KDC. The same with the domain
// given (the realm's NetBIOS name), while "alice@LAB.TEST" and "alice@lab.test" stay alice of LAB.TEST.
static void upn_is_asked_as_enterprise_name(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	for (const char* domain : {"", "LAB"}) {
		configure_user(fx, "grace@corp.example", "Passw0rd!", "Kerberos", "");
		fx->config.client.domain = domain;
		const int before = as_requests("grace\\@corp.example@LAB.TEST");
		run_logged(fx);
		// Our server names grace, not alice: the checks for alice's name are not made here.
		expect_full_success(fx, Impl::WinPR);
		EXPECT_STATUS(fx, fx->result.auth_identity_status, SEC_E_OK);
		print_message("upn: domain '%s': the server sees %s / %s\\%s\n", domain, fx->result.names_user.c_str(),
		              fx->result.auth_identity_domain.c_str(), fx->result.auth_identity_user.c_str());
		EXPECT_TRUE(fx, fx->result.names_user.find("grace") != std::string::npos);
		EXPECT_TRUE(fx, as_requests("grace\\@corp.example@LAB.TEST") == before + 1);
		EXPECT_TRUE(fx, kdc_lab_count_lines(g_lab, {"CORP.EXAMPLE"}) == 0);
		EXPECT_TRUE(fx, lines_with("", {"CORP.EXAMPLE"}) == 0);
	}
	for (const char* user : {"alice@LAB.TEST", "alice@lab.test"}) {
		configure_user(fx, user, "Passw0rd!", "Kerberos", "");
		fx->config.client.domain = "";
		const int before = as_requests("alice@LAB.TEST for");
		run_logged(fx);
		expect_full_success(fx, M);
		EXPECT_TRUE(fx, as_requests("alice@LAB.TEST for") == before + 1);
	}
}

// ---- the account's state ----------------------------------------------------------------------

static void disabled_account_is_logon_denied_with_account_restriction(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_user(fx, "carol", "Passw0rd!", "Negotiate", "");
	run_logged(fx);
	expect_refused_before_any_token(fx, SEC_E_LOGON_DENIED, ERROR_ACCOUNT_RESTRICTION);
	EXPECT_TRUE(fx, kdc_lab_count_lines(g_lab, { "CLIENT LOCKED OUT", "carol@LAB.TEST" }) >= 1);
	EXPECT_TRUE(fx, lines_with("INFO", {"Negotiate: Kerberos says the account may not log on (account disabled or locked out: "
	                                    "the KDC refused carol@LAB.TEST", "disabled or locked out",
	                                    "ask an administrator", "the logon of LAB.TEST\\carol to TERMSRV/localhost"}) == 1);
	// Said once: Kerberos's own line is DEBUG under Negotiate.
	EXPECT_TRUE(fx, lines_with("INFO", {"carol@LAB.TEST"}) == 1 && lines_with("ERROR", {"carol@LAB.TEST"}) == 0);
	EXPECT_TRUE(fx, lines_with("", {"check the user name"}) == 0);
}

static void lockout_counts_one_failure_per_refused_password(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	// Two wrong passwords (with NTLM allowed): each is exactly one failed AS exchange at the KDC,
	// SEC_E_LOGON_DENIED, and no NTLM attempt.
	for (int attempt = 1; attempt <= 2; ++attempt) {
		configure_user(fx, "dave", "wrong", "Negotiate", "");
		run_logged(fx);
		expect_refused_before_any_token(fx, SEC_E_LOGON_DENIED, ERROR_LOGON_FAILURE);
		EXPECT_TRUE(fx, kdc_lab_count_lines(g_lab, { "PREAUTH_FAILED", "dave@LAB.TEST" }) == attempt);
		// One line names the principal, the server and the fix; nothing at ERROR repeats it.
		EXPECT_TRUE(fx, lines_with("INFO", {"Negotiate: Kerberos refused the credentials (logon denied: the KDC refused "
		                                    "dave@LAB.TEST: Preauthentication failed)",
		                                    "(the logon of LAB.TEST\\dave to TERMSRV/localhost: check the user name, "
		                                    "domain and password)"}) == 1);
		EXPECT_TRUE(fx, lines_with("ERROR", {}) == 0 && lines_with("INFO", {"dave@LAB.TEST"}) == 1);
	}
	// Now locked out: even the right password is refused, as an account restriction.
	configure_user(fx, "dave", "Passw0rd!", "Negotiate", "");
	run_logged(fx);
	expect_refused_before_any_token(fx, SEC_E_LOGON_DENIED, ERROR_ACCOUNT_RESTRICTION);
	EXPECT_TRUE(fx, kdc_lab_count_lines(g_lab, { "PREAUTH_FAILED", "dave@LAB.TEST" }) == 2);
	EXPECT_TRUE(fx, kdc_lab_count_lines(g_lab, { "LOCKED_OUT", "dave@LAB.TEST" }) == 1);
	EXPECT_TRUE(fx, lines_with("INFO", {"the KDC refused dave@LAB.TEST", "disabled or locked out"}) == 1);
	EXPECT_TRUE(fx, lines_with("ERROR", {}) == 0);
}

static void expired_account_is_logon_denied_with_account_expired(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_user(fx, "erin", "Passw0rd!", "Negotiate", "");
	run_logged(fx);
	expect_refused_before_any_token(fx, SEC_E_LOGON_DENIED, ERROR_ACCOUNT_EXPIRED);
	EXPECT_TRUE(fx, lines_with("INFO", {"the KDC refused erin@LAB.TEST", "the account has expired",
	                                    "ask an administrator", "the logon of LAB.TEST\\erin to TERMSRV/localhost"}) == 1);
	EXPECT_TRUE(fx, lines_with("INFO", {"erin@LAB.TEST"}) == 1 && lines_with("ERROR", {"erin@LAB.TEST"}) == 0);
}

static void expired_password_keeps_its_line(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_user(fx, "frank", "Passw0rd!", "Negotiate", "");
	run_logged(fx);
	expect_refused_before_any_token(fx, SEC_E_LOGON_DENIED);
	EXPECT_TRUE(fx, lines_with("INFO", {"Negotiate: Kerberos refused the credentials (password expired: the KDC refused "
	                                    "frank@LAB.TEST", "the password has expired: change it first",
	                                    "the logon of LAB.TEST\\frank to TERMSRV/localhost)"}) == 1);
	EXPECT_TRUE(fx, lines_with("INFO", {"frank@LAB.TEST"}) == 1 && lines_with("ERROR", {"frank@LAB.TEST"}) == 0);
}

// ---- the service ticket ---------------------------------------------------------------------

// The password was accepted (the AS exchange succeeded) and the KDC's policy refuses the service
// ticket: the line says so, not "check the user name and password", and no NTLM follows.
static void service_ticket_policy_is_not_the_password(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_user(fx, "alice", "Passw0rd!", "Negotiate", "");
	fx->config.target = "HTTP/localhost";
	run_logged(fx);
	expect_refused_before_any_token(fx, SEC_E_LOGON_DENIED);
	EXPECT_TRUE(fx, kdc_lab_count_lines(g_lab, { "KDC policy rejects request", "HTTP/localhost" }) >= 1);
	// Negotiate's one line carries Kerberos's reason and fix; Kerberos's own line is DEBUG.
	const int said = lines_with("INFO", {"Negotiate: Kerberos refused the logon (logon denied: KDC policy rejects request",
	                                     "the KDC's policy refuses this user a ticket", "the password is not the problem",
	                                     "the logon of LAB.TEST\\alice to HTTP/localhost"});
	if (said != 1)
		print_our_lines();
	EXPECT_TRUE(fx, said == 1);
	EXPECT_TRUE(fx, lines_with("ERROR", {}) == 0);
	EXPECT_TRUE(fx, lines_with("", {"check the user name"}) == 0 && lines_with("", {"check the gateway's"}) == 0);
}

int main()
{
	char tmpl[] = "/tmp/nlassp-account-log.XXXXXX";
	if (!mkdtemp(tmpl)) {
		std::perror("mkdtemp");
		return 1;
	}
	g_log_dir = tmpl;
	g_log = g_log_dir + "/wlog.txt";
	setenv("WLOG_APPENDER", "FILE", 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_PATH", g_log_dir.c_str(), 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_NAME", "wlog.txt", 1);
	// NLASSP_TEST_WLOG_LEVEL=TRACE (for the check that no secret is logged) keeps the log too.
	const char* level = std::getenv("NLASSP_TEST_WLOG_LEVEL");
	setenv("WLOG_LEVEL", level && *level ? level : "INFO", 1);

	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, account_setup, account_teardown)
		T(empty_password_without_ticket_sends_nothing),
		T(empty_password_uses_the_users_ticket),
		T(disabled_account_is_logon_denied_with_account_restriction),
		T(upn_is_asked_as_enterprise_name),
		T(lockout_counts_one_failure_per_refused_password),
		T(expired_account_is_logon_denied_with_account_expired),
		T(expired_password_keeps_its_line),
		T(service_ticket_policy_is_not_the_password),
#undef T
	};
	const int rc = cmocka_run_group_tests_name("kerberos account states", tests, group_setup, group_teardown);
	std::error_code ec;
	if (level && *level)
		std::fprintf(stderr, "log kept in %s\n", g_log_dir.c_str());
	else
		std::filesystem::remove_all(g_log_dir, ec);
	return rc;
}
