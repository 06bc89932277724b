// The names a smartcard certificate gives its holder, read from its DER bytes (a token's
// CKA_VALUE or a PEM file, both untrusted input): the Kerberos principals of its id-pkinit-san
// subject alternative names (RFC 4556 §3.2.2, KRB5PrincipalName), its Microsoft UPNs
// (1.3.6.1.4.1.311.20.2.3), and whether it carries the smartcard-logon / PKINIT client EKUs.
#pragma once

#include "common/bytes.h"

#include <string>
#include <string_view>
#include <vector>

namespace nlassp::kerberos::pkinit {

struct CertificateNames {
	std::vector<std::string> principals;   // "alice@LAB.TEST" (components joined with '/')
	std::vector<std::string> upns;         // "alice@lab.test"
	bool smartcard_logon_eku = false;      // 1.3.6.1.4.1.311.20.2.2 (what FreeRDP looks for)
	bool pkinit_client_eku = false;        // 1.3.6.1.5.2.3.4
};

inline constexpr size_t kMaxCertificateSize = 64 * 1024;

// Walks Certificate → TBSCertificate → extensions (RFC 5280). False (and `why`) for anything
// that is not one DER certificate: truncated, trailing bytes, wrong tags, an id-pkinit-san or
// UPN that does not decode, names with control characters or Kerberos separators in them.
[[nodiscard]] bool parse_certificate_names(ByteView der, CertificateNames& out, std::string& why);

// The principal a certificate names: its first id-pkinit-san, else its first UPN with the
// realm upper-cased ("alice@lab.test" -> "alice@LAB.TEST"). Empty if it names none.
std::string certificate_principal(const CertificateNames& names);

// Whether the certificate names `principal` ("alice@LAB.TEST"): an id-pkinit-san equal to it
// (realm compared without case), or a UPN whose user part equals and whose domain equals the
// realm without case.
[[nodiscard]] bool certificate_names_principal(const CertificateNames& names, std::string_view principal);

} // namespace nlassp::kerberos::pkinit
