// The Kerberos package's entry points (GSSAPI krb5 mechanism).
#pragma once

#include "common/package.h"

namespace nlassp::kerberos {

// Creates a Kerberos initiator or acceptor context on MIT krb5's GSSAPI.
ContextPtr create_context(Role role, const CredentialPtr& cred, Error& err);

// A smartcard logon (PKINIT identity, or a marshalled certificate as the user name): only
// Kerberos may use such a credential, whose password is the card's PIN.
[[nodiscard]] bool smartcard_logon(const Credential& cred);

} // namespace nlassp::kerberos
