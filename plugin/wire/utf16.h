// UTF-8 / UTF-16 conversion and UTF-16LE byte encoding (what NTLM puts on the wire).
#pragma once

#include "common/bytes.h"
#include "common/secret.h"

#include <string>
#include <string_view>

namespace nlassp::wire {

// Strict conversions: false on invalid input (unpaired surrogates, bad UTF-8).
[[nodiscard]] bool utf8_to_utf16(std::string_view in, std::u16string& out);
[[nodiscard]] bool utf16_to_utf8(std::u16string_view in, std::string& out);

// True if every surrogate code unit is part of a high-low pair (well-formed UTF-16). Text from
// the wire or from a caller (names, targets, settings) must be; a password is not text to us: it
// stays opaque code units, hashed or passed on exactly as given.
[[nodiscard]] bool utf16_well_formed(std::u16string_view s) noexcept;

// u16string <-> UTF-16LE bytes.
Bytes utf16le_bytes(std::u16string_view s);
void utf16le_append(Bytes& out, std::u16string_view s);
// Text: false (out untouched) on an odd length or an unpaired surrogate. NULs are kept; callers
// that take names refuse them themselves.
[[nodiscard]] bool utf16le_decode(ByteView bytes, std::u16string& out);

// Simple (per code unit) upper-casing as Windows' RtlUpcaseUnicodeString does for NTOWFv2:
// ASCII and the Latin-1/Latin Extended/Greek/Cyrillic ranges via towupper semantics.
std::u16string to_upper(std::u16string_view s);

// The UTF-16LE bytes of a secret (password) kept in SecretBytes.
[[nodiscard]] bool utf8_to_utf16le_secret(std::string_view in, SecretBytes& out);

} // namespace nlassp::wire
