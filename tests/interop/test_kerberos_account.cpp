// What the KDC says about the account reaches the user, and no logon wastes a lockout count:
// our module as client (Kerberos, and Negotiate with NTLM allowed) against a throwaway MIT KDC
// (tests/lab/kdc.sh) and our module as server, the way FreeRDP drives them (tests/interop/harness).
//   - a user name with an empty password (or none) never sends an AS-REQ: with a TGT for that principal in
//     the ccache it is used, else SEC_E_NO_CREDENTIALS and "give a password or kinit";
//   - a disabled account (modprinc -allow_tix) and a locked-out one (a lockout policy) are
//     KDC_ERR_CLIENT_REVOKED: STATUS_ACCOUNT_RESTRICTION and a line that says so (not "check the
//     password"); an expired account (KDC_ERR_NAME_EXP) is STATUS_ACCOUNT_EXPIRED; an expired
//     password keeps its own line;
//   - a refused password costs exactly one failed AS exchange in the KDC's log, and Negotiate
//     never tries NTLM after any of these.
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

#include "interop/fixture.h"
#include "interop/kdc_lab.h"

#ifndef NLASSP_KDC_SH
#error "NLASSP_KDC_SH must name tests/lab/kdc.sh"
#endif

using namespace nlassp::interop;

namespace {

constexpr Impl M = Impl::Module;
constexpr SECURITY_STATUS kAccountRestriction = static_cast<SECURITY_STATUS>(0xC000006Eu);
constexpr SECURITY_STATUS kAccountExpired = static_cast<SECURITY_STATUS>(0xC0000193u);

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

// The client failed on its first call, before any token (so no NTLM either), with `expected`.
void expect_refused_before_any_token(Fixture* fx, SECURITY_STATUS expected)
{
	const Result& r = fx->result;
	if (!r.failed || r.failed_call != 0 || !r.tokens.empty())
		print_our_lines();
	EXPECT_TRUE(fx, r.failed);
	EXPECT_TRUE(fx, r.failed_side == Side::Client);
	EXPECT_TRUE(fx, r.failed_call == 0);
	EXPECT_TRUE(fx, r.tokens.empty());
	EXPECT_STATUS(fx, r.failure_status, expected);
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
	for (const char* list : {"", "!ntlm"}) {
		configure_user(fx, "alice", "", list[0] ? "Negotiate" : "Kerberos", list);
		const int before = as_requests("alice@LAB.TEST");
		run_logged(fx);
		expect_refused_before_any_token(fx, SEC_E_NO_CREDENTIALS);
		EXPECT_TRUE(fx, as_requests("alice@LAB.TEST") == before);
		// One line (Kerberos's own, or Negotiate's carrying Kerberos's reason) says why and what to do.
		const int said = lines_with("", {"no password (or an empty one) for alice@LAB.TEST", "give a password or kinit alice@LAB.TEST"});
		if (said != 1)
			print_our_lines();
		EXPECT_TRUE(fx, said == 1);
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

static void disabled_account_is_account_restriction(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_user(fx, "carol", "Passw0rd!", "Negotiate", "");
	run_logged(fx);
	expect_refused_before_any_token(fx, kAccountRestriction);
	EXPECT_TRUE(fx, kdc_lab_count_lines(g_lab, { "CLIENT LOCKED OUT", "carol@LAB.TEST" }) >= 1);
	EXPECT_TRUE(fx, lines_with("ERROR", {"the KDC refused carol@LAB.TEST", "disabled or locked out",
	                                     "ask an administrator"}) == 1);
	EXPECT_TRUE(fx, lines_with("ERROR", {"check the user name and password"}) == 0);
}

static void lockout_counts_one_failure_per_refused_password(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	// Two wrong passwords (with NTLM allowed): each is exactly one failed AS exchange at the KDC,
	// SEC_E_LOGON_DENIED, and no NTLM attempt.
	for (int attempt = 1; attempt <= 2; ++attempt) {
		configure_user(fx, "dave", "wrong", "Negotiate", "");
		run_logged(fx);
		expect_refused_before_any_token(fx, SEC_E_LOGON_DENIED);
		EXPECT_TRUE(fx, kdc_lab_count_lines(g_lab, { "PREAUTH_FAILED", "dave@LAB.TEST" }) == attempt);
	}
	// Now locked out: even the right password is refused, as an account restriction.
	configure_user(fx, "dave", "Passw0rd!", "Negotiate", "");
	run_logged(fx);
	expect_refused_before_any_token(fx, kAccountRestriction);
	EXPECT_TRUE(fx, kdc_lab_count_lines(g_lab, { "PREAUTH_FAILED", "dave@LAB.TEST" }) == 2);
	EXPECT_TRUE(fx, kdc_lab_count_lines(g_lab, { "LOCKED_OUT", "dave@LAB.TEST" }) == 1);
	EXPECT_TRUE(fx, lines_with("ERROR", {"the KDC refused dave@LAB.TEST", "disabled or locked out"}) == 1);
}

static void expired_account_is_account_expired(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_user(fx, "erin", "Passw0rd!", "Negotiate", "");
	run_logged(fx);
	expect_refused_before_any_token(fx, kAccountExpired);
	EXPECT_TRUE(fx, lines_with("ERROR", {"the KDC refused erin@LAB.TEST", "the account has expired",
	                                     "ask an administrator"}) == 1);
}

static void expired_password_keeps_its_line(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_user(fx, "frank", "Passw0rd!", "Negotiate", "");
	run_logged(fx);
	expect_refused_before_any_token(fx, SEC_E_LOGON_DENIED);
	EXPECT_TRUE(fx, lines_with("ERROR", {"the password has expired: change it first"}) == 1);
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
		T(upn_is_asked_as_enterprise_name),
		T(disabled_account_is_account_restriction),
		T(lockout_counts_one_failure_per_refused_password),
		T(expired_account_is_account_expired),
		T(expired_password_keeps_its_line),
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
