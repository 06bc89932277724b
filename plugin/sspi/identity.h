// AcquireCredentialsHandle's pAuthData -> Credential. Accepts SEC_WINNT_AUTH_IDENTITY_A/W,
// SEC_WINNT_AUTH_IDENTITY_EXA/EXW and SEC_WINNT_AUTH_IDENTITY_WINPR (EXW + NTLM and Kerberos
// settings), told apart exactly as WinPR does: a leading Version of SEC_WINNT_AUTH_IDENTITY_VERSION
// means the EX layout, and the EX layout with SEC_WINNT_AUTH_IDENTITY_EXTENDED in Flags means the
// WINPR layout (FreeRDP's credssp_auth.c sets both).
#pragma once

#include "common/package.h"

#include <winpr/sspi.h>

namespace nlassp::sspi {

// Fills cred.identity, cred.ntlm_users and cred.kerberos from auth_data (may be NULL).
// Error::InvalidParameter for bad pointers/lengths/flags/encodings (one log line says which),
// Error::Unsupported for SEC_WINNT_AUTH_IDENTITY_EX2 (packed credentials).
Error parse_auth_data(const void* auth_data, Credential& cred);

// The NtlmUserStore calling a WinPR psSspiNtlmHashCallback (SEC_WINPR_NTLM_SETTINGS).
std::shared_ptr<const NtlmUserStore> make_hash_callback_store(psSspiNtlmHashCallback cb, void* arg);

} // namespace nlassp::sspi
