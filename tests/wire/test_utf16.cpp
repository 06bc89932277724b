// UTF-8 <-> UTF-16: round trips (including surrogate pairs), strict refusal of malformed
// input in both directions, UTF-16LE bytes, the secret variant, and upper-casing as NTOWFv2
// uses it on the user name.
#include "wire/utf16.h"

#include "support/vectors.h"

#include <clocale>
#include <cstdio>
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
namespace wire = nlassp::wire;

namespace {

std::string unhex(const char* h)
{
	Bytes b;
	if (!from_hex(h, b))
		std::fprintf(stderr, "bad hex in test: %s\n", h);
	return std::string(b.begin(), b.end());
}

bool round_trips(const std::string& utf8, const std::u16string& utf16)
{
	std::u16string got16;
	std::string got8;
	if (!wire::utf8_to_utf16(utf8, got16) || got16 != utf16) {
		std::fprintf(stderr, "utf8->utf16 failed for %s\n", to_hex(as_bytes(utf8)).c_str());
		return false;
	}
	if (!wire::utf16_to_utf8(utf16, got8) || got8 != utf8) {
		std::fprintf(stderr, "utf16->utf8 failed for %s\n", to_hex(as_bytes(utf8)).c_str());
		return false;
	}
	return true;
}

bool round_trip_cases()
{
	return round_trips("", u"") && round_trips("User", u"User") && round_trips(std::string("a\0b", 3), std::u16string(u"a\0b", 3)) &&
	       round_trips("\xc3\xa9", u"\u00e9") &&                   // é, two bytes
	       round_trips("\xdf\xbf", u"\u07ff") &&                   // last two-byte code point
	       round_trips("\xe0\xa0\x80", u"\u0800") &&               // first three-byte code point
	       round_trips("\xe2\x82\xac", u"\u20ac") &&               // €
	       round_trips("\xed\x9f\xbf", u"\ud7ff") &&               // just below the surrogates
	       round_trips("\xee\x80\x80", u"\ue000") &&               // just above them
	       round_trips("\xef\xbf\xbf", u"\uffff") &&               // last BMP code point
	       round_trips("\xf0\x90\x80\x80", u"\U00010000") &&       // first supplementary
	       round_trips("\xf0\x9f\x98\x80", u"\U0001F600") &&       // an emoji: D83D DE00
	       round_trips("\xf4\x8f\xbf\xbf", u"\U0010FFFF") &&       // last code point
	       round_trips("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", u"\u041f\u0440\u0438\u0432\u0435\u0442");
}

bool surrogate_pair_units()
{
	std::u16string s;
	return wire::utf8_to_utf16("\xf0\x9f\x98\x80", s) && s.size() == 2 && s[0] == 0xd83d && s[1] == 0xde00;
}

bool utf8_refused(const std::string& in)
{
	std::u16string out = u"keep";
	if (wire::utf8_to_utf16(in, out) || out != u"keep") {
		std::fprintf(stderr, "accepted invalid UTF-8 %s\n", to_hex(as_bytes(in)).c_str());
		return false;
	}
	SecretBytes secret(Bytes{1, 2});
	if (wire::utf8_to_utf16le_secret(in, secret) || secret.size() != 2 || secret[0] != 1)
		return false;
	return true;
}

bool invalid_utf8_refused()
{
	return utf8_refused(unhex("80")) &&             // lone continuation byte
	       utf8_refused(unhex("bf")) &&
	       utf8_refused(unhex("c0af")) &&           // overlong '/'
	       utf8_refused(unhex("c1bf")) &&           // overlong
	       utf8_refused(unhex("e08080")) &&         // overlong NUL
	       utf8_refused(unhex("e09fbf")) &&         // overlong U+07FF
	       utf8_refused(unhex("f08fbfbf")) &&       // overlong U+FFFF
	       utf8_refused(unhex("eda080")) &&         // encoded surrogate D800
	       utf8_refused(unhex("edbfbf")) &&         // encoded surrogate DFFF
	       utf8_refused(unhex("eda0bdedb880")) &&   // CESU-8 surrogate pair
	       utf8_refused(unhex("f4908080")) &&       // U+110000
	       utf8_refused(unhex("f5808080")) &&       // lead byte beyond f4
	       utf8_refused(unhex("ff")) && utf8_refused(unhex("fe")) &&
	       utf8_refused(unhex("c3")) &&             // truncated two-byte
	       utf8_refused(unhex("e282")) &&           // truncated three-byte
	       utf8_refused(unhex("f09f98")) &&         // truncated four-byte
	       utf8_refused(unhex("41c3")) &&           // truncated at the end, after valid text
	       utf8_refused(unhex("c341")) &&           // continuation replaced by ASCII
	       utf8_refused(unhex("e2c282ac"));         // bad second continuation
}

// Refused by every UTF-16 reader: the UTF-8 conversion, the well-formedness check and the
// UTF-16LE decoder (issue 14: names and text from the wire or callers), output untouched.
bool utf16_refused(const std::u16string& in)
{
	std::string out = "keep";
	if (wire::utf16_to_utf8(in, out) || out != "keep") {
		std::fprintf(stderr, "accepted an unpaired surrogate\n");
		return false;
	}
	std::u16string decoded = u"keep";
	if (wire::utf16_well_formed(in) || wire::utf16le_decode(wire::utf16le_bytes(in), decoded) || decoded != u"keep") {
		std::fprintf(stderr, "utf16_well_formed / utf16le_decode accepted an unpaired surrogate\n");
		return false;
	}
	return true;
}

bool invalid_utf16_refused()
{
	return utf16_refused(std::u16string(1, char16_t(0xd800))) &&                     // lone high
	       utf16_refused(std::u16string(1, char16_t(0xdc00))) &&                     // lone low
	       utf16_refused(u"a" + std::u16string(1, char16_t(0xdbff))) &&              // high at end
	       utf16_refused(std::u16string{char16_t(0xd800), u'a'}) &&                  // high then BMP
	       utf16_refused(std::u16string{char16_t(0xdc00), char16_t(0xd800)}) &&      // reversed pair
	       utf16_refused(std::u16string{char16_t(0xd800), char16_t(0xd800), char16_t(0xdc00)});
}

bool utf16le_bytes_layout()
{
	const Bytes b = wire::utf16le_bytes(u"A\u20ac\U0001F600");
	if (to_hex(b) != "4100ac203dd800de")
		return false;
	Bytes appended = {0xff};
	wire::utf16le_append(appended, u"Hi");
	if (to_hex(appended) != "ff48006900")
		return false;
	std::u16string decoded = u"keep";
	if (!wire::utf16le_decode(b, decoded) || decoded != u"A\u20ac\U0001F600")
		return false;
	// NULs are text here (names refuse them where they are read); "00 D8" alone is not.
	if (!wire::utf16le_decode(Bytes{0x41, 0, 0, 0, 0x42, 0}, decoded) || decoded != std::u16string(u"A\0B", 3))
		return false;
	if (wire::utf16le_decode(Bytes{0x00, 0xd8}, decoded) || !wire::utf16_well_formed(u"A\U0001F600"))
		return false;
	// Odd length refused, output untouched; empty is fine.
	decoded = u"keep";
	if (wire::utf16le_decode(ByteView(b).first(3), decoded) || decoded != u"keep")
		return false;
	return wire::utf16le_decode(ByteView(), decoded) && decoded.empty();
}

// The secret variant produces the same bytes the spec's UNICODE(Passwd) has.
bool secret_matches_ms_nlmp()
{
	std::string passwd;
	Bytes expected;
	if (!test::vector_string("ms-nlmp.json", "common.Passwd", passwd) ||
	    !test::vector_hex("ms-nlmp.json", "common.Passwd_unicode", expected))
		return false;
	SecretBytes out;
	if (!wire::utf8_to_utf16le_secret(passwd, out) || to_hex(out.view()) != to_hex(expected))
		return false;
	SecretBytes mixed;
	if (!wire::utf8_to_utf16le_secret("p\xc3\xa4\xf0\x9f\x98\x80", mixed))
		return false;
	SecretBytes empty(Bytes{9});
	return to_hex(mixed.view()) == "7000e4003dd800de" && wire::utf8_to_utf16le_secret("", empty) && empty.empty();
}

bool upper_is(const std::u16string& in, const std::u16string& expected)
{
	const std::u16string got = wire::to_upper(in);
	if (got != expected) {
		std::string a, b;
		(void)wire::utf16_to_utf8(got, a);
		(void)wire::utf16_to_utf8(expected, b);
		std::fprintf(stderr, "to_upper: got '%s' expected '%s'\n", a.c_str(), b.c_str());
		return false;
	}
	return true;
}

bool upper_casing()
{
	return upper_is(u"", u"") && upper_is(u"user", u"USER") && upper_is(u"User1_-.@x", u"USER1_-.@X") &&
	       upper_is(u"\u00e9t\u00e9", u"\u00c9T\u00c9") &&          // Latin-1
	       upper_is(u"\u00ff", u"\u0178") &&                          // ÿ -> Ÿ (leaves Latin-1)
	       upper_is(u"\u00df", u"\u00df") &&                          // ß has no one-unit upper case
	       upper_is(u"\u0142\u0161", u"\u0141\u0160") &&              // Latin Extended-A
	       upper_is(u"\u03b1\u03b2\u03c9", u"\u0391\u0392\u03a9") &&  // Greek
	       upper_is(u"\u043f\u0440\u0438\u0432\u0435\u0442", u"\u041f\u0420\u0418\u0412\u0415\u0422") &&
	       upper_is(u"\u4e2d\u6587", u"\u4e2d\u6587") &&              // no case: unchanged
	       upper_is(u"\U0001F600", u"\U0001F600") &&                  // surrogate pair untouched
	       upper_is(u"\U00010428", u"\U00010428") &&                  // Deseret: outside the BMP, untouched
	       upper_is(std::u16string(1, char16_t(0xd800)), std::u16string(1, char16_t(0xd800)));
}

// The host's locale must not change the result (we use our own C.UTF-8 locale object).
bool upper_casing_ignores_global_locale()
{
	const char* prev = std::setlocale(LC_CTYPE, nullptr);
	const std::string saved = prev ? prev : "C";
	std::setlocale(LC_CTYPE, "C");
	const bool ok = upper_is(u"\u00e9\u0436", u"\u00c9\u0416");
	std::setlocale(LC_CTYPE, saved.c_str());
	return ok;
}

// MS-NLMP 4.2.4: NTOWFv2 upper-cases "User".
bool upper_ms_nlmp_user()
{
	std::string user;
	std::u16string u16;
	if (!test::vector_string("ms-nlmp.json", "common.User", user) || !wire::utf8_to_utf16(user, u16))
		return false;
	return wire::utf16le_bytes(wire::to_upper(u16)) == wire::utf16le_bytes(u"USER");
}

} // namespace

static void test_round_trips(void**) { assert_true(round_trip_cases()); }
static void test_surrogate_pair_units(void**) { assert_true(surrogate_pair_units()); }
static void test_invalid_utf8_refused(void**) { assert_true(invalid_utf8_refused()); }
static void test_invalid_utf16_refused(void**) { assert_true(invalid_utf16_refused()); }
static void test_utf16le_bytes_layout(void**) { assert_true(utf16le_bytes_layout()); }
static void test_secret_matches_ms_nlmp(void**) { assert_true(secret_matches_ms_nlmp()); }
static void test_upper_casing(void**) { assert_true(upper_casing()); }
static void test_upper_casing_ignores_global_locale(void**) { assert_true(upper_casing_ignores_global_locale()); }
static void test_upper_ms_nlmp_user(void**) { assert_true(upper_ms_nlmp_user()); }

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_surrogate_pair_units),
	    cmocka_unit_test(test_invalid_utf8_refused),
	    cmocka_unit_test(test_invalid_utf16_refused),
	    cmocka_unit_test(test_utf16le_bytes_layout),
	    cmocka_unit_test(test_secret_matches_ms_nlmp),
	    cmocka_unit_test(test_upper_casing),
	    cmocka_unit_test(test_upper_casing_ignores_global_locale),
	    cmocka_unit_test(test_upper_ms_nlmp_user),
	};
	return cmocka_run_group_tests_name("wire_utf16", tests, nullptr, nullptr);
}
