// What Negotiate's log lines say when a server refuses a logon, for the two logons FreeRDP makes
// through an RD Gateway (HTTP/<gateway> with the gateway's credentials, then TERMSRV/<host>):
// the reject line and the Kerberos-refused line name the user, the server and where FreeRDP takes
// the gateway's credentials from; an HTTP initiator that completes without the server's final
// token (test_http.cpp) says once what a 401 then means; an initiator deleted while the token
// that presents its credentials is unanswered (an HTTP 401 without a token never reaches the
// module) says so once, and only then. The lines are read back from WLog's FILE appender.
#include "common/failure.h"
#include "negotiate/context.h"
#include "negotiate/messages.h"
#include "negotiate/policy.h"
#include "negotiate/report.h"

#include "check.h"
#include "fake_mech.h"
#include "pair.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

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
using namespace nlassp::negotiate;
using nlassp::test::cred;
using nlassp::test::fake_ntlm;
using nlassp::test::FakeConfig;
using nlassp::test::FakeStats;
using nlassp::test::kGateway;
using nlassp::test::kTermsrv;
using nlassp::test::Pair;

namespace {

std::string g_log;
size_t g_mark = 0;

// The log lines written since the previous call.
std::vector<std::string> new_lines()
{
	std::ifstream f(g_log, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	const std::string text = ss.str();
	std::vector<std::string> lines;
	std::istringstream in(text.size() > g_mark ? text.substr(g_mark) : std::string());
	g_mark = text.size();
	for (std::string l; std::getline(in, l);)
		lines.push_back(l);
	return lines;
}

int count_with(const std::vector<std::string>& lines, const std::string& needle)
{
	int n = 0;
	for (const std::string& l : lines)
		n += l.find(needle) != std::string::npos ? 1 : 0;
	return n;
}

bool helpers()
{
	Credential c;
	CHECK(logon_name(c) == "the default credentials");
	c.identity = Identity{};
	c.identity->user = u"gwuser";
	CHECK(logon_name(c) == "gwuser");
	c.identity->domain = u"GW";
	CHECK(logon_name(c) == "GW\\gwuser");
	c.identity->user = u"gwuser@LAB.TEST";
	CHECK(logon_name(c) == "gwuser@LAB.TEST");
	c.identity->user = u"OTHER\\gwuser";
	CHECK(logon_name(c) == "OTHER\\gwuser");
	// A name cannot break the log line it is put in (common/text.h).
	c.identity->user = u"gw\nuser\u202e";
	c.identity->domain = u"G\x1bW";
	CHECK(logon_name(c) == "G?W\\gw?user?");
	CHECK(target_text(u"HTTP/gw\r\nx") == "HTTP/gw??x (the RD Gateway)");

	CHECK(is_http_target(u"HTTP/gw.example"));
	CHECK(is_http_target(u"http/gw.example"));
	CHECK(!is_http_target(u"HTTP/"));
	CHECK(!is_http_target(u"HTTPS/gw.example"));
	CHECK(!is_http_target(u"TERMSRV/host"));
	CHECK(!is_http_target(u""));
	CHECK(target_text(u"HTTP/gw.example") == "HTTP/gw.example (the RD Gateway)");
	CHECK(target_text(u"TERMSRV/host") == "TERMSRV/host");
	CHECK(target_text(u"") == "the server");
	CHECK(refusal_hint(u"HTTP/gw.example").find("/gateway:g:HOST,u:USER,d:DOMAIN,p:PASSWORD with g: first (a g: "
	                                           "after u:, d: or p: makes it send /u: /d: /p: instead)") !=
	      std::string::npos);
	CHECK(refusal_hint(u"TERMSRV/host") == "check the user name, domain and password");
	return true;
}

const char* const kCompletedLine =
    "Negotiate initiator: the NTLM logon of GW\\gwuser to HTTP/gw.example (the RD Gateway) is complete on "
    "our side; an HTTP server need not answer its last token (RFC 4559; Microsoft's RD Gateway does not), so "
    "the HTTP status is the verdict: if FreeRDP then reports access denied (HTTP 401), the server refused "
    "these credentials: check the gateway's user name, domain and password";

// FreeRDP's gateway login: the AUTHENTICATE completes the context (test_http.cpp), and a refusal
// is the HTTP 401 that follows, which never reaches the module: the completion line names the
// logon and what the 401 means, once.
bool gateway_completion_names_the_logon()
{
	Pair p;
	p.acc_mechs[0].fail_step = 1;
	CHECK(p.create());
	new_lines();
	CHECK(p.init_step(true) == Error::None);
	CHECK(p.acc_step() == Error::None);
	CHECK(p.init_step() == Error::None && p.init_complete);   // AUTHENTICATE (+ MIC): SEC_E_OK
	CHECK(p.acc_step() == Error::LogonDenied);                 // the gateway answers 401
	p.init.reset();
	const auto lines = new_lines();
	CHECK(count_with(lines, kCompletedLine) == 1);
	CHECK(count_with(lines, "ended before the server answered") == 0);
	CHECK(count_with(lines, "Negotiate initiator") == 1);
	return true;
}

// A caller that passes the gateway's reject after the completion (FreeRDP does not) gets the
// refusal line too.
bool gateway_reject_names_the_logon()
{
	Pair p;
	p.acc_mechs[0].fail_step = 1;
	p.acc_mechs[0].fail_error = Error::LogonDenied;
	CHECK(p.create());
	new_lines();
	CHECK(p.init_step(true) == Error::None);
	CHECK(p.acc_step() == Error::None);
	CHECK(p.init_step() == Error::None);          // AUTHENTICATE (+ MIC) goes out
	CHECK(p.acc_step() == Error::LogonDenied);    // refused, with a reject token
	CHECK(!p.to_init.empty());
	CHECK(p.init_step() == Error::LogonDenied);
	p.init.reset();
	const auto lines = new_lines();
	CHECK(count_with(lines, kCompletedLine) == 1);
	CHECK(count_with(lines, "Negotiate initiator: the acceptor rejected the authentication (NTLM): "
	                        "HTTP/gw.example (the RD Gateway) refused the logon of GW\\gwuser; check the "
	                        "gateway's user name, domain and password: FreeRDP takes them from "
	                        "/gateway:g:HOST,u:USER,d:DOMAIN,p:PASSWORD with g: first") == 1);
	// Reported once: the deleted context adds nothing.
	CHECK(count_with(lines, "ended before the server answered") == 0);
	return true;
}

// The same refusal from an RDP server's NLA names TERMSRV and the plain hint.
bool nla_reject_has_the_plain_hint()
{
	Pair p;
	p.target = kTermsrv;
	p.acc_mechs[0].fail_step = 1;
	CHECK(p.create());
	new_lines();
	CHECK(p.init_step(true) == Error::None);
	CHECK(p.acc_step() == Error::None);
	CHECK(p.init_step() == Error::None);
	CHECK(p.acc_step() == Error::LogonDenied);
	CHECK(p.init_step() == Error::LogonDenied);
	const auto lines = new_lines();
	CHECK(count_with(lines, "TERMSRV/host.example refused the logon of GW\\gwuser; check the user name, "
	                        "domain and password") == 1);
	CHECK(count_with(lines, "/gateway:") == 0);
	return true;
}

// The AUTHENTICATE is out and the initiator waits for the verdict (NLA; over HTTP, when the
// acceptor chose our second mechanism), but the connection ends: FreeRDP deletes the context.
bool unanswered_final_token_is_reported_once()
{
	{
		Pair p;
		p.target = kTermsrv;
		CHECK(p.create());
		new_lines();
		CHECK(p.init_step(true) == Error::None);
		CHECK(p.acc_step() == Error::None);
		CHECK(p.init_step() == Error::None);   // AUTHENTICATE is out; now the connection ends
		CHECK(!p.init->established());
		p.init.reset();
		const auto lines = new_lines();
		CHECK(count_with(lines, "Negotiate initiator: the NTLM logon of GW\\gwuser to TERMSRV/host.example ended "
		                        "before the server answered the token that presents these credentials; if the "
		                        "connection failed there, the server most likely refused them: check the user "
		                        "name, domain and password") == 1);
	}
	{
		Pair p;
		p.init_mechs = {test::fake_kerberos(), fake_ntlm()};
		CHECK(p.create());
		CHECK(p.init_step(true) == Error::None);   // AP-REQ; the acceptor chooses NTLM
		CHECK(p.acc_step() == Error::None);
		CHECK(p.init_step() == Error::None);
		CHECK(p.acc_step() == Error::None);
		new_lines();
		CHECK(p.init_step() == Error::None);       // AUTHENTICATE; now a bare 401
		CHECK(!p.init->established());
		p.init.reset();
		const auto lines = new_lines();
		CHECK(count_with(lines, "Negotiate initiator: the NTLM logon of GW\\gwuser to HTTP/gw.example (the RD "
		                        "Gateway) ended before the server answered the token that presents these "
		                        "credentials; if the connection failed there, the server most likely refused "
		                        "them: check the gateway's user name") == 1);
	}
	return true;
}

// Kerberos presents the credentials in its first token (the AP-REQ, optimistic in the NegTokenInit);
// a gateway that refuses it with a bare 401 never answers, and FreeRDP deletes the context.
bool unanswered_ap_req_is_reported_once()
{
	FakeConfig krb;
	krb.id = PackageId::Kerberos;
	krb.magic = "FAKEKRB";
	krb.legs = 2;   // AP-REQ, AP-REP (mutual authentication)
	Error e = Error::None;
	auto stats = std::make_shared<FakeStats>();
	ContextPtr init = create_context(Role::Initiator, cred(CredentialUse::Outbound, u"gwuser@LAB.TEST", u""),
	                                 {test::fake_mechanism(krb, stats, oid::kerberos()),
	                                  test::fake_mechanism(fake_ntlm(), stats, oid::ntlmssp())},
	                                 e);
	CHECK(init && e == Error::None);
	new_lines();
	StepInput in;
	in.requested = ctx::MutualAuth | ctx::Confidentiality;
	in.target = kGateway;
	StepOutput o;
	CHECK(init->step(in, o) == Error::None);   // NegTokenInit with the AP-REQ; now the bare 401
	CHECK(!o.token.empty() && !o.complete);
	init.reset();
	const auto lines = new_lines();
	CHECK(count_with(lines, "Negotiate initiator: the Kerberos logon of gwuser@LAB.TEST to HTTP/gw.example (the RD "
	                        "Gateway) ended before the server answered the token that presents these "
	                        "credentials; if the connection failed there, the server either refused them "
	                        "(check the gateway's user name") == 1);
	CHECK(count_with(lines, "or accepted them without the reply that proves its own identity (mutual "
	                        "authentication), which this module requires and Microsoft's RD Gateway does not "
	                        "send") == 1);
	return true;
}

// Nothing is said when no verdict was due: after the first token, after success, or by an acceptor.
bool no_report_without_a_pending_verdict()
{
	{
		Pair p;
		CHECK(p.create());
		new_lines();
		CHECK(p.init_step(true) == Error::None);   // NEGOTIATE only: not a verdict on credentials
		p.init.reset();
		p.acc.reset();
	}
	{
		Pair p;
		CHECK(p.create());
		CHECK(p.init_step(true) == Error::None);
		CHECK(p.acc_step() == Error::None);
		CHECK(p.init_step() == Error::None);
		CHECK(p.acc_step() == Error::None);        // accept-completed + the acceptor's MIC
		CHECK(p.init_step() == Error::None);
		CHECK(p.init->established() && p.acc->established());
		p.init.reset();
		p.acc.reset();
	}
	{
		Pair p;
		CHECK(p.create());
		CHECK(p.init_step(true) == Error::None);
		CHECK(p.acc_step() == Error::None);        // CHALLENGE out; the initiator never answers
		p.acc.reset();                             // an acceptor abandoned mid-way
	}
	CHECK(count_with(new_lines(), "ended before the server answered") == 0);
	return true;
}

// Kerberos refuses the gateway's password before anything is sent: the line names the logon.
// With NTLM allowed after it or alone (/auth-pkg-list:kerberos): the mechanism's own line is
// DEBUG under Negotiate, so Negotiate's is the one line, with the mechanism's reason in it.
bool kerberos_refusal_names_the_logon()
{
	for (const bool with_ntlm : {true, false}) {
		FakeConfig krb = test::fake_kerberos();
		krb.fail_step = 0;
		krb.fail_error = Error::LogonDenied;
		krb.fail_reason = "the KDC refused gwuser@LAB.TEST: Preauthentication failed";
		Error e = Error::None;
		auto stats = std::make_shared<FakeStats>();
		std::vector<Mechanism> mechs{test::fake_mechanism(krb, stats, oid::kerberos())};
		if (with_ntlm)
			mechs.push_back(test::fake_mechanism(fake_ntlm(), stats, oid::ntlmssp()));
		ContextPtr init =
		    create_context(Role::Initiator, cred(CredentialUse::Outbound, u"gwuser@LAB.TEST", u""), std::move(mechs), e);
		CHECK(init && e == Error::None);
		new_lines();
		StepInput in;
		in.requested = ctx::MutualAuth | ctx::Confidentiality;
		in.target = kGateway;
		StepOutput o;
		CHECK(init->step(in, o) == Error::LogonDenied);
		CHECK(o.token.empty());
		init.reset();
		const auto lines = new_lines();
		CHECK(count_with(lines, "Negotiate: Kerberos refused the credentials (logon denied: the KDC refused "
		                        "gwuser@LAB.TEST: Preauthentication failed); not trying another mechanism with "
		                        "them, so that a wrong password counts once toward an account lockout (the logon "
		                        "of gwuser@LAB.TEST to HTTP/gw.example (the RD Gateway): check the gateway's user "
		                        "name") == 1);
		CHECK(count_with(lines, "ended before the server answered") == 0);
		CHECK(stats->created == 1);   // NTLM never tried
	}
	// The account-state refusals are refusals too, and every refusal ends the login (policy.h).
	for (const Error e : {Error::LogonDenied, Error::PasswordExpired, Error::AccountRevoked, Error::AccountDisabled,
	                      Error::AccountLockedOut, Error::AccountExpired, Error::InvalidLogonHours,
	                      Error::InvalidWorkstation})
		CHECK(failure::is_refusal(e) && !may_fall_back(e));
	for (const Error e : {Error::NoAuthority, Error::NoCredentials, Error::TargetUnknown, Error::TimeSkew,
	                      Error::SmartcardWrongPin, Error::InvalidToken})
		CHECK(!failure::is_refusal(e));
	return true;
}

} // namespace

static void test_helpers(void**) { assert_true(helpers()); }
static void test_gateway_completion(void**) { assert_true(gateway_completion_names_the_logon()); }
static void test_gateway_reject(void**) { assert_true(gateway_reject_names_the_logon()); }
static void test_nla_reject(void**) { assert_true(nla_reject_has_the_plain_hint()); }
static void test_unanswered(void**) { assert_true(unanswered_final_token_is_reported_once()); }
static void test_unanswered_ap_req(void**) { assert_true(unanswered_ap_req_is_reported_once()); }
static void test_no_report(void**) { assert_true(no_report_without_a_pending_verdict()); }
static void test_kerberos_refusal(void**) { assert_true(kerberos_refusal_names_the_logon()); }

int main()
{
	char tmpl[] = "/tmp/nlassp-test-report.XXXXXX";
	if (!mkdtemp(tmpl))
		return 1;
	const std::string dir = tmpl;
	g_log = dir + "/wlog.txt";
	setenv("WLOG_APPENDER", "FILE", 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_PATH", dir.c_str(), 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_NAME", "wlog.txt", 1);
	setenv("WLOG_LEVEL", "INFO", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_helpers),
	    cmocka_unit_test(test_gateway_completion),
	    cmocka_unit_test(test_gateway_reject),
	    cmocka_unit_test(test_nla_reject),
	    cmocka_unit_test(test_unanswered),
	    cmocka_unit_test(test_unanswered_ap_req),
	    cmocka_unit_test(test_no_report),
	    cmocka_unit_test(test_kerberos_refusal),
	};
	const int rc = cmocka_run_group_tests_name("negotiate log lines for refused logons", tests, nullptr, nullptr);
	std::error_code ec;
	std::filesystem::remove_all(dir, ec);
	return rc;
}
