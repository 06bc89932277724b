// Translation helpers between SSPI's C structures and the package types: context buffers that
// FreeContextBuffer frees, SecPkgInfo, channel bindings, context flags and strings.
#pragma once

#include "common/package.h"
#include "sspi/packages.h"

#include <winpr/sspi.h>

#include <optional>
#include <string>
#include <string_view>

namespace nlassp::sspi {

// Memory handed to the caller and released by our FreeContextBuffer. Allocations are tracked, so
// FreeContextBuffer refuses a pointer we did not hand out, and every buffer is wiped on release
// (session keys travel this way).
void* alloc_context_buffer(size_t size) noexcept;
[[nodiscard]] bool free_context_buffer(void* p) noexcept;
[[nodiscard]] size_t live_context_buffers() noexcept;

// One allocation: the SecPkgInfo structs followed by their strings.
SecPkgInfoA* alloc_package_info_a(std::span<const PackageId> ids) noexcept;
SecPkgInfoW* alloc_package_info_w(std::span<const PackageId> ids) noexcept;

// Validates a SEC_CHANNEL_BINDINGS header and its (offset, length) fields against cbBuffer.
// Error::InvalidToken (and a log line) if any field lies outside the buffer.
Error parse_channel_bindings(ByteView buffer, ChannelBindings& out);

// ISC_REQ_* / ASC_REQ_* -> ctx:: flags, and ctx:: flags -> ISC_RET_* / ASC_RET_*.
ContextFlags from_isc_req(ULONG req) noexcept;
ContextFlags from_asc_req(ULONG req) noexcept;
ULONG to_isc_ret(ContextFlags f) noexcept;
ULONG to_asc_ret(ContextFlags f) noexcept;

// Strings from the caller: NUL-terminated, at most max_chars code units before the NUL; false
// on invalid UTF-8 / an unpaired surrogate.
inline constexpr size_t kMaxStringChars = 32767;
[[nodiscard]] bool c_string_utf16(const char* s, std::u16string& out);       // UTF-8 in
[[nodiscard]] bool w_string_utf16(const SEC_WCHAR* s, std::u16string& out);  // UTF-16 in

// Allocated (alloc_context_buffer), NUL-terminated copies for the caller.
char* alloc_utf8(std::u16string_view s) noexcept;
SEC_WCHAR* alloc_utf16(std::u16string_view s) noexcept;

// "DOMAIN\user", or "user" without a domain.
std::u16string qualified_name(std::u16string_view domain, std::u16string_view user);
// Whether an authenticated account's "DOMAIN\user" reads back as what it is, in C and when split
// at the first backslash: no NUL in either part, no backslash in the domain. A server authorizes
// on SECPKG_ATTR_NAMES, so a name that fails this is refused rather than handed out.
[[nodiscard]] bool unambiguous_account(std::u16string_view domain, std::u16string_view user) noexcept;

// Never-expiring TimeStamp, as Windows reports for NTLM/Negotiate credentials.
void set_never_expires(PTimeStamp ts) noexcept;

} // namespace nlassp::sspi
