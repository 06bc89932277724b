// text::printable: names from the wire or a caller in one log line, whatever they contain.
#include "common/text.h"

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

using nlassp::text::printable;

static void test_plain_names_unchanged(void**)
{
	assert_string_equal(printable(std::u16string_view(u"GW\\gwuser")).c_str(), "GW\\gwuser");
	assert_string_equal(printable(std::u16string_view(u"gw\u00fcser@LAB.TEST")).c_str(), "gw\xc3\xbcser@LAB.TEST");
	assert_string_equal(printable(std::string_view("alice")).c_str(), "alice");
	assert_string_equal(printable(std::u16string_view(u"")).c_str(), "");
}

// A user name must not end the log line and start a forged one, nor reorder what follows.
static void test_controls_replaced(void**)
{
	assert_string_equal(printable(std::u16string_view(u"a\nb\r\tc\x1b[31m\x7f")).c_str(), "a?b??c?[31m?");
	assert_string_equal(printable(std::u16string_view(u"x\u0085y\u009bz")).c_str(), "x?y?z");
	assert_string_equal(printable(std::u16string_view(u"l\u2028p\u2029")).c_str(), "l?p?");
	assert_string_equal(printable(std::u16string_view(u"\u202eresu\u2066\u2069")).c_str(), "?resu??");
	assert_string_equal(printable(std::string_view("bob\n[ERROR] fake")).c_str(), "bob?[ERROR] fake");
	assert_string_equal(printable(std::string_view("nul\0x", 5)).c_str(), "nul?x");
	assert_string_equal(printable(std::string_view("e\xe2\x80\xae" "x")).c_str(), "e?x");
}

static void test_invalid_input(void**)
{
	const char16_t lone[] = {u'a', static_cast<char16_t>(0xd800), u'b'};
	assert_string_equal(printable(std::u16string_view(lone, 3)).c_str(), "<invalid UTF-16>");
	// Not UTF-8: printable ASCII stays, every other byte becomes '?'.
	assert_string_equal(printable(std::string_view("us\xff\xfe" "er\n")).c_str(), "us??er?");
}

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_names_unchanged),
	    cmocka_unit_test(test_controls_replaced),
	    cmocka_unit_test(test_invalid_input),
	};
	return cmocka_run_group_tests_name("text::printable", tests, nullptr, nullptr);
}
