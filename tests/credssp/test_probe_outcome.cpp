// nlassp-probe's wording for each way a probe ends (tools/probe/outcome.cpp): who refused the
// logon (the server, or the KDC before anything reached the server), the server's errorCode by
// name (0xC007052E is a FreeRDP server's ERROR_LOGON_FAILURE, not "an unrecognised status"), and
// "delegated" never "yes" when no password was delegated. tests/credssp/probe_shadow.sh checks
// the same sentences against real servers.
#include "outcome.h"

#include <cstdio>
#include <string>

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}
// clang-format on

using namespace nlassp;
using namespace nlassp::probe;

namespace {

bool has(const std::string& text, const char* part)
{
	if (text.find(part) != std::string::npos)
		return true;
	std::fprintf(stderr, "\"%s\" does not contain \"%s\"\n", text.c_str(), part);
	return false;
}

bool lacks(const std::string& text, const char* part)
{
	if (text.find(part) == std::string::npos)
		return true;
	std::fprintf(stderr, "\"%s\" contains \"%s\"\n", text.c_str(), part);
	return false;
}

bool logged_in()
{
	Ending e;
	e.sent_to_server = true;
	e.info.delegated = true;
	e.have_password = true;
	const Verdict v = judge(e);
	return !v.refused && v.refused_by.empty() && has(v.reason, "logged in: the server accepted the credentials") &&
	       delegation_text(e) == "yes (the user name and password)";
}

bool freerdp_server_logon_failure()
{
	Ending e;
	e.error = Error::LogonDenied;
	e.sent_to_server = true;
	e.info.peer_error_code = 0xC007052Eu;
	const Verdict v = judge(e);
	return v.refused && v.refused_by == "server" &&
	       v.reason == "the server refused the logon (errorCode 0xC007052E, FreeRDP server: ERROR_LOGON_FAILURE): "
	                   "wrong user name or password, or the account may not log on" &&
	       lacks(v.reason, "unrecognised");
}

bool server_refusal_without_error_code()
{
	Ending e;
	e.error = Error::LogonDenied;
	e.sent_to_server = true;
	const Verdict v = judge(e);
	return v.refused && v.refused_by == "server" &&
	       v.reason == "the server refused the logon: wrong user name or password, or the account may not log on";
}

// A server that refuses the account itself (Windows' CredSSP sends the NTSTATUS; a FreeRDP server
// with nlassp sends it wrapped or, for a disabled account, as STATUS_ACCOUNT_DISABLED): a refusal
// (exit 1) that names the account's state, not the password.
bool server_refuses_the_account()
{
	const struct {
		Error error;
		uint32_t code;
		const char* says;
	} cases[] = {
	    {Error::AccountDisabled, 0xC0000072u, "the account is disabled: ask an administrator to enable it"},
	    {Error::AccountLockedOut, 0xC0000234u, "the account is locked out"},
	    {Error::AccountExpired, 0xC0070701u, "the account has expired"},
	    {Error::AccountRevoked, 0xC000006Eu, "the account may not log on (disabled, locked out"},
	    {Error::InvalidLogonHours, 0xC000006Fu, "may not log on at this time"},
	    {Error::InvalidWorkstation, 0xC0000070u, "may not log on from this computer"},
	};
	for (const auto& c : cases) {
		Ending e;
		e.error = c.error;
		e.sent_to_server = true;
		e.info.peer_error_code = c.code;
		const Verdict v = judge(e);
		if (!v.refused || v.refused_by != "server" || !has(v.reason, "the server refused the logon (errorCode") ||
		    !has(v.reason, c.says) || has(v.reason, "wrong user name or password")) {
			std::fprintf(stderr, "%s: %s\n", error_name(c.error), v.reason.c_str());
			return false;
		}
	}
	// The KDC refusing the account before anything was sent: a refusal by the KDC.
	Ending k;
	k.error = Error::AccountDisabled;
	const Verdict kv = judge(k);
	return kv.refused && kv.refused_by == "kdc" && has(kv.reason, "the account is disabled");
}

bool kdc_refusal_is_not_the_server()
{
	Ending e;
	e.error = Error::LogonDenied;
	e.sent_to_server = false;
	const Verdict v = judge(e);
	return v.refused && v.refused_by == "kdc" &&
	       has(v.reason, "the KDC refused the logon before anything was sent to the server") &&
	       has(v.reason, "wrong user name or password") && lacks(v.reason, "the server refused");
}

bool local_failure_says_nothing_was_sent()
{
	Ending e;
	e.error = Error::NoAuthority;
	const Verdict v = judge(e);
	return !v.refused && v.refused_by.empty() &&
	       v.reason == "no Kerberos KDC or domain controller could be reached; nothing was sent to the server";
}

bool connection_closed()
{
	Ending e;
	e.error = Error::LogonDenied;
	e.sent_to_server = true;
	e.net_error = "the server closed the connection instead of answering";
	const Verdict v = judge(e);
	return v.refused && v.refused_by == "server" && v.reason == e.net_error;
}

bool server_error_code_of_another_kind()
{
	Ending e;
	e.error = Error::TimeSkew;
	e.sent_to_server = true;
	e.info.peer_error_code = 0xC0070576u;
	const Verdict v = judge(e);
	return !v.refused &&
	       v.reason == "the clocks of this machine and the KDC/server differ too much (the server's errorCode "
	                   "0xC0070576, FreeRDP server: ERROR_TIME_SKEW)";
}

bool echo_defect_named()
{
	Ending e;
	e.error = Error::MutualAuthFailed;
	e.sent_to_server = true;
	e.info.echo_defect_refused = true;
	const Verdict v = judge(e);
	return !v.refused && has(v.reason, "known defect of FreeRDP's CredSSP server") &&
	       has(v.reason, "--tolerate-freerdp-echo-bug");
}

bool delegation_choice()
{
	return !wants_delegation(Delegation::Auto, false) && wants_delegation(Delegation::Auto, true) &&
	       wants_delegation(Delegation::Always, false) && !wants_delegation(Delegation::Never, true);
}

bool delegation_lines()
{
	Ending ccache;   // --ccache, no password: nothing to delegate, and the probe says so
	ccache.have_password = false;
	Ending never;
	never.have_password = true;
	never.delegation = Delegation::Never;
	Ending missing;   // --delegate without a password
	missing.error = Error::IncompleteCredentials;
	missing.delegation = Delegation::Always;
	return delegation_text(ccache) ==
	           "no (no password to delegate: empty credentials sent; --delegate makes this an error)" &&
	       delegation_text(never) == "no (--no-delegate: empty credentials sent)" &&
	       judge(missing).reason ==
	           "there is no password to delegate: give --password, or leave out --delegate; nothing was sent to the "
	           "server" &&
	       !judge(missing).refused;
}

} // namespace

static void test_logged_in(void**) { assert_true(logged_in()); }
static void test_freerdp_server_logon_failure(void**) { assert_true(freerdp_server_logon_failure()); }
static void test_server_refusal_without_error_code(void**) { assert_true(server_refusal_without_error_code()); }
static void test_server_refuses_the_account(void**) { assert_true(server_refuses_the_account()); }
static void test_kdc_refusal_is_not_the_server(void**) { assert_true(kdc_refusal_is_not_the_server()); }
static void test_local_failure_says_nothing_was_sent(void**) { assert_true(local_failure_says_nothing_was_sent()); }
static void test_connection_closed(void**) { assert_true(connection_closed()); }
static void test_server_error_code_of_another_kind(void**) { assert_true(server_error_code_of_another_kind()); }
static void test_echo_defect_named(void**) { assert_true(echo_defect_named()); }
static void test_delegation_choice(void**) { assert_true(delegation_choice()); }
static void test_delegation_lines(void**) { assert_true(delegation_lines()); }

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_logged_in),
	    cmocka_unit_test(test_freerdp_server_logon_failure),
	    cmocka_unit_test(test_server_refusal_without_error_code),
	    cmocka_unit_test(test_server_refuses_the_account),
	    cmocka_unit_test(test_kdc_refusal_is_not_the_server),
	    cmocka_unit_test(test_local_failure_says_nothing_was_sent),
	    cmocka_unit_test(test_connection_closed),
	    cmocka_unit_test(test_server_error_code_of_another_kind),
	    cmocka_unit_test(test_echo_defect_named),
	    cmocka_unit_test(test_delegation_choice),
	    cmocka_unit_test(test_delegation_lines),
	};
	return cmocka_run_group_tests_name("nlassp-probe outcomes", tests, nullptr, nullptr);
}
