// plugin/ntlm/messages: the MS-NLMP 4.2.4.3 CHALLENGE and AUTHENTICATE messages decode to the
// spec's fields and re-encode to the same bytes; the NTLM messages inside the spnego.json tokens
// (MIT krb5 + gss-ntlmssp) decode; truncated, extended, bit-flipped and garbage input never
// crashes and is refused where it must be.
//
// Test bodies only call bool helpers and assert (CMocka longjmps past C++ destructors).
#include "ntlm/messages.h"
#include "support/vectors.h"
#include "wire/utf16.h"

#include <cstdio>
#include <random>
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
using namespace nlassp::ntlm;

namespace {

bool vec(const std::string& file, const std::string& path, Bytes& out)
{
	if (!test::vector_hex(file, path, out)) {
		std::fprintf(stderr, "missing vector %s:%s\n", file.c_str(), path.c_str());
		return false;
	}
	return true;
}

bool eq(const char* what, ByteView got, ByteView want)
{
	if (got.size() == want.size() && std::equal(got.begin(), got.end(), want.begin()))
		return true;
	std::fprintf(stderr, "%s: expected %s, got %s\n", what, to_hex(want).c_str(), to_hex(got).c_str());
	return false;
}

bool eq_vec(const char* what, ByteView got, const std::string& path)
{
	Bytes want;
	return vec("ms-nlmp.json", path, want) && eq(what, got, want);
}

bool eq_str(const char* what, ByteView got_utf16le, const char16_t* want)
{
	return eq(what, got_utf16le, wire::utf16le_bytes(want));
}

bool spec_challenge()
{
	Bytes raw;
	if (!vec("ms-nlmp.json", "ntlmv2.CHALLENGE_MESSAGE", raw))
		return false;
	ChallengeMessage m;
	if (!m.decode(raw))
		return false;
	uint32_t type = 0;
	if (!peek_message_type(raw, type) || type != 2)
		return false;
	if (m.flags != 0xe28a8233 || !eq_str("TargetName", m.target_name, u"Server") ||
	    !eq_vec("ServerChallenge", m.server_challenge, "common.ServerChallenge") ||
	    !eq_vec("TargetInfo", m.target_info_raw, "ntlmv2.TargetInfo"))
		return false;
	if (!m.version || m.version->major != 6 || m.version->minor != 0 || m.version->build != 6000 ||
	    m.version->ntlm_revision != 15)
		return false;
	if (m.target_info.pairs.size() != 2 || m.target_info.pairs[0].id != AvId::NbDomainName ||
	    !eq_str("NbDomainName", m.target_info.pairs[0].value, u"Domain") ||
	    m.target_info.pairs[1].id != AvId::NbComputerName ||
	    !eq_str("NbComputerName", m.target_info.pairs[1].value, u"Server"))
		return false;
	uint64_t ts = 0;
	if (m.target_info.timestamp(ts))
		return false;
	return eq("re-encoded CHALLENGE", m.encode(), raw);
}

bool spec_authenticate()
{
	Bytes raw;
	if (!vec("ms-nlmp.json", "ntlmv2.AUTHENTICATE_MESSAGE", raw))
		return false;
	AuthenticateMessage m;
	if (!m.decode(raw))
		return false;
	if (m.flags != 0xe2888235 || !eq_str("Domain", m.domain, u"Domain") || !eq_str("User", m.user, u"User") ||
	    !eq_str("Workstation", m.workstation, u"COMPUTER") ||
	    !eq_vec("LmChallengeResponse", m.lm_response, "ntlmv2.LmChallengeResponse") ||
	    !eq_vec("NtChallengeResponse", m.nt_response, "ntlmv2.NtChallengeResponse") ||
	    !eq_vec("EncryptedRandomSessionKey", m.encrypted_random_session_key, "ntlmv2.EncryptedRandomSessionKey"))
		return false;
	if (!m.version || m.version->major != 5 || m.version->minor != 1 || m.version->build != 2600 || m.has_mic)
		return false;
	if (!m.ntlmv2 || m.ntlmv2->timestamp != 0 || !eq_vec("NTProofStr", m.ntlmv2->nt_proof, "ntlmv2.NTProofStr") ||
	    !eq_vec("ClientChallenge", m.ntlmv2->client_challenge, "common.ClientChallenge") ||
	    m.ntlmv2->av_pairs.pairs.size() != 2)
		return false;
	if (!eq("raw", m.raw, raw))
		return false;
	AuthenticateMessage copy = m;
	return eq("re-encoded AUTHENTICATE", copy.encode(), raw) && eq("raw after encode", copy.raw, raw);
}

bool spec_ntlmv1_authenticate()
{
	// An NTLMv1 AUTHENTICATE decodes (so the acceptor can say why it refuses it), without an NTLMv2 part.
	Bytes raw;
	AuthenticateMessage m;
	return vec("ms-nlmp.json", "ntlmv1.AUTHENTICATE_MESSAGE", raw) && m.decode(raw) && m.nt_response.size() == 24 &&
	       !m.ntlmv2 && !m.has_mic && eq("re-encoded v1", m.encode(), raw);
}

bool spnego_negotiate()
{
	Bytes raw;
	if (!vec("spnego.json", "tokens.0.ntlm_message_hex", raw))
		return false;
	NegotiateMessage m;
	if (!m.decode(raw) || m.flags != 0xe2088237 || !m.domain.empty() || !m.workstation.empty() || !m.version ||
	    m.version->major != 6 || m.version->minor != 2)
		return false;
	return eq("re-encoded NEGOTIATE", m.encode(), raw);
}

bool spnego_challenge()
{
	Bytes raw;
	if (!vec("spnego.json", "tokens.1.ntlm_message_hex", raw))
		return false;
	ChallengeMessage m;
	if (!m.decode(raw) || !eq_str("TargetName", m.target_name, u"TESTDOM"))
		return false;
	uint64_t ts = 0;
	uint32_t f = 1;
	if (!m.target_info.timestamp(ts) || ts == 0 || !m.target_info.flags(f) || f != 0)
		return false;
	const AvPair* nb = m.target_info.find(AvId::NbComputerName);
	if (!nb || !eq_str("NbComputerName", nb->value, u"TESTHOST"))
		return false;
	return eq("re-encoded spnego CHALLENGE", m.encode(), raw);
}

bool spnego_authenticate()
{
	Bytes raw;
	if (!vec("spnego.json", "tokens.2.ntlm_message_hex", raw))
		return false;
	AuthenticateMessage m;
	if (!m.decode(raw) || !m.has_mic || !m.ntlmv2 || !eq_str("User", m.user, u"testuser") ||
	    !eq_str("Domain", m.domain, u"TESTDOM") || !m.lm_response.empty() ||
	    m.encrypted_random_session_key.size() != 16)
		return false;
	const AvPair* tn = m.ntlmv2->av_pairs.find(AvId::TargetName);
	if (!tn || !eq_str("MsvAvTargetName", tn->value, u"HTTP/server.testdom.example"))
		return false;
	if (!eq("MIC", m.mic, ByteView(raw).subspan(72, 16)))
		return false;
	// gss-ntlmssp orders the payload differently; our encoding carries the same fields.
	AuthenticateMessage copy = m;
	const Bytes again = copy.encode();
	AuthenticateMessage back;
	return !again.empty() && back.decode(again) && back.flags == m.flags && back.user == m.user &&
	       back.domain == m.domain && back.workstation == m.workstation && back.nt_response == m.nt_response &&
	       back.lm_response == m.lm_response && back.encrypted_random_session_key == m.encrypted_random_session_key &&
	       back.has_mic && back.mic == m.mic && back.version == m.version;
}

bool av_pairs_roundtrip()
{
	AvPairList l;
	l.set(AvId::NbComputerName, wire::utf16le_bytes(u"HOST"));
	l.set(AvId::Flags, Bytes{2, 0, 0, 0});
	l.set(AvId::Flags, Bytes{6, 0, 0, 0});   // replaces
	const Bytes enc = l.encode();
	AvPairList back;
	uint32_t f = 0;
	if (!back.decode(enc) || back.pairs.size() != 2 || !back.flags(f) || f != 6)
		return false;
	back.remove(AvId::Flags);
	if (back.find(AvId::Flags) || back.pairs.size() != 1)
		return false;
	// Trailing bytes after MsvAvEOL are ignored (NTLMv2 clients pad the list).
	Bytes padded = enc;
	padded.insert(padded.end(), 8, 0);
	AvPairList p;
	if (!p.decode(padded) || p.pairs.size() != 2)
		return false;
	// Refused: no EOL, EOL with a length, wrong-sized fixed pairs.
	AvPairList bad;
	const Bytes no_eol = {1, 0, 2, 0, 'A', 0};
	const Bytes eol_len = {0, 0, 1, 0, 0};
	const Bytes short_flags = {6, 0, 2, 0, 1, 0, 0, 0, 0, 0};
	const Bytes short_ts = {7, 0, 4, 0, 1, 2, 3, 4, 0, 0, 0, 0};
	const Bytes short_cb = {10, 0, 1, 0, 1, 0, 0, 0, 0};
	return !bad.decode(no_eol) && !bad.decode(eol_len) && !bad.decode(short_flags) && !bad.decode(short_ts) &&
	       !bad.decode(short_cb) && !bad.decode(ByteView());
}

// ---- bad input ---------------------------------------------------------------------------------

enum class Kind { Negotiate, Challenge, Authenticate };

bool decode_any(Kind k, ByteView data, Bytes* reencoded = nullptr)
{
	switch (k) {
	case Kind::Negotiate: {
		NegotiateMessage m;
		if (!m.decode(data))
			return false;
		if (reencoded)
			*reencoded = m.encode();
		return true;
	}
	case Kind::Challenge: {
		ChallengeMessage m;
		if (!m.decode(data))
			return false;
		if (reencoded)
			*reencoded = m.encode();
		return true;
	}
	case Kind::Authenticate: {
		AuthenticateMessage m;
		if (!m.decode(data))
			return false;
		if (reencoded)
			*reencoded = m.encode();
		return true;
	}
	}
	return false;
}

struct Sample {
	const char* file;
	const char* path;
	Kind kind;
};
const Sample kSamples[] = {
	{"ms-nlmp.json", "ntlmv2.CHALLENGE_MESSAGE", Kind::Challenge},
	{"ms-nlmp.json", "ntlmv2.AUTHENTICATE_MESSAGE", Kind::Authenticate},
	{"spnego.json", "tokens.0.ntlm_message_hex", Kind::Negotiate},
	{"spnego.json", "tokens.1.ntlm_message_hex", Kind::Challenge},
	{"spnego.json", "tokens.2.ntlm_message_hex", Kind::Authenticate},
};

bool truncated_everywhere()
{
	for (const Sample& s : kSamples) {
		Bytes raw;
		if (!vec(s.file, s.path, raw))
			return false;
		// Each sample's payload runs to its last byte, so every prefix lacks something.
		for (size_t n = 0; n < raw.size(); ++n) {
			if (decode_any(s.kind, ByteView(raw).first(n))) {
				std::fprintf(stderr, "%s truncated to %zu bytes decoded\n", s.path, n);
				return false;
			}
		}
	}
	return true;
}

bool extended_still_decodes()
{
	for (const Sample& s : kSamples) {
		Bytes raw;
		if (!vec(s.file, s.path, raw))
			return false;
		Bytes plain, longer_enc;
		if (!decode_any(s.kind, raw, &plain))
			return false;
		for (size_t extra : {1u, 7u, 300u}) {
			Bytes longer = raw;
			longer.insert(longer.end(), extra, 0xa5);
			if (!decode_any(s.kind, longer, &longer_enc) || longer_enc != plain) {
				std::fprintf(stderr, "%s extended by %zu bytes changed its fields\n", s.path, extra);
				return false;
			}
		}
	}
	return true;
}

bool bit_flips_never_crash()
{
	for (const Sample& s : kSamples) {
		Bytes raw;
		if (!vec(s.file, s.path, raw))
			return false;
		for (size_t i = 0; i < raw.size(); ++i) {
			for (const uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
				Bytes m = raw;
				m[i] ^= mask;
				Bytes again;
				const bool ok = decode_any(s.kind, m, &again);
				// The signature and the message type must be right.
				if (i < 12 && ok) {
					std::fprintf(stderr, "%s with header byte %zu flipped decoded\n", s.path, i);
					return false;
				}
				// Whatever decodes can be encoded again (or is refused as too large, never half-written).
				if (ok && s.kind != Kind::Authenticate && again.empty() && m.size() < 60000) {
					std::fprintf(stderr, "%s flipped at %zu decoded but did not re-encode\n", s.path, i);
					return false;
				}
			}
		}
	}
	return true;
}

bool garbage_is_refused()
{
	std::mt19937 rng(12345);
	for (int round = 0; round < 2000; ++round) {
		Bytes g(rng() % 400);
		for (uint8_t& b : g)
			b = static_cast<uint8_t>(rng());
		for (Kind k : {Kind::Negotiate, Kind::Challenge, Kind::Authenticate})
			if (decode_any(k, g))
				return false;
		// With a valid header, random bodies may or may not decode — but never crash.
		static const uint8_t sig[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
		Bytes h(sig, sig + 8);
		h.push_back(static_cast<uint8_t>(1 + round % 3));
		h.insert(h.end(), {0, 0, 0});
		h.insert(h.end(), g.begin(), g.end());
		(void)decode_any(static_cast<Kind>(round % 3), h);
	}
	uint32_t t = 0;
	const Bytes empty;
	return !peek_message_type(empty, t);
}

bool oversized_fields_are_not_encoded()
{
	AuthenticateMessage m;
	m.user.assign(70000, 'a');
	NegotiateMessage n;
	n.domain.assign(70000, 'b');
	ChallengeMessage c;
	c.target_name.assign(70000, 'c');
	return m.encode().empty() && m.raw.empty() && n.encode().empty() && c.encode().empty();
}

} // namespace

static void test_spec_challenge_decodes_and_reencodes(void**) { assert_true(spec_challenge()); }
static void test_spec_authenticate_decodes_and_reencodes(void**) { assert_true(spec_authenticate()); }
static void test_ntlmv1_authenticate_decodes_without_v2(void**) { assert_true(spec_ntlmv1_authenticate()); }
static void test_spnego_negotiate(void**) { assert_true(spnego_negotiate()); }
static void test_spnego_challenge(void**) { assert_true(spnego_challenge()); }
static void test_spnego_authenticate_with_mic(void**) { assert_true(spnego_authenticate()); }
static void test_av_pairs(void**) { assert_true(av_pairs_roundtrip()); }
static void test_truncated_messages_are_refused(void**) { assert_true(truncated_everywhere()); }
static void test_extended_messages_keep_their_fields(void**) { assert_true(extended_still_decodes()); }
static void test_bit_flips_never_crash(void**) { assert_true(bit_flips_never_crash()); }
static void test_garbage_is_refused(void**) { assert_true(garbage_is_refused()); }
static void test_oversized_fields_are_not_encoded(void**) { assert_true(oversized_fields_are_not_encoded()); }

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_challenge_decodes_and_reencodes),
		cmocka_unit_test(test_spec_authenticate_decodes_and_reencodes),
		cmocka_unit_test(test_ntlmv1_authenticate_decodes_without_v2),
		cmocka_unit_test(test_spnego_negotiate),
		cmocka_unit_test(test_spnego_challenge),
		cmocka_unit_test(test_spnego_authenticate_with_mic),
		cmocka_unit_test(test_av_pairs),
		cmocka_unit_test(test_truncated_messages_are_refused),
		cmocka_unit_test(test_extended_messages_keep_their_fields),
		cmocka_unit_test(test_bit_flips_never_crash),
		cmocka_unit_test(test_garbage_is_refused),
		cmocka_unit_test(test_oversized_fields_are_not_encoded),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
