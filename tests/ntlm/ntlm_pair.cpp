// The NTLM context tests' shared pair: see ntlm_pair.h.
#include "ntlm_pair.h"

#include "crypto/crypto.h"

#include <cstdio>

namespace nlassp::test {

CredentialPtr client_cred(const Options& o)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Ntlm;
	c->use = CredentialUse::Outbound;
	Identity id;
	id.user = o.user;
	id.domain = o.domain;
	id.password.assign(wire::utf16le_bytes(o.password));
	id.has_password = true;
	c->identity = std::move(id);
	c->workstation = u"WS1";
	return c;
}

CredentialPtr server_cred(const std::shared_ptr<const NtlmUserStore>& store)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Ntlm;
	c->use = CredentialUse::Inbound;
	c->ntlm_users = store;
	return c;
}

bool make_pair(Pair& p, const Options& o)
{
	p.store->add(u"alice", u"LAB", u"Passw0rd!");
	p.store->add(u"bob", u"", u"bobpw");
	Error e1 = Error::Internal, e2 = Error::Internal;
	p.client = create_context(Role::Initiator, client_cred(o), e1);
	p.server = create_context(Role::Acceptor, server_cred(o.store ? o.store : p.store), e2);
	return p.client && p.server && e1 == Error::None && e2 == Error::None;
}

Error handshake(Pair& p, const Options& o)
{
	if (!make_pair(p, o))
		return Error::Internal;
	StepInput ci;
	ci.requested = o.requested;
	ci.target = u"TERMSRV/server.lab.test";
	StepOutput co;
	if ((p.client_error = p.client->step(ci, co)) != Error::None)
		return p.client_error;
	p.negotiate = co.token;

	StepInput si;
	si.token = p.negotiate;
	si.requested = ctx::Confidentiality | ctx::MutualAuth | ctx::Connection;
	StepOutput so;
	if ((p.server_error = p.server->step(si, so)) != Error::None || so.complete)
		return p.server_error != Error::None ? p.server_error : Error::Internal;
	p.challenge = so.token;

	StepInput ci2;
	ci2.token = p.challenge;
	ci2.bindings = o.client_bindings;
	ci2.requested = o.requested;
	StepOutput co2;
	if ((p.client_error = p.client->step(ci2, co2)) != Error::None)
		return p.client_error;
	p.client_complete = co2.complete;
	p.authenticate = co2.token;
	if (o.tamper_authenticate)
		o.tamper_authenticate(p.authenticate);

	StepInput si2;
	si2.token = p.authenticate;
	si2.bindings = o.server_bindings;
	StepOutput so2;
	p.server_error = p.server->step(si2, so2);
	p.server_complete = so2.complete;
	if (p.server_error == Error::None && !so2.token.empty())
		return Error::Internal;
	return p.server_error;
}

int logon_with(const Options& o)
{
	Pair p;
	return code(handshake(p, o));
}

int legacy_provider_exit_code()
{
	if (crypto::legacy_available())
		return 0;
	Error e = Error::None;
	auto c = std::make_shared<Credential>();
	(void)create_context(Role::Initiator, c, e);
	std::fprintf(stderr, "OpenSSL legacy provider missing: create_context says %s\n", error_name(e));
	return e == Error::PackageUnavailable ? 77 : 1;
}

} // namespace nlassp::test
