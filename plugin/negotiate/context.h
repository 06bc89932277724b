// The Negotiate (SPNEGO) security context: a mechanism-neutral negotiator in the manner of MIT
// krb5's spnego_mech.c. It drives the mechanisms it was given (negotiate::Mechanism) through
// the SecurityContext interface only; it knows nothing of NTLM or Kerberos internals.
#pragma once

#include "negotiate/negotiate.h"

#include <string_view>
#include <vector>

namespace nlassp::negotiate {

// Windows' cbMaxToken for Negotiate; sizes().max_token never reports less.
inline constexpr uint32_t kNegotiateMaxToken = 48256;

// Applies an /auth-pkg-list string ("!kerberos", "ntlm,kerberos", "!ntlm,kerberos") to the
// mechanisms: names are "ntlm" and "kerberos" (any case, surrounding blanks ignored), a leading
// '!' excludes, and a list with any positive name keeps only the named mechanisms in that order.
// Unknown names are logged and ignored. An empty string keeps everything.
std::vector<Mechanism> apply_package_list(std::vector<Mechanism> mechanisms, std::string_view list);

} // namespace nlassp::negotiate
