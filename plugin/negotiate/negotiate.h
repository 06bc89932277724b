// The Negotiate (SPNEGO) package's entry point. It knows no mechanism's internals: the
// dispatcher hands it the mechanisms it may use, in order of preference.
#pragma once

#include "common/package.h"

#include <functional>
#include <span>
#include <vector>

namespace nlassp::negotiate {

struct Mechanism {
	PackageId id;          // PackageId::Kerberos or PackageId::Ntlm
	Bytes oid;             // DER contents octets of the mechanism OID (no tag/length)
	ContextFactory create; // creates the mechanism's context for a role and credential
	// Optional: true for an initiator credential only this mechanism may use (a smartcard
	// logon, whose password is a PIN, for Kerberos). Negotiate then offers this mechanism alone
	// and never falls back to another.
	std::function<bool(const Credential&)> claims;
};

// Creates a Negotiate context. `mechanisms` is the preference order before the credential's
// PackageList ("/auth-pkg-list") is applied.
ContextPtr create_context(Role role, const CredentialPtr& cred, std::vector<Mechanism> mechanisms,
                          Error& err);

} // namespace nlassp::negotiate
