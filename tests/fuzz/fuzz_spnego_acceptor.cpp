// Fuzzes the Negotiate context's state handling with fake mechanisms (tests/negotiate/
// fake_mech.h: a Kerberos-like two-leg and an NTLM-like three-leg mechanism). The first input
// byte picks the scenario, the rest is the fuzzed token:
//   0: a fresh acceptor's first token (NegTokenInit, raw NTLMSSP, raw GSS token, garbage);
//   1: the acceptor's second token, after a real NegTokenInit offering NTLM and its answer;
//   2: the acceptor's second token, after a NegTokenInit offering Kerberos then NTLM where the
//      acceptor only allows NTLM (request-mic, optimistic token dropped);
//   3: the initiator's second call: the fuzzed bytes are the acceptor's reply to our offer;
//   4: an HTTP initiator (an RD Gateway login) that completed with its AUTHENTICATE and
//      mechListMIC, before the acceptor's final token (initiator.cpp, may_skip_final_token): the
//      fuzzed bytes are what a caller passes afterwards (initiator_after_completion). Seed
//      m4_final_token is the real acceptor's final token, with the MIC that verifies.
// Invariants: no crash; a failed step leaves the context unestablished and refusing more
// tokens; an established context names a mechanism and can protect a message.
#include "negotiate/context.h"
#include "negotiate/messages.h"

#include "../negotiate/fake_mech.h"

#include <cstddef>
#include <cstdint>

using namespace nlassp;
using namespace nlassp::negotiate;

namespace {

void check(bool condition)
{
	if (!condition)
		__builtin_trap();
}

test::FakeConfig config(PackageId id)
{
	test::FakeConfig c;
	c.id = id;
	if (id == PackageId::Ntlm) {
		c.magic = "NTLMSSP";
		c.legs = 3;
		c.require_mic = true;
	} else {
		c.magic = "FAKEKRB";
		c.legs = 2;
	}
	return c;
}

std::vector<Mechanism> mechanisms(bool krb, bool ntlm)
{
	std::vector<Mechanism> m;
	if (krb)
		m.push_back(test::fake_mechanism(config(PackageId::Kerberos), std::make_shared<test::FakeStats>(),
		                                 oid::kerberos()));
	if (ntlm)
		m.push_back(test::fake_mechanism(config(PackageId::Ntlm), std::make_shared<test::FakeStats>(),
		                                 oid::ntlmssp()));
	return m;
}

CredentialPtr cred(CredentialUse use)
{
	auto c = std::make_shared<Credential>();
	c->use = use;
	return c;
}

StepInput input(ByteView token, const char16_t* target = u"TERMSRV/fuzz")
{
	StepInput in;
	in.token = token;
	in.requested = ctx::MutualAuth | ctx::Confidentiality;
	in.target = target;
	return in;
}

// Feeds `token` and checks the invariants on the result.
void feed(SecurityContext& c, ByteView token, const char16_t* target = u"TERMSRV/fuzz")
{
	StepOutput out;
	const Error e = c.step(input(token, target), out);
	if (e != Error::None) {
		check(!c.established());
		StepOutput again;
		check(c.step(input(token, target), again) != Error::None);
		return;
	}
	if (out.complete) {
		check(c.established());
		check(c.package() != PackageId::Negotiate);
		Bytes data = {1, 2, 3, 4};
		MessageBuffer buf{MessageBufferKind::Data, data};
		Bytes sig;
		check(c.encrypt(std::span<MessageBuffer>(&buf, 1), sig) == Error::None);
	} else {
		check(!c.established());
		check(!out.token.empty());
	}
}

Bytes init_token(std::vector<ByteView> oids, ByteView mech_token)
{
	SpnegoNegTokenInit init;
	for (ByteView o : oids)
		init.mech_types.emplace_back(o.begin(), o.end());
	init.mech_token = Bytes(mech_token.begin(), mech_token.end());
	Bytes t;
	check(encode_neg_token_init(init, t));
	return t;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t mode = data[0] % 5;
	const ByteView fuzzed(data + 1, size - 1);
	Error err = Error::None;

	if (mode == 3) {
		ContextPtr init = create_context(Role::Initiator, cred(CredentialUse::Outbound), mechanisms(true, true), err);
		check(init && err == Error::None);
		StepOutput first;
		check(init->step(input({}), first) == Error::None && !first.complete);
		feed(*init, fuzzed);
		return 0;
	}

	if (mode == 4) {
		const char16_t* http = u"HTTP/gw.fuzz";
		ContextPtr init = create_context(Role::Initiator, cred(CredentialUse::Outbound), mechanisms(false, true), err);
		check(init && err == Error::None);
		ContextPtr acc = create_context(Role::Acceptor, cred(CredentialUse::Inbound), mechanisms(false, true), err);
		check(acc && err == Error::None);
		StepOutput io, ao;
		check(init->step(input({}, http), io) == Error::None && !io.complete);   // NEGOTIATE
		check(acc->step(input(io.token, http), ao) == Error::None && !ao.complete);   // CHALLENGE
		// AUTHENTICATE + our MIC: complete on our side, the acceptor's final token still due.
		StepOutput done;
		check(init->step(input(ao.token, http), done) == Error::None && done.complete && init->established());
		check(!done.token.empty());
		feed(*init, fuzzed, http);
		return 0;
	}

	ContextPtr acc = create_context(Role::Acceptor, cred(CredentialUse::Inbound), mechanisms(mode != 2, true), err);
	check(acc && err == Error::None);
	if (mode == 0) {
		feed(*acc, fuzzed);
		return 0;
	}
	test::FakeContext client(Role::Initiator, config(PackageId::Ntlm), std::make_shared<test::FakeStats>());
	StepOutput co;
	check(client.step(input({}), co) == Error::None);
	const Bytes first = mode == 1 ? init_token({oid::ntlmssp()}, co.token)
	                              : init_token({oid::kerberos(), oid::ntlmssp()}, Bytes{'K', 'R', 'B'});
	StepOutput ao;
	check(acc->step(input(first), ao) == Error::None && !ao.complete && !ao.token.empty());
	feed(*acc, fuzzed);
	return 0;
}
