#include "credssp/credssp_fixture.h"

#include "credssp/crypto.h"
#include "negotiate/messages.h"
#include "negotiate/negotiate.h"
#include "nlassp/credssp.h"
#include "ntlm/crypto.h"
#include "ntlm/ntlm.h"
#include "support/vectors.h"
#include "wire/utf16.h"

#include <cstring>

namespace nlassp::credssp::test {

namespace {

class MemoryStore final : public NtlmUserStore {
public:
	Error lookup(const NtlmLookup& who, NtlmAccount& account) const override
	{
		if (who.user != u"alice")
			return Error::LogonDenied;
		account.user = u"alice";
		account.domain = u"LAB";
		return ntlm::ntowf_v1(wire::utf16le_bytes(kPassword), account.key);
	}
};

negotiate::Mechanism ntlm_mechanism()
{
	negotiate::Mechanism m;
	m.id = PackageId::Ntlm;
	m.oid.assign(negotiate::oid::ntlmssp().begin(), negotiate::oid::ntlmssp().end());
	m.create = [](Role role, const CredentialPtr& cred, Error& err) { return ntlm::create_context(role, cred, err); };
	return m;
}

} // namespace

ContextPtr make_negotiate(Role role, const CredentialPtr& cred, Error& err)
{
	return negotiate::create_context(role, cred, {ntlm_mechanism()}, err);
}

ContextPtr make_raw_ntlm(Role role, const CredentialPtr& cred, Error& err)
{
	return ntlm::create_context(role, cred, err);
}

CredentialPtr client_cred(const std::u16string& password, const std::u16string& user, const std::u16string& domain)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::CredSsp;
	c->use = CredentialUse::Outbound;
	Identity id;
	id.user = user;
	id.domain = domain;
	id.password.assign(wire::utf16le_bytes(password));
	id.has_password = true;
	c->identity = std::move(id);
	return c;
}

CredentialPtr server_cred()
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::CredSsp;
	c->use = CredentialUse::Inbound;
	c->ntlm_users = std::make_shared<MemoryStore>();
	return c;
}

bool key(const char* name, Bytes& spki)
{
	return nlassp::test::vector_hex("ms-cssp.json",
	                                std::string("binding_hash.keys.") + name + ".SubjectPublicKeyInfo", spki);
}

Bytes params(ByteView key_bytes, uint32_t format, uint32_t min_v, uint32_t max_v, uint32_t flags,
             const std::string& targets)
{
	NLASSP_CREDSSP_PARAMS p{};
	p.cbSize = sizeof(p);
	p.Version = NLASSP_CREDSSP_PARAMS_VERSION;
	p.Flags = flags;
	p.MinVersion = min_v;
	p.MaxVersion = max_v;
	p.KeyFormat = format;
	p.PublicKeyOffset = sizeof(p);
	p.PublicKeyLength = static_cast<uint32_t>(key_bytes.size());
	p.DelegateTargetsOffset = static_cast<uint32_t>(sizeof(p) + key_bytes.size());
	p.DelegateTargetsLength = static_cast<uint32_t>(targets.size());
	// One allocation of the final size, then copies (GCC 12 at -O2 reports a false -Warray-bounds
	// on vector::insert of an empty range here).
	Bytes b(sizeof(p) + key_bytes.size() + targets.size());
	std::memcpy(b.data(), &p, sizeof(p));
	if (!key_bytes.empty())
		std::memcpy(b.data() + sizeof(p), key_bytes.data(), key_bytes.size());
	if (!targets.empty())
		std::memcpy(b.data() + sizeof(p) + key_bytes.size(), targets.data(), targets.size());
	return b;
}

Bytes rsa_params(uint32_t min_v, uint32_t max_v, uint32_t flags, const std::string& targets)
{
	Bytes spki;
	if (!key("rsa2048", spki))
		return {};
	return params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, min_v, max_v, flags, targets);
}

bool make_pair(Pair& p, uint32_t client_max, uint32_t server_max, ContextFlags client_req, const char* client_key,
               const char* server_key, const CredentialPtr& ccred)
{
	Bytes ck, sk;
	CHECK(key(client_key, ck) && key(server_key, sk));
	Error e = Error::Internal;
	p.client.ctx = create_context(Role::Initiator, ccred, make_negotiate, e);
	CHECK(p.client.ctx && e == Error::None);
	p.server.ctx = create_context(Role::Acceptor, server_cred(), make_negotiate, e);
	CHECK(p.server.ctx && e == Error::None);
	p.client.params = params(ck, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, 2, client_max);
	p.server.params = params(sk, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, 2, server_max);
	p.client.requested = client_req | ctx::MutualAuth | ctx::Confidentiality;
	p.client.target = u"TERMSRV/server.lab";
	p.server.requested = ctx::MutualAuth | ctx::Confidentiality | ctx::ExtendedError;
	return true;
}

Error step(Side& s, ByteView token, StepOutput& out, bool first)
{
	StepInput in;
	in.token = token;
	in.requested = s.requested;
	in.target = s.target;
	if (first)
		in.package_params = s.params;
	const Error e = s.ctx->step(in, out);
	s.last_token = out.token;
	return e;
}

void run(Pair& p, const Filter& filter)
{
	p.client.error = p.server.error = Error::None;
	p.client.complete = p.server.complete = false;
	p.last_server_error_token.clear();
	StepOutput co;
	p.client.error = step(p.client, {}, co, true);
	if (p.client.error != Error::None)
		return;
	Bytes to_server = co.token;
	p.client.complete = co.complete;
	bool server_first = true;
	for (size_t round = 0; round < 10; ++round) {
		if (filter)
			to_server = filter(true, p.messages, to_server);
		++p.messages;
		StepOutput so;
		p.server.error = step(p.server, to_server, so, server_first);
		server_first = false;
		if (p.server.error != Error::None) {
			p.last_server_error_token = so.token;
			return;
		}
		p.server.complete = so.complete;
		if (p.client.complete)
			return;
		Bytes to_client = so.token;
		if (filter)
			to_client = filter(false, p.messages, to_client);
		++p.messages;
		StepOutput c2;
		p.client.error = step(p.client, to_client, c2, false);
		if (p.client.error != Error::None)
			return;
		p.client.complete = c2.complete;
		to_server = c2.token;
	}
}

// ---- the scripted server ------------------------------------------------------------------------

bool ScriptedServer::init()
{
	Error e = Error::Internal;
	nego = inner(Role::Acceptor, server_cred(), e);
	Bytes spki;
	ByteView spk;
	if (!nego || !test::key("rsa2048", spki) || !subject_public_key_from_spki(spki, spk))
		return false;
	key.assign(spk.begin(), spk.end());
	return true;
}

bool ScriptedServer::seal(ByteView plain, Bytes& wire_out)
{
	Bytes data(plain.begin(), plain.end());
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (nego->encrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return false;
	wire_out = token;
	wire_out.insert(wire_out.end(), data.begin(), data.end());
	return true;
}

bool ScriptedServer::answer(ByteView in, Bytes& out)
{
	TsRequest req, reply;
	if (!decode_ts_request(in, req))
		return false;
	reply.version = version;
	if (req.client_nonce)
		nonce = *req.client_nonce;
	if (!req.nego_tokens.empty() && script == Script::ZeroNegoToken && ++nego_seen == 2) {
		// FreeRDP after a failed AcceptSecurityContext at versions 2/5: cbMaxToken zero bytes.
		reply.nego_tokens.push_back(Bytes(12256, 0));
		return encode_ts_request(reply, out);
	}
	if (!req.nego_tokens.empty()) {
		StepInput si;
		si.token = req.nego_tokens[0];
		si.requested = ctx::MutualAuth | ctx::Confidentiality;
		StepOutput so;
		if (nego->step(si, so) != Error::None) {
			if (script != Script::FreeRdpFailure && script != Script::FreeRdpFailureNoCode)
				return false;
			// nla.c after a failed AcceptSecurityContext: its untouched output buffer (cbMaxToken
			// zero bytes) as negoToken, whatever pubKeyAuth it last received, and errorCode only
			// at versions 3, 4 and 6.
			reply.nego_tokens.push_back(Bytes(2888, 0));
			reply.pub_key_auth = req.pub_key_auth;
			if ((version == 3 || version == 4 || version == 6) && script == Script::FreeRdpFailure)
				reply.error_code = 0xC00700EAu;
			return encode_ts_request(reply, out);
		}
		if (!so.token.empty()) {
			reply.nego_tokens.push_back(so.token);
			last_nego = so.token;
		}
	}
	if (req.pub_key_auth && script == Script::FreeRdpRepeat)
		reply.nego_tokens.push_back(last_nego); // FreeRDP resends its final token
	if (req.pub_key_auth && script == Script::NewNegoToken)
		reply.nego_tokens.push_back(Bytes{0xa1, 0x03, 0x30, 0x01, 0x00});
	if (req.pub_key_auth) {
		if (script == Script::ErrorCode) {
			reply.error_code = 0xC000006Du;
		} else if (script == Script::OwnPubKeyAuthBack) {
			reply.pub_key_auth = req.pub_key_auth;
		} else {
			Bytes plain;
			if (version >= 5) {
				std::array<uint8_t, 32> h{};
				if (binding_hash(HashDirection::ServerToClient, nonce, key, h) != Error::None)
					return false;
				plain.assign(h.begin(), h.end());
				if (script == Script::WrongHash)
					plain[0] ^= 1;
			} else if (script == Script::FreeRdpEchoDefect) {
				plain.assign(key.size(), 0);
				plain[0] = 1;
			} else {
				plain = public_key_echo(key);
				if (script == Script::WrongEcho)
					plain = key; // not incremented
			}
			Bytes sealed;
			if (!seal(plain, sealed))
				return false;
			reply.pub_key_auth = sealed;
		}
	}
	return encode_ts_request(reply, out);
}

bool run_scripted(ScriptRun& r)
{
	ScriptedServer srv;
	srv.inner = r.server_inner;
	CHECK(srv.init());
	srv.version = r.version;
	srv.script = r.script;
	Bytes spki;
	CHECK(key("rsa2048", spki));
	Error e = Error::Internal;
	ContextPtr client = create_context(Role::Initiator, client_cred(r.password), r.client_inner, e);
	CHECK(client);
	Side s;
	s.ctx = std::move(client);
	s.params = params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, r.min_version, r.version, r.flags);
	s.requested = ctx::Delegate | ctx::MutualAuth;
	s.target = u"TERMSRV/server.lab";
	StepOutput out;
	Error res = step(s, {}, out, true);
	for (int i = 0; i < 6 && res == Error::None && !out.complete; ++i) {
		Bytes reply;
		CHECK(srv.answer(out.token, reply));
		res = step(s, reply, out, false);
	}
	r.result = res;
	r.sent_after_failure = res != Error::None && !out.token.empty();
	if (res != Error::None)
		CHECK(!s.ctx->established());
	r.echo_defect_seen = query_info(*s.ctx)->echo_defect_seen;
	return true;
}

} // namespace nlassp::credssp::test
