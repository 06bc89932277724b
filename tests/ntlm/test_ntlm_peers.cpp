// plugin/ntlm/context against peers that are not our own initiator or acceptor: a client built
// from the message and crypto layers (no MIC, no key exchange, skewed clocks, NTLMv1, anonymous),
// every truncation and byte flip of a real AUTHENTICATE at the acceptor and of a CHALLENGE at the
// initiator, and the initiator against CHALLENGE variants (no timestamp, no KEY_EXCH, no SEAL).
//
// Test bodies only call helpers and assert (CMocka longjmps past C++ destructors).
#include "ntlm_pair.h"

#include "ntlm/messages.h"

#include <array>
#include <cstdio>
#include <functional>

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
using namespace nlassp::ntlm;
using namespace nlassp::test;

namespace {

// ---- hand-built clients -----------------------------------------------------------------------

struct Manual {
	int64_t clock_offset_seconds = 0;
	bool ntlmv1 = false;
	bool anonymous = false;
	bool key_exch = true;
};

// A client written with the message and crypto layers directly: no MIC, own timestamp.
int manual_logon(const Manual& m)
{
	Pair p;
	if (!make_pair(p, Options{}))
		return -1;
	NegotiateMessage nm;
	nm.flags = initiator_negotiate_flags(true);
	nm.version = Version{};
	StepInput s1;
	const Bytes neg = nm.encode();
	s1.token = neg;
	StepOutput o1;
	if (p.server->step(s1, o1) != Error::None)
		return -1;
	ChallengeMessage cm;
	if (!cm.decode(o1.token))
		return -1;

	AuthenticateMessage am;
	am.flags = (cm.flags & ~flag::KeyExch) | (m.key_exch ? flag::KeyExch : 0u);
	am.version = Version{};
	am.user = wire::utf16le_bytes(m.anonymous ? u"" : u"alice");
	am.domain = wire::utf16le_bytes(u"LAB");
	if (m.ntlmv1) {
		am.nt_response.assign(24, 0x5a);
		am.lm_response.assign(24, 0x5b);
	} else if (!m.anonymous) {
		SecretBytes key;
		if (ntowf_v2(wire::utf16le_bytes(u"Passw0rd!"), u"alice", u"LAB", key) != Error::None)
			return -1;
		const uint64_t ts = filetime_now() + static_cast<uint64_t>(m.clock_offset_seconds * 10000000);
		const uint8_t cc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
		const Bytes temp = ntlmv2_temp(ts, cc, cm.target_info.encode());
		std::array<uint8_t, 16> proof{};
		SecretBytes base;
		if (nt_proof_str(key.view(), cm.server_challenge, temp, proof) != Error::None ||
		    session_base_key_v2(key.view(), proof, base) != Error::None)
			return -1;
		am.nt_response = nt_challenge_response(proof, temp);
		if (m.key_exch) {
			const Bytes session(16, 0x77);
			SecretBytes esk;
			if (rc4k(base.view(), session, esk) != Error::None)
				return -1;
			am.encrypted_random_session_key.assign(esk.view().begin(), esk.view().end());
		}
	}
	if (m.key_exch && am.encrypted_random_session_key.empty())
		am.encrypted_random_session_key.assign(16, 0);
	const Bytes auth = am.encode();
	StepInput s2;
	s2.token = auth;
	StepOutput o2;
	const Error e = p.server->step(s2, o2);
	if (e == Error::None) {
		// Without a MIC, SPNEGO need not insist on a mechListMIC.
		if (p.server->negotiation_mic_required())
			return -1;
		// Signing works with the keys the client derived.
		SecretBytes k;
		if (p.server->session_key(k) != Error::None || k.size() != 16)
			return -1;
	}
	return code(e);
}

// ---- broken AUTHENTICATE messages at the acceptor -----------------------------------------------

// Every prefix of a real AUTHENTICATE and every single-byte change must fail, never crash.
bool broken_authenticate_everywhere()
{
	Pair ref;
	if (handshake(ref) != Error::None)
		return false;
	const size_t n = ref.authenticate.size();
	for (size_t len = 0; len < n; len += 1) {
		Options o;
		o.tamper_authenticate = [len](Bytes& b) { b.resize(len); };
		Pair p;
		const Error e = handshake(p, o);
		if (e != Error::InvalidToken) {
			std::fprintf(stderr, "AUTHENTICATE truncated to %zu: %s\n", len, error_name(e));
			return false;
		}
	}
	for (size_t i = 0; i < n; ++i) {
		Options o;
		o.tamper_authenticate = [i](Bytes& b) { b[i] ^= 0x20; };
		Pair p;
		const Error e = handshake(p, o);
		if (e == Error::None) {
			std::fprintf(stderr, "AUTHENTICATE with byte %zu flipped was accepted\n", i);
			return false;
		}
	}
	// Extended with trailing bytes: the MIC covers what was sent, so the logon fails.
	Options o;
	o.tamper_authenticate = [](Bytes& b) { b.push_back(0); };
	Pair p;
	return handshake(p, o) == Error::MessageAltered;
}

bool broken_challenge_at_initiator()
{
	Pair ref;
	if (handshake(ref) != Error::None)
		return false;
	for (size_t len = 0; len < ref.challenge.size(); ++len) {
		Pair p;
		if (!make_pair(p, Options{}))
			return false;
		StepInput a;
		a.requested = ctx::Confidentiality;
		StepOutput ao;
		if (p.client->step(a, ao) != Error::None)
			return false;
		StepInput b;
		const ByteView cut = ByteView(ref.challenge).first(len);
		b.token = cut;
		StepOutput bo;
		if (p.client->step(b, bo) != Error::InvalidToken)
			return false;
	}
	// A CHALLENGE without target info (an LM/NTLMv1-only server) is refused.
	ChallengeMessage cm;
	if (!cm.decode(ref.challenge))
		return false;
	cm.flags &= ~flag::TargetInfo;
	const Bytes v1 = cm.encode();
	ChallengeMessage cm2;
	if (!cm2.decode(ref.challenge))
		return false;
	cm2.flags &= ~flag::Ntlm;
	const Bytes no_ntlm = cm2.encode();
	for (const Bytes* tok : {&v1, &no_ntlm}) {
		Pair p;
		if (!make_pair(p, Options{}))
			return false;
		StepInput a;
		StepOutput ao;
		if (p.client->step(a, ao) != Error::None)
			return false;
		StepInput b;
		b.token = *tok;
		StepOutput bo;
		if (p.client->step(b, bo) != Error::InvalidToken)
			return false;
	}
	return true;
}

// ---- the initiator against CHALLENGE variants ---------------------------------------------------

// Feeds an initiator our acceptor's CHALLENGE changed by `edit`; returns the initiator's result
// and its AUTHENTICATE.
Error initiator_with_edited_challenge(const std::function<void(ChallengeMessage&)>& edit, AuthenticateMessage& am)
{
	Pair ref;
	if (handshake(ref) != Error::None)
		return Error::Internal;
	ChallengeMessage cm;
	if (!cm.decode(ref.challenge))
		return Error::Internal;
	edit(cm);
	const Bytes chal = cm.encode();
	Pair p;
	if (!make_pair(p, Options{}))
		return Error::Internal;
	StepInput a;
	a.requested = ctx::Confidentiality;
	StepOutput ao;
	if (p.client->step(a, ao) != Error::None)
		return Error::Internal;
	StepInput b;
	b.token = chal;
	StepOutput bo;
	const Error e = p.client->step(b, bo);
	if (e == Error::None && !am.decode(bo.token))
		return Error::Internal;
	return e;
}

bool challenge_without_timestamp()
{
	AuthenticateMessage am;
	if (initiator_with_edited_challenge([](ChallengeMessage& c) { c.target_info.remove(AvId::Timestamp); }, am) !=
	    Error::None)
		return false;
	// LMv2 (HMAC || client challenge) instead of Z(24), and our own clock in the blob.
	if (!am.ntlmv2 || am.lm_response.size() != 24 || am.lm_response == Bytes(24, 0) ||
	    !std::equal(am.ntlmv2->client_challenge.begin(), am.ntlmv2->client_challenge.end(), am.lm_response.begin() + 16))
		return false;
	const uint64_t now = filetime_now();
	const uint64_t ts = am.ntlmv2->timestamp;
	return ts <= now && now - ts < 60ULL * 10000000ULL;
}

bool challenge_without_key_exchange()
{
	AuthenticateMessage am;
	return initiator_with_edited_challenge([](ChallengeMessage& c) { c.flags &= ~flag::KeyExch; }, am) ==
	           Error::None &&
	       !(am.flags & flag::KeyExch) && am.encrypted_random_session_key.empty() && am.has_mic;
}

int challenge_without_seal()
{
	AuthenticateMessage am;
	return code(initiator_with_edited_challenge([](ChallengeMessage& c) { c.flags &= ~flag::Seal; }, am));
}

int challenge_without_unicode()
{
	AuthenticateMessage am;
	return code(initiator_with_edited_challenge([](ChallengeMessage& c) { c.flags &= ~flag::Unicode; }, am));
}

} // namespace

static void test_client_without_mic_is_accepted(void**) { assert_int_equal(manual_logon(Manual{}), kOk); }
static void test_client_without_key_exchange(void**)
{
	Manual m;
	m.key_exch = false;
	assert_int_equal(manual_logon(m), kOk);
}
static void test_stale_timestamp_is_time_skew(void**)
{
	Manual m;
	m.clock_offset_seconds = -3600;
	assert_int_equal(manual_logon(m), code(Error::TimeSkew));
}
static void test_future_timestamp_is_time_skew(void**)
{
	Manual m;
	m.clock_offset_seconds = 600;
	assert_int_equal(manual_logon(m), code(Error::TimeSkew));
}
static void test_ntlmv1_response_is_refused(void**)
{
	Manual m;
	m.ntlmv1 = true;
	assert_int_equal(manual_logon(m), code(Error::LogonDenied));
}
static void test_anonymous_is_refused(void**)
{
	Manual m;
	m.anonymous = true;
	assert_int_equal(manual_logon(m), code(Error::LogonDenied));
}
static void test_broken_authenticate_at_acceptor(void**) { assert_true(broken_authenticate_everywhere()); }
static void test_broken_challenge_at_initiator(void**) { assert_true(broken_challenge_at_initiator()); }
static void test_challenge_without_timestamp_uses_lmv2_and_own_clock(void**) { assert_true(challenge_without_timestamp()); }
static void test_challenge_without_key_exchange(void**) { assert_true(challenge_without_key_exchange()); }
static void test_challenge_without_seal_is_refused(void**) { assert_int_equal(challenge_without_seal(), code(Error::Unsupported)); }
static void test_challenge_without_unicode_is_refused(void**) { assert_int_equal(challenge_without_unicode(), code(Error::InvalidToken)); }

int main()
{
	if (const int rc = legacy_provider_exit_code())
		return rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_without_mic_is_accepted),
		cmocka_unit_test(test_client_without_key_exchange),
		cmocka_unit_test(test_stale_timestamp_is_time_skew),
		cmocka_unit_test(test_future_timestamp_is_time_skew),
		cmocka_unit_test(test_ntlmv1_response_is_refused),
		cmocka_unit_test(test_anonymous_is_refused),
		cmocka_unit_test(test_broken_authenticate_at_acceptor),
		cmocka_unit_test(test_broken_challenge_at_initiator),
		cmocka_unit_test(test_challenge_without_timestamp_uses_lmv2_and_own_clock),
		cmocka_unit_test(test_challenge_without_key_exchange),
		cmocka_unit_test(test_challenge_without_seal_is_refused),
		cmocka_unit_test(test_challenge_without_unicode_is_refused),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
