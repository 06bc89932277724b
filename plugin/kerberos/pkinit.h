// Smartcard logon: Kerberos PKINIT (RFC 4556) through MIT's krb5-pkinit plugin. Internal to the
// Kerberos package. The parts:
//   pkinit.cpp           KerberosContext::acquire_with_pkinit: the logon, the AS exchange
//                        (responder answers the PIN; no prompter, so no password can be asked)
//   pkinit_card.cpp      the look at the card before the exchange: FILE: certificate and key,
//                        or the PKCS#11 token (slot search, certificate, PIN check)
//   pkinit_classify.cpp  what MIT's trace says about a failed exchange, and the failure it is
//   pkinit_identity.cpp  X509_user_identity strings; marshalled_name.cpp: "@@B..." user names;
//   cert_names.cpp       names in a certificate; pkcs11.cpp: the PKCS#11 module
#pragma once

#include "common/error.h"
#include "common/package.h"
#include "kerberos/cert_names.h"
#include "kerberos/marshalled_name.h"
#include "kerberos/pkcs11.h"
#include "kerberos/pkinit_identity.h"

#include <krb5/krb5.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nlassp::kerberos::pkinit {

// A credential asks for a smartcard logon when it carries a PKINIT identity
// (kerberosSettings.pkinitX509Identity) or its user name is a marshalled certificate ("@@...").
// Such a credential's password is the card's PIN: it is never used as a password.
[[nodiscard]] bool requested(const Credential& cred);

// A failure: the Error and what happened, for the one log line (the fix comes with the Error,
// unless `fix` says better).
struct Failure {
	Error error = Error::None;
	std::string detail;
	std::string fix;
	Failure() = default;
	Failure(Error e, std::string what, std::string how = {}) : error(e), detail(std::move(what)), fix(std::move(how)) {}
	explicit operator bool() const noexcept { return error != Error::None; }
};

// What the logon asks of the card.
struct CardRequest {
	X509Identity identity;              // as the caller gave it
	std::optional<CertHash> hash;       // from a marshalled user name: this certificate only
	std::string principal;              // "alice@LAB.TEST" when the caller named the user
	ByteView pin;                       // UTF-8, no terminator; empty: none given
};

// What the look at the card found.
struct Card {
	X509Identity identity;              // what MIT is to use (PKCS#11: the real slot and certid)
	Bytes certificate;                  // DER (empty for PKCS12:/DIR:/ENV:, which are not inspected)
	CertificateNames names;
	bool names_known = false;           // the certificate's names decoded
	std::optional<uint64_t> slot_asked; // PKCS#11: the caller's slot, when it did not exist
	std::string token_label;            // PKCS#11
	std::string where;                  // "token 'lab' (slot 1956304006)" or the certificate file
};

// FILE: reads and checks the certificate and key (an encrypted key must open with the PIN).
// PKCS11: finds the token and the certificate (the caller's slot, or, when it does not exist,
// the slot whose low 16 bits it is - FreeRDP writes slot ids as 16 bits - or any slot holding
// a matching certificate), checks the PIN state and logs in once with the PIN (then out again).
// Other kinds pass through unexamined.
Failure inspect_card(const CardRequest& req, Card& card);

// The PKCS11: identity MIT is to use for `cert`, found on `token` (one of `tokens`, the module's
// tokens; `certificates_on_token` certificates there): the module, the slot (MIT takes slot ids up
// to INT_MAX only: beyond, the token's label when it is MIT-safe and no other token has it), and the certificate
// by its CKA_ID, else by its label when MIT can be given that label as it is (pkinit_identity.h
// mit_label_safe), else by nothing when it is the token's only certificate. A Failure when MIT
// could not be told which certificate it is.
Failure token_identity(const std::string& module, const pkcs11::TokenInfo& token, const std::vector<pkcs11::TokenInfo>& tokens,
                       const pkcs11::TokenCertificate& cert, size_t certificates_on_token, X509Identity& out);

// How well a token's certificate fits the logon, to pick one among several (a token often holds
// CA or other certificates too): 2 when it names `principal` (the user the caller named), 1 when
// it is a logon certificate at all (an id-pkinit-san or UPN, the smartcard-logon EKU
// 1.3.6.1.4.1.311.20.2.2 or id-pkinit-KPClientAuth 1.3.6.1.5.2.3.4), else 0.
[[nodiscard]] int certificate_rank(ByteView der, const std::string& principal);

// The SHA-1 of a certificate (for marshalled names). False if OpenSSL cannot compute it.
[[nodiscard]] bool certificate_hash(ByteView der, CertHash& out);

// What MIT's trace said during one AS exchange (numbers only are kept, never key material).
struct ExchangeTrace {
	krb5_error_code kdc_error = 0;        // the last KRB-ERROR from the KDC ("Received error from KDC")
	bool pkinit_ran = false;              // the pkinit client module processed anything
	krb5_error_code request_error = 0;    // pkinit failing to make PA-PK-AS-REQ (16)
	krb5_error_code reply_error = 0;      // pkinit failing on the KDC's PA-PK-AS-REP (17)
	std::string pkinit_message;           // MIT's text for the last pkinit failure
	bool methods_seen = false;            // a "Processing preauth types" line was seen
	bool pkinit_offered = false;          // ... and the last one listed PA-PK-AS-REQ (16)
};
void observe_trace_line(std::string_view line, ExchangeTrace& trace);

// MIT's PKINIT client plugin. plugin_disabled: the profile turns it off ([plugins] clpreauth
// disable / enable_only). plugin_available: not disabled, and its file is where MIT loads it from
// (used to explain a failure: where plugins live is MIT's build-time choice).
[[nodiscard]] bool plugin_disabled(krb5_context ctx, std::string& why);
[[nodiscard]] bool plugin_available(krb5_context ctx, std::string& why);

// The failure a failed PKINIT AS exchange (krb5 error `code`) of `principal` is, when it is the
// smartcard logon's own: a certificate or PKINIT verdict, clock skew, a principal the KDC does not
// know, PKINIT not offered by the KDC, or MIT's PKINIT plugin missing (its file absent, or not
// run although the KDC offered PKINIT). Anything else - a KDC that cannot be reached, an unknown
// realm, a KDC proxy's trouble, an account that may not log on - is no Failure (Error::None):
// the caller maps it as it maps a password logon's AS exchange.
Failure classify_exchange(krb5_error_code code, const ExchangeTrace& trace, bool plugin_present,
                          const std::string& plugin_why, const std::string& principal);

} // namespace nlassp::kerberos::pkinit
