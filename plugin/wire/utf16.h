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

// u16string <-> UTF-16LE bytes.
Bytes utf16le_bytes(std::u16string_view s);
void utf16le_append(Bytes& out, std::u16string_view s);
[[nodiscard]] bool utf16le_decode(ByteView bytes, std::u16string& out);   // false on odd length

// Simple (per code unit) upper-casing as Windows' RtlUpcaseUnicodeString does for NTOWFv2:
// ASCII and the Latin-1/Latin Extended/Greek/Cyrillic ranges via towupper semantics.
std::u16string to_upper(std::u16string_view s);

// The UTF-16LE bytes of a secret (password) kept in SecretBytes.
[[nodiscard]] bool utf8_to_utf16le_secret(std::string_view in, SecretBytes& out);

} // namespace nlassp::wire
