// The Negotiate context driven with fake mechanisms (context_fixture.h): the shape of the SPNEGO
// exchange (optimistic success, one, two and three legs, a mechanism switch), the mechListMIC
// rules, the initiator's first input, the workstation name, and malformed tokens at every position
// of a real exchange. Which mechanism gets chosen is in test_context_selection.cpp.
#include "context_fixture.h"

#include <functional>
#include <random>
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
using namespace nlassp::test;

namespace {

// ---- scenarios ------------------------------------------------------------------------------

// Kerberos-like two-leg mechanism accepted optimistically: two tokens, no MIC needed.
bool optimistic_two_leg(Fixture& f)
{
	CHECK(exchange(f));
	CHECK(f.tokens.size() == 2);
	CHECK(mech_types_are(f.tokens[0], {oid::kerberos(), oid::ntlmssp()}));
	SpnegoNegTokenInit init;
	CHECK(decode_init(f.tokens[0], init));
	CHECK(init.mech_token && !init.mech_token->empty());
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.tokens[1], r));
	CHECK(r.neg_state == NegState::AcceptCompleted);
	CHECK(r.supported_mech && oid::equal(*r.supported_mech, oid::kerberos()));
	CHECK(r.response_token && !r.response_token->empty());
	CHECK(!r.mech_list_mic);
	CHECK(f.last_init_output.empty());
	CHECK(f.init.ctx->package() == PackageId::Kerberos);
	CHECK(f.acc.ctx->package() == PackageId::Kerberos);
	CHECK(f.init.krb_stats->mic_made == 0 && f.acc.krb_stats->mic_made == 0);
	CHECK(f.init.krb_stats->mic_complete == 0);
	CHECK(f.acc.ntlm_stats->created == 0); // the acceptor never touched NTLM
	CHECK(f.init.ctx->flags() & ctx::MutualAuth);
	CHECK(f.init.ctx->sizes().max_token >= kNegotiateMaxToken);
	CHECK(f.init.ctx->sizes().security_trailer == 16);
	ContextNames names;
	CHECK(f.acc.ctx->names(names) == Error::None && names.user == u"fakeuser");
	SecretBytes key;
	CHECK(f.init.ctx->session_key(key) == Error::None && key.size() == 7);
	CHECK(protection_works(*f.init.ctx, *f.acc.ctx));
	// A token after completion is refused.
	StepOutput o;
	CHECK(f.acc.ctx->step(input(f.tokens[0]), o) == Error::InvalidToken);
	return true;
}

// A one-leg mechanism completes at once on the initiator; the acceptor's final accept-completed
// NegTokenResp without a mechanism token ends it.
bool one_leg_final_empty_resp(Fixture& f)
{
	f.init.krb = krb_config(1);
	f.acc.krb = krb_config(1);
	CHECK(exchange(f));
	CHECK(f.tokens.size() == 2);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.tokens[1], r));
	CHECK(r.neg_state == NegState::AcceptCompleted);
	CHECK(!r.response_token && !r.mech_list_mic);
	return true;
}

// NTLM-like three legs with a MIC demanded by the mechanism: the spnego.json shape.
bool three_leg_with_mic(Fixture& f)
{
	f.init.offer_krb = false;
	f.acc.offer_krb = false;
	CHECK(exchange(f));
	CHECK(f.tokens.size() == 4);
	CHECK(mech_types_are(f.tokens[0], {oid::ntlmssp()}));
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.tokens[1], r));
	CHECK(r.neg_state == NegState::AcceptIncomplete);
	CHECK(r.supported_mech && oid::equal(*r.supported_mech, oid::ntlmssp()));
	CHECK(r.response_token && !r.mech_list_mic);
	CHECK(decode_resp(f.tokens[2], r));
	CHECK(r.neg_state == NegState::AcceptIncomplete);
	CHECK(!r.supported_mech && r.response_token && r.mech_list_mic);
	CHECK(decode_resp(f.tokens[3], r));
	CHECK(r.neg_state == NegState::AcceptCompleted);
	CHECK(!r.response_token && r.mech_list_mic);
	// Both MICs over the exact mechTypes DER the initiator sent.
	SpnegoNegTokenInit init;
	CHECK(decode_init(f.tokens[0], init));
	CHECK(f.init.ntlm_stats->last_mic_input == init.mech_types_der);
	CHECK(f.acc.ntlm_stats->last_mic_input == init.mech_types_der);
	CHECK(f.init.ntlm_stats->mic_made == 1 && f.init.ntlm_stats->mic_verified == 1);
	CHECK(f.acc.ntlm_stats->mic_made == 1 && f.acc.ntlm_stats->mic_verified == 1);
	CHECK(f.init.ntlm_stats->mic_complete == 1 && f.acc.ntlm_stats->mic_complete == 1);
	CHECK(f.init.ctx->package() == PackageId::Ntlm);
	CHECK(protection_works(*f.init.ctx, *f.acc.ctx));
	return true;
}

// No mechanism demand: the initiator still volunteers a MIC with its final token, and the
// acceptor answers it.
bool three_leg_volunteered_mic(Fixture& f)
{
	f.init.offer_krb = false;
	f.acc.offer_krb = false;
	f.init.ntlm.require_mic = false;
	f.acc.ntlm.require_mic = false;
	CHECK(exchange(f));
	CHECK(f.tokens.size() == 4);
	CHECK(f.init.ntlm_stats->mic_made == 1 && f.acc.ntlm_stats->mic_verified == 1);
	CHECK(f.acc.ntlm_stats->mic_made == 1 && f.init.ntlm_stats->mic_verified == 1);
	CHECK(f.init.ntlm_stats->mic_complete == 1 && f.acc.ntlm_stats->mic_complete == 1);
	return true;
}

// A mechanism without MIC support and no MIC demanded: four tokens, none with a MIC.
bool three_leg_without_mic_support(Fixture& f)
{
	f.init.offer_krb = false;
	f.acc.offer_krb = false;
	for (Side* s : {&f.init, &f.acc}) {
		s->ntlm.require_mic = false;
		s->ntlm.supports_mic = false;
	}
	CHECK(exchange(f));
	CHECK(f.tokens.size() == 4);
	for (const Bytes& t : f.tokens) {
		NegotiationToken d;
		CHECK(decode_negotiation_token(t, d));
		CHECK(!(d.kind == NegotiationToken::Kind::Resp && d.resp.mech_list_mic));
	}
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.tokens[3], r));
	CHECK(r.neg_state == NegState::AcceptCompleted && !r.response_token);
	CHECK(f.init.ntlm_stats->mic_complete == 0 && f.acc.ntlm_stats->mic_complete == 0);
	return true;
}

// The acceptor has only NTLM: it answers request-mic with supportedMech NTLM and no token;
// the initiator restarts with NTLM; both MICs are exchanged.
bool supported_mech_switch(Fixture& f)
{
	f.acc.offer_krb = false;
	f.init.ntlm.require_mic = false;
	f.acc.ntlm.require_mic = false;
	CHECK(exchange(f));
	CHECK(f.tokens.size() == 6);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.tokens[1], r));
	CHECK(r.neg_state == NegState::RequestMic);
	CHECK(r.supported_mech && oid::equal(*r.supported_mech, oid::ntlmssp()));
	CHECK(!r.response_token && !r.mech_list_mic);
	CHECK(f.init.ctx->package() == PackageId::Ntlm);
	CHECK(f.init.krb_stats->steps == 1);  // only the optimistic token
	CHECK(f.init.ntlm_stats->mic_made == 1 && f.init.ntlm_stats->mic_verified == 1);
	CHECK(f.acc.ntlm_stats->mic_made == 1 && f.acc.ntlm_stats->mic_verified == 1);
	CHECK(protection_works(*f.init.ctx, *f.acc.ctx));
	return true;
}

// Switch to a two-leg mechanism: the acceptor finishes with its token and MIC, the initiator
// completes and still has its MIC to send (SEC_E_OK with a final token).
bool switch_to_two_leg_final_token(Fixture& f)
{
	f.init.ntlm_first = true;
	f.acc.offer_ntlm = false;
	CHECK(exchange(f));
	CHECK(mech_types_are(f.tokens[0], {oid::ntlmssp(), oid::kerberos()}));
	CHECK(f.tokens.size() == 5);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.tokens[3], r));
	CHECK(r.neg_state == NegState::AcceptIncomplete && r.response_token && r.mech_list_mic);
	CHECK(decode_resp(f.tokens[4], r));
	CHECK(r.neg_state == NegState::AcceptCompleted && !r.response_token && r.mech_list_mic);
	CHECK(!f.last_init_output.empty());  // complete, and a last token to send
	CHECK(f.init.krb_stats->mic_complete == 1 && f.acc.krb_stats->mic_complete == 1);
	CHECK(f.init.ctx->package() == PackageId::Kerberos);
	return true;
}

// The acceptor mechanism's MIC is wrong: the initiator reports MessageAltered.
bool mic_mismatch_on_initiator(Fixture& f)
{
	f.init.offer_krb = false;
	f.acc.offer_krb = false;
	f.acc.ntlm.bad_mic = true;
	CHECK(!exchange(f));
	CHECK(f.acc_error == Error::None);
	CHECK(f.init_error == Error::MessageAltered);
	CHECK(!f.init.ctx->established());
	return true;
}

// The initiator's MIC is wrong: the acceptor reports MessageAltered and sends reject.
bool mic_mismatch_on_acceptor(Fixture& f)
{
	f.init.offer_krb = false;
	f.acc.offer_krb = false;
	f.init.ntlm.bad_mic = true;
	CHECK(!exchange(f));
	CHECK(f.acc_error == Error::MessageAltered);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.last_acc_output, r));
	CHECK(r.neg_state == NegState::Reject);
	CHECK(f.acc.ntlm_stats->mic_complete == 0);
	return true;
}

// The acceptor asked for a MIC (request-mic) and the initiator's final token lacks it.
bool mic_missing_on_acceptor(Fixture& f)
{
	f.acc.offer_krb = false;
	CHECK(f.acc.create(Role::Acceptor));
	// Initiator offers Kerberos first; the acceptor picks NTLM and demands the MIC.
	SpnegoNegTokenInit init;
	init.mech_types = {Bytes(oid::kerberos().begin(), oid::kerberos().end()),
	                   Bytes(oid::ntlmssp().begin(), oid::ntlmssp().end())};
	init.mech_token = Bytes{'x'};
	Bytes t1;
	CHECK(encode_neg_token_init(init, t1));
	StepOutput o;
	CHECK(f.acc.ctx->step(input(t1), o) == Error::None);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(o.token, r));
	CHECK(r.neg_state == NegState::RequestMic && !r.response_token);
	CHECK(f.acc.ntlm_stats->steps == 0);  // the optimistic Kerberos token was dropped
	// A raw NTLM initiator context plays the client, without ever sending a MIC.
	FakeConfig c = ntlm_config();
	c.require_mic = false;
	FakeContext client(Role::Initiator, c, std::make_shared<FakeStats>());
	StepOutput co;
	CHECK(client.step(input({}), co) == Error::None);
	SpnegoNegTokenResp m;
	m.response_token = co.token;
	Bytes t;
	CHECK(encode_neg_token_resp(m, t));
	CHECK(f.acc.ctx->step(input(t), o) == Error::None);
	CHECK(decode_resp(o.token, r));
	CHECK(r.neg_state == NegState::AcceptIncomplete && r.response_token);
	CHECK(client.step(input(*r.response_token), co) == Error::None && co.complete);
	m.response_token = co.token;
	CHECK(encode_neg_token_resp(m, t));
	CHECK(f.acc.ctx->step(input(t), o) == Error::DowngradeDetected);
	CHECK(decode_resp(o.token, r));
	CHECK(r.neg_state == NegState::Reject);
	CHECK(!f.acc.ctx->established());
	return true;
}

// The acceptor switched mechanisms (so a MIC is required) but finishes without one.
bool mic_missing_on_initiator(Fixture& f)
{
	f.init.ntlm_first = true;
	CHECK(f.init.create(Role::Initiator));
	StepOutput o;
	CHECK(f.init.ctx->step(input({}), o) == Error::None);
	// A hand-made acceptor: picks Kerberos (not the initiator's first) and completes it.
	FakeContext server(Role::Acceptor, krb_config(), std::make_shared<FakeStats>());
	SpnegoNegTokenResp r;
	r.neg_state = NegState::RequestMic;
	r.supported_mech = Bytes(oid::kerberos().begin(), oid::kerberos().end());
	Bytes t;
	CHECK(encode_neg_token_resp(r, t));
	CHECK(f.init.ctx->step(input(t), o) == Error::None);
	SpnegoNegTokenResp fromc;
	CHECK(decode_resp(o.token, fromc));
	CHECK(fromc.response_token);
	StepOutput so;
	CHECK(server.step(input(*fromc.response_token), so) == Error::None && so.complete);
	SpnegoNegTokenResp fin;
	fin.neg_state = NegState::AcceptCompleted;
	fin.response_token = so.token;
	CHECK(encode_neg_token_resp(fin, t));
	CHECK(f.init.ctx->step(input(t), o) == Error::DowngradeDetected);
	CHECK(!f.init.ctx->established());
	return true;
}

// An accept-completed without a MIC after our AUTHENTICATE+MIC demanded by the mechanism.
bool mic_missing_after_mechanism_demand(Fixture& f)
{
	f.init.offer_krb = false;
	f.acc.offer_krb = false;
	CHECK(f.init.create(Role::Initiator));
	CHECK(f.acc.create(Role::Acceptor));
	StepOutput io, ao;
	CHECK(f.init.ctx->step(input({}), io) == Error::None);
	CHECK(f.acc.ctx->step(input(io.token), ao) == Error::None);
	CHECK(f.init.ctx->step(input(ao.token), io) == Error::None);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(io.token, r));
	CHECK(r.mech_list_mic.has_value());
	SpnegoNegTokenResp done;
	done.neg_state = NegState::AcceptCompleted;
	Bytes t;
	CHECK(encode_neg_token_resp(done, t));
	CHECK(f.init.ctx->step(input(t), io) == Error::DowngradeDetected);
	return true;
}

// The workstation name set after the first call reaches NTLM even after a switch.
bool workstation_follows_switch(Fixture& f)
{
	f.acc.offer_krb = false;
	CHECK(f.init.create(Role::Initiator));
	CHECK(f.init.ctx->package() == PackageId::Negotiate);
	CHECK(f.init.ctx->sizes().max_token >= kNegotiateMaxToken);
	Bytes data = {1, 2, 3};
	MessageBuffer buf{MessageBufferKind::Data, data};
	Bytes tok;
	CHECK(f.init.ctx->encrypt(std::span<MessageBuffer>(&buf, 1), tok) == Error::NotEstablished);
	ContextNames n;
	CHECK(f.init.ctx->names(n) == Error::NotEstablished);
	StepOutput o;
	CHECK(f.init.ctx->step(input({}), o) == Error::None);
	CHECK(f.init.ctx->package() == PackageId::Kerberos);
	CHECK(f.init.ctx->set_workstation(u"WS1") == Error::Unsupported);
	CHECK(f.init.ntlm_stats->workstation == u"WS1");
	f.tokens.clear();
	CHECK(f.acc.create(Role::Acceptor));
	StepOutput ao;
	CHECK(f.acc.ctx->step(input(o.token), ao) == Error::None);
	CHECK(f.init.ctx->step(input(ao.token), o) == Error::None);
	CHECK(f.init.ctx->package() == PackageId::Ntlm);
	CHECK(f.init.ctx->set_workstation(u"WS2") == Error::None);
	CHECK(f.init.ntlm_stats->workstation == u"WS2");
	return true;
}

// A NegTokenInit2 (hints) given to the initiator's first call is ignored; garbage is not.
bool initiator_first_input(Fixture& f)
{
	CHECK(f.init.create(Role::Initiator));
	SpnegoNegTokenInit hints;
	hints.mech_types = {Bytes(oid::kerberos().begin(), oid::kerberos().end())};
	const std::string name = "not_defined_in_RFC4178@please_ignore";
	hints.neg_hints = NegHints{Bytes(name.begin(), name.end()), std::nullopt};
	Bytes t;
	CHECK(encode_neg_token_init(hints, t));
	StepOutput o;
	CHECK(f.init.ctx->step(input(t), o) == Error::None);
	CHECK(mech_types_are(o.token, {oid::kerberos(), oid::ntlmssp()}));
	Side other;
	CHECK(other.create(Role::Initiator));
	CHECK(other.ctx->step(input(Bytes{1, 2, 3}), o) == Error::InvalidToken);
	return true;
}

// The acceptor's last token must say accept-completed when the initiator stops there and sends
// nothing; otherwise the two ends would disagree about whether the exchange is over.
bool final_token_must_say_completed(Fixture&)
{
	const std::vector<std::function<void(Fixture&)>> flows = {
	    [](Fixture&) {},                                                   // Kerberos-like, 2 tokens
	    [](Fixture& f) { f.init.offer_krb = f.acc.offer_krb = false; },  // NTLM-like with MICs
	};
	for (const auto& configure : flows) {
		Fixture clean;
		configure(clean);
		CHECK(exchange(clean));
		const long last = static_cast<long>(clean.tokens.size()) - 1;
		CHECK(last % 2 == 1);  // the acceptor's
		for (NegState s : {NegState::AcceptIncomplete, NegState::RequestMic}) {
			SpnegoNegTokenResp r;
			CHECK(decode_resp(clean.tokens[static_cast<size_t>(last)], r));
			CHECK(r.neg_state == NegState::AcceptCompleted);
			r.neg_state = s;
			Bytes changed;
			CHECK(encode_neg_token_resp(r, changed));
			Fixture f;
			configure(f);
			CHECK(!exchange(f, last, &changed));
			// request-mic in a reply that brings no MIC is also a missing MIC.
			CHECK(f.init_error == Error::InvalidToken ||
			      (s == NegState::RequestMic && f.init_error == Error::DowngradeDetected));
			CHECK(!f.init.ctx->established());
		}
	}
	return true;
}

// ---- malformed tokens -------------------------------------------------------------------

// Replays a clean exchange with the token at `pos` replaced; the receiving side must fail
// (with `expect` if given), and nothing may crash.
bool replay_with(const std::function<void(Fixture&)>& configure, long pos, const Bytes& bad, Error* got)
{
	Fixture f;
	configure(f);
	const bool ok = exchange(f, pos, &bad);
	*got = (pos % 2 == 0) ? f.acc_error : f.init_error;
	return ok;
}

bool malformed_tokens_everywhere(Fixture&)
{
	const std::vector<std::function<void(Fixture&)>> flows = {
	    [](Fixture& f) { f.init.offer_krb = f.acc.offer_krb = false; },  // NTLM-like, 4 tokens
	    [](Fixture&) {},                                                   // optimistic Kerberos
	    [](Fixture& f) { f.acc.offer_krb = false; },                       // switch, 5 tokens
	};
	std::mt19937 rng(1234);
	size_t flips = 0, flips_refused = 0;
	for (const auto& configure : flows) {
		Fixture clean;
		configure(clean);
		CHECK(exchange(clean));
		for (size_t pos = 0; pos < clean.tokens.size(); ++pos) {
			const Bytes& good = clean.tokens[pos];
			Error got = Error::None;
			// Every truncation, including the empty token.
			for (size_t n = 0; n < good.size(); ++n) {
				Bytes bad(good.begin(), good.begin() + static_cast<long>(n));
				CHECK(!replay_with(configure, static_cast<long>(pos), bad, &got));
				if (got != Error::InvalidToken) {
					std::fprintf(stderr, "token %zu cut to %zu bytes: %s\n", pos, n, error_name(got));
					return false;
				}
			}
			// Garbage of several sizes.
			for (size_t len : {1u, 7u, 16u, 64u, 300u}) {
				Bytes bad(len);
				for (uint8_t& b : bad)
					b = static_cast<uint8_t>(rng());
				NegotiationToken t;
				if (decode_negotiation_token(bad, t) || is_raw_ntlmssp(bad))
					continue;
				CHECK(!replay_with(configure, static_cast<long>(pos), bad, &got));
				CHECK(got == Error::InvalidToken);
			}
			// Every single-bit flip: either refused, or (rarely) still well-formed and then a
			// clean error or a consistent success; never a crash.
			for (size_t bit = 0; bit < good.size() * 8; ++bit) {
				Bytes bad = good;
				bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
				++flips;
				const bool ok = replay_with(configure, static_cast<long>(pos), bad, &got);
				NegotiationToken t;
				if (!decode_negotiation_token(bad, t) && (ok || got != Error::InvalidToken)) {
					std::fprintf(stderr, "token %zu bit %zu: ok=%d %s %s\n", pos, bit, ok, error_name(got),
					             to_hex(bad).c_str());
					return false;
				}
				if (!ok)
					++flips_refused;
			}
		}
	}
	std::fprintf(stderr, "bit flips: %zu, refused: %zu\n", flips, flips_refused);
	CHECK(flips_refused * 10 > flips * 9);
	return true;
}

} // namespace

SCENARIO(optimistic_two_leg)
SCENARIO(one_leg_final_empty_resp)
SCENARIO(three_leg_with_mic)
SCENARIO(three_leg_volunteered_mic)
SCENARIO(three_leg_without_mic_support)
SCENARIO(supported_mech_switch)
SCENARIO(switch_to_two_leg_final_token)
SCENARIO(mic_mismatch_on_initiator)
SCENARIO(mic_mismatch_on_acceptor)
SCENARIO(mic_missing_on_acceptor)
SCENARIO(mic_missing_on_initiator)
SCENARIO(mic_missing_after_mechanism_demand)
SCENARIO(workstation_follows_switch)
SCENARIO(initiator_first_input)
SCENARIO(final_token_must_say_completed)
SCENARIO(malformed_tokens_everywhere)

int main()
{
	const struct CMUnitTest tests[] = {
	    ENTRY(optimistic_two_leg),
	    ENTRY(one_leg_final_empty_resp),
	    ENTRY(three_leg_with_mic),
	    ENTRY(three_leg_volunteered_mic),
	    ENTRY(three_leg_without_mic_support),
	    ENTRY(supported_mech_switch),
	    ENTRY(switch_to_two_leg_final_token),
	    ENTRY(mic_mismatch_on_initiator),
	    ENTRY(mic_mismatch_on_acceptor),
	    ENTRY(mic_missing_on_acceptor),
	    ENTRY(mic_missing_on_initiator),
	    ENTRY(mic_missing_after_mechanism_demand),
	    ENTRY(workstation_follows_switch),
	    ENTRY(initiator_first_input),
	    ENTRY(final_token_must_say_completed),
	    ENTRY(malformed_tokens_everywhere),
	};
	return cmocka_run_group_tests_name("negotiate_context", tests, nullptr, nullptr);
}
