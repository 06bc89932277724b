// A Negotiate initiator and acceptor over fake mechanisms (fake_mech.h), stepped by hand the way
// FreeRDP's rdg.c and nla.c do, for tests of what the initiator does and says per target.
#pragma once

#include "negotiate/context.h"
#include "negotiate/messages.h"

#include "check.h"
#include "fake_mech.h"

#include <memory>
#include <string>
#include <vector>

namespace nlassp::test {

inline const char16_t* const kGateway = u"HTTP/gw.example";
inline const char16_t* const kTermsrv = u"TERMSRV/host.example";

inline CredentialPtr cred(CredentialUse use, std::u16string user = u"gwuser", std::u16string domain = u"GW")
{
	auto c = std::make_shared<Credential>();
	c->use = use;
	Identity id;
	id.user = std::move(user);
	id.domain = std::move(domain);
	c->identity = id;
	return c;
}

inline FakeConfig fake_ntlm()
{
	FakeConfig c;
	c.id = PackageId::Ntlm;
	c.magic = "NTLMSSP";
	c.legs = 3;
	c.require_mic = true;
	return c;
}

inline FakeConfig fake_kerberos()
{
	FakeConfig c;
	c.id = PackageId::Kerberos;
	c.magic = "FAKEKRB";
	c.legs = 2;   // AP-REQ, AP-REP (mutual authentication)
	return c;
}

// By default an NTLM-only pair; set the mechanisms (in preference order) before create().
struct Pair {
	std::vector<FakeConfig> init_mechs{fake_ntlm()};
	std::vector<FakeConfig> acc_mechs{fake_ntlm()};
	std::u16string target = kGateway;
	std::shared_ptr<FakeStats> init_stats = std::make_shared<FakeStats>();
	std::shared_ptr<FakeStats> acc_stats = std::make_shared<FakeStats>();
	ContextPtr init;
	ContextPtr acc;
	Bytes to_acc;
	Bytes to_init;
	bool init_complete = false;

	static std::vector<negotiate::Mechanism> mechanisms(const std::vector<FakeConfig>& cfgs,
	                                                   const std::shared_ptr<FakeStats>& stats)
	{
		std::vector<negotiate::Mechanism> out;
		for (const FakeConfig& c : cfgs)
			out.push_back(fake_mechanism(c, stats, c.id == PackageId::Ntlm ? negotiate::oid::ntlmssp()
			                                                                : negotiate::oid::kerberos()));
		return out;
	}
	bool create()
	{
		Error e = Error::None;
		init = negotiate::create_context(Role::Initiator, cred(CredentialUse::Outbound),
		                                 mechanisms(init_mechs, init_stats), e);
		CHECK(init && e == Error::None);
		acc = negotiate::create_context(Role::Acceptor, cred(CredentialUse::Inbound), mechanisms(acc_mechs, acc_stats), e);
		CHECK(acc && e == Error::None);
		return true;
	}
	StepInput in(ByteView token) const
	{
		StepInput i;
		i.token = token;
		i.requested = ctx::MutualAuth | ctx::Confidentiality;
		i.target = target;
		return i;
	}
	// The initiator's next token (first call: no input).
	Error init_step(bool first = false)
	{
		StepOutput o;
		const Error e = init->step(in(first ? ByteView() : ByteView(to_init)), o);
		to_acc = std::move(o.token);
		init_complete = o.complete;
		return e;
	}
	Error acc_step()
	{
		StepOutput o;
		const Error e = acc->step(in(to_acc), o);
		to_init = std::move(o.token);
		return e;
	}
};

} // namespace nlassp::test
