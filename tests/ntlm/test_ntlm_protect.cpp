// plugin/ntlm/context after a logon: message protection both ways (sealing, signing, several
// buffers) with replay, reorder and tamper detection, and SPNEGO's mechListMIC with the RC4 reset
// that follows it.
//
// Test bodies only call helpers and assert (CMocka longjmps past C++ destructors).
#include "ntlm_pair.h"

#include <cstdint>

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

// ---- message protection ------------------------------------------------------------------------

Error seal(SecurityContext& from, Bytes& data, Bytes& token)
{
	MessageBuffer b{MessageBufferKind::Data, MutableByteView(data)};
	return from.encrypt(std::span<MessageBuffer>(&b, 1), token);
}

Error unseal(SecurityContext& to, Bytes& data, ByteView token)
{
	MessageBuffer b{MessageBufferKind::Data, MutableByteView(data)};
	return to.decrypt(std::span<MessageBuffer>(&b, 1), token);
}

Error sign_msg(SecurityContext& from, Bytes& data, Bytes& token)
{
	const MessageBuffer b{MessageBufferKind::Data, MutableByteView(data)};
	return from.sign(std::span<const MessageBuffer>(&b, 1), token);
}

Error verify_msg(SecurityContext& to, Bytes& data, ByteView token)
{
	const MessageBuffer b{MessageBufferKind::Data, MutableByteView(data)};
	return to.verify(std::span<const MessageBuffer>(&b, 1), token);
}

bool seal_roundtrip(SecurityContext& a, SecurityContext& b, uint32_t expected_seq)
{
	const Bytes plain = {'C', 'r', 'e', 'd', 'S', 'S', 'P', ' ', 'p', 'u', 'b', 'K', 'e', 'y'};
	Bytes data = plain, token;
	if (seal(a, data, token) != Error::None || token.size() != 16 || data == plain)
		return false;
	// Version 1, sequence number in clear at the end.
	if (token[0] != 1 || token[1] != 0 || token[12] != static_cast<uint8_t>(expected_seq))
		return false;
	return unseal(b, data, token) == Error::None && data == plain;
}

bool sign_roundtrip(SecurityContext& a, SecurityContext& b)
{
	Bytes data = {'h', 'e', 'l', 'l', 'o'};
	const Bytes orig = data;
	Bytes token;
	return sign_msg(a, data, token) == Error::None && data == orig && token.size() == 16 &&
	       verify_msg(b, data, token) == Error::None;
}

bool protection_both_ways()
{
	Pair p;
	if (handshake(p) != Error::None)
		return false;
	for (uint32_t i = 0; i < 3; ++i) {
		if (!seal_roundtrip(*p.client, *p.server, i) || !seal_roundtrip(*p.server, *p.client, i))
			return false;
	}
	for (int i = 0; i < 3; ++i)
		if (!sign_roundtrip(*p.client, *p.server) || !sign_roundtrip(*p.server, *p.client))
			return false;
	// Several buffers: a sign-only header stays clear, data is sealed, and both are covered.
	Bytes header = {'h', 'd', 'r'}, body = {'b', 'o', 'd', 'y'};
	const Bytes h0 = header, b0 = body;
	MessageBuffer bufs[] = {{MessageBufferKind::SignOnly, MutableByteView(header)},
	                        {MessageBufferKind::Data, MutableByteView(body)}};
	Bytes token;
	if (p.client->encrypt(bufs, token) != Error::None || header != h0 || body == b0)
		return false;
	if (p.server->decrypt(bufs, token) != Error::None || header != h0 || body != b0)
		return false;
	return true;
}

int replayed_message()
{
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	const Bytes plain = {1, 2, 3, 4, 5};
	Bytes data = plain, token;
	if (seal(*p.client, data, token) != Error::None)
		return -1;
	const Bytes sealed = data;
	if (unseal(*p.server, data, token) != Error::None || data != plain)
		return -1;
	data = sealed;
	return code(unseal(*p.server, data, token));
}

int reordered_message()
{
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	Bytes d1 = {1}, t1, d2 = {2}, t2;
	if (sign_msg(*p.client, d1, t1) != Error::None || sign_msg(*p.client, d2, t2) != Error::None)
		return -1;
	return code(verify_msg(*p.server, d2, t2));
}

int flipped(int where)
{
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	Bytes data = {'s', 'e', 'c', 'r', 'e', 't'}, token;
	if (seal(*p.client, data, token) != Error::None)
		return -1;
	if (where == 0)
		data[2] ^= 0x40;            // ciphertext
	else if (where == 1)
		token[6] ^= 0x01;           // checksum
	else if (where == 2)
		token[0] = 2;               // version
	else if (where == 3)
		token.resize(15);           // too short
	else if (where == 4)
		token.push_back(0);         // too long
	return code(unseal(*p.server, data, token));
}

int flipped_sign_only()
{
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	Bytes header = {'h', 'd', 'r'}, body = {'b'};
	MessageBuffer bufs[] = {{MessageBufferKind::SignOnly, MutableByteView(header)},
	                        {MessageBufferKind::Data, MutableByteView(body)}};
	Bytes token;
	if (p.client->encrypt(bufs, token) != Error::None)
		return -1;
	header[0] ^= 1;
	return code(p.server->decrypt(bufs, token));
}

int protection_before_established()
{
	Pair p;
	if (!make_pair(p, Options{}))
		return -1;
	Bytes data = {1}, token;
	const Error a = seal(*p.client, data, token);
	const Error b = verify_msg(*p.server, data, Bytes(16, 0));
	return a == Error::NotEstablished && b == Error::NotEstablished ? kOk : -1;
}

int encrypt_without_confidentiality()
{
	Options o;
	o.requested = ctx::Integrity;
	Pair p;
	if (handshake(p, o) != Error::None)
		return -1;
	if (p.client->flags() & ctx::Confidentiality)
		return -1;
	// Signing works; sealing was not negotiated.
	if (!sign_roundtrip(*p.client, *p.server))
		return -1;
	Bytes data = {1}, token;
	return code(seal(*p.client, data, token));
}

// ---- SPNEGO mechListMIC -----------------------------------------------------------------------

bool negotiation_mic_and_reset()
{
	Pair p;
	if (handshake(p) != Error::None)
		return false;
	// mechTypes { NTLMSSP } as SPNEGO signs it.
	const Bytes mech_types = {0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
	Bytes cmic, smic;
	if (p.client->make_negotiation_mic(mech_types, cmic) != Error::None || cmic.size() != 16 || cmic[12] != 0)
		return false;
	if (p.server->verify_negotiation_mic(mech_types, cmic) != Error::None)
		return false;
	if (p.server->make_negotiation_mic(mech_types, smic) != Error::None || smic[12] != 0)
		return false;
	Bytes wrong = mech_types;
	wrong.back() ^= 1;
	Pair q;
	if (p.client->verify_negotiation_mic(mech_types, smic) != Error::None)
		return false;
	p.client->negotiation_mic_complete();
	p.server->negotiation_mic_complete();
	// CredSSP's next message carries sequence number 1 on fresh RC4 handles.
	return seal_roundtrip(*p.client, *p.server, 1) && seal_roundtrip(*p.server, *p.client, 1);
}

int negotiation_mic_without_reset_on_one_side()
{
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	const Bytes mech_types = {0x30, 0x00};
	Bytes cmic;
	if (p.client->make_negotiation_mic(mech_types, cmic) != Error::None ||
	    p.server->verify_negotiation_mic(mech_types, cmic) != Error::None)
		return -1;
	p.client->negotiation_mic_complete();   // the server "forgets" to reset
	Bytes data = {1, 2, 3}, token;
	if (seal(*p.client, data, token) != Error::None)
		return -1;
	return code(unseal(*p.server, data, token));
}

int negotiation_mic_altered()
{
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	const Bytes mech_types = {0x30, 0x00};
	Bytes cmic;
	if (p.client->make_negotiation_mic(mech_types, cmic) != Error::None)
		return -1;
	const Bytes other = {0x30, 0x01, 0x00};
	return code(p.server->verify_negotiation_mic(other, cmic));
}

} // namespace

static void test_protection_both_ways(void**) { assert_true(protection_both_ways()); }
static void test_replay_is_out_of_sequence(void**) { assert_int_equal(replayed_message(), code(Error::OutOfSequence)); }
static void test_reorder_is_out_of_sequence(void**) { assert_int_equal(reordered_message(), code(Error::OutOfSequence)); }
static void test_flipped_ciphertext_is_message_altered(void**) { assert_int_equal(flipped(0), code(Error::MessageAltered)); }
static void test_flipped_checksum_is_message_altered(void**) { assert_int_equal(flipped(1), code(Error::MessageAltered)); }
static void test_bad_signature_version(void**) { assert_int_equal(flipped(2), code(Error::InvalidToken)); }
static void test_short_token_is_buffer_too_small(void**) { assert_int_equal(flipped(3), code(Error::BufferTooSmall)); }
static void test_long_token_is_invalid(void**) { assert_int_equal(flipped(4), code(Error::InvalidToken)); }
static void test_flipped_sign_only_is_message_altered(void**) { assert_int_equal(flipped_sign_only(), code(Error::MessageAltered)); }
static void test_protection_before_established(void**) { assert_int_equal(protection_before_established(), kOk); }
static void test_encrypt_without_confidentiality(void**) { assert_int_equal(encrypt_without_confidentiality(), code(Error::Unsupported)); }
static void test_negotiation_mic_and_rc4_reset(void**) { assert_true(negotiation_mic_and_reset()); }
static void test_negotiation_mic_reset_on_one_side_only(void**) { assert_int_equal(negotiation_mic_without_reset_on_one_side(), code(Error::MessageAltered)); }
static void test_negotiation_mic_altered(void**) { assert_int_equal(negotiation_mic_altered(), code(Error::MessageAltered)); }

int main()
{
	if (const int rc = legacy_provider_exit_code())
		return rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protection_both_ways),
		cmocka_unit_test(test_replay_is_out_of_sequence),
		cmocka_unit_test(test_reorder_is_out_of_sequence),
		cmocka_unit_test(test_flipped_ciphertext_is_message_altered),
		cmocka_unit_test(test_flipped_checksum_is_message_altered),
		cmocka_unit_test(test_bad_signature_version),
		cmocka_unit_test(test_short_token_is_buffer_too_small),
		cmocka_unit_test(test_long_token_is_invalid),
		cmocka_unit_test(test_flipped_sign_only_is_message_altered),
		cmocka_unit_test(test_protection_before_established),
		cmocka_unit_test(test_encrypt_without_confidentiality),
		cmocka_unit_test(test_negotiation_mic_and_rc4_reset),
		cmocka_unit_test(test_negotiation_mic_reset_on_one_side_only),
		cmocka_unit_test(test_negotiation_mic_altered),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
