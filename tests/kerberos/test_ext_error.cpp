// kerberos/ext_error: AD's KERB-EXT-ERROR in a KRB-ERROR's e-data, in both forms AD sends
// (KERB-ERROR-DATA, METHOD-DATA with PA-PW-SALT), from crafted bytes (MIT's KDC never sends one):
// the exact result for well-formed, truncated, oversized and garbage input, and the Error each
// KDC verdict becomes.
#include "kerberos/ext_error.h"

#include "wire/der.h"

#include <krb5/krb5.h>

#include <cstdio>
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
using nlassp::kerberos::ExtErrorParse;
using nlassp::kerberos::parse_ext_error;
namespace der = nlassp::wire::der;

namespace {

// KERB-EXT-ERROR { status = STATUS_ACCOUNT_LOCKED_OUT, reserved = 0, flags = 1 }.
constexpr const char* kExtLockedOut = "340200c0" "00000000" "01000000";
// KERB-ERROR-DATA { data-type [1] 3, data-value [2] KERB-EXT-ERROR }.
constexpr const char* kErrorDataLockedOut = "3015" "a103020103" "a20e040c" "340200c0" "00000000" "01000000";
// METHOD-DATA { PA-DATA { [1] 19 (PA-ETYPE-INFO2), [2] 30 05 30 03 a0 01 12 },
//               PA-DATA { [1] 3 (PA-PW-SALT), [2] KERB-EXT-ERROR STATUS_INVALID_LOGON_HOURS } }
constexpr const char* kMethodDataLogonHours = "3027"
                                              "300e" "a103020113" "a2070405" "3003a00112"
                                              "3015" "a103020103" "a20e040c" "6f0000c0" "00000000" "01000000";

Bytes hex(const std::string& h)
{
	Bytes out;
	if (!from_hex(h, out))
		std::fprintf(stderr, "bad hex in test: %s\n", h.c_str());
	return out;
}

ExtErrorParse parse_hex(const std::string& h, uint32_t& status)
{
	const Bytes b = hex(h);
	return parse_ext_error(b, status);
}

// METHOD-DATA of `n` PA-DATA entries of type 2 (PA-ENC-TIMESTAMP, empty value), then PA-PW-SALT.
Bytes method_data(size_t n, const std::string& salt_value_hex)
{
	der::Builder b;
	const Bytes salt = hex(salt_value_hex);
	(void)b.add(der::tag::Sequence, [&](der::Builder& list) {
		for (size_t i = 0; i < n; ++i)
			(void)list.add(der::tag::Sequence, [](der::Builder& pa) {
				return pa.add(der::tag::context(1), [](der::Builder& t) { return t.add_integer(2); }) &&
				       pa.add(der::tag::context(2), [](der::Builder& v) { return v.add_octet_string({}); });
			});
		return list.add(der::tag::Sequence, [&](der::Builder& pa) {
			return pa.add(der::tag::context(1), [](der::Builder& t) { return t.add_integer(3); }) &&
			       pa.add(der::tag::context(2), [&](der::Builder& v) { return v.add_octet_string(salt); });
		});
	});
	return b.take();
}

void test_kerb_error_data(void**)
{
	uint32_t status = 0;
	assert_int_equal(parse_hex(kErrorDataLockedOut, status), ExtErrorParse::Found);
	assert_int_equal(status, 0xC0000234u);
	// KERB_AP_ERR_TYPE_SKEW_RECOVERY (2), no value: well-formed, but no extended error.
	status = 7;
	assert_int_equal(parse_hex("3005a103020102", status), ExtErrorParse::Absent);
	assert_int_equal(status, 7u);
	// KERB_ERR_TYPE_EXTENDED without its value, or a value of the wrong size.
	assert_int_equal(parse_hex("3005a103020103", status), ExtErrorParse::Malformed);
	assert_int_equal(parse_hex("3014a103020103a20d040b340200c000000000010000", status), ExtErrorParse::Malformed);
	assert_int_equal(parse_hex("3016a103020103a20f040d340200c0000000000100000000", status), ExtErrorParse::Malformed);
}

void test_method_data(void**)
{
	uint32_t status = 0;
	assert_int_equal(parse_hex(kMethodDataLogonHours, status), ExtErrorParse::Found);
	assert_int_equal(status, 0xC000006Fu);
	// A PA-PW-SALT that is a salt ("LAB.TESTalice", 13 bytes), as a non-AD KDC may send.
	const Bytes salted = method_data(0, "4c41422e54455354616c696365");
	assert_int_equal(parse_ext_error(salted, status), ExtErrorParse::Absent);
	// An empty METHOD-DATA, and no e-data at all.
	assert_int_equal(parse_hex("3000", status), ExtErrorParse::Absent);
	assert_int_equal(parse_ext_error(ByteView(), status), ExtErrorParse::Absent);
	// The extended error after other PA-DATA: up to 64 entries in all are walked.
	const Bytes many = method_data(63, "700000c00000000001000000");
	assert_int_equal(parse_ext_error(many, status), ExtErrorParse::Found);
	assert_int_equal(status, 0xC0000070u);
}

void test_truncated_is_malformed(void**)
{
	for (const char* h : {kErrorDataLockedOut, kMethodDataLogonHours}) {
		const Bytes whole = hex(h);
		for (size_t n = 1; n < whole.size(); ++n) {
			uint32_t status = 0;
			const ExtErrorParse r = parse_ext_error(ByteView(whole.data(), n), status);
			if (r != ExtErrorParse::Malformed)
				std::fprintf(stderr, "prefix %zu of %s: %d\n", n, h, static_cast<int>(r));
			assert_int_equal(r, ExtErrorParse::Malformed);
		}
	}
}

void test_oversized_and_garbage_are_malformed(void**)
{
	uint32_t status = 0;
	// A byte after the SEQUENCE.
	assert_int_equal(parse_hex(std::string(kErrorDataLockedOut) + "00", status), ExtErrorParse::Malformed);
	// More PA-DATA than anyone sends (65 + the salt).
	const Bytes too_many = method_data(65, "340200c00000000001000000");
	assert_int_equal(parse_ext_error(too_many, status), ExtErrorParse::Malformed);
	// A length longer than the input; a BER (non-minimal) length; indefinite length.
	assert_int_equal(parse_hex("30ff", status), ExtErrorParse::Malformed);
	assert_int_equal(parse_hex("308115a103020103a20e040c340200c00000000001000000", status), ExtErrorParse::Malformed);
	assert_int_equal(parse_hex("3080a1030201030000", status), ExtErrorParse::Malformed);
	// Not a SEQUENCE; a SEQUENCE of something else; PA-DATA with its fields swapped.
	assert_int_equal(parse_hex("0403010203", status), ExtErrorParse::Malformed);
	assert_int_equal(parse_hex("3003020105", status), ExtErrorParse::Malformed);
	assert_int_equal(parse_hex("3017" "3015" "a20e040c340200c00000000001000000" "a103020103", status),
	                 ExtErrorParse::Malformed);
	// The type as an OCTET STRING; an INTEGER too large for Int32 is still read, not matched.
	assert_int_equal(parse_hex("3007a1050403010203", status), ExtErrorParse::Malformed);
	assert_int_equal(parse_hex("300ba109020701000000000003", status), ExtErrorParse::Absent);
	// Random bytes.
	assert_int_equal(parse_hex("deadbeef", status), ExtErrorParse::Malformed);
	// A good PA-PW-SALT followed by a broken PA-DATA: Malformed, and the status left alone
	// (found by fuzz_kerberos_ext_error).
	status = 7;
	assert_int_equal(parse_hex("30273015a103020103a20e040c340200c00000000001000000a20e048c6f0000c00020000001000000", status),
	                 ExtErrorParse::Malformed);
	assert_int_equal(status, 7u);
}

void test_account_error_mapping(void**)
{
	using kerberos::account_error;
	// AD's extended status decides.
	assert_int_equal(account_error(KRB5KDC_ERR_CLIENT_REVOKED, true, 0xC0000072u), Error::AccountDisabled);
	assert_int_equal(account_error(KRB5KDC_ERR_CLIENT_REVOKED, true, 0xC0000234u), Error::AccountLockedOut);
	assert_int_equal(account_error(KRB5KDC_ERR_CLIENT_REVOKED, true, 0xC0000193u), Error::AccountExpired);
	assert_int_equal(account_error(KRB5KDC_ERR_CLIENT_REVOKED, true, 0xC000006Fu), Error::InvalidLogonHours);
	assert_int_equal(account_error(KRB5KDC_ERR_POLICY, true, 0xC0000070u), Error::InvalidWorkstation);
	assert_int_equal(account_error(KRB5KDC_ERR_KEY_EXP, true, 0xC0000071u), Error::PasswordExpired);
	assert_int_equal(account_error(KRB5KDC_ERR_KEY_EXP, true, 0xC0000224u), Error::PasswordExpired);
	// MIT: the KRB-ERROR code alone.
	assert_int_equal(account_error(KRB5KDC_ERR_CLIENT_REVOKED, false, 0), Error::AccountRevoked);
	assert_int_equal(account_error(KRB5KDC_ERR_NAME_EXP, false, 0), Error::AccountExpired);
	// An unrelated status with an account code falls back to the code; nothing about the
	// account: Error::None (the caller maps the code as before).
	assert_int_equal(account_error(KRB5KDC_ERR_CLIENT_REVOKED, true, 0xC000006Au), Error::AccountRevoked);
	assert_int_equal(account_error(KRB5KDC_ERR_PREAUTH_FAILED, false, 0), Error::None);
	assert_int_equal(account_error(KRB5KDC_ERR_PREAUTH_FAILED, true, 0xC000006Au), Error::None);
	// Every account Error has advice; others have none.
	for (Error e : {Error::AccountRevoked, Error::AccountDisabled, Error::AccountLockedOut, Error::AccountExpired,
	                Error::InvalidLogonHours, Error::InvalidWorkstation})
		assert_true(*kerberos::account_advice(e) != '\0');
	assert_string_equal(kerberos::account_advice(Error::LogonDenied), "");
}

} // namespace

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kerb_error_data),
		cmocka_unit_test(test_method_data),
		cmocka_unit_test(test_truncated_is_malformed),
		cmocka_unit_test(test_oversized_and_garbage_are_malformed),
		cmocka_unit_test(test_account_error_mapping),
	};
	return cmocka_run_group_tests_name("kerberos ext_error", tests, nullptr, nullptr);
}
