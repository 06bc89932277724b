// Windows' marshalled certificate credential as a user name (CredMarshalCredential(CertCredential)):
// "@@B" followed by the SHA-1 hash of the certificate in 27 characters of Windows' own 6-bit
// alphabet (A-Z a-z 0-9 # -, least significant bits first). FreeRDP on Windows hands the
// smartcard's certificate to the security package this way instead of a user name.
#pragma once

#include "common/bytes.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace nlassp::kerberos::pkinit {

inline constexpr size_t kCertHashSize = 20;   // SHA-1
using CertHash = std::array<uint8_t, kCertHashSize>;

enum class MarshalledName : uint8_t {
	NotMarshalled,   // an ordinary user name (does not start with "@@")
	Certificate,     // "@@B" + 27 characters: `hash` holds the certificate's SHA-1
	Unsupported,     // a well-formed marker of another credential type (user name target, blob...)
	Malformed,       // starts with "@@" but is not a valid marshalled credential
};

// Classifies a user name; `why` says what is wrong for Unsupported/Malformed. Every name that
// starts with "@@" is reserved for marshalled credentials (as Windows' CredIsMarshaledCredential
// treats it), so it is never an ordinary user name.
MarshalledName parse_marshalled_name(std::u16string_view user, CertHash& hash, std::string& why);

// The marshalled form of a certificate hash (what FreeRDP on Windows sends): for tests and logs.
std::u16string marshal_certificate(const CertHash& hash);

} // namespace nlassp::kerberos::pkinit
