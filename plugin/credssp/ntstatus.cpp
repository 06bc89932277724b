// NTSTATUS <-> Error as TSRequest errorCode carries them (MS-CSSP 2.2.1, versions 3, 4 and 6).
#include "credssp/credssp.h"

namespace nlassp::credssp {

namespace {

struct StatusName {
	uint32_t status;
	const char* name;
	Error error;
};
constexpr StatusName kStatuses[] = {
    {0xC000006Du, "STATUS_LOGON_FAILURE", Error::LogonDenied},
    {0xC000006Au, "STATUS_WRONG_PASSWORD", Error::LogonDenied},
    {0xC0000064u, "STATUS_NO_SUCH_USER", Error::LogonDenied},
    // The account may not log on (the same Error values a KDC's refusal gives the initiator).
    {0xC0000072u, "STATUS_ACCOUNT_DISABLED", Error::AccountDisabled},
    {0xC0000234u, "STATUS_ACCOUNT_LOCKED_OUT", Error::AccountLockedOut},
    {0xC0000193u, "STATUS_ACCOUNT_EXPIRED", Error::AccountExpired},
    {0xC000006Eu, "STATUS_ACCOUNT_RESTRICTION", Error::AccountRevoked},
    {0xC000006Fu, "STATUS_INVALID_LOGON_HOURS", Error::InvalidLogonHours},
    {0xC0000070u, "STATUS_INVALID_WORKSTATION", Error::InvalidWorkstation},
    {0xC000015Bu, "STATUS_LOGON_TYPE_NOT_GRANTED", Error::LogonDenied},
    {0xC0000022u, "STATUS_ACCESS_DENIED", Error::LogonDenied},
    {0xC00700EAu, "NTSTATUS_FROM_WIN32(ERROR_MORE_DATA), FreeRDP's wrong-password code", Error::LogonDenied},
    {0x8009030Cu, "SEC_E_LOGON_DENIED", Error::LogonDenied},
    {0xC0000071u, "STATUS_PASSWORD_EXPIRED", Error::PasswordExpired},
    {0xC0000224u, "STATUS_PASSWORD_MUST_CHANGE", Error::PasswordExpired},
    {0xC0000133u, "STATUS_TIME_DIFFERENCE_AT_DC", Error::TimeSkew},
    {0x80090324u, "SEC_E_TIME_SKEW", Error::TimeSkew},
    {0xC000005Eu, "STATUS_NO_LOGON_SERVERS", Error::NoAuthority},
    {0x80090311u, "SEC_E_NO_AUTHENTICATING_AUTHORITY", Error::NoAuthority},
    {0xC0000388u, "STATUS_DOWNGRADE_DETECTED", Error::DowngradeDetected},
    {0xC00002C3u, "STATUS_MUTUAL_AUTHENTICATION_FAILED", Error::MutualAuthFailed},
    {0xC000000Du, "STATUS_INVALID_PARAMETER", Error::InvalidToken},
    {0xC00000BBu, "STATUS_NOT_SUPPORTED", Error::Unsupported},
    {0xC00000E5u, "STATUS_INTERNAL_ERROR", Error::Internal},
    {0xC000009Au, "STATUS_INSUFFICIENT_RESOURCES", Error::InsufficientMemory},
    // A FreeRDP server sends NTSTATUS_FROM_WIN32(GetLastError()) after a failed
    // AcceptSecurityContext (nla.c); with nlassp as its SspiModule that is plugin/sspi/status.cpp's
    // to_win32_error of the failure.
    {0xC007052Eu, "FreeRDP server: ERROR_LOGON_FAILURE", Error::LogonDenied},
    {0xC0070005u, "FreeRDP server: ERROR_ACCESS_DENIED", Error::LogonDenied},
    {0xC0070576u, "FreeRDP server: ERROR_TIME_SKEW", Error::TimeSkew},
    {0xC007051Fu, "FreeRDP server: ERROR_NO_LOGON_SERVERS", Error::NoAuthority},
    {0xC0070574u, "FreeRDP server: ERROR_WRONG_TARGET_NAME", Error::WrongPrincipal},
    {0xC0070575u, "FreeRDP server: ERROR_MUTUAL_AUTH_FAILED", Error::MutualAuthFailed},
    {0xC007000Du, "FreeRDP server: ERROR_INVALID_DATA", Error::InvalidToken},
    {0xC0070032u, "FreeRDP server: ERROR_NOT_SUPPORTED", Error::Unsupported},
    {0xC007078Bu, "FreeRDP server: ERROR_CONTEXT_EXPIRED", Error::ContextExpired},
    {0xC0070057u, "FreeRDP server: ERROR_INVALID_PARAMETER", Error::Internal},
    {0xC007007Au, "FreeRDP server: ERROR_INSUFFICIENT_BUFFER", Error::Internal},
    {0xC0070008u, "FreeRDP server: ERROR_NOT_ENOUGH_MEMORY", Error::InsufficientMemory},
    {0xC007054Fu, "FreeRDP server: ERROR_INTERNAL_ERROR", Error::Internal},
    // (ERROR_ACCOUNT_DISABLED arrives as STATUS_ACCOUNT_DISABLED: nla.c maps it.)
    {0xC007052Fu, "FreeRDP server: ERROR_ACCOUNT_RESTRICTION", Error::AccountRevoked},
    {0xC0070530u, "FreeRDP server: ERROR_INVALID_LOGON_HOURS", Error::InvalidLogonHours},
    {0xC0070531u, "FreeRDP server: ERROR_INVALID_WORKSTATION", Error::InvalidWorkstation},
    {0xC0070533u, "FreeRDP server: ERROR_ACCOUNT_DISABLED", Error::AccountDisabled},
    {0xC0070701u, "FreeRDP server: ERROR_ACCOUNT_EXPIRED", Error::AccountExpired},
    {0xC0070775u, "FreeRDP server: ERROR_ACCOUNT_LOCKED_OUT", Error::AccountLockedOut},
};

} // namespace

uint32_t error_to_ntstatus(Error e) noexcept
{
	switch (e) {
	case Error::None: return 0;
	case Error::PasswordExpired: return 0xC0000071u;
	case Error::TimeSkew: return 0xC0000133u;
	case Error::NoAuthority: return 0xC000005Eu;
	case Error::DowngradeDetected: return 0xC0000388u;
	case Error::MutualAuthFailed: return 0xC00002C3u;
	case Error::InvalidToken: return 0xC000000Du;
	case Error::Unsupported: return 0xC00000BBu;
	case Error::Internal: return 0xC00000E5u;
	case Error::InsufficientMemory: return 0xC000009Au;
	case Error::AccountRevoked: return 0xC000006Eu;
	case Error::AccountDisabled: return 0xC0000072u;
	case Error::AccountLockedOut: return 0xC0000234u;
	case Error::AccountExpired: return 0xC0000193u;
	case Error::InvalidLogonHours: return 0xC000006Fu;
	case Error::InvalidWorkstation: return 0xC0000070u;
	default: return 0xC000006Du; // STATUS_LOGON_FAILURE: what FreeRDP's client reports as a failed logon
	}
}

Error ntstatus_to_error(uint32_t status) noexcept
{
	for (const auto& s : kStatuses)
		if (s.status == status)
			return s.error;
	return Error::LogonDenied; // the server refused, for a reason we have no better name for
}

const char* ntstatus_name(uint32_t status) noexcept
{
	for (const auto& s : kStatuses)
		if (s.status == status)
			return s.name;
	return "a status nlassp has no name for";
}

} // namespace nlassp::credssp
