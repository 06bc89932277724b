// Negotiate's initiator over HTTP (an RD Gateway, target HTTP/<gateway>): RFC 4559 makes the
// server's final token optional and Microsoft's RD Gateway sends none, while FreeRDP 3.10-3.15
// never calls the module again without one. So the initiator completes (SEC_E_OK) when its last
// mechanism token goes out, with its mechListMIC, if the acceptor took its first mechanism
// without asking for the MIC exchange; otherwise, and always for NLA (TERMSRV/), it waits. The
// acceptor's final token, if a caller passes it after all, is checked. Fake mechanisms
// (fake_mech.h); test_negotiate_ntlm runs the same over the real NTLM.
#include "negotiate/context.h"
#include "negotiate/messages.h"

#include "check.h"
#include "fake_mech.h"
#include "pair.h"

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
using namespace nlassp::negotiate;
using nlassp::test::fake_kerberos;
using nlassp::test::fake_ntlm;
using nlassp::test::kTermsrv;
using nlassp::test::Pair;

namespace {

// NEGOTIATE -> CHALLENGE -> AUTHENTICATE (+ MIC): the initiator's third call.
bool up_to_authenticate(Pair& p)
{
	CHECK(p.create());
	CHECK(p.init_step(true) == Error::None && !p.init_complete);
	CHECK(p.acc_step() == Error::None);
	CHECK(p.init_step() == Error::None);
	return true;
}

bool ntlm_completes_with_authenticate()
{
	Pair p;
	CHECK(up_to_authenticate(p));
	CHECK(p.init_complete && p.init->established() && p.init->package() == PackageId::Ntlm);
	NegotiationToken t;
	CHECK(decode_negotiation_token(p.to_acc, t) && t.kind == NegotiationToken::Kind::Resp);
	CHECK(t.resp.neg_state == NegState::AcceptIncomplete);
	CHECK(t.resp.response_token && t.resp.mech_list_mic);   // AUTHENTICATE and our MIC
	CHECK(p.init_stats->mic_made == 1 && p.init_stats->mic_complete == 1);
	// The acceptor, which requires our MIC, accepts it and answers with its own final token.
	CHECK(p.acc_step() == Error::None && p.acc->established());
	CHECK(decode_negotiation_token(p.to_init, t) && t.resp.neg_state == NegState::AcceptCompleted);
	// A caller that passes that token after all: verified, nothing more to send.
	CHECK(p.init_step() == Error::None && p.init_complete && p.to_acc.empty());
	CHECK(p.init_stats->mic_verified == 1 && p.init_stats->mic_failed == 0);
	CHECK(p.init->established());
	// One token too many.
	CHECK(p.init_step() == Error::InvalidToken);
	return true;
}

// What a caller may pass after the completion is checked like any final token.
bool late_final_token_is_checked()
{
	{
		Pair p;
		p.acc_mechs[0].bad_mic = true;
		CHECK(up_to_authenticate(p) && p.init_complete);
		CHECK(p.acc_step() == Error::None);
		CHECK(p.init_step() == Error::MessageAltered);   // its mechListMIC does not verify
		CHECK(!p.init->established());
	}
	{
		Pair p;
		p.acc_mechs[0].fail_step = 1;   // the acceptor refuses the AUTHENTICATE: a reject
		CHECK(up_to_authenticate(p) && p.init_complete);
		CHECK(p.acc_step() == Error::LogonDenied && !p.to_init.empty());
		CHECK(p.init_step() == Error::LogonDenied);
	}
	{
		Pair p;
		CHECK(up_to_authenticate(p) && p.init_complete);
		SpnegoNegTokenResp extra;
		extra.neg_state = NegState::AcceptCompleted;
		extra.response_token = Bytes{'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 4, 0};
		CHECK(encode_neg_token_resp(extra, p.to_init));
		CHECK(p.init_step() == Error::InvalidToken);   // a mechanism token after completion
	}
	return true;
}

// A late final token that is truncated, garbage, or not a NegTokenResp is refused as such, and
// the context is no longer established.
bool malformed_late_token_is_refused()
{
	Bytes real;
	{
		Pair p;
		CHECK(up_to_authenticate(p) && p.init_complete && p.acc_step() == Error::None);
		real = p.to_init;
	}
	CHECK(real.size() > 4);
	SpnegoNegTokenInit init;
	const ByteView ntlm = oid::ntlmssp();
	init.mech_types.emplace_back(ntlm.begin(), ntlm.end());
	Bytes not_a_resp;
	CHECK(encode_neg_token_init(init, not_a_resp));
	SpnegoNegTokenResp incomplete;
	incomplete.neg_state = NegState::AcceptIncomplete;
	Bytes still_incomplete;
	CHECK(encode_neg_token_resp(incomplete, still_incomplete));
	const Bytes cases[] = {
	    Bytes(real.begin(), real.end() - 3),   // truncated
	    Bytes{0xa1, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x30},   // a length far beyond the input
	    Bytes{'g', 'a', 'r', 'b', 'a', 'g', 'e'},
	    not_a_resp,
	    still_incomplete,
	};
	for (const Bytes& c : cases) {
		Pair p;
		CHECK(up_to_authenticate(p) && p.init_complete);
		p.to_init = c;
		CHECK(p.init_step() == Error::InvalidToken);
		CHECK(!p.init->established());
	}
	return true;
}

// NLA: FreeRDP's CredSSP server sends the final token and waits for the next TSRequest.
bool nla_waits()
{
	Pair p;
	p.target = kTermsrv;
	CHECK(up_to_authenticate(p));
	CHECK(!p.init_complete && !p.init->established() && !p.to_acc.empty());
	CHECK(p.acc_step() == Error::None);
	CHECK(p.init_step() == Error::None && p.init_complete);
	CHECK(p.init_stats->mic_verified == 1);
	return true;
}

// The acceptor chose our second mechanism: its mechListMIC is what proves the offer was not
// cut down, so the initiator waits for it even over HTTP.
bool switched_mechanism_waits()
{
	Pair p;
	p.init_mechs = {fake_kerberos(), fake_ntlm()};
	p.acc_mechs = {fake_ntlm()};
	CHECK(p.create());
	CHECK(p.init_step(true) == Error::None);   // Kerberos' AP-REQ, optimistic
	CHECK(p.acc_step() == Error::None);        // NTLM, request-mic, no token
	CHECK(p.init_step() == Error::None);       // NEGOTIATE
	CHECK(p.acc_step() == Error::None);        // CHALLENGE
	CHECK(p.init_step() == Error::None);       // AUTHENTICATE + MIC
	CHECK(!p.init_complete && !p.init->established());
	CHECK(p.acc_step() == Error::None);
	CHECK(p.init_step() == Error::None && p.init_complete && p.init_stats->mic_verified == 1);
	return true;
}

// The acceptor took our first mechanism but asked for the MIC exchange (request-mic): it is
// required both ways, so the initiator waits.
bool request_mic_waits()
{
	Pair p;
	CHECK(p.create());
	CHECK(p.init_step(true) == Error::None);
	CHECK(p.acc_step() == Error::None);
	NegotiationToken t;
	CHECK(decode_negotiation_token(p.to_init, t) && t.resp.neg_state == NegState::AcceptIncomplete);
	t.resp.neg_state = NegState::RequestMic;
	CHECK(encode_neg_token_resp(t.resp, p.to_init));
	CHECK(p.init_step() == Error::None);
	CHECK(!p.init_complete && !p.init->established());
	return true;
}

// Kerberos with mutual authentication waits for the AP-REP, over HTTP too.
bool kerberos_waits_for_the_ap_rep()
{
	Pair p;
	p.init_mechs = {fake_kerberos()};
	p.acc_mechs = {fake_kerberos()};
	CHECK(p.create());
	CHECK(p.init_step(true) == Error::None && !p.init_complete);   // the AP-REQ
	CHECK(!p.init->established());
	CHECK(p.acc_step() == Error::None);                             // the AP-REP
	CHECK(p.init_step() == Error::None && p.init_complete && p.to_acc.empty());
	return true;
}

// A mechanism that makes no mechListMIC (none is required): the AUTHENTICATE alone completes.
bool without_a_mic()
{
	Pair p;
	p.init_mechs[0].supports_mic = false;
	p.init_mechs[0].require_mic = false;
	p.acc_mechs[0].supports_mic = false;
	p.acc_mechs[0].require_mic = false;
	CHECK(up_to_authenticate(p));
	CHECK(p.init_complete);
	NegotiationToken t;
	CHECK(decode_negotiation_token(p.to_acc, t) && t.resp.response_token && !t.resp.mech_list_mic);
	CHECK(p.init_stats->mic_complete == 0);
	CHECK(p.acc_step() == Error::None && p.acc->established());
	return true;
}

} // namespace

static void test_ntlm_completes(void**) { assert_true(ntlm_completes_with_authenticate()); }
static void test_late_final_token(void**) { assert_true(late_final_token_is_checked()); }
static void test_malformed_late_token(void**) { assert_true(malformed_late_token_is_refused()); }
static void test_nla_waits(void**) { assert_true(nla_waits()); }
static void test_switched_mechanism_waits(void**) { assert_true(switched_mechanism_waits()); }
static void test_request_mic_waits(void**) { assert_true(request_mic_waits()); }
static void test_kerberos_waits(void**) { assert_true(kerberos_waits_for_the_ap_rep()); }
static void test_without_a_mic(void**) { assert_true(without_a_mic()); }

int main()
{
	setenv("WLOG_LEVEL", "WARN", 0);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ntlm_completes),     cmocka_unit_test(test_late_final_token),
	    cmocka_unit_test(test_nla_waits),          cmocka_unit_test(test_switched_mechanism_waits),
	    cmocka_unit_test(test_request_mic_waits),  cmocka_unit_test(test_kerberos_waits),
	    cmocka_unit_test(test_without_a_mic),      cmocka_unit_test(test_malformed_late_token),
	};
	return cmocka_run_group_tests_name("negotiate over HTTP", tests, nullptr, nullptr);
}
