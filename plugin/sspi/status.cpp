#include "sspi/status.h"

#include <winpr/error.h>
#include <winpr/smartcard.h>

namespace nlassp::sspi {

namespace {
// What Windows' LSA reports for an account that may not log on (MS-ERREF 2.3; the NTSTATUS a
// KDC puts into KERB-EXT-ERROR, and what LogonUser and the Kerberos package return). SSPI status
// codes share the NTSTATUS space; FreeRDP's client prints them with the hex value.
constexpr SECURITY_STATUS ntstatus(uint32_t v) noexcept { return static_cast<SECURITY_STATUS>(v); }
constexpr SECURITY_STATUS kStatusAccountRestriction = ntstatus(0xC000006Eu);
constexpr SECURITY_STATUS kStatusInvalidLogonHours = ntstatus(0xC000006Fu);
constexpr SECURITY_STATUS kStatusInvalidWorkstation = ntstatus(0xC0000070u);
constexpr SECURITY_STATUS kStatusAccountDisabled = ntstatus(0xC0000072u);
constexpr SECURITY_STATUS kStatusAccountExpired = ntstatus(0xC0000193u);
constexpr SECURITY_STATUS kStatusAccountLockedOut = ntstatus(0xC0000234u);
} // namespace

SECURITY_STATUS to_status(Error e) noexcept
{
	switch (e) {
	case Error::None: return SEC_E_OK;
	case Error::InvalidToken: return SEC_E_INVALID_TOKEN;
	case Error::InvalidParameter: return SEC_E_INVALID_PARAMETER;
	case Error::InvalidHandle: return SEC_E_INVALID_HANDLE;
	case Error::LogonDenied: return SEC_E_LOGON_DENIED;
	case Error::NoCredentials: return SEC_E_NO_CREDENTIALS;
	case Error::MessageAltered: return SEC_E_MESSAGE_ALTERED;
	case Error::OutOfSequence: return SEC_E_OUT_OF_SEQUENCE;
	case Error::OutputTooSmall: return SEC_E_INSUFFICIENT_MEMORY;
	case Error::BufferTooSmall: return SEC_E_BUFFER_TOO_SMALL;
	case Error::InsufficientMemory: return SEC_E_INSUFFICIENT_MEMORY;
	case Error::Unsupported: return SEC_E_UNSUPPORTED_FUNCTION;
	case Error::PackageUnavailable: return SEC_E_SECPKG_NOT_FOUND;
	case Error::Internal: return SEC_E_INTERNAL_ERROR;
	case Error::TargetUnknown: return SEC_E_TARGET_UNKNOWN;
	case Error::WrongPrincipal: return SEC_E_WRONG_PRINCIPAL;
	case Error::TimeSkew: return SEC_E_TIME_SKEW;
	case Error::NoAuthority: return SEC_E_NO_AUTHENTICATING_AUTHORITY;
	case Error::BadBindings: return SEC_E_BAD_BINDINGS;
	case Error::MutualAuthFailed: return SEC_E_MUTUAL_AUTH_FAILED;
	case Error::ContextExpired: return SEC_E_CONTEXT_EXPIRED;
	case Error::IncompleteMessage: return SEC_E_INCOMPLETE_MESSAGE;
	// CredSSP's documented code when the credential cannot be delegated (no password): informational
	// by value, but the call did not succeed and no token was produced.
	case Error::IncompleteCredentials: return SEC_I_INCOMPLETE_CREDENTIALS;
	case Error::PasswordExpired: return SEC_E_LOGON_DENIED;
	case Error::DelegationPolicy: return SEC_E_DELEGATION_POLICY;
	case Error::PolicyNtlmOnly: return SEC_E_POLICY_NLTM_ONLY;
	case Error::DowngradeDetected: return SEC_E_DOWNGRADE_DETECTED;
	case Error::NotEstablished: return SEC_E_INVALID_HANDLE;
	// An account that may not log on (disabled, locked out, expired, logon hours, workstation, or a
	// KDC's "revoked" that says no more): SEC_E_LOGON_DENIED, as Windows' SSPI returns it to its
	// callers (the NTSTATUS stays inside the LSA; an SSPI caller sees the precise reason only in
	// the last error, to_win32_error). FreeRDP's client turns exactly this status into "logon
	// failed" (ERRCONNECT_LOGON_FAILURE); our log line names the account's state.
	case Error::AccountRevoked:
	case Error::AccountDisabled:
	case Error::AccountLockedOut:
	case Error::AccountExpired:
	case Error::InvalidLogonHours:
	case Error::InvalidWorkstation: return SEC_E_LOGON_DENIED;
	// Smartcard logon: what Windows' Kerberos returns (SCARD_* from the card, SEC_E_* from PKINIT).
	case Error::SmartcardWrongPin: return static_cast<SECURITY_STATUS>(SCARD_W_WRONG_CHV);
	case Error::SmartcardPinLocked: return static_cast<SECURITY_STATUS>(SCARD_W_CHV_BLOCKED);
	case Error::SmartcardNoCertificate: return static_cast<SECURITY_STATUS>(SCARD_E_NO_SUCH_CERTIFICATE);
	case Error::SmartcardUnavailable: return static_cast<SECURITY_STATUS>(SCARD_E_NO_SMARTCARD);
	case Error::SmartcardUntrusted: return SEC_E_ISSUING_CA_UNTRUSTED;
	case Error::KdcCertUntrusted: return SEC_E_ISSUING_CA_UNTRUSTED_KDC;
	case Error::PkinitUnavailable: return SEC_E_UNSUPPORTED_PREAUTH;
	case Error::PkinitNameMismatch: return SEC_E_PKINIT_NAME_MISMATCH;
	}
	// Not reached for a valid enumerator (-Wswitch keeps the switch complete); a corrupted value
	// must still not read as success.
	return SEC_E_INTERNAL_ERROR;
}

uint32_t to_win32_error(Error e) noexcept
{
	switch (e) {
	case Error::None: return ERROR_SUCCESS;
	case Error::LogonDenied:
	case Error::NoCredentials:
	case Error::IncompleteCredentials: return ERROR_LOGON_FAILURE;
	case Error::PasswordExpired: return ERROR_PASSWORD_EXPIRED;
	case Error::TimeSkew: return ERROR_TIME_SKEW;
	case Error::NoAuthority: return ERROR_NO_LOGON_SERVERS;
	case Error::TargetUnknown:
	case Error::WrongPrincipal: return ERROR_WRONG_TARGET_NAME;
	case Error::MutualAuthFailed: return ERROR_MUTUAL_AUTH_FAILED;
	case Error::ContextExpired: return ERROR_CONTEXT_EXPIRED;
	case Error::DelegationPolicy:
	case Error::PolicyNtlmOnly: return ERROR_ACCESS_DENIED;
	case Error::InvalidToken:
	case Error::IncompleteMessage:
	case Error::MessageAltered:
	case Error::OutOfSequence:
	case Error::BadBindings:
	case Error::DowngradeDetected: return ERROR_INVALID_DATA;
	case Error::InvalidParameter:
	case Error::InvalidHandle:
	case Error::NotEstablished: return ERROR_INVALID_PARAMETER;
	case Error::OutputTooSmall:
	case Error::BufferTooSmall: return ERROR_INSUFFICIENT_BUFFER;
	case Error::InsufficientMemory: return ERROR_NOT_ENOUGH_MEMORY;
	case Error::Unsupported:
	case Error::PackageUnavailable: return ERROR_NOT_SUPPORTED;
	case Error::Internal: return ERROR_INTERNAL_ERROR;
	case Error::AccountRevoked: return ERROR_ACCOUNT_RESTRICTION;
	case Error::AccountDisabled: return ERROR_ACCOUNT_DISABLED;
	case Error::AccountLockedOut: return ERROR_ACCOUNT_LOCKED_OUT;
	case Error::AccountExpired: return ERROR_ACCOUNT_EXPIRED;
	case Error::InvalidLogonHours: return ERROR_INVALID_LOGON_HOURS;
	case Error::InvalidWorkstation: return ERROR_INVALID_WORKSTATION;
	case Error::SmartcardWrongPin:
	case Error::SmartcardUntrusted:
	case Error::KdcCertUntrusted:
	case Error::PkinitNameMismatch: return ERROR_LOGON_FAILURE;
	case Error::SmartcardPinLocked: return ERROR_ACCOUNT_LOCKED_OUT;
	case Error::SmartcardNoCertificate: return ERROR_NOT_FOUND;
	case Error::SmartcardUnavailable: return ERROR_SMARTCARD_SUBSYSTEM_FAILURE;
	case Error::PkinitUnavailable: return ERROR_NOT_SUPPORTED;
	}
	return ERROR_INTERNAL_ERROR;
}

const char* status_name(SECURITY_STATUS s) noexcept
{
	switch (s) {
	case SEC_E_OK: return "SEC_E_OK";
	case SEC_I_CONTINUE_NEEDED: return "SEC_I_CONTINUE_NEEDED";
	case SEC_E_INVALID_TOKEN: return "SEC_E_INVALID_TOKEN";
	case SEC_E_INVALID_PARAMETER: return "SEC_E_INVALID_PARAMETER";
	case SEC_E_INVALID_HANDLE: return "SEC_E_INVALID_HANDLE";
	case SEC_E_LOGON_DENIED: return "SEC_E_LOGON_DENIED";
	case SEC_E_NO_CREDENTIALS: return "SEC_E_NO_CREDENTIALS";
	case SEC_E_UNKNOWN_CREDENTIALS: return "SEC_E_UNKNOWN_CREDENTIALS";
	case SEC_E_MESSAGE_ALTERED: return "SEC_E_MESSAGE_ALTERED";
	case SEC_E_OUT_OF_SEQUENCE: return "SEC_E_OUT_OF_SEQUENCE";
	case SEC_E_INSUFFICIENT_MEMORY: return "SEC_E_INSUFFICIENT_MEMORY";
	case SEC_E_BUFFER_TOO_SMALL: return "SEC_E_BUFFER_TOO_SMALL";
	case SEC_E_UNSUPPORTED_FUNCTION: return "SEC_E_UNSUPPORTED_FUNCTION";
	case SEC_E_SECPKG_NOT_FOUND: return "SEC_E_SECPKG_NOT_FOUND";
	case SEC_E_INTERNAL_ERROR: return "SEC_E_INTERNAL_ERROR";
	case SEC_E_TARGET_UNKNOWN: return "SEC_E_TARGET_UNKNOWN";
	case SEC_E_WRONG_PRINCIPAL: return "SEC_E_WRONG_PRINCIPAL";
	case SEC_E_TIME_SKEW: return "SEC_E_TIME_SKEW";
	case SEC_E_NO_AUTHENTICATING_AUTHORITY: return "SEC_E_NO_AUTHENTICATING_AUTHORITY";
	case SEC_E_BAD_BINDINGS: return "SEC_E_BAD_BINDINGS";
	case SEC_E_MUTUAL_AUTH_FAILED: return "SEC_E_MUTUAL_AUTH_FAILED";
	case SEC_E_CONTEXT_EXPIRED: return "SEC_E_CONTEXT_EXPIRED";
	case SEC_E_INCOMPLETE_MESSAGE: return "SEC_E_INCOMPLETE_MESSAGE";
	case SEC_E_INCOMPLETE_CREDENTIALS: return "SEC_E_INCOMPLETE_CREDENTIALS";
	case SEC_I_INCOMPLETE_CREDENTIALS: return "SEC_I_INCOMPLETE_CREDENTIALS";
	case SEC_E_DELEGATION_POLICY: return "SEC_E_DELEGATION_POLICY";
	case SEC_E_POLICY_NLTM_ONLY: return "SEC_E_POLICY_NLTM_ONLY";
	case SEC_E_DOWNGRADE_DETECTED: return "SEC_E_DOWNGRADE_DETECTED";
	case SEC_E_NO_IMPERSONATION: return "SEC_E_NO_IMPERSONATION";
	case kStatusAccountRestriction: return "STATUS_ACCOUNT_RESTRICTION";
	case kStatusInvalidLogonHours: return "STATUS_INVALID_LOGON_HOURS";
	case kStatusInvalidWorkstation: return "STATUS_INVALID_WORKSTATION";
	case kStatusAccountDisabled: return "STATUS_ACCOUNT_DISABLED";
	case kStatusAccountExpired: return "STATUS_ACCOUNT_EXPIRED";
	case kStatusAccountLockedOut: return "STATUS_ACCOUNT_LOCKED_OUT";
	case SEC_E_ISSUING_CA_UNTRUSTED: return "SEC_E_ISSUING_CA_UNTRUSTED";
	case SEC_E_ISSUING_CA_UNTRUSTED_KDC: return "SEC_E_ISSUING_CA_UNTRUSTED_KDC";
	case SEC_E_UNSUPPORTED_PREAUTH: return "SEC_E_UNSUPPORTED_PREAUTH";
	case SEC_E_PKINIT_NAME_MISMATCH: return "SEC_E_PKINIT_NAME_MISMATCH";
	case static_cast<SECURITY_STATUS>(SCARD_W_WRONG_CHV): return "SCARD_W_WRONG_CHV";
	case static_cast<SECURITY_STATUS>(SCARD_W_CHV_BLOCKED): return "SCARD_W_CHV_BLOCKED";
	case static_cast<SECURITY_STATUS>(SCARD_E_NO_SUCH_CERTIFICATE): return "SCARD_E_NO_SUCH_CERTIFICATE";
	case static_cast<SECURITY_STATUS>(SCARD_E_NO_SMARTCARD): return "SCARD_E_NO_SMARTCARD";
	default: return "SECURITY_STATUS";
	}
}

} // namespace nlassp::sspi
