// Where an RFC 4757 wrap token ends, as its own RFC 2743 framing states it (rfc4757::
// framed_header_size): what the SSPI boundary needs to tell a token cut at the wrong place (FreeRDP
// cuts at cbSecurityTrailer) and where the CREDSSP package splits a sealed field. Untrusted bytes:
// exact results for real headers of every length form, truncated, oversized and garbage input
// (fuzz_kerberos_rc4_token runs the same function). No KDC needed.
#include "kerberos/rfc4757.h"

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
using namespace nlassp::kerberos;

namespace {

const std::vector<uint8_t> kOidAndWrap = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x02, 0x01};

// 60 <length octets> <OID> 02 01, then `body` zero bytes of the rest of the header.
std::vector<uint8_t> header(std::vector<uint8_t> length, size_t body = 30)
{
	std::vector<uint8_t> t;
	t.reserve(1 + length.size() + kOidAndWrap.size() + body);
	t.push_back(0x60);
	for (uint8_t b : length)
		t.push_back(b);
	for (uint8_t b : kOidAndWrap)
		t.push_back(b);
	t.resize(t.size() + body, 0);
	return t;
}

size_t stated(const std::vector<uint8_t>& t, size_t& data)
{
	return rfc4757::framed_header_size(ByteView(t.data(), t.size()), data);
}

} // namespace

// Real headers: the length counts the OID, the 32-byte body and the data after them.
static void test_every_length_form(void**)
{
	size_t data = 0;
	assert_int_equal(stated(header({0x4b}), data), 45);   // 43 + 32 bytes of data
	assert_int_equal(data, 32);
	assert_int_equal(stated(header({0x81, 0x80}), data), 46);
	assert_int_equal(data, 0x80 - 43);
	assert_int_equal(stated(header({0x82, 0x01, 0x68}), data), 47);
	assert_int_equal(data, 0x168 - 43);
	assert_int_equal(stated(header({0x83, 0x01, 0x00, 0x00}), data), 48);
	assert_int_equal(data, 0x10000 - 43);
	assert_int_equal(stated(header({0x84, 0x01, 0x00, 0x00, 0x00}), data), 49);
	assert_int_equal(data, 0x1000000u - 43);
	// The header size the framing states is the one wrap_header_size gives for its data.
	for (size_t n : {0u, 1u, 84u, 85u, 212u, 213u, 300u, 70000u}) {
		const size_t inner = 43 + n;
		std::vector<uint8_t> length;
		if (inner >= 0x80) {
			size_t octets = inner >= 0x10000 ? 3 : inner >= 0x100 ? 2 : 1;
			length.push_back(static_cast<uint8_t>(0x80 | octets));
			while (octets-- > 0)
				length.push_back(static_cast<uint8_t>(inner >> (8 * octets)));
		} else {
			length.push_back(static_cast<uint8_t>(inner));
		}
		assert_int_equal(stated(header(length), data), rfc4757::wrap_header_size(n));
		assert_int_equal(data, n);
	}
}

// Truncated: no length, a cut length, a cut OID, no token ID.
static void test_truncated(void**)
{
	size_t data = 7;
	const std::vector<uint8_t> full = header({0x82, 0x01, 0x68}, 0);
	for (size_t cut = 0; cut < full.size(); ++cut) {
		const std::vector<uint8_t> t(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
		assert_int_equal(stated(t, data), 0);
		assert_int_equal(data, 0);
	}
	assert_int_equal(stated(full, data), 47);   // the rest of the header need not be there
}

// Oversized or malformed lengths: more than four length octets, the indefinite form, a
// non-minimal length, a length too short for the OID and body.
static void test_bad_lengths(void**)
{
	size_t data = 0;
	assert_int_equal(stated(header({0x85, 0x01, 0x00, 0x00, 0x00, 0x00}), data), 0);
	assert_int_equal(stated(header({0x80}), data), 0);
	assert_int_equal(stated(header({0x81, 0x4b}), data), 0);        // 75 fits the short form
	assert_int_equal(stated(header({0x82, 0x00, 0x90}), data), 0);  // a leading zero octet
	assert_int_equal(stated(header({0x2a}), data), 0);              // 42 < 43
	assert_int_equal(stated(header({0x2b}), data), 45);             // exactly the header: no data
	assert_int_equal(data, 0);
}

// Garbage: another tag, another mechanism OID, a MIC token, an RFC 4121 token.
static void test_garbage(void**)
{
	size_t data = 0;
	std::vector<uint8_t> t = header({0x4b});
	t[0] = 0x61;
	assert_int_equal(stated(t, data), 0);
	t = header({0x4b});
	t[12] = 0x03;   // last OID octet
	assert_int_equal(stated(t, data), 0);
	t = header({0x4b});
	t[13] = 0x01;   // TOK_ID 01 01: a MIC
	t[14] = 0x01;
	assert_int_equal(stated(t, data), 0);
	const std::vector<uint8_t> cfx = {0x05, 0x04, 0x06, 0xff, 0x00, 0x00, 0x00, 0x1c, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(stated(cfx, data), 0);
	assert_int_equal(stated({}, data), 0);
}

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_length_form),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests_name("RFC 4757 framing", tests, nullptr, nullptr);
}
