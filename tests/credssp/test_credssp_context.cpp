// plugin/credssp/context: a CREDSSP initiator and acceptor over the real Negotiate + NTLM, in
// process: every version pair 2..6 x 2..6 with and without delegation; a man in the middle (the
// two sides see different TLS keys), tampered pubKeyAuth and clientNonce caught on both sides; a
// scripted server standing in for FreeRDP's (the v2-4 echo defect, strict and tolerated; its own
// pubKeyAuth sent back as a refusal; errorCode) and for a lying server (wrong echo, wrong hash);
// a TSRequest split at every byte -> IncompleteMessage with the missing count, state unchanged;
// the statuses the package produces itself (delegation policy, NTLM-only policy, incomplete
// credentials, unknown target, unsupported flags, no key, logon denied with errorCode).
//
// Checks run in bool helpers (destructors run); CMocka bodies only assert.
#include "credssp/context.h"
#include "credssp/credssp.h"
#include "credssp/crypto.h"
#include "credssp/messages.h"
#include "negotiate/messages.h"
#include "negotiate/negotiate.h"
#include "nlassp/credssp.h"
#include "ntlm/crypto.h"
#include "ntlm/ntlm.h"
#include "sspi/status.h"
#include "support/vectors.h"
#include "wire/utf16.h"

#include <winpr/error.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}
// clang-format on

using namespace nlassp;
using namespace nlassp::credssp;

#define CHECK(expr)                                                                       \
	do {                                                                                  \
		if (!(expr)) {                                                                    \
			std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
			return false;                                                                 \
		}                                                                                 \
	} while (0)

namespace {

constexpr char16_t kPassword[] = u"Passw0rd!";

class MemoryStore final : public NtlmUserStore {
public:
	Error lookup(const NtlmLookup& who, SecretBytes& nt_hash) const override
	{
		if (who.user != u"alice")
			return Error::LogonDenied;
		return ntlm::ntowf_v1(wire::utf16le_bytes(kPassword), nt_hash);
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

ContextPtr make_negotiate(Role role, const CredentialPtr& cred, Error& err)
{
	return negotiate::create_context(role, cred, {ntlm_mechanism()}, err);
}

CredentialPtr client_cred(const std::u16string& password = kPassword)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::CredSsp;
	c->use = CredentialUse::Outbound;
	Identity id;
	id.user = u"alice";
	id.domain = u"LAB";
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
	return test::vector_hex("ms-cssp.json", std::string("binding_hash.keys.") + name + ".SubjectPublicKeyInfo", spki);
}

// An NLASSP_CREDSSP_PARAMS buffer as a caller builds it.
Bytes params(ByteView key_bytes, uint32_t format, uint32_t min_v = 0, uint32_t max_v = 0, uint32_t flags = 0,
             const std::string& targets = "")
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

struct Side {
	ContextPtr ctx;
	Bytes params;
	ContextFlags requested = 0;
	std::u16string target;
	Error error = Error::None;
	bool complete = false;
};

// A message filter between the two sides (the man in the middle); returns the bytes delivered.
using Filter = std::function<Bytes(bool to_server, size_t index, const Bytes& token)>;

struct Pair {
	Side client, server;
	size_t messages = 0;
	Bytes last_server_error_token;
};

bool make_pair(Pair& p, uint32_t client_max, uint32_t server_max, ContextFlags client_req, const char* client_key = "rsa2048",
               const char* server_key = "rsa2048", const CredentialPtr& ccred = client_cred())
{
	Bytes ck, sk;
	CHECK(key(client_key, ck) && key(server_key, sk));
	Error e = Error::Internal;
	p.client.ctx = create_context(Role::Initiator, ccred, make_negotiate, e);
	CHECK(p.client.ctx && e == Error::None);
	p.server.ctx = create_context(Role::Acceptor, server_cred(), make_negotiate, e);
	CHECK(p.server.ctx && e == Error::None);
	p.client.params = params(ck, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, 0, client_max);
	p.server.params = params(sk, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, 0, server_max);
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
	return s.ctx->step(in, out);
}

// Runs the handshake; stops at the first error (recorded in the side's `error`).
void run(Pair& p, const Filter& filter = {})
{
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

bool versions_and_delegation(uint32_t cmax, uint32_t smax, bool delegate)
{
	Pair p;
	CHECK(make_pair(p, cmax, smax, delegate ? ContextFlags{ctx::Delegate} : ContextFlags{0}));
	run(p);
	if (p.client.error != Error::None || p.server.error != Error::None)
		std::fprintf(stderr, "client %u server %u delegate %d: client %s, server %s\n", cmax, smax, delegate,
		             error_name(p.client.error), error_name(p.server.error));
	CHECK(p.client.error == Error::None && p.server.error == Error::None);
	CHECK(p.client.complete && p.server.complete);
	CHECK(p.client.ctx->established() && p.server.ctx->established());
	const uint32_t want = std::min(cmax, smax);
	auto ci = query_info(*p.client.ctx), si = query_info(*p.server.ctx);
	CHECK(ci && si);
	CHECK(ci->version == want && si->version == want);
	CHECK(ci->peer_version == smax && si->peer_version == cmax);
	CHECK(ci->mechanism == PackageId::Ntlm && si->mechanism == PackageId::Ntlm);
	CHECK(ci->delegated == delegate && si->delegated == delegate);
	CHECK(((p.client.ctx->flags() & ctx::Delegate) != 0) == delegate);
	CHECK(p.client.ctx->flags() & ctx::ManualCredValidation);
	CHECK(p.client.ctx->flags() & ctx::MutualAuth);
	DelegatedCredentials d;
	CHECK(query_delegated_credentials(*p.server.ctx, d) == Error::None);
	CHECK(d.cred_type == 1);
	if (delegate) {
		CHECK(!d.empty && d.user == u"alice" && d.domain == u"LAB");
		const Bytes pw = wire::utf16le_bytes(kPassword);
		CHECK(d.password.size() == pw.size() && std::memcmp(d.password.data(), pw.data(), pw.size()) == 0);
	} else {
		CHECK(d.empty && d.user.empty() && d.password.empty());
	}
	CHECK(query_delegated_credentials(*p.client.ctx, d) == Error::Unsupported);
	ContextNames names;
	CHECK(p.server.ctx->names(names) == Error::None && names.user == u"alice");
	return true;
}

bool every_version_pair()
{
	for (uint32_t c = 2; c <= 6; ++c)
		for (uint32_t s = 2; s <= 6; ++s)
			for (bool d : {false, true})
				CHECK(versions_and_delegation(c, s, d));
	return true;
}

// ---- men in the middle ----------------------------------------------------------------------

bool different_keys_caught(uint32_t version)
{
	Pair p;
	CHECK(make_pair(p, version, version, ctx::Delegate, "p256", "rsa2048"));
	run(p);
	CHECK(p.client.error == Error::None);
	CHECK(p.server.error == Error::MessageAltered);
	CHECK(!p.server.ctx->established() && !p.client.complete);
	// The acceptor tells the client why, where the version has an errorCode.
	if (version == 3 || version == 4 || version == 6) {
		TsRequest r;
		CHECK(decode_ts_request(p.last_server_error_token, r) && r.error_code);
		CHECK(*r.error_code == 0xC000006Du);
	}
	return true;
}

// Flips one byte inside a field of the TSRequest at `index`.
Filter tamper(size_t index, bool nonce)
{
	return [index, nonce](bool, size_t i, const Bytes& token) {
		if (i != index)
			return token;
		TsRequest r;
		if (!decode_ts_request(token, r))
			return token;
		if (nonce && r.client_nonce)
			(*r.client_nonce)[5] ^= 0x40;
		else if (!nonce && r.pub_key_auth)
			(*r.pub_key_auth)[r.pub_key_auth->size() - 3] ^= 0x01;
		else
			return token;
		Bytes out;
		return encode_ts_request(r, out) ? out : token;
	};
}

bool tampered_client_pub_key_auth(uint32_t version)
{
	// Message 2 (0-based) is the client's pubKeyAuth with our Negotiate (it completes a round late).
	Pair p;
	CHECK(make_pair(p, version, version, 0));
	run(p, tamper(4, false));
	CHECK(p.client.error == Error::None && p.server.error == Error::MessageAltered);
	return true;
}

bool tampered_server_pub_key_auth(uint32_t version)
{
	Pair p;
	CHECK(make_pair(p, version, version, ctx::Delegate));
	run(p, tamper(5, false));
	CHECK(p.server.error == Error::None);
	CHECK(p.client.error == Error::MessageAltered);
	CHECK(!p.client.complete);
	return true;
}

bool tampered_nonce()
{
	Pair p;
	CHECK(make_pair(p, 6, 6, 0));
	run(p, tamper(4, true));
	CHECK(p.server.error == Error::MessageAltered);
	return true;
}

// ---- a scripted server (FreeRDP's behaviours, and a lying one) --------------------------------

enum class Script { Correct, FreeRdpEchoDefect, WrongEcho, WrongHash, OwnPubKeyAuthBack, ErrorCode, FreeRdpRepeat, ZeroNegoToken, NewNegoToken };

struct ScriptedServer {
	ContextPtr nego;
	Bytes key;      // SubjectPublicKey
	uint32_t version = 6;
	Script script = Script::Correct;
	Bytes nonce;
	Bytes last_nego;
	size_t nego_seen = 0;

	bool init()
	{
		Error e = Error::Internal;
		nego = make_negotiate(Role::Acceptor, server_cred(), e);
		Bytes spki;
		ByteView spk;
		if (!nego || !::key("rsa2048", spki) || !subject_public_key_from_spki(spki, spk))
			return false;
		key.assign(spk.begin(), spk.end());
		return true;
	}

	bool seal(ByteView plain, Bytes& wire_out)
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

	// One reply to the client's TSRequest.
	bool answer(ByteView in, Bytes& out)
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
			if (nego->step(si, so) != Error::None)
				return false;
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
};

bool scripted(Script script, uint32_t version, uint32_t flags, Error want, bool& echo_defect_seen)
{
	ScriptedServer srv;
	CHECK(srv.init());
	srv.version = version;
	srv.script = script;
	Bytes spki;
	CHECK(key("rsa2048", spki));
	Error e = Error::Internal;
	ContextPtr client = create_context(Role::Initiator, client_cred(), make_negotiate, e);
	CHECK(client);
	Side s;
	s.ctx = std::move(client);
	s.params = params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, 0, version, flags);
	s.requested = ctx::Delegate | ctx::MutualAuth;
	s.target = u"TERMSRV/server.lab";
	StepOutput out;
	Error r = step(s, {}, out, true);
	for (int i = 0; i < 6 && r == Error::None && !out.complete; ++i) {
		Bytes reply;
		CHECK(srv.answer(out.token, reply));
		r = step(s, reply, out, false);
	}
	if (r != want)
		std::fprintf(stderr, "script %d version %u: got %s, want %s\n", static_cast<int>(script), version,
		             error_name(r), error_name(want));
	CHECK(r == want);
	if (want != Error::None)
		CHECK(out.token.empty() && !s.ctx->established()); // nothing sent after a failure
	echo_defect_seen = query_info(*s.ctx)->echo_defect_seen;
	return true;
}

bool freerdp_echo_defect()
{
	bool seen = false;
	for (uint32_t v = 2; v <= 4; ++v) {
		CHECK(scripted(Script::FreeRdpEchoDefect, v, 0, Error::MutualAuthFailed, seen));
		CHECK(!seen);
		CHECK(scripted(Script::FreeRdpEchoDefect, v, NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT, Error::None, seen));
		CHECK(seen);
		CHECK(scripted(Script::Correct, v, 0, Error::None, seen));
		CHECK(!seen);
	}
	return true;
}

bool lying_server()
{
	bool seen = false;
	for (uint32_t v = 2; v <= 4; ++v) {
		// Tolerating the FreeRDP defect does not let any other wrong echo through.
		CHECK(scripted(Script::WrongEcho, v, NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT, Error::MutualAuthFailed, seen));
	}
	for (uint32_t v = 5; v <= 6; ++v) {
		CHECK(scripted(Script::WrongHash, v, NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT, Error::MutualAuthFailed, seen));
		CHECK(scripted(Script::Correct, v, 0, Error::None, seen));
	}
	return true;
}

bool refusals()
{
	bool seen = false;
	// Versions 2 and 5: FreeRDP's server sends the client's own pubKeyAuth back.
	CHECK(scripted(Script::OwnPubKeyAuthBack, 2, 0, Error::LogonDenied, seen));
	CHECK(scripted(Script::OwnPubKeyAuthBack, 5, 0, Error::LogonDenied, seen));
	// errorCode STATUS_LOGON_FAILURE -> LogonDenied.
	CHECK(scripted(Script::ErrorCode, 6, 0, Error::LogonDenied, seen));
	// Versions 2 and 5, our client sending pubKeyAuth a round later: an all-zero negoToken.
	CHECK(scripted(Script::ZeroNegoToken, 2, 0, Error::LogonDenied, seen));
	CHECK(scripted(Script::ZeroNegoToken, 5, 0, Error::LogonDenied, seen));
	return true;
}

bool freerdp_repeats_final_token()
{
	bool seen = false;
	CHECK(scripted(Script::FreeRdpRepeat, 6, 0, Error::None, seen));
	CHECK(scripted(Script::FreeRdpRepeat, 3, NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT, Error::None, seen));
	// Any other negoToken after the negotiation completed is refused.
	CHECK(scripted(Script::NewNegoToken, 6, 0, Error::InvalidToken, seen));
	return true;
}

// ---- the acceptor's own refusals ----------------------------------------------------------------

bool wrong_password(uint32_t version)
{
	Pair p;
	CHECK(make_pair(p, version, 6, ctx::Delegate, "rsa2048", "rsa2048", client_cred(u"wrong")));
	run(p);
	CHECK(p.server.error == Error::LogonDenied);
	TsRequest r;
	CHECK(decode_ts_request(p.last_server_error_token, r));
	if (version == 3 || version == 4 || version == 6) {
		CHECK(r.error_code && *r.error_code == 0xC000006Du);
	} else {
		CHECK(!r.error_code);
	}
	// The client reads it as a refused logon.
	StepInput in;
	in.token = p.last_server_error_token;
	StepOutput out;
	CHECK(p.client.ctx->step(in, out) == Error::LogonDenied);
	return true;
}

// ---- framing ------------------------------------------------------------------------------------

bool split_everywhere()
{
	Pair p;
	CHECK(make_pair(p, 6, 6, ctx::Delegate));
	StepOutput co;
	CHECK(step(p.client, {}, co, true) == Error::None);
	// The acceptor's first call, fed a growing prefix of the client's TSRequest.
	const Bytes& t = co.token;
	const size_t header = t[1] < 0x80 ? 2 : 2 + (t[1] & 0x7f);
	for (size_t cut = 0; cut < t.size(); ++cut) {
		StepOutput so;
		const Error e = step(p.server, ByteView(t).first(cut), so, true);
		size_t want = cut == 0 ? 2 : cut == 1 ? 1 : cut < header ? header - cut : t.size() - cut;
		CHECK(e == Error::IncompleteMessage);
		CHECK(so.missing == want);
		CHECK(so.token.empty());
	}
	StepOutput so;
	CHECK(step(p.server, t, so, true) == Error::None && !so.token.empty());
	// Mid-handshake too: the client gets the acceptor's reply in pieces.
	for (size_t cut = 0; cut < so.token.size(); ++cut) {
		StepOutput c2;
		const Error e = step(p.client, ByteView(so.token).first(cut), c2, false);
		CHECK(e == Error::IncompleteMessage && c2.missing > 0);
	}
	StepOutput c2;
	CHECK(step(p.client, so.token, c2, false) == Error::None && !c2.token.empty());
	// A token with bytes after the TSRequest is refused.
	Bytes extra = c2.token;
	extra.push_back(0);
	StepOutput s2;
	CHECK(step(p.server, extra, s2, false) == Error::InvalidToken);
	return true;
}

// ---- statuses the package produces itself -------------------------------------------------------

Error first_call(ContextFlags req, const std::u16string& target, const Bytes& prm, const CredentialPtr& cred)
{
	Error e = Error::Internal;
	ContextPtr c = create_context(Role::Initiator, cred, make_negotiate, e);
	if (!c)
		return e;
	StepInput in;
	in.requested = req;
	in.target = target;
	in.package_params = prm;
	StepOutput out;
	return c->step(in, out);
}

bool policy_statuses()
{
	Bytes spki;
	CHECK(key("rsa2048", spki));
	const Bytes prm = params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO);
	CHECK(first_call(ctx::Delegate, u"TERMSRV/host", prm, client_cred()) == Error::None);
	CHECK(first_call(ctx::Delegate, u"termsrv/HOST.lab", prm, client_cred()) == Error::None);
	CHECK(first_call(ctx::Delegate, u"HTTP/gw.lab", prm, client_cred()) == Error::DelegationPolicy);
	CHECK(first_call(0, u"HTTP/gw.lab", prm, client_cred()) == Error::None); // nothing delegated: no policy
	CHECK(first_call(ctx::Delegate, u"", prm, client_cred()) == Error::TargetUnknown);
	const Bytes gw = params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, 0, 0, 0, "HTTP/*.lab; TERMSRV/a");
	CHECK(first_call(ctx::Delegate, u"HTTP/gw.lab", gw, client_cred()) == Error::None);
	CHECK(first_call(ctx::Delegate, u"TERMSRV/b", gw, client_cred()) == Error::DelegationPolicy);
	// Nothing to delegate.
	auto nopw = std::make_shared<Credential>(*client_cred());
	nopw->identity->has_password = false;
	nopw->identity->password.clear();
	CHECK(first_call(ctx::Delegate, u"TERMSRV/host", prm, nopw) == Error::IncompleteCredentials);
	// Flags we cannot honour.
	CHECK(first_call(ctx::Datagram, u"TERMSRV/host", prm, client_cred()) == Error::Unsupported);
	// Malformed parameters.
	Bytes bad = prm;
	bad[4] = 9; // Version
	CHECK(first_call(0, u"TERMSRV/host", bad, client_cred()) == Error::InvalidParameter);
	const Bytes v9 = params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, 0, 9);
	CHECK(first_call(0, u"TERMSRV/host", v9, client_cred()) == Error::InvalidParameter);
	const Bytes notspki = params(ByteView(spki).subspan(2), NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO);
	CHECK(first_call(0, u"TERMSRV/host", notspki, client_cred()) == Error::InvalidParameter);
	Bytes outside = prm;
	outside[24] = 0xff; // PublicKeyOffset beyond the buffer
	CHECK(first_call(0, u"TERMSRV/host", outside, client_cred()) == Error::InvalidParameter);
	// No credentials at all.
	auto none = std::make_shared<Credential>();
	none->use = CredentialUse::Outbound;
	CHECK(first_call(0, u"TERMSRV/host", prm, none) == Error::NoCredentials);
	return true;
}

bool ntlm_only_policy()
{
	Pair p;
	CHECK(make_pair(p, 6, 6, ctx::Delegate));
	Bytes spki;
	CHECK(key("rsa2048", spki));
	p.client.params = params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, 0, 0, NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION);
	run(p);
	CHECK(p.client.error == Error::PolicyNtlmOnly);
	CHECK(!p.server.complete);
	return true;
}

bool min_version_refuses_downgrade()
{
	Pair p;
	CHECK(make_pair(p, 6, 3, 0));
	Bytes spki;
	CHECK(key("rsa2048", spki));
	p.client.params = params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, 5, 6);
	run(p);
	CHECK(p.client.error == Error::Unsupported);
	return true;
}

bool no_key()
{
	Pair p;
	CHECK(make_pair(p, 6, 6, 0));
	p.client.params.clear();
	run(p);
	CHECK(p.client.error == Error::InvalidParameter);
	return true;
}

bool spk_format_and_reauth()
{
	// The key as SubjectPublicKey on the client, SPKI on the server; then re-authentication.
	Pair p;
	CHECK(make_pair(p, 6, 6, ctx::Delegate));
	Bytes spki;
	CHECK(key("rsa2048", spki));
	ByteView spk;
	CHECK(subject_public_key_from_spki(spki, spk));
	p.client.params = params(spk, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY);
	run(p);
	CHECK(p.client.complete && p.server.complete);
	// Calling again after success starts over (the key is kept).
	p.client.complete = p.server.complete = false;
	StepOutput co;
	CHECK(step(p.client, {}, co, false) == Error::None && !co.complete && !co.token.empty());
	CHECK(!p.client.ctx->established());
	StepOutput so;
	CHECK(step(p.server, co.token, so, false) == Error::None && !so.complete);
	return true;
}

// An inner mechanism that fails where it is told to (the Kerberos-only statuses pass through).
class FailingInner final : public SecurityContext {
public:
	explicit FailingInner(Error e) : e_(e) {}
	Error step(const StepInput&, StepOutput&) override { return e_; }
	[[nodiscard]] bool established() const noexcept override { return false; }
	[[nodiscard]] ContextFlags flags() const noexcept override { return 0; }
	[[nodiscard]] PackageId package() const noexcept override { return PackageId::Kerberos; }
	[[nodiscard]] Sizes sizes() const noexcept override { return {}; }

private:
	Error e_;
};

bool inner_errors_pass_through()
{
	Bytes spki;
	CHECK(key("rsa2048", spki));
	const Bytes prm = params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO);
	for (Error want : {Error::NoAuthority, Error::WrongPrincipal, Error::TargetUnknown, Error::TimeSkew,
	                   Error::NoCredentials, Error::PackageUnavailable}) {
		for (bool at_create : {true, false}) {
			Error e = Error::Internal;
			ContextPtr c = create_context(
			    Role::Initiator, client_cred(),
			    [want, at_create](Role, const CredentialPtr&, Error& err) -> ContextPtr {
				    if (at_create) {
					    err = want;
					    return nullptr;
				    }
				    return std::make_unique<FailingInner>(want);
			    },
			    e);
			CHECK(c);
			StepInput in;
			in.target = u"TERMSRV/host";
			in.package_params = prm;
			StepOutput out;
			CHECK(c->step(in, out) == want);
			CHECK(out.token.empty());
		}
	}
	// A factory that fails without saying why is an internal error.
	Error e = Error::None;
	ContextPtr c = create_context(
	    Role::Initiator, client_cred(), [](Role, const CredentialPtr&, Error&) -> ContextPtr { return nullptr; }, e);
	CHECK(c);
	StepInput in;
	in.package_params = prm;
	StepOutput out;
	CHECK(c->step(in, out) == Error::Internal);
	return true;
}

bool ntstatus_mapping()
{
	CHECK(ntstatus_to_error(0xC000006Du) == Error::LogonDenied);
	CHECK(ntstatus_to_error(0xC00700EAu) == Error::LogonDenied);
	CHECK(ntstatus_to_error(0xC0000071u) == Error::PasswordExpired);
	CHECK(ntstatus_to_error(0xC0000224u) == Error::PasswordExpired);
	CHECK(ntstatus_to_error(0xC0000133u) == Error::TimeSkew);
	CHECK(ntstatus_to_error(0xC000005Eu) == Error::NoAuthority);
	CHECK(ntstatus_to_error(0x12345678u) == Error::LogonDenied);
	for (Error e : {Error::LogonDenied, Error::PasswordExpired, Error::TimeSkew, Error::NoAuthority,
	                Error::DowngradeDetected, Error::MutualAuthFailed})
		CHECK(ntstatus_to_error(error_to_ntstatus(e)) == e);
	CHECK(error_to_ntstatus(Error::MessageAltered) == 0xC000006Du);
	return true;
}

// A FreeRDP server whose SspiModule is nlassp answers a failed AcceptSecurityContext with
// NTSTATUS_FROM_WIN32(GetLastError()) (nla.c), GetLastError() being sspi::to_win32_error of the
// failure: every such code has a name, and a wrong password reads as a refused logon.
bool freerdp_server_codes_are_named()
{
	CHECK(ntstatus_to_error(0xC007052Eu) == Error::LogonDenied);
	CHECK(std::string(ntstatus_name(0xC007052Eu)) == "FreeRDP server: ERROR_LOGON_FAILURE");
	const std::string unnamed = ntstatus_name(0x12345678u);
	for (uint32_t i = 1; i <= static_cast<uint32_t>(Error::NotEstablished); ++i) {
		const uint32_t win32 = sspi::to_win32_error(static_cast<Error>(i));
		if (win32 == ERROR_PASSWORD_EXPIRED)
			continue;   // nla.c sends STATUS_PASSWORD_EXPIRED for this one
		const uint32_t status = 0xC0070000u | (win32 & 0xFFFFu);
		if (ntstatus_name(status) == unnamed) {
			std::fprintf(stderr, "Error %u: 0x%08X has no name\n", i, status);
			return false;
		}
	}
	CHECK(ntstatus_to_error(0xC0070576u) == Error::TimeSkew);
	CHECK(ntstatus_to_error(0xC007051Fu) == Error::NoAuthority);
	return true;
}

} // namespace

static void test_every_version_pair_with_and_without_delegation(void**) { assert_true(every_version_pair()); }
static void test_man_in_the_middle_caught_v2(void**) { assert_true(different_keys_caught(2)); }
static void test_man_in_the_middle_caught_v4(void**) { assert_true(different_keys_caught(4)); }
static void test_man_in_the_middle_caught_v5(void**) { assert_true(different_keys_caught(5)); }
static void test_man_in_the_middle_caught_v6(void**) { assert_true(different_keys_caught(6)); }
static void test_tampered_client_pub_key_auth(void**)
{
	assert_true(tampered_client_pub_key_auth(3));
	assert_true(tampered_client_pub_key_auth(6));
}
static void test_tampered_server_pub_key_auth(void**)
{
	assert_true(tampered_server_pub_key_auth(3));
	assert_true(tampered_server_pub_key_auth(6));
}
static void test_tampered_client_nonce(void**) { assert_true(tampered_nonce()); }
static void test_freerdp_echo_defect_strict_and_tolerated(void**) { assert_true(freerdp_echo_defect()); }
static void test_wrong_echo_or_hash_is_a_man_in_the_middle(void**) { assert_true(lying_server()); }
static void test_refusals_without_and_with_error_code(void**) { assert_true(refusals()); }
static void test_freerdp_repeated_final_nego_token(void**) { assert_true(freerdp_repeats_final_token()); }
static void test_wrong_password_error_code_per_version(void**)
{
	for (uint32_t v = 2; v <= 6; ++v)
		assert_true(wrong_password(v));
}
static void test_split_ts_request_incomplete_until_whole(void**) { assert_true(split_everywhere()); }
static void test_policy_and_parameter_statuses(void**) { assert_true(policy_statuses()); }
static void test_ntlm_only_delegation_policy(void**) { assert_true(ntlm_only_policy()); }
static void test_min_version_refuses_downgrade(void**) { assert_true(min_version_refuses_downgrade()); }
static void test_no_key_is_invalid_parameter(void**) { assert_true(no_key()); }
static void test_subject_public_key_format_and_reauthentication(void**) { assert_true(spk_format_and_reauth()); }
static void test_ntstatus_mapping(void**) { assert_true(ntstatus_mapping()); }
static void test_freerdp_server_codes_are_named(void**) { assert_true(freerdp_server_codes_are_named()); }
static void test_inner_errors_pass_through(void**) { assert_true(inner_errors_pass_through()); }

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_version_pair_with_and_without_delegation),
		cmocka_unit_test(test_man_in_the_middle_caught_v2),
		cmocka_unit_test(test_man_in_the_middle_caught_v4),
		cmocka_unit_test(test_man_in_the_middle_caught_v5),
		cmocka_unit_test(test_man_in_the_middle_caught_v6),
		cmocka_unit_test(test_tampered_client_pub_key_auth),
		cmocka_unit_test(test_tampered_server_pub_key_auth),
		cmocka_unit_test(test_tampered_client_nonce),
		cmocka_unit_test(test_freerdp_echo_defect_strict_and_tolerated),
		cmocka_unit_test(test_wrong_echo_or_hash_is_a_man_in_the_middle),
		cmocka_unit_test(test_refusals_without_and_with_error_code),
		cmocka_unit_test(test_freerdp_repeated_final_nego_token),
		cmocka_unit_test(test_wrong_password_error_code_per_version),
		cmocka_unit_test(test_split_ts_request_incomplete_until_whole),
		cmocka_unit_test(test_policy_and_parameter_statuses),
		cmocka_unit_test(test_ntlm_only_delegation_policy),
		cmocka_unit_test(test_min_version_refuses_downgrade),
		cmocka_unit_test(test_no_key_is_invalid_parameter),
		cmocka_unit_test(test_subject_public_key_format_and_reauthentication),
		cmocka_unit_test(test_ntstatus_mapping),
		cmocka_unit_test(test_freerdp_server_codes_are_named),
		cmocka_unit_test(test_inner_errors_pass_through),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
