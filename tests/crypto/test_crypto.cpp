// Known answers for plugin/crypto: RFC 1320 (MD4), RFC 1321 (MD5), FIPS 180-2 (SHA-256),
// RFC 2202 (HMAC-MD5), RFC 6229 (RC4), MS-NLMP 4.2.2 (NTOWFv1, sealing with one RC4 handle),
// and the promise that our private library context leaves the host's OpenSSL state alone.
//
// Test bodies only call bool helpers and assert: a failing CMocka assertion longjmps past C++
// destructors, so anything with a destructor lives inside the helpers.
#include "crypto/crypto.h"
#include "support/vectors.h"

#include <openssl/evp.h>
#include <openssl/provider.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <string>

// cmocka 1.1 has no extern "C" guards of its own.
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

namespace {

// What the default (NULL) library context offered before our code first ran.
struct DefaultContextSnapshot {
	bool md4 = false;
	bool rc4 = false;
	bool legacy_loaded = false;
};
DefaultContextSnapshot g_before;

DefaultContextSnapshot snapshot_default_context()
{
	DefaultContextSnapshot s;
	EVP_MD* md = EVP_MD_fetch(nullptr, "MD4", nullptr);
	s.md4 = md != nullptr;
	EVP_MD_free(md);
	EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "RC4", nullptr);
	s.rc4 = c != nullptr;
	EVP_CIPHER_free(c);
	s.legacy_loaded = OSSL_PROVIDER_available(nullptr, "legacy") == 1;
	return s;
}

bool bytes_match(const char* what, ByteView got, const std::string& expected_hex)
{
	const std::string got_hex = to_hex(got);
	if (got_hex == expected_hex)
		return true;
	std::fprintf(stderr, "%s: expected %s, got %s\n", what, expected_hex.c_str(), got_hex.c_str());
	return false;
}

bool unhex(const char* hex, Bytes& out)
{
	if (from_hex(hex, out))
		return true;
	std::fprintf(stderr, "bad hex in test: %s\n", hex);
	return false;
}

struct DigestCase {
	std::string message;
	const char* md4;
	const char* md5;
};

// RFC 1320 A.5 and RFC 1321 A.5 share the same seven messages.
const DigestCase kDigestSuite[] = {
    {"", "31d6cfe0d16ae931b73c59d7e0c089c0", "d41d8cd98f00b204e9800998ecf8427e"},
    {"a", "bde52cb31de33e46245e05fbdbd6fb24", "0cc175b9c0f1b6a831c399e269772661"},
    {"abc", "a448017aaf21d8525fc10ae87aa6729d", "900150983cd24fb0d6963f7d28e17f72"},
    {"message digest", "d9130a8164549fe818874806e1c7014b", "f96b697d7cb7938d525a2f31aaf161d0"},
    {"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9", "c3fcd3d76192e4007dfb496cca67e13b"},
    {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4",
     "d174ab98d277d9f5a5611c2c9f419d9f"},
    {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
     "e33b4ddc9c38f2199c3e7b164fcc0536", "57edf4a22be3c955ac49da2e2107b67a"},
};

bool md4_suite_passes()
{
	bool ok = true;
	for (const auto& c : kDigestSuite) {
		std::array<uint8_t, crypto::kMd4Size> out{};
		ok = crypto::md4(as_bytes(c.message), out) == Error::None && bytes_match("MD4", out, c.md4) && ok;
	}
	return ok;
}

bool md5_suite_passes()
{
	bool ok = true;
	for (const auto& c : kDigestSuite) {
		std::array<uint8_t, crypto::kMd5Size> out{};
		ok = crypto::md5(as_bytes(c.message), out) == Error::None && bytes_match("MD5", out, c.md5) && ok;
	}
	return ok;
}

bool sha256_is(std::initializer_list<ByteView> parts, const char* expected)
{
	std::array<uint8_t, crypto::kSha256Size> out{};
	return crypto::sha256(std::span<const ByteView>(parts.begin(), parts.size()), out) == Error::None &&
	       bytes_match("SHA-256", out, expected);
}

bool sha256_fips_vectors_pass()
{
	const std::string abc = "abc";
	const std::string two_block = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	const std::string million(1000000, 'a');
	const std::string ab = "ab", c = "c";
	return sha256_is({}, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") &&
	       sha256_is({as_bytes(abc)}, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") &&
	       sha256_is({as_bytes(two_block)}, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") &&
	       sha256_is({as_bytes(million)}, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") &&
	       // The parts are hashed as one concatenated message; empty parts are fine.
	       sha256_is({as_bytes(ab), ByteView(), as_bytes(c)},
	                 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

bool hmac_md5_is(ByteView key, std::initializer_list<ByteView> parts, const char* expected)
{
	std::array<uint8_t, crypto::kMd5Size> out{};
	return crypto::hmac_md5(key, std::span<const ByteView>(parts.begin(), parts.size()), out) == Error::None &&
	       bytes_match("HMAC-MD5", out, expected);
}

bool hmac_md5_rfc2202_vectors_pass()
{
	const Bytes k1(16, 0x0b), k3(16, 0xaa), k5(16, 0x0c), k6(80, 0xaa);
	Bytes k4;
	for (uint8_t i = 1; i <= 25; ++i)
		k4.push_back(i);
	const Bytes d3(50, 0xdd), d4(50, 0xcd);
	const std::string d1 = "Hi There", k2 = "Jefe", d2 = "what do ya want for nothing?",
	                  d5 = "Test With Truncation",
	                  d6 = "Test Using Larger Than Block-Size Key - Hash Key First",
	                  d7 = "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data";
	const std::string d2a = "what do ya want ", d2b = "for nothing?";
	return hmac_md5_is(k1, {as_bytes(d1)}, "9294727a3638bb1c13f48ef8158bfc9d") &&
	       hmac_md5_is(as_bytes(k2), {as_bytes(d2)}, "750c783e6ab0b503eaa86e310a5db738") &&
	       hmac_md5_is(k3, {d3}, "56be34521d144c88dbb8c733f0e8b3f6") &&
	       hmac_md5_is(k4, {d4}, "697eaf0aca3a3aea3a75164746ffaa79") &&
	       hmac_md5_is(k5, {as_bytes(d5)}, "56461ef2342edc00f9bab995690efd4c") &&
	       hmac_md5_is(k6, {as_bytes(d6)}, "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd") &&
	       hmac_md5_is(k6, {as_bytes(d7)}, "6f630fad67cda0ee1fb1f562db3aa53e") &&
	       // Split input gives the same MAC as the whole.
	       hmac_md5_is(as_bytes(k2), {as_bytes(d2a), ByteView(), as_bytes(d2b)},
	                   "750c783e6ab0b503eaa86e310a5db738");
}

bool hmac_md5_empty_key_works()
{
	// HMAC_MD5("", "") as computed by any HMAC implementation (e.g. Python's hmac module).
	return hmac_md5_is(ByteView(), {}, "74e6f7298a9c2d168935f58c001bad88");
}

struct Rc4Case {
	const char* key;
	size_t offset;
	const char* keystream;
};

// RFC 6229 section 2: keystream at offsets 0, 16, 240, 256, 4080 and 4096.
const Rc4Case kRfc6229[] = {
    {"0102030405", 0, "b2396305f03dc027ccc3524a0a1118a8"},
    {"0102030405", 16, "6982944f18fc82d589c403a47a0d0919"},
    {"0102030405", 240, "28cb1132c96ce286421dcaadb8b69eae"},
    {"0102030405", 256, "1cfcf62b03eddb641d77dfcf7f8d8c93"},
    {"0102030405", 4080, "068326a2118416d21f9d04b2cd1ca050"},
    {"0102030405", 4096, "ff25b58995996707e51fbdf08b34d875"},
    {"0102030405060708090a0b0c0d0e0f10", 0, "9ac7cc9a609d1ef7b2932899cde41b97"},
    {"0102030405060708090a0b0c0d0e0f10", 16, "5248c4959014126a6e8a84f11d1a9e1c"},
    {"0102030405060708090a0b0c0d0e0f10", 240, "065902e4b620f6cc36c8589f66432f2b"},
    {"0102030405060708090a0b0c0d0e0f10", 256, "d39d566bc6bce3010768151549f3873f"},
    {"0102030405060708090a0b0c0d0e0f10", 4080, "ff38265c1642c1abe8d3c2fe5e572bf8"},
    {"0102030405060708090a0b0c0d0e0f10", 4096, "a36a4c301ae8ac13610ccbc12256cacc"},
    {"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", 0, "eaa6bd25880bf93d3f5d1e4ca2611d91"},
    {"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", 4096, "f3e4c0a2e02d1d01f7f0a74618af2b48"},
};

bool rc4_rfc6229_oneshot_passes()
{
	bool ok = true;
	for (const auto& c : kRfc6229) {
		Bytes key;
		if (!unhex(c.key, key))
			return false;
		const Bytes zeros(c.offset + 16, 0);
		Bytes out(zeros.size(), 0xff);
		ok = crypto::rc4_oneshot(key, zeros, out) == Error::None &&
		     bytes_match("RC4 keystream", ByteView(out).subspan(c.offset), c.keystream) && ok;
	}
	return ok;
}

// The same keystream, produced by many process() calls of odd sizes on one handle, in place.
bool rc4_state_carries_across_calls()
{
	Bytes key;
	if (!unhex("0102030405", key))
		return false;
	crypto::Rc4 rc4;
	if (rc4.ready() || rc4.init(key) != Error::None || !rc4.ready())
		return false;
	Bytes stream(4112, 0);
	size_t pos = 0, step = 1;
	while (pos < stream.size()) {
		const size_t n = std::min(step, stream.size() - pos);
		if (rc4.process_in_place(std::span<uint8_t>(stream).subspan(pos, n)) != Error::None)
			return false;
		pos += n;
		step = step * 3 % 97 + 1;
	}
	const ByteView s(stream);
	return bytes_match("RC4 @0", s.subspan(0, 16), "b2396305f03dc027ccc3524a0a1118a8") &&
	       bytes_match("RC4 @240", s.subspan(240, 16), "28cb1132c96ce286421dcaadb8b69eae") &&
	       bytes_match("RC4 @4096", s.subspan(4096, 16), "ff25b58995996707e51fbdf08b34d875");
}

// A moved-to handle continues the moved-from stream; re-init restarts it.
bool rc4_move_and_reinit()
{
	Bytes key;
	if (!unhex("0102030405", key))
		return false;
	crypto::Rc4 a;
	uint8_t first[16] = {}, second[16] = {};
	if (a.init(key) != Error::None || a.process_in_place(first) != Error::None)
		return false;
	crypto::Rc4 b(std::move(a));
	if (!b.ready() || b.process_in_place(second) != Error::None)
		return false;
	crypto::Rc4 c;
	c = std::move(b);
	uint8_t again[16] = {};
	if (!c.ready() || c.init(key) != Error::None || c.process_in_place(again) != Error::None)
		return false;
	return bytes_match("RC4 first", first, "b2396305f03dc027ccc3524a0a1118a8") &&
	       bytes_match("RC4 second", second, "6982944f18fc82d589c403a47a0d0919") &&
	       bytes_match("RC4 after re-init", again, "b2396305f03dc027ccc3524a0a1118a8");
}

bool rc4_rejects_misuse()
{
	crypto::Rc4 rc4;
	uint8_t buf[8] = {}, small[4] = {};
	if (rc4.process_in_place(buf) == Error::None) // not initialised
		return false;
	if (rc4.init(ByteView()) != Error::InvalidParameter || rc4.ready())
		return false;
	const uint8_t key[5] = {1, 2, 3, 4, 5};
	if (rc4.init(key) != Error::None)
		return false;
	if (rc4.process(ByteView(buf), small) != Error::InvalidParameter) // size mismatch
		return false;
	// Partially overlapping input and output are refused (identical is fine).
	uint8_t big[16] = {};
	if (rc4.process(ByteView(big, 8), std::span<uint8_t>(big + 4, 8)) != Error::InvalidParameter)
		return false;
	// The refused calls consumed no keystream.
	if (rc4.process_in_place(std::span<uint8_t>(big)) != Error::None)
		return false;
	return bytes_match("RC4 after refused calls", big, "b2396305f03dc027ccc3524a0a1118a8");
}

// MS-NLMP 4.2.2.1.2: NTOWFv1 = MD4(UNICODE(Passwd)).
bool ntowfv1_matches_ms_nlmp()
{
	Bytes passwd, expected;
	if (!test::vector_hex("ms-nlmp.json", "common.Passwd_unicode", passwd) ||
	    !test::vector_hex("ms-nlmp.json", "ntlmv1.NTOWFv1", expected))
		return false;   // vector_hex said which file or value is missing
	std::array<uint8_t, crypto::kMd4Size> out{};
	return crypto::md4(passwd, out) == Error::None && bytes_match("NTOWFv1", out, to_hex(expected));
}

// MS-NLMP 4.2.2.4: one RC4 handle seals the data, then the random pad, checksum and sequence
// number, in that order: the handle's state must carry across the four calls.
bool ms_nlmp_seal_sequence_matches()
{
	Bytes key, plaintext, data, pad, checksum, seqnum;
	const std::string base = "ntlmv1.GSS_WrapEx.";
	if (!test::vector_hex("ms-nlmp.json", base + "SealKey", key) ||
	    !test::vector_hex("ms-nlmp.json", base + "Plaintext", plaintext) ||
	    !test::vector_hex("ms-nlmp.json", base + "Data", data) ||
	    !test::vector_hex("ms-nlmp.json", base + "RandomPad_RC4", pad) ||
	    !test::vector_hex("ms-nlmp.json", base + "Checksum_RC4", checksum) ||
	    !test::vector_hex("ms-nlmp.json", base + "SeqNum_RC4", seqnum))
		return false;
	Bytes crc;
	if (!test::vector_hex("ms-nlmp.json", base + "Checksum_CRC32", crc))
		return false;
	crypto::Rc4 rc4;
	if (rc4.init(key) != Error::None)
		return false;
	Bytes sealed(plaintext.size());
	uint8_t zero_pad[4] = {}, zero_seq[4] = {};
	if (rc4.process(plaintext, sealed) != Error::None || rc4.process_in_place(zero_pad) != Error::None ||
	    rc4.process_in_place(crc) != Error::None || rc4.process_in_place(zero_seq) != Error::None)
		return false;
	return bytes_match("sealed data", sealed, to_hex(data)) && bytes_match("random pad", zero_pad, to_hex(pad)) &&
	       bytes_match("checksum", crc, to_hex(checksum)) && bytes_match("seqnum", zero_seq, to_hex(seqnum));
}

bool random_bytes_vary()
{
	std::array<uint8_t, 32> a{}, b{};
	if (crypto::random_bytes(a) != Error::None || crypto::random_bytes(b) != Error::None)
		return false;
	if (crypto::random_bytes(std::span<uint8_t>()) != Error::None)
		return false;
	const std::array<uint8_t, 32> zero{};
	return a != b && a != zero && b != zero;
}

// Our functions ran (they are called by the tests before this one, and again here); the default
// library context must offer exactly what it offered before, and ours must differ from it.
bool default_context_unchanged()
{
	std::array<uint8_t, crypto::kMd4Size> out{};
	uint8_t buf[4] = {};
	const uint8_t key[5] = {1, 2, 3, 4, 5};
	if (crypto::md4(ByteView(), out) != Error::None || crypto::rc4_oneshot(key, buf, buf) != Error::None)
		return false;
	if (crypto::libctx() == nullptr)
		return false;
	const DefaultContextSnapshot after = snapshot_default_context();
	if (after.md4 != g_before.md4 || after.rc4 != g_before.rc4 || after.legacy_loaded != g_before.legacy_loaded) {
		std::fprintf(stderr, "default context changed: MD4 %d->%d RC4 %d->%d legacy %d->%d\n", g_before.md4,
		             after.md4, g_before.rc4, after.rc4, g_before.legacy_loaded, after.legacy_loaded);
		return false;
	}
	// Our context really has the legacy provider (that is the point of having one).
	return OSSL_PROVIDER_available(crypto::libctx(), "legacy") == 1;
}

} // namespace

static void test_md4_rfc1320(void**) { assert_true(md4_suite_passes()); }
static void test_md5_rfc1321(void**) { assert_true(md5_suite_passes()); }
static void test_sha256_fips180(void**) { assert_true(sha256_fips_vectors_pass()); }
static void test_hmac_md5_rfc2202(void**) { assert_true(hmac_md5_rfc2202_vectors_pass()); }
static void test_hmac_md5_empty_key(void**) { assert_true(hmac_md5_empty_key_works()); }
static void test_legacy_available(void**) { assert_true(crypto::legacy_available()); }
static void test_rc4_rfc6229(void**) { assert_true(rc4_rfc6229_oneshot_passes()); }
static void test_rc4_state_carries_across_calls(void**) { assert_true(rc4_state_carries_across_calls()); }
static void test_rc4_move_and_reinit(void**) { assert_true(rc4_move_and_reinit()); }
static void test_rc4_rejects_misuse(void**) { assert_true(rc4_rejects_misuse()); }
static void test_ntowfv1_ms_nlmp(void**) { assert_true(ntowfv1_matches_ms_nlmp()); }
static void test_ms_nlmp_seal_sequence(void**) { assert_true(ms_nlmp_seal_sequence_matches()); }
static void test_random_bytes(void**) { assert_true(random_bytes_vary()); }
static void test_default_context_unchanged(void**) { assert_true(default_context_unchanged()); }

int main()
{
	// Record what the host would see before any of our code creates its library context.
	g_before = snapshot_default_context();

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_md4_rfc1320),
	    cmocka_unit_test(test_md5_rfc1321),
	    cmocka_unit_test(test_sha256_fips180),
	    cmocka_unit_test(test_hmac_md5_rfc2202),
	    cmocka_unit_test(test_hmac_md5_empty_key),
	    cmocka_unit_test(test_legacy_available),
	    cmocka_unit_test(test_rc4_rfc6229),
	    cmocka_unit_test(test_rc4_state_carries_across_calls),
	    cmocka_unit_test(test_rc4_move_and_reinit),
	    cmocka_unit_test(test_rc4_rejects_misuse),
	    cmocka_unit_test(test_ntowfv1_ms_nlmp),
	    cmocka_unit_test(test_ms_nlmp_seal_sequence),
	    cmocka_unit_test(test_random_bytes),
	    cmocka_unit_test(test_default_context_unchanged),
	};
	return cmocka_run_group_tests_name("crypto", tests, nullptr, nullptr);
}
