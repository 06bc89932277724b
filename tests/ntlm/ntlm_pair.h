// Shared by the NTLM context tests (test_ntlm_context, test_ntlm_protect, test_ntlm_peers): an
// in-memory user store, and an initiator and acceptor run through NEGOTIATE -> CHALLENGE ->
// AUTHENTICATE in process through the SecurityContext interface.
#pragma once

#include "ntlm/context.h"
#include "ntlm/crypto.h"
#include "ntlm/ntlm.h"
#include "wire/utf16.h"

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace nlassp::test {

using namespace nlassp::ntlm;

constexpr int kOk = static_cast<int>(Error::None);
inline int code(Error e) { return static_cast<int>(e); }

// Users keyed by UPPER(user) "\" UPPER(domain), named as they were added.
class MemoryStore final : public NtlmUserStore {
public:
	void add(std::u16string_view user, std::u16string_view domain, std::u16string_view password)
	{
		NtlmAccount a;
		a.user = user;
		a.domain = domain;
		const Bytes pw = wire::utf16le_bytes(password);
		if (ntowf_v1(pw, a.key) == Error::None)
			users_[key(user, domain)] = std::move(a);
	}
	Error lookup(const NtlmLookup& who, NtlmAccount& account) const override
	{
		++lookups;
		last_proof_input.assign(who.proof_input.begin(), who.proof_input.end());
		auto it = users_.find(key(who.user, who.domain));
		if (it == users_.end())
			return Error::LogonDenied;
		account = it->second;
		return Error::None;
	}
	mutable int lookups = 0;
	mutable Bytes last_proof_input;

private:
	static std::u16string key(std::u16string_view u, std::u16string_view d)
	{
		return wire::to_upper(u) + u"\\" + wire::to_upper(d);
	}
	std::map<std::u16string, NtlmAccount> users_;
};

struct Options {
	std::u16string user = u"alice";
	std::u16string domain = u"LAB";
	std::u16string password = u"Passw0rd!";
	const ChannelBindings* client_bindings = nullptr;
	const ChannelBindings* server_bindings = nullptr;
	ContextFlags requested = ctx::Confidentiality | ctx::MutualAuth;
	std::function<void(Bytes&)> tamper_authenticate;
	std::shared_ptr<const NtlmUserStore> store;
};

struct Pair {
	std::shared_ptr<MemoryStore> store = std::make_shared<MemoryStore>();
	ContextPtr client, server;
	Bytes negotiate, challenge, authenticate;
	Error client_error = Error::None, server_error = Error::None;
	bool client_complete = false, server_complete = false;
};

CredentialPtr client_cred(const Options& o);
CredentialPtr server_cred(const std::shared_ptr<const NtlmUserStore>& store);
// Both contexts, the store holding alice@LAB and bob (no domain).
bool make_pair(Pair& p, const Options& o);
// Runs NEGOTIATE -> CHALLENGE -> AUTHENTICATE; returns the acceptor's last result (or the
// initiator's if it failed first).
Error handshake(Pair& p, const Options& o = {});
// handshake() on a fresh pair, as an int for assert_int_equal.
int logon_with(const Options& o);

// 0 when OpenSSL's legacy provider (MD4, RC4) is there; otherwise the exit code main returns:
// 77 (skip) when NTLM says PackageUnavailable, as it must, 1 when it says anything else.
int legacy_provider_exit_code();

} // namespace nlassp::test
