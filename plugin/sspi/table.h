// The SSPI function tables the module hands to FreeRDP. C-ABI shims only: every entry translates
// SSPI structures into package types (packages.h, buffers.h, identity.h), calls the package
// object, and maps the result through status.cpp.
#pragma once

#include <winpr/sspi.h>

// Newer WinPR (3.27+) constants that WinPR 3.10's headers lack; values from WinPR's sspi.h.
#ifndef SECPKG_ATTR_AUTH_NTLM_HOSTNAME
#define SECPKG_ATTR_AUTH_NTLM_HOSTNAME 1108
#endif
#ifndef SECPKG_ATTR_AUTH_NTLM_HOSTNAME_LEN
#define SECPKG_ATTR_AUTH_NTLM_HOSTNAME_LEN 1110
#endif
// Windows sspi.h values missing from WinPR.
#ifndef SECQOP_WRAP_NO_ENCRYPT
#define SECQOP_WRAP_NO_ENCRYPT 0x80000001
#endif
#ifndef SECPKG_NEGOTIATION_COMPLETE
#define SECPKG_NEGOTIATION_COMPLETE 0
#define SECPKG_NEGOTIATION_OPTIMISTIC 1
#define SECPKG_NEGOTIATION_IN_PROGRESS 2
#endif

namespace nlassp::sspi {

// The static tables; every entry is set (the Reserved slots stay NULL as SSPI requires).
SecurityFunctionTableA* table_a() noexcept;
SecurityFunctionTableW* table_w() noexcept;

} // namespace nlassp::sspi
