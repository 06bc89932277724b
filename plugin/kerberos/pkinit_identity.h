// MIT's X509_user_identity strings, as FreeRDP puts them into kerberosSettings.pkinitX509Identity:
//   FILE:cert.pem[,key.pem]
//   PKCS11:[module_name=]module.so[:slotid=N][:token=label][:certid=hex][:certlabel=label]
//   PKCS12:file.p12    DIR:directory    ENV:variable
// Parsed strictly (they come from the caller and go to the PKCS#11 module and MIT), and
// written back in MIT's syntax after the token search has filled in the real slot.
#pragma once

#include "common/bytes.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nlassp::kerberos::pkinit {

struct X509Identity {
	enum class Kind : uint8_t { File, Pkcs11, Pkcs12, Dir, Env };
	Kind kind = Kind::File;
	std::string cert_file;                 // FILE
	std::string key_file;                  // FILE (empty: the key is in cert_file)
	std::string path;                      // PKCS12 file, DIR directory, ENV variable name
	std::string module;                    // PKCS11 module_name
	std::optional<uint64_t> slot;          // PKCS11 slotid
	std::string token_label;               // PKCS11 token
	Bytes cert_id;                         // PKCS11 certid (hex in the string)
	std::string cert_label;                // PKCS11 certlabel

	bool operator==(const X509Identity&) const = default;
};

inline constexpr size_t kMaxIdentityLength = 4096;

// False (and `why`) unless `text` is one of the forms above: known prefix, known PKCS#11
// attributes at most once each, a decimal slot id, an even-length hex certid, no control
// characters, at most kMaxIdentityLength bytes, no empty file or module names.
[[nodiscard]] bool parse_x509_identity(std::string_view text, X509Identity& out, std::string& why);

// MIT's syntax for an identity (module_name=, slotid=, token=, certid= ... as present).
std::string format_x509_identity(const X509Identity& id);

// Whether MIT takes `value` (a token or certificate label from a token) as written in a PKCS11:
// attribute: not empty, and no ':' (MIT splits the string there, so "a:module_name=/x.so" would
// load another module), no '=' and no control characters.
[[nodiscard]] bool mit_label_safe(std::string_view value);

// The X509_user_identity string handed to MIT: format_x509_identity's, but only when MIT reads it
// as this identity - it parses back (parse_x509_identity, MIT's syntax) to the same fields, its
// labels are mit_label_safe and its slot id is one MIT accepts (at most INT_MAX). False and `why`
// otherwise.
[[nodiscard]] bool format_for_mit(const X509Identity& id, std::string& out, std::string& why);

} // namespace nlassp::kerberos::pkinit
