// wire::Writer: a fixed writer never writes past its span and stays failed once it failed;
// patches are bounds-checked against what was written.
#include "wire/writer.h"

#include <array>
#include <cstdio>
#include <cstring>

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
using nlassp::wire::Writer;

namespace {

constexpr uint8_t kGuard = 0xcc;

bool growing_writer_encodes()
{
	Writer w;
	const uint8_t raw[] = {0xde, 0xad};
	const bool ok = w.u8(0x01) && w.u16le(0x0302) && w.u16be(0x0405) && w.u32le(0x09080706) &&
	                w.u32be(0x0a0b0c0d) && w.u64le(0x1817161514131211ull) && w.bytes(raw) && w.zeros(2) &&
	                w.bytes(ByteView());
	if (!ok || !w.ok() || w.size() != 25)
		return false;
	const Bytes out = w.take();
	return to_hex(out) == "0102030405060708090a0b0c0d1112131415161718dead0000";
}

// Writes of every kind into a fixed span of every size from 0 to 12: each write either fits
// or fails; nothing lands beyond the span; once failed, every later write fails too.
bool fixed_writer_never_overruns()
{
	for (size_t cap = 0; cap <= 12; ++cap) {
		std::array<uint8_t, 32> mem;
		mem.fill(kGuard);
		Writer w(MutableByteView(mem.data(), cap));
		bool failed = false;
		size_t expected = 0;
		const size_t sizes[] = {1, 2, 4, 1, 8, 2};
		for (size_t i = 0; i < std::size(sizes); ++i) {
			bool r = false;
			switch (sizes[i]) {
			case 1: r = w.u8(0x11); break;
			case 2: r = (i % 2) ? w.u16le(0x2222) : w.u16be(0x2222); break;
			case 4: r = w.u32le(0x44444444); break;
			case 8: r = w.u64le(0x8888888888888888ull); break;
			}
			const bool fits = !failed && expected + sizes[i] <= cap;
			if (r != fits) {
				std::fprintf(stderr, "cap %zu write %zu: got %d expected %d\n", cap, i, r, fits);
				return false;
			}
			if (r)
				expected += sizes[i];
			else
				failed = true;
			if (w.ok() == failed || w.size() != expected)
				return false;
		}
		// A one-byte write that would fit after a failure must still fail.
		if (failed && (w.u8(0) || w.ok()))
			return false;
		for (size_t i = cap; i < mem.size(); ++i)
			if (mem[i] != kGuard) {
				std::fprintf(stderr, "cap %zu: byte %zu written past the end\n", cap, i);
				return false;
			}
		if (w.view().data() != mem.data() || w.view().size() != expected)
			return false;
	}
	return true;
}

bool fixed_writer_failed_bytes_write_nothing()
{
	std::array<uint8_t, 8> mem;
	mem.fill(kGuard);
	Writer w(MutableByteView(mem.data(), 4));
	const uint8_t five[5] = {1, 2, 3, 4, 5};
	const uint8_t three[3] = {7, 7, 7};
	// A too-large block fails whole: not even the part that would have fitted is written.
	if (w.bytes(five) || w.ok() || w.size() != 0)
		return false;
	if (w.bytes(three) || w.zeros(1))
		return false;
	for (uint8_t b : mem)
		if (b != kGuard)
			return false;
	return true;
}

bool zeros_respects_capacity()
{
	std::array<uint8_t, 8> mem;
	mem.fill(kGuard);
	Writer w(MutableByteView(mem.data(), 3));
	if (w.zeros(4) || w.ok())
		return false;
	return mem[3] == kGuard && mem[4] == kGuard;
}

bool patch_bounds()
{
	Writer w;
	if (!w.u32le(0) || !w.u16le(0))
		return false;
	// In bounds: the last two bytes, the first four.
	if (!w.patch_u16le(4, 0xbbaa) || !w.patch_u32le(0, 0x44332211))
		return false;
	if (to_hex(w.view()) != "11223344aabb")
		return false;
	// Past what was written: fails and leaves the writer failed.
	Writer w2;
	if (!w2.u32le(0) || w2.patch_u32le(1, 1) || w2.ok() || w2.u8(0))
		return false;
	Writer w3;
	if (!w3.u16le(0x0102) || w3.patch_u16le(SIZE_MAX, 1) || w3.ok())
		return false;
	Writer w4;
	if (w4.patch_u16le(0, 1)) // nothing written yet
		return false;
	// Fixed writer: a patch may only touch written bytes, never the unused capacity.
	std::array<uint8_t, 8> mem;
	mem.fill(kGuard);
	Writer wf(MutableByteView(mem.data(), 8));
	if (!wf.u16le(0) || wf.patch_u32le(0, 0x01010101) || mem[2] != kGuard || mem[3] != kGuard)
		return false;
	Writer wf2(MutableByteView(mem.data(), 8));
	return wf2.u16le(0) && wf2.patch_u16le(0, 0x0201) && mem[0] == 0x01 && mem[1] == 0x02 && mem[2] == kGuard;
}

} // namespace

static void test_growing_writer_encodes(void**) { assert_true(growing_writer_encodes()); }
static void test_fixed_writer_never_overruns(void**) { assert_true(fixed_writer_never_overruns()); }
static void test_fixed_writer_failed_bytes_write_nothing(void**)
{
	assert_true(fixed_writer_failed_bytes_write_nothing());
}
static void test_zeros_respects_capacity(void**) { assert_true(zeros_respects_capacity()); }
static void test_patch_bounds(void**) { assert_true(patch_bounds()); }

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_growing_writer_encodes),
	    cmocka_unit_test(test_fixed_writer_never_overruns),
	    cmocka_unit_test(test_fixed_writer_failed_bytes_write_nothing),
	    cmocka_unit_test(test_zeros_respects_capacity),
	    cmocka_unit_test(test_patch_bounds),
	};
	return cmocka_run_group_tests_name("wire_writer", tests, nullptr, nullptr);
}
