// The Kerberos SecurityContext on MIT krb5's GSSAPI, and the pure name helpers it uses.
//
// Credentials (initiator):
//   - identity with a password: one AS exchange through a private krb5_context into a private
//     MEMORY ccache (or into kerberosSettings.cache when the caller names one); the user's own
//     ccache is never touched;
//   - no password: the named cache (kerberosSettings.cache) or the user's default ccache, read only.
// Credentials (acceptor): the keytab named by kerberosSettings.keytab, else the default keytab; the
// acceptor never talks to a KDC.
// Message protection: RFC 4121 tokens through gss_wrap_iov/gss_unwrap_iov with no TRAILER buffer,
// so the whole header+trailer is in the token buffer (RRC rotation), as SSPI/WinPR lay it out.
#pragma once

#include "common/package.h"

#include <string>
#include <string_view>
#include <vector>

namespace nlassp::kerberos {

// The client principal "user@REALM" for an identity. Accepted forms: user + domain,
// "user@realm" (domain ignored), "DOMAIN\\user". The realm is upper-cased; an empty domain
// means `default_realm`; a NetBIOS-style domain (no dot) that is the first label of
// `default_realm` becomes `default_realm`. False if the user is empty or no realm is known.
// A UPN ("alice@corp.example": a lower-case DNS suffix that is neither the realm the domain or
// `default_realm` names nor one of `known_realms`, krb5.conf's [realms]) becomes the enterprise
// name "alice\\@corp.example@REALM" of that realm (see enterprise_principal).
[[nodiscard]] bool client_principal(std::string_view user, std::string_view domain,
                                    std::string_view default_realm, std::string& principal,
                                    const std::vector<std::string>& known_realms = {});

// Whether a principal's name is an enterprise name (its first component holds an escaped '@',
// "alice\\@corp.example@LAB.TEST"): asked as KRB5_NT_ENTERPRISE_PRINCIPAL, with canonicalization.
[[nodiscard]] bool enterprise_principal(std::string_view principal);

// How to import an SSPI target name into GSSAPI.
struct TargetName {
	std::string name;          // "TERMSRV@host" (host-based) or "TERMSRV/host@REALM" (principal)
	bool hostbased = true;
};
// "TERMSRV/host" → host-based "TERMSRV@host" (a ":port" suffix is dropped); "svc/host@REALM"
// or any name without '/' → a krb5 principal name as given. False on an empty or unusable name.
[[nodiscard]] bool target_name(std::string_view spn, TargetName& out);

// Splits "alice@LAB.TEST" at the last unescaped '@' into user and realm.
void split_principal(std::string_view principal, std::string& user, std::string& realm);

} // namespace nlassp::kerberos
