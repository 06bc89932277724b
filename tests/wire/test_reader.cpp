// wire::Reader: every read succeeds and advances by exactly its size, or fails at the boundary
// and leaves the reader exactly as it was.
#include "wire/reader.h"

#include <cstdio>
#include <functional>
#include <vector>

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
// cmocka defines a function-like macro skip(), which would swallow Reader::skip(n).
#undef skip

using namespace nlassp;
using nlassp::wire::Reader;

namespace {

const uint8_t kData[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a};

struct ReadOp {
	const char* name;
	size_t size; // bytes the read needs
	std::function<bool(Reader&)> read;
};

std::vector<ReadOp> all_reads()
{
	return {
	    {"u8", 1, [](Reader& r) { uint8_t v; return r.u8(v); }},
	    {"u16le", 2, [](Reader& r) { uint16_t v; return r.u16le(v); }},
	    {"u16be", 2, [](Reader& r) { uint16_t v; return r.u16be(v); }},
	    {"u32le", 4, [](Reader& r) { uint32_t v; return r.u32le(v); }},
	    {"u32be", 4, [](Reader& r) { uint32_t v; return r.u32be(v); }},
	    {"u64le", 8, [](Reader& r) { uint64_t v; return r.u64le(v); }},
	    {"bytes(3)", 3, [](Reader& r) { ByteView v; return r.bytes(3, v); }},
	    {"sub(5)", 5, [](Reader& r) { Reader v; return r.sub(5, v); }},
	    {"copy(6)", 6, [](Reader& r) { uint8_t b[6]; return r.copy(b); }},
	    {"skip(7)", 7, [](Reader& r) { return r.skip(7); }},
	    {"bytes(10)", 10, [](Reader& r) { ByteView v; return r.bytes(10, v); }},
	};
}

// For every read and every input length around its size: success iff the input is long
// enough; on success it consumed exactly `size`, on failure nothing moved.
bool every_read_fails_at_boundary_unchanged()
{
	for (const auto& op : all_reads()) {
		for (size_t len = 0; len <= sizeof(kData); ++len) {
			Reader r(ByteView(kData, len));
			const bool ok = op.read(r);
			const bool expect_ok = len >= op.size;
			if (ok != expect_ok) {
				std::fprintf(stderr, "%s on %zu bytes: got %d\n", op.name, len, ok);
				return false;
			}
			const size_t expect_remaining = ok ? len - op.size : len;
			if (r.remaining() != expect_remaining || r.rest().data() != kData + (len - expect_remaining)) {
				std::fprintf(stderr, "%s on %zu bytes moved the reader wrongly\n", op.name, len);
				return false;
			}
		}
	}
	return true;
}

bool values_and_byte_order()
{
	Reader r(kData);
	uint8_t a = 0;
	uint16_t b = 0, c = 0;
	uint32_t d = 0;
	if (!r.u8(a) || !r.u16le(b) || !r.u16be(c) || !r.u32le(d))
		return false;
	uint8_t peeked = 0;
	if (!r.peek_u8(peeked) || peeked != 0x0a || r.remaining() != 1)
		return false;
	Reader r2(kData);
	uint32_t e = 0;
	uint64_t f = 0;
	if (!r2.u32be(e))
		return false;
	Reader r3(kData);
	if (!r3.u64le(f))
		return false;
	return a == 0x01 && b == 0x0302 && c == 0x0405 && d == 0x09080706 && e == 0x01020304 &&
	       f == 0x0807060504030201ull;
}

bool empty_reader()
{
	Reader r;
	uint8_t v = 0x55;
	ByteView bv;
	return r.empty() && r.remaining() == 0 && !r.u8(v) && !r.peek_u8(v) && v == 0x55 && r.bytes(0, bv) &&
	       bv.empty() && r.skip(0) && !r.skip(1);
}

bool sub_reader_is_bounded()
{
	Reader r(kData);
	Reader sub;
	if (!r.sub(3, sub) || sub.remaining() != 3 || r.remaining() != 7)
		return false;
	uint32_t v = 0;
	if (sub.u32le(v) || sub.remaining() != 3) // a sub-reader cannot read past its end
		return false;
	uint8_t first = 0;
	return sub.u8(first) && first == 0x01 && !sub.skip(3) && sub.skip(2) && sub.empty();
}

bool huge_sizes_fail_without_overflow()
{
	Reader r(kData);
	ByteView v;
	Reader sub;
	return !r.bytes(SIZE_MAX, v) && !r.sub(SIZE_MAX, sub) && !r.skip(SIZE_MAX - 1) && r.remaining() == sizeof(kData);
}

bool field_bounds()
{
	const ByteView base(kData);
	ByteView out;
	if (!Reader::field(base, 0, 10, out) || out.size() != 10)
		return false;
	if (!Reader::field(base, 10, 0, out) || !out.empty())
		return false;
	if (!Reader::field(base, 4, 6, out) || out.data() != kData + 4 || out.size() != 6)
		return false;
	out = ByteView(kData, 1);
	const bool rejected = !Reader::field(base, 11, 0, out) && !Reader::field(base, 4, 7, out) &&
	                      !Reader::field(base, 1, SIZE_MAX, out) && !Reader::field(base, SIZE_MAX, 2, out) &&
	                      !Reader::field(base, SIZE_MAX, SIZE_MAX, out);
	// A failed field() leaves `out` alone.
	return rejected && out.data() == kData && out.size() == 1;
}

} // namespace

static void test_every_read_fails_at_boundary_unchanged(void**)
{
	assert_true(every_read_fails_at_boundary_unchanged());
}
static void test_values_and_byte_order(void**) { assert_true(values_and_byte_order()); }
static void test_empty_reader(void**) { assert_true(empty_reader()); }
static void test_sub_reader_is_bounded(void**) { assert_true(sub_reader_is_bounded()); }
static void test_huge_sizes_fail_without_overflow(void**) { assert_true(huge_sizes_fail_without_overflow()); }
static void test_field_bounds(void**) { assert_true(field_bounds()); }

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_read_fails_at_boundary_unchanged),
	    cmocka_unit_test(test_values_and_byte_order),
	    cmocka_unit_test(test_empty_reader),
	    cmocka_unit_test(test_sub_reader_is_bounded),
	    cmocka_unit_test(test_huge_sizes_fail_without_overflow),
	    cmocka_unit_test(test_field_bounds),
	};
	return cmocka_run_group_tests_name("wire_reader", tests, nullptr, nullptr);
}
