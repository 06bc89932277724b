// Fuzzes the NTLM acceptor mid-handshake: a fresh acceptor takes a real NEGOTIATE, answers with
// its CHALLENGE, and then gets the fuzzed bytes as the client's AUTHENTICATE. The first input
// byte can instead select the initiator: it sends NEGOTIATE and gets the fuzzed bytes as the
// server's CHALLENGE. Invariants: no crash; a fuzzed AUTHENTICATE never logs on (the proof
// cannot be forged without the password); a failed context stays unusable.
#include "ntlm/context.h"
#include "ntlm/crypto.h"
#include "ntlm/messages.h"
#include "ntlm/ntlm.h"
#include "wire/utf16.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

using namespace nlassp;
using namespace nlassp::ntlm;

namespace {

void check(bool condition)
{
	if (!condition)
		__builtin_trap();
}

class OneUser final : public NtlmUserStore {
public:
	OneUser() { (void)ntowf_v1(wire::utf16le_bytes(u"Passw0rd!"), hash_); }
	Error lookup(const NtlmLookup& who, NtlmAccount& account) const override
	{
		if (wire::to_upper(who.user) != u"ALICE")
			return Error::LogonDenied;
		account.user = u"alice";
		account.key = hash_;
		return Error::None;
	}

private:
	SecretBytes hash_;
};

CredentialPtr acceptor_cred()
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Ntlm;
	c->use = CredentialUse::Inbound;
	c->ntlm_users = std::make_shared<OneUser>();
	return c;
}

CredentialPtr initiator_cred()
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Ntlm;
	c->use = CredentialUse::Outbound;
	Identity id;
	id.user = u"alice";
	id.domain = u"LAB";
	id.password.assign(wire::utf16le_bytes(u"Passw0rd!"));
	id.has_password = true;
	c->identity = std::move(id);
	return c;
}

void fuzz_acceptor(ByteView token)
{
	static const CredentialPtr cred = acceptor_cred();
	Error err = Error::None;
	ContextPtr ctx = create_context(Role::Acceptor, cred, err);
	if (!ctx)
		return;   // no legacy provider: nothing to fuzz
	NegotiateMessage nm;
	nm.flags = initiator_negotiate_flags(true);
	nm.version = Version{};
	const Bytes neg = nm.encode();
	StepInput s1;
	s1.token = neg;
	StepOutput o1;
	check(ctx->step(s1, o1) == Error::None && !o1.token.empty());

	ChannelBindings cb;
	cb.application_data = {1, 2, 3};
	StepInput s2;
	s2.token = token;
	s2.bindings = token.size() % 2 ? &cb : nullptr;
	StepOutput o2;
	const Error e = ctx->step(s2, o2);
	check(e != Error::None && !ctx->established() && !o2.complete);
	SecretBytes key;
	check(ctx->session_key(key) == Error::NotEstablished);
	check(ctx->step(s2, o2) != Error::None);
}

void fuzz_initiator(ByteView token)
{
	static const CredentialPtr cred = initiator_cred();
	Error err = Error::None;
	ContextPtr ctx = create_context(Role::Initiator, cred, err);
	if (!ctx)
		return;
	StepInput s1;
	s1.requested = ctx::Confidentiality;
	s1.target = u"TERMSRV/host";
	StepOutput o1;
	check(ctx->step(s1, o1) == Error::None);
	StepInput s2;
	s2.token = token;
	StepOutput o2;
	const Error e = ctx->step(s2, o2);
	// A CHALLENGE needs no secret, so a fuzzed one may be answered: then the context is complete.
	check((e == Error::None) == ctx->established());
	if (e == Error::None) {
		AuthenticateMessage am;
		check(o2.complete && am.decode(o2.token) && am.has_mic);
		Bytes data = {1, 2, 3}, tok;
		MessageBuffer b{MessageBufferKind::Data, MutableByteView(data)};
		check(ctx->encrypt(std::span<MessageBuffer>(&b, 1), tok) == Error::None && tok.size() == 16);
	}
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	if (size == 0)
		return 0;
	const ByteView rest(data + 1, size - 1);
	if (data[0] == 'I')
		fuzz_initiator(rest);
	else
		fuzz_acceptor(rest);
	return 0;
}
