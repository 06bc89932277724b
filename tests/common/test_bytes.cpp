// to_hex / from_hex, and error_name().
#include "common/bytes.h"
#include "common/error.h"

#include <cstdio>
#include <cstring>
#include <set>
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

bool hex_round_trip_all_bytes()
{
	Bytes all;
	for (int i = 0; i < 256; ++i)
		all.push_back(static_cast<uint8_t>(i));
	const std::string h = to_hex(all);
	if (h.size() != 512 || h.substr(0, 8) != "00010203" || h.substr(504) != "fcfdfeff")
		return false;
	Bytes back;
	return from_hex(h, back) && back == all;
}

bool hex_formats()
{
	Bytes out;
	if (to_hex(ByteView()) != "" || !from_hex("", out) || !out.empty())
		return false;
	if (to_hex(as_bytes(std::string("\x0a\xbc", 2))) != "0abc")
		return false;
	// Upper and lower case digits both parse.
	if (!from_hex("DEADbeef", out) || to_hex(out) != "deadbeef")
		return false;
	return true;
}

bool hex_refusals_leave_output()
{
	const char* bad[] = {"0", "abc", "0g", "g0", " 00", "00 ", "0x00", "-1", "zz"};
	for (const char* b : bad) {
		Bytes out = {0x42};
		if (from_hex(b, out) || out.size() != 1 || out[0] != 0x42) {
			std::fprintf(stderr, "from_hex accepted '%s' or touched the output\n", b);
			return false;
		}
	}
	// A NUL inside the view is a bad digit, not the end of the string.
	Bytes out;
	return !from_hex(std::string_view("00\0a", 4), out);
}

bool error_names_distinct()
{
	std::set<std::string> names;
	// The enumerators run from None to the last one error_name() knows; every later value is
	// "unknown error" (so that appending an Error needs no change here).
	unsigned last = 0;
	while (last < 255 && std::strcmp(error_name(static_cast<Error>(last + 1)), "unknown error") != 0)
		++last;
	if (last < static_cast<unsigned>(Error::NotEstablished))
		return false;
	for (unsigned i = 0; i <= last; ++i) {
		const char* n = error_name(static_cast<Error>(i));
		if (!n || std::strcmp(n, "unknown error") == 0 || !names.insert(n).second) {
			std::fprintf(stderr, "error %u has no distinct name\n", i);
			return false;
		}
	}
	return std::strcmp(error_name(Error::None), "success") == 0 &&
	       std::strcmp(error_name(static_cast<Error>(last + 1)), "unknown error") == 0;
}

} // namespace

static void test_hex_round_trip_all_bytes(void**) { assert_true(hex_round_trip_all_bytes()); }
static void test_hex_formats(void**) { assert_true(hex_formats()); }
static void test_hex_refusals_leave_output(void**) { assert_true(hex_refusals_leave_output()); }
static void test_error_names_distinct(void**) { assert_true(error_names_distinct()); }

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hex_round_trip_all_bytes),
	    cmocka_unit_test(test_hex_formats),
	    cmocka_unit_test(test_hex_refusals_leave_output),
	    cmocka_unit_test(test_error_names_distinct),
	};
	return cmocka_run_group_tests_name("common_bytes", tests, nullptr, nullptr);
}
