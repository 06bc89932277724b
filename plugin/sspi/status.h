// The one mapping from the internal Error vocabulary to SECURITY_STATUS.
#pragma once

#include "common/error.h"

#include <winpr/sspi.h>

namespace nlassp::sspi {

// Every Error has exactly one status. Two pairs share a status on purpose:
//  - OutputTooSmall and InsufficientMemory -> SEC_E_INSUFFICIENT_MEMORY (what SSPI callers such as
//    FreeRDP expect when the preallocated cbMaxToken output buffer cannot hold the token);
//  - PasswordExpired, the account states (AccountRevoked, AccountDisabled, AccountLockedOut,
//    AccountExpired, InvalidLogonHours, InvalidWorkstation) and LogonDenied -> SEC_E_LOGON_DENIED
//    (as Windows' SSPI returns them; FreeRDP turns it into ERRCONNECT_LOGON_FAILURE; the log line
//    and the last error, to_win32_error, say which).
//  - NotEstablished and InvalidHandle -> SEC_E_INVALID_HANDLE (message protection on a context
//    whose handshake has not finished: Windows has no user-mode context yet and answers so).
// IncompleteCredentials maps to SEC_I_INCOMPLETE_CREDENTIALS, the one non-negative failure (as
// Windows' CredSSP returns it): callers must treat everything but SEC_E_OK and
// SEC_I_CONTINUE_NEEDED as "no token, not established", as FreeRDP does.
SECURITY_STATUS to_status(Error e) noexcept;

// The Win32 error a failed handshake leaves in WinPR's thread-local last error. FreeRDP's CredSSP
// server turns GetLastError() after a failed AcceptSecurityContext into the TSRequest errorCode
// (nla.c: ERROR_PASSWORD_EXPIRED -> STATUS_PASSWORD_EXPIRED, others NTSTATUS_FROM_WIN32), and with
// 0 there it sends no errorCode at all, so its client misreads the refusal as a broken
// pubKeyAuth. Never 0 for a failure.
uint32_t to_win32_error(Error e) noexcept;

// The SECURITY_STATUS name for log lines ("SEC_E_LOGON_DENIED", ...).
const char* status_name(SECURITY_STATUS s) noexcept;

} // namespace nlassp::sspi
