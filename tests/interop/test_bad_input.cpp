// Bad input into our module, on both sides: every token of a good exchange that our module
// receives is truncated, extended by garbage and bit-flipped (a sample of positions including
// headers, lengths, the MIC, the NTProofStr and SPNEGO's mechListMIC), and sealed messages are
// tampered with. The login must fail — never succeed, crash or hang — and our module must say
// why precisely: SEC_E_INVALID_TOKEN for a malformed structure, SEC_E_MESSAGE_ALTERED or
// SEC_E_LOGON_DENIED for a tampered MIC / proof / signature.
//
// Tokens our module sends to WinPR are not tampered with: that would test WinPR.
#include <cstring>
#include <vector>

#include "interop/fixture.h"

using namespace nlassp::interop;

namespace {

constexpr Impl M = Impl::Module;
constexpr Impl W = Impl::WinPR;

enum class Mutation { Truncate, Extend, Flip };

struct Case {
	Mutation kind;
	long amount;      // Truncate: bytes kept (-n: drop the last n); Extend: bytes added
	long position;    // Flip: byte position (negative: from the end)
	uint8_t mask;     // Flip: bits to flip
	const char* what; // for messages
	// What our receiving module must answer at the call that receives the token:
	// 0 = any failure (or a later failure), 1 = SEC_E_INVALID_TOKEN, 2 = MIC/proof
	// (SEC_E_MESSAGE_ALTERED or SEC_E_LOGON_DENIED).
	int expect;
};

// A mutation applied to token `index` only.
struct Tamper {
	int index = -1;
	Case c{};
	long applied_at = -1;  // resolved byte position (Flip), for messages
	size_t original_size = 0;

	void operator()(const TokenEvent& ev, Bytes& t)
	{
		if (ev.index != index)
			return;
		original_size = t.size();
		switch (c.kind) {
			case Mutation::Truncate: {
				const long keep = c.amount >= 0 ? c.amount : static_cast<long>(t.size()) + c.amount;
				if (keep >= 0 && static_cast<size_t>(keep) < t.size())
					t.resize(static_cast<size_t>(keep));
				break;
			}
			case Mutation::Extend:
				for (long i = 0; i < c.amount; i++)
					t.push_back(static_cast<uint8_t>(0x5a ^ (i * 37)));
				break;
			case Mutation::Flip: {
				const long pos = c.position >= 0 ? c.position : static_cast<long>(t.size()) + c.position;
				if (pos >= 0 && static_cast<size_t>(pos) < t.size()) {
					t[static_cast<size_t>(pos)] ^= c.mask;
					applied_at = pos;
				}
				break;
			}
		}
	}
};

// Reads a little-endian u16/u32 from a token (0 when out of range).
uint32_t le(const Bytes& t, size_t at, size_t n)
{
	uint32_t v = 0;
	if (at + n > t.size())
		return 0;
	for (size_t i = 0; i < n; i++)
		v |= static_cast<uint32_t>(t[at + i]) << (8 * i);
	return v;
}

// The position of the negState value in a negTokenResp that starts
// a1 LL 30 LL a0 03 0a 01 <negState>, or -1.
long final_neg_state_position(const Bytes& t)
{
	if (t.size() > 9 && t[0] == 0xa1 && t[2] == 0x30 && t[4] == 0xa0 && t[5] == 0x03 &&
	    t[6] == 0x0a && t[7] == 0x01)
		return 8;
	return -1;
}

// The byte positions worth flipping in `token` (absolute), with what our module must answer.
std::vector<Case> cases_for(const Bytes& token)
{
	std::vector<Case> out;
	// Structure: truncations and garbage.
	out.push_back({ Mutation::Truncate, 0, 0, 0, "truncated to 0 bytes", 1 });
	out.push_back({ Mutation::Truncate, -1, 0, 0, "last byte dropped", 1 });
	out.push_back({ Mutation::Truncate, static_cast<long>(token.size() / 2), 0, 0, "truncated to half", 1 });
	out.push_back({ Mutation::Truncate, 7, 0, 0, "truncated to 7 bytes", 1 });
	// Trailing bytes after a DER-encoded SPNEGO token are malformed; after a bare NTLM message
	// they are not, but the MIC covers the whole message as received.
	const long ntlm = find_ntlmssp(token);
	const int extend = ntlm == 0 ? 0 : 1;
	out.push_back({ Mutation::Extend, 1, 0, 0, "1 garbage byte appended", extend });
	out.push_back({ Mutation::Extend, 64, 0, 0, "64 garbage bytes appended", extend });

	if (ntlm > 0) {
		// SPNEGO: the outer tag and length, the first inner tag.
		out.push_back({ Mutation::Flip, 0, 0, 0x04, "SPNEGO outer tag", 1 });
		out.push_back({ Mutation::Flip, 0, 1, 0x01, "SPNEGO outer length", 1 });
		out.push_back({ Mutation::Flip, 0, 1, 0x80, "SPNEGO outer length form", 1 });
		out.push_back({ Mutation::Flip, 0, 2, 0x20, "SPNEGO first inner tag", 1 });
	}
	if (ntlm >= 0) {
		const auto base = static_cast<size_t>(ntlm);
		const uint32_t type = le(token, base + 8, 4);
		out.push_back({ Mutation::Flip, 0, static_cast<long>(base), 0x01, "NTLMSSP signature", 1 });
		out.push_back({ Mutation::Flip, 0, static_cast<long>(base + 8), 0x04, "NTLM message type", 1 });
		if (type == 2) {
			// CHALLENGE: TargetInfo fields at 40 (len), 44 (offset).
			out.push_back({ Mutation::Flip, 0, static_cast<long>(base + 41), 0x40, "CHALLENGE TargetInfo length", 1 });
			out.push_back({ Mutation::Flip, 0, static_cast<long>(base + 45), 0x40, "CHALLENGE TargetInfo offset", 1 });
			out.push_back({ Mutation::Flip, 0, static_cast<long>(base + 24), 0x01, "CHALLENGE ServerChallenge", 0 });
			out.push_back({ Mutation::Flip, 0, static_cast<long>(base + 20), 0x02, "CHALLENGE flags", 0 });
		}
		if (type == 3) {
			// AUTHENTICATE: NtChallengeResponse len @20 offset @24; MIC @72 (after Version).
			const uint32_t nt_len = le(token, base + 20, 2);
			const uint32_t nt_off = le(token, base + 24, 4);
			out.push_back({ Mutation::Flip, 0, static_cast<long>(base + 21), 0x40, "AUTHENTICATE NtChallengeResponse length", 1 });
			out.push_back({ Mutation::Flip, 0, static_cast<long>(base + 26), 0x40, "AUTHENTICATE NtChallengeResponse offset", 1 });
			out.push_back({ Mutation::Flip, 0, static_cast<long>(base + 72), 0x01, "AUTHENTICATE MIC first byte", 2 });
			out.push_back({ Mutation::Flip, 0, static_cast<long>(base + 87), 0x80, "AUTHENTICATE MIC last byte", 2 });
			if (nt_len >= 16 && base + nt_off + 16 <= token.size()) {
				out.push_back({ Mutation::Flip, 0, static_cast<long>(base + nt_off), 0x01, "AUTHENTICATE NTProofStr", 2 });
				out.push_back({ Mutation::Flip, 0, static_cast<long>(base + nt_off + 15), 0x10, "AUTHENTICATE NTProofStr end", 2 });
				// The client challenge / timestamp inside the NTLMv2 blob: the proof covers it.
				if (nt_len >= 48)
					out.push_back({ Mutation::Flip, 0, static_cast<long>(base + nt_off + 32), 0x01, "AUTHENTICATE NTLMv2 client challenge", 2 });
			}
			// EncryptedRandomSessionKey len @52 offset @56: a flipped key breaks the MIC.
			const uint32_t key_len = le(token, base + 52, 2);
			const uint32_t key_off = le(token, base + 56, 4);
			if (key_len == 16 && base + key_off + 16 <= token.size())
				out.push_back({ Mutation::Flip, 0, static_cast<long>(base + key_off + 3), 0x08, "AUTHENTICATE EncryptedRandomSessionKey", 2 });
		}
	}
	// Every byte of the token once (header, lengths, payload), a different bit each time;
	// except the negState value of a final negTokenResp, which nego_final_neg_state_changed
	// covers on its own.
	const long neg_state = final_neg_state_position(token);
	for (size_t pos = 0; pos < token.size(); pos++)
		if (static_cast<long>(pos) != neg_state)
			out.push_back({ Mutation::Flip, 0, static_cast<long>(pos), static_cast<uint8_t>(1u << ((pos * 3) % 8)), "byte", 0 });
	out.push_back({ Mutation::Flip, 0, -1, 0x01, "last byte", 0 });
	return out;
}

// The receiving side's expectations for a case.
bool matches(int expect, SECURITY_STATUS s)
{
	switch (expect) {
		case 1: return s == SEC_E_INVALID_TOKEN;
		case 2: return s == SEC_E_MESSAGE_ALTERED || s == SEC_E_LOGON_DENIED;
		default: return true;
	}
}

// Whether the token with this index goes to our module in this pairing.
bool module_receives(Impl client, Impl server, Side from)
{
	return (from == Side::Client ? server : client) == Impl::Module;
}

// Runs every case on every token our module receives; returns the number of wrong outcomes
// (each printed) and sets *runs. No assertions here: the caller asserts on the counts, so no
// C++ object is skipped by CMocka's longjmp.
int count_wrong_outcomes(Fixture* fx, Impl client, Impl server, const char* package, int* runs,
                         int* notes)
{
	const std::vector<Bytes> baseline = fx->result.tokens;
	const std::vector<Side> from = fx->result.token_from;
	int bad = 0;
	*runs = 0;
	*notes = 0;
	for (size_t i = 0; i < baseline.size(); i++) {
		if (!module_receives(client, server, from[i]))
			continue;
		for (const Case& c : cases_for(baseline[i])) {
			Tamper t;
			t.index = static_cast<int>(i);
			t.c = c;
			Tamper* tp = &t;
			fx->config.tamper = [tp](const TokenEvent& ev, Bytes& tok) { (*tp)(ev, tok); };
			run_login(fx->config, fx->result);
			(*runs)++;
			const Result& r = fx->result;
			const int receipt = static_cast<int>(i) + 1;
			bool ok = false;
			bool note = false;
			if (r.established) {
				// Accepted end to end. If our module passed the tampered token on in a later
				// token and WinPR's acceptor let that through, note it (WinPR's weakness);
				// otherwise our module accepted it: wrong.
				note = server == Impl::WinPR && i + 1 < r.tokens.size();
			} else if (!r.hang && r.failed && r.failed_call >= receipt) {
				const Impl failer = r.failed_side == Side::Client ? client : server;
				if (r.failed_call == receipt)
					ok = matches(c.expect, r.failure_status);
				else if (failer == Impl::Module)
					// Accepted at receipt, refused later by a check that covers the token: the
					// MIC / proof, or (a flipped MsvAvTimestamp echoed in the NTLMv2 blob) the
					// acceptor's clock-skew check.
					ok = c.expect == 0 && (matches(2, r.failure_status) ||
					                       r.failure_status == SEC_E_TIME_SKEW);
				else
					ok = c.expect == 0;  // WinPR noticed later, with its own status
			}
			if (!ok) {
				note ? (*notes)++ : bad++;
				print_message("%s%s %s->%s token %zu from %s (%zu bytes): %s at %ld: call %d %s %s\n",
				              note ? "NOTE (WinPR accepted) " : "", package,
				              client == Impl::Module ? "module" : "winpr",
				              server == Impl::Module ? "module" : "winpr", i, side_name(from[i]),
				              t.original_size, c.what, t.applied_at, r.failed_call,
				              r.failed ? side_name(r.failed_side) : "-",
				              r.established ? "ESTABLISHED"
				                            : (r.hang ? "HANG" : status_string(r.failure_status).c_str()));
			}
		}
	}
	fx->config.tamper = nullptr;
	return bad;
}

void tamper_all(void** state, Impl client, Impl server, const char* package)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure(fx, client, server, package, false);
	fx->config.messages = 1;
	fx->config.query_server = false;
	run(fx);
	expect_full_success(fx, server);
	int runs = 0, notes = 0;
	const int bad = count_wrong_outcomes(fx, client, server, package, &runs, &notes);
	print_message("%s: %d tampered logins, %d wrong outcomes, %d WinPR notes\n", package, runs,
	              bad, notes);
	assert_true(runs > 0);
	assert_int_equal(bad, 0);
}

// Sealed messages: a flipped bit in the signature or the data, or a truncated data part,
// must come back SEC_E_MESSAGE_ALTERED from our module's DecryptMessage.
void tamper_messages(void** state, Impl client, Impl server, const char* package)
{
	auto* fx = static_cast<Fixture*>(*state);
	struct MCase {
		long pos;
		uint8_t mask;
		long truncate;
		const char* what;
	};
	static const MCase cases[] = {
		{ 0, 0x01, 0, "signature version" },   { 4, 0x80, 0, "signature checksum" },
		{ 12, 0x01, 0, "signature sequence" }, { 15, 0x40, 0, "signature last byte" },
		{ 16, 0x01, 0, "first data byte" },    { -1, 0x80, 0, "last data byte" },
		{ 0, 0, 1, "last data byte dropped" },
	};
	int bad = 0;
	for (int dir = 0; dir < 2; dir++) {
		const Side sender = dir == 0 ? Side::Client : Side::Server;
		if (!module_receives(client, server, sender))
			continue;
		for (const MCase& mc : cases) {
			configure(fx, client, server, package, false);
			fx->config.messages = 2;
			fx->config.query_server = false;
			const MCase* mp = &mc;
			fx->config.tamper_message = [mp, sender](Side from, int index, Bytes& wire) {
				if (from != sender || index != 1)
					return;
				if (mp->truncate) {
					wire.resize(wire.size() - static_cast<size_t>(mp->truncate));
					return;
				}
				const long p = mp->pos >= 0 ? mp->pos : static_cast<long>(wire.size()) + mp->pos;
				wire[static_cast<size_t>(p)] ^= mp->mask;
			};
			run(fx);
			const Result& r = fx->result;
			// Message 0 each way is untouched; the tampered one is the third or fourth record.
			const MessageRecord* hit = nullptr;
			for (const MessageRecord& m : r.messages)
				if (m.from == sender && m.decrypt != SEC_E_OK)
					hit = &m;
			// A changed SeqNum field (bytes 12-15) may be reported as SEC_E_OUT_OF_SEQUENCE, a
			// changed Version (bytes 0-3) as SEC_E_INVALID_TOKEN; anything else is
			// SEC_E_MESSAGE_ALTERED.
			const bool seq_field = mc.mask && mc.pos >= 12 && mc.pos < 16;
			const bool version_field = mc.mask && mc.pos >= 0 && mc.pos < 4;
			const bool ok = r.established && !r.messages_ok && hit &&
			                (hit->decrypt == SEC_E_MESSAGE_ALTERED ||
			                 (seq_field && hit->decrypt == SEC_E_OUT_OF_SEQUENCE) ||
			                 (version_field && hit->decrypt == SEC_E_INVALID_TOKEN));
			if (ok && hit->decrypt != SEC_E_MESSAGE_ALTERED)
				print_message("%s message %s->: %s: %s\n", package, side_name(sender), mc.what,
				              status_string(hit->decrypt).c_str());
			if (!ok) {
				bad++;
				print_message("%s message %s->: %s: %s\n", package, side_name(sender), mc.what,
				              hit ? status_string(hit->decrypt).c_str() : "not rejected");
				print_trace(r);
			}
		}
	}
	assert_int_equal(bad, 0);
}

} // namespace

static void ntlm_module_client_gets_bad_tokens(void** s) { tamper_all(s, M, W, "NTLM"); }
static void ntlm_module_server_gets_bad_tokens(void** s) { tamper_all(s, W, M, "NTLM"); }
static void ntlm_module_both_bad_tokens(void** s) { tamper_all(s, M, M, "NTLM"); }
static void nego_module_client_gets_bad_tokens(void** s) { tamper_all(s, M, W, "Negotiate"); }
static void nego_module_server_gets_bad_tokens(void** s) { tamper_all(s, W, M, "Negotiate"); }
static void nego_module_both_bad_tokens(void** s) { tamper_all(s, M, M, "Negotiate"); }

static void ntlm_bad_messages_winpr_to_module(void** s) { tamper_messages(s, M, W, "NTLM"); }
static void ntlm_bad_messages_module_server(void** s) { tamper_messages(s, W, M, "NTLM"); }
static void ntlm_bad_messages_module_both(void** s) { tamper_messages(s, M, M, "NTLM"); }
static void nego_bad_messages_module_both(void** s) { tamper_messages(s, M, M, "Negotiate"); }

// SPNEGO's mechListMIC (the last element of the client's second token and of the server's
// final token) is checked by our module: a flip is SEC_E_MESSAGE_ALTERED.
static void nego_mechlistmic_tampered(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure(fx, M, M, "Negotiate", false);
	run(fx);
	expect_full_success(fx, M);
	const std::vector<Bytes> tokens = fx->result.tokens;
	int checked = 0;
	for (size_t i = 1; i < tokens.size(); i++) {
		// A negTokenResp (tag a1) that ends in mechListMIC [3] OCTET STRING (16-byte NTLM
		// signature): ... a3 12 04 10 <16 bytes>.
		const Bytes& t = tokens[i];
		if (t.size() < 20 || t[0] != 0xa1 || t[t.size() - 20] != 0xa3 || t[t.size() - 18] != 0x04)
			continue;
		checked++;
		configure(fx, M, M, "Negotiate", false);
		const int index = static_cast<int>(i);
		fx->config.tamper = [index](const TokenEvent& ev, Bytes& tok) {
			if (ev.index == index && tok.size() > 4)
				tok[tok.size() - 8] ^= 0x01;  // inside the checksum
		};
		run(fx);
		EXPECT_TRUE(fx, fx->result.failed);
		EXPECT_TRUE(fx, fx->result.failed_call == index + 1);
		EXPECT_STATUS(fx, fx->result.failure_status, SEC_E_MESSAGE_ALTERED);
	}
	print_message("mechListMIC checked in %d tokens\n", checked);
	assert_true(checked >= 1);
}

// The acceptor's final negTokenResp (negState accept-completed + mechListMIC) with negState
// changed to accept-incomplete (1) or request-mic (3): the acceptor says it is not done, so an
// initiator that returns SEC_E_OK and sends nothing leaves the two ends disagreeing. Our
// initiator must refuse it (SEC_E_INVALID_TOKEN), whichever acceptor sent it.
static void nego_final_neg_state_changed(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	static const Impl servers[] = { W, M };
	static const uint8_t values[] = { 1, 3 };
	int checked = 0, wrong = 0;
	for (Impl server : servers) {
		for (uint8_t v : values) {
			configure(fx, M, server, "Negotiate", false);
			run(fx);
			expect_full_success(fx, server);
			const int last = static_cast<int>(fx->result.tokens.size()) - 1;
			if (last < 1 || fx->result.token_from[static_cast<size_t>(last)] != Side::Server ||
			    final_neg_state_position(fx->result.tokens[static_cast<size_t>(last)]) != 8)
				continue;
			checked++;
			configure(fx, M, server, "Negotiate", false);
			fx->config.tamper = [last, v](const TokenEvent& ev, Bytes& tok) {
				if (ev.index == last)
					tok[8] = v;
			};
			run(fx);
			print_message("%s acceptor, final negState %u: %s\n",
			              server == M ? "module" : "WinPR", v,
			              fx->result.established ? "ESTABLISHED"
			                                     : status_string(fx->result.failure_status).c_str());
			if (!fx->result.failed || fx->result.failed_call != last + 1 ||
			    fx->result.failure_status != SEC_E_INVALID_TOKEN)
				wrong++;
		}
	}
	assert_true(checked >= 1);
	assert_int_equal(wrong, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(ntlm_module_client_gets_bad_tokens),
		T(ntlm_module_server_gets_bad_tokens),
		T(ntlm_module_both_bad_tokens),
		T(nego_module_client_gets_bad_tokens),
		T(nego_module_server_gets_bad_tokens),
		T(nego_module_both_bad_tokens),
		T(ntlm_bad_messages_winpr_to_module),
		T(ntlm_bad_messages_module_server),
		T(ntlm_bad_messages_module_both),
		T(nego_bad_messages_module_both),
		T(nego_mechlistmic_tampered),
		T(nego_final_neg_state_changed),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
