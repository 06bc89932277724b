// The Negotiate context tests' shared sides and exchange loop: see context_fixture.h.
#include "context_fixture.h"

namespace nlassp::test {

FakeConfig krb_config(int legs)
{
	FakeConfig c;
	c.id = PackageId::Kerberos;
	c.magic = "FAKEKRB";
	c.legs = legs;
	return c;
}

FakeConfig ntlm_config()
{
	FakeConfig c;
	c.id = PackageId::Ntlm;
	c.magic = "NTLMSSP";   // tokens start "NTLMSSP\0", as real NTLM messages do
	c.legs = 3;
	c.require_mic = true;  // like an AUTHENTICATE with MsvAvFlags MIC
	return c;
}

CredentialPtr make_cred(CredentialUse use, const std::string& package_list)
{
	auto c = std::make_shared<Credential>();
	c->use = use;
	Identity id;
	id.user = u"user";
	id.domain = u"DOM";
	id.package_list = package_list;
	c->identity = id;
	return c;
}

StepInput input(ByteView token)
{
	StepInput in;
	in.token = token;
	in.requested = ctx::MutualAuth | ctx::Confidentiality;
	in.target = u"TERMSRV/host.example";
	return in;
}

bool exchange(Fixture& f, long replace_at, const Bytes* replacement)
{
	if (!f.init.ctx && !f.init.create(Role::Initiator))
		return false;
	if (!f.acc.ctx && !f.acc.create(Role::Acceptor))
		return false;
	StepOutput o;
	f.init_error = f.init.ctx->step(input({}), o);
	if (f.init_error != Error::None)
		return false;
	f.init_complete = o.complete;
	Bytes to_acc = std::move(o.token);
	f.last_init_output = to_acc;
	for (int round = 0; round < 8 && !to_acc.empty(); ++round) {
		if (static_cast<long>(f.tokens.size()) == replace_at)
			to_acc = *replacement;
		f.tokens.push_back(to_acc);
		o = StepOutput{};
		f.acc_error = f.acc.ctx->step(input(to_acc), o);
		f.last_acc_output = o.token;
		if (f.acc_error != Error::None)
			return false;
		f.acc_complete = o.complete;
		Bytes to_init = std::move(o.token);
		if (to_init.empty())
			break;
		if (static_cast<long>(f.tokens.size()) == replace_at)
			to_init = *replacement;
		f.tokens.push_back(to_init);
		if (f.init_complete)
			return false; // the acceptor talks to a finished initiator
		o = StepOutput{};
		f.init_error = f.init.ctx->step(input(to_init), o);
		f.last_init_output = o.token;
		if (f.init_error != Error::None)
			return false;
		f.init_complete = o.complete;
		to_acc = std::move(o.token);
	}
	return f.init_complete && f.acc_complete && f.init.ctx->established() && f.acc.ctx->established();
}

bool decode_resp(const Bytes& token, SpnegoNegTokenResp& resp)
{
	NegotiationToken t;
	CHECK(decode_negotiation_token(token, t));
	CHECK(t.kind == NegotiationToken::Kind::Resp);
	resp = t.resp;
	return true;
}

bool decode_init(const Bytes& token, SpnegoNegTokenInit& init)
{
	NegotiationToken t;
	CHECK(decode_negotiation_token(token, t));
	CHECK(t.kind == NegotiationToken::Kind::Init);
	init = t.init;
	return true;
}

bool protection_works(SecurityContext& a, SecurityContext& b)
{
	for (int dir = 0; dir < 2; ++dir) {
		SecurityContext& from = dir == 0 ? a : b;
		SecurityContext& to = dir == 0 ? b : a;
		Bytes data = {'h', 'e', 'l', 'l', 'o'};
		MessageBuffer buf{MessageBufferKind::Data, data};
		Bytes token;
		CHECK(from.encrypt(std::span<MessageBuffer>(&buf, 1), token) == Error::None);
		CHECK(data != Bytes({'h', 'e', 'l', 'l', 'o'}));
		MessageBuffer in{MessageBufferKind::Data, data};
		CHECK(to.decrypt(std::span<MessageBuffer>(&in, 1), token) == Error::None);
		CHECK(data == Bytes({'h', 'e', 'l', 'l', 'o'}));
	}
	return true;
}

bool mech_types_are(const Bytes& token, std::vector<ByteView> oids)
{
	SpnegoNegTokenInit init;
	CHECK(decode_init(token, init));
	CHECK(init.mech_types.size() == oids.size());
	for (size_t i = 0; i < oids.size(); ++i)
		CHECK(oid::equal(init.mech_types[i], oids[i]));
	return true;
}

int setup(void** state)
{
	*state = new Fixture();
	return 0;
}
int teardown(void** state)
{
	delete static_cast<Fixture*>(*state);
	return 0;
}
Fixture& fx(void** state)
{
	return *static_cast<Fixture*>(*state);
}

} // namespace nlassp::test
