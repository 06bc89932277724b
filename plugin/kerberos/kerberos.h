// The Kerberos package's entry points (GSSAPI krb5 mechanism).
#pragma once

#include "common/package.h"

namespace nlassp::kerberos {

// Creates a Kerberos initiator or acceptor context on MIT krb5's GSSAPI.
ContextPtr create_context(Role role, const CredentialPtr& cred, Error& err);

} // namespace nlassp::kerberos
