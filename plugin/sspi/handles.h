// The handle registry: CredHandle / CtxtHandle values are keys into a thread-safe table, never
// pointers. dwLower is a 64-bit id that is never reused (so a stale handle cannot reach a newer
// object: the id doubles as the generation), dwUpper a tag naming the kind of object. A forged,
// stale or wrong-kind handle finds nothing and the caller gets SEC_E_INVALID_HANDLE.
#pragma once

#include "common/package.h"

#include <winpr/sspi.h>

#include <memory>
#include <mutex>

namespace nlassp::sspi {

struct CredentialEntry {
	std::mutex mu;                 // guards cred (copy-on-write by SetCredentialsAttributes)
	CredentialPtr cred;
};

struct ContextEntry {
	std::mutex mu;                 // one call at a time on a context; different contexts run in parallel
	Role role = Role::Initiator;
	PackageId requested = PackageId::Negotiate;   // the package the credential was acquired for
	CredentialPtr cred;
	ContextPtr ctx;
	bool failed = false;           // a handshake step failed: the context cannot continue
};

enum class HandleKind : uint32_t { Credential = 1, Context = 2 };

class HandleTable {
public:
	void add(std::shared_ptr<CredentialEntry> e, SecHandle& out);
	void add(std::shared_ptr<ContextEntry> e, SecHandle& out);
	[[nodiscard]] std::shared_ptr<CredentialEntry> credential(const SecHandle* h) const;
	[[nodiscard]] std::shared_ptr<ContextEntry> context(const SecHandle* h) const;
	// Removes the entry; false if the handle names nothing of that kind. A call running on the
	// entry keeps it alive until it returns.
	[[nodiscard]] bool remove(const SecHandle* h, HandleKind kind);
	[[nodiscard]] size_t size() const;

private:
	std::shared_ptr<void> find(const SecHandle* h, HandleKind kind) const;
	void insert(std::shared_ptr<void> e, HandleKind kind, SecHandle& out);
};

HandleTable& handles();

} // namespace nlassp::sspi
