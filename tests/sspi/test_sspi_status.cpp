// status.cpp: every Error has one sensible SECURITY_STATUS, distinct from every other Error's
// except the documented aliases, and none but Error::None reads as success.
#include "sspi/status.h"

#include <winpr/error.h>
#include <winpr/smartcard.h>

#include <cstdio>
#include <cstring>
#include <map>

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
using nlassp::sspi::to_status;

namespace {

// The last enumerator of common/error.h: the one before the first value error_name() does not know
// (so that appending an Error needs no change here).
int last_error()
{
	int i = 0;
	while (i < 255 && std::strcmp(error_name(static_cast<Error>(i + 1)), "unknown error") != 0)
		++i;
	return i;
}
const int kLast = last_error();

// Errors that share a status on purpose (status.h says why), mapped to the Error they alias.
Error alias_of(Error e)
{
	switch (e) {
	case Error::OutputTooSmall: return Error::InsufficientMemory;
	case Error::PasswordExpired:
	case Error::AccountRevoked:
	case Error::AccountDisabled:
	case Error::AccountLockedOut:
	case Error::AccountExpired:
	case Error::InvalidLogonHours:
	case Error::InvalidWorkstation: return Error::LogonDenied;
	case Error::NotEstablished: return Error::InvalidHandle;
	default: return e;
	}
}

bool check_distinct()
{
	std::map<SECURITY_STATUS, Error> seen;
	for (int i = 0; i <= kLast; ++i) {
		const auto e = static_cast<Error>(i);
		const SECURITY_STATUS s = to_status(e);
		// SEC_I_INCOMPLETE_CREDENTIALS is CredSSP's documented failure for a credential it cannot
		// delegate: non-negative by value, but never OK or CONTINUE_NEEDED.
		const bool informational_failure =
		    e == Error::IncompleteCredentials && s == SEC_I_INCOMPLETE_CREDENTIALS;
		if (e != Error::None && (s == SEC_E_OK || s == SEC_I_CONTINUE_NEEDED || (s >= 0 && !informational_failure))) {
			std::fprintf(stderr, "%s maps to a success status\n", error_name(e));
			return false;
		}
		if (e != Error::None && s == SEC_E_INTERNAL_ERROR && e != Error::Internal) {
			std::fprintf(stderr, "%s falls through to SEC_E_INTERNAL_ERROR\n", error_name(e));
			return false;
		}
		const Error canon = alias_of(e);
		auto [it, inserted] = seen.emplace(s, canon);
		if (!inserted && it->second != canon) {
			std::fprintf(stderr, "%s and %s share status 0x%08x\n", error_name(e), error_name(it->second),
			             static_cast<unsigned>(s));
			return false;
		}
	}
	return true;
}

void test_every_error_distinct(void**)
{
	assert_true(check_distinct());
}

void test_named_mappings(void**)
{
	assert_int_equal(to_status(Error::None), SEC_E_OK);
	assert_int_equal(to_status(Error::InvalidToken), SEC_E_INVALID_TOKEN);
	assert_int_equal(to_status(Error::LogonDenied), SEC_E_LOGON_DENIED);
	assert_int_equal(to_status(Error::NoCredentials), SEC_E_NO_CREDENTIALS);
	assert_int_equal(to_status(Error::MessageAltered), SEC_E_MESSAGE_ALTERED);
	assert_int_equal(to_status(Error::OutOfSequence), SEC_E_OUT_OF_SEQUENCE);
	assert_int_equal(to_status(Error::OutputTooSmall), SEC_E_INSUFFICIENT_MEMORY);
	assert_int_equal(to_status(Error::BufferTooSmall), SEC_E_BUFFER_TOO_SMALL);
	assert_int_equal(to_status(Error::Unsupported), SEC_E_UNSUPPORTED_FUNCTION);
	assert_int_equal(to_status(Error::PackageUnavailable), SEC_E_SECPKG_NOT_FOUND);
	assert_int_equal(to_status(Error::TargetUnknown), SEC_E_TARGET_UNKNOWN);
	assert_int_equal(to_status(Error::TimeSkew), SEC_E_TIME_SKEW);
	assert_int_equal(to_status(Error::NoAuthority), SEC_E_NO_AUTHENTICATING_AUTHORITY);
	assert_int_equal(to_status(Error::BadBindings), SEC_E_BAD_BINDINGS);
	assert_int_equal(to_status(Error::DowngradeDetected), SEC_E_DOWNGRADE_DETECTED);
	assert_int_equal(to_status(Error::PasswordExpired), SEC_E_LOGON_DENIED);
	assert_int_equal(to_status(Error::NotEstablished), SEC_E_INVALID_HANDLE);
	assert_int_equal(to_status(Error::WrongPrincipal), SEC_E_WRONG_PRINCIPAL);
	assert_int_equal(to_status(Error::MutualAuthFailed), SEC_E_MUTUAL_AUTH_FAILED);
	assert_int_equal(to_status(Error::IncompleteCredentials), SEC_I_INCOMPLETE_CREDENTIALS);
	// An account that may not log on: SEC_E_LOGON_DENIED, as Windows' SSPI returns it (the reason
	// is in the last error, below), so that FreeRDP's client says "logon failed".
	for (Error e : {Error::AccountRevoked, Error::AccountDisabled, Error::AccountLockedOut, Error::AccountExpired,
	                Error::InvalidLogonHours, Error::InvalidWorkstation})
		assert_int_equal(to_status(e), SEC_E_LOGON_DENIED);
	// Smartcard logon (PKINIT): what Windows' Kerberos returns.
	assert_int_equal(to_status(Error::SmartcardWrongPin), SCARD_W_WRONG_CHV);
	assert_int_equal(to_status(Error::SmartcardPinLocked), SCARD_W_CHV_BLOCKED);
	assert_int_equal(to_status(Error::SmartcardNoCertificate), SCARD_E_NO_SUCH_CERTIFICATE);
	assert_int_equal(to_status(Error::SmartcardUnavailable), SCARD_E_NO_SMARTCARD);
	assert_int_equal(to_status(Error::SmartcardUntrusted), SEC_E_ISSUING_CA_UNTRUSTED);
	assert_int_equal(to_status(Error::KdcCertUntrusted), SEC_E_ISSUING_CA_UNTRUSTED_KDC);
	assert_int_equal(to_status(Error::PkinitUnavailable), SEC_E_UNSUPPORTED_PREAUTH);
	assert_int_equal(to_status(Error::PkinitNameMismatch), SEC_E_PKINIT_NAME_MISMATCH);
	assert_true(kLast >= static_cast<int>(Error::PkinitNameMismatch));
}

// FreeRDP's server sends GetLastError() after a failed AcceptSecurityContext as the TSRequest
// errorCode; 0 there means "no errorCode" and its client then misreads a refused login.
void test_win32_errors_for_freerdp_server(void**)
{
	for (int i = 1; i <= kLast; ++i)
		assert_int_not_equal(sspi::to_win32_error(static_cast<Error>(i)), ERROR_SUCCESS);
	assert_int_equal(sspi::to_win32_error(Error::None), ERROR_SUCCESS);
	assert_int_equal(sspi::to_win32_error(Error::LogonDenied), ERROR_LOGON_FAILURE);
	// nla.c maps exactly this one to STATUS_PASSWORD_EXPIRED for the client.
	assert_int_equal(sspi::to_win32_error(Error::PasswordExpired), ERROR_PASSWORD_EXPIRED);
	assert_int_equal(sspi::to_win32_error(Error::TimeSkew), ERROR_TIME_SKEW);
	// nla.c maps ERROR_ACCOUNT_DISABLED to STATUS_ACCOUNT_DISABLED; the others arrive wrapped.
	assert_int_equal(sspi::to_win32_error(Error::AccountDisabled), ERROR_ACCOUNT_DISABLED);
	assert_int_equal(sspi::to_win32_error(Error::AccountLockedOut), ERROR_ACCOUNT_LOCKED_OUT);
	assert_int_equal(sspi::to_win32_error(Error::AccountExpired), ERROR_ACCOUNT_EXPIRED);
	assert_int_equal(sspi::to_win32_error(Error::InvalidLogonHours), ERROR_INVALID_LOGON_HOURS);
	assert_int_equal(sspi::to_win32_error(Error::InvalidWorkstation), ERROR_INVALID_WORKSTATION);
	assert_int_equal(sspi::to_win32_error(Error::AccountRevoked), ERROR_ACCOUNT_RESTRICTION);
}

void test_names(void**)
{
	assert_string_equal(sspi::status_name(SEC_E_LOGON_DENIED), "SEC_E_LOGON_DENIED");
	assert_string_equal(sspi::status_name(SEC_I_CONTINUE_NEEDED), "SEC_I_CONTINUE_NEEDED");
	for (int i = 0; i <= kLast; ++i)
		assert_string_not_equal(sspi::status_name(to_status(static_cast<Error>(i))), "SECURITY_STATUS");
}

} // namespace

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_error_distinct),
	    cmocka_unit_test(test_named_mappings),
	    cmocka_unit_test(test_win32_errors_for_freerdp_server),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
