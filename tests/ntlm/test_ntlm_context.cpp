// plugin/ntlm/context: an NTLM initiator and acceptor talking in process through the
// SecurityContext interface — logons that succeed and fail for the right reason, message
// protection both ways with replay and tamper detection, SPNEGO's mechListMIC and RC4 reset,
// and an acceptor fed broken AUTHENTICATE messages.
//
// Test bodies only call helpers and assert (CMocka longjmps past C++ destructors).
#include "crypto/crypto.h"
#include "ntlm/context.h"
#include "ntlm/crypto.h"
#include "ntlm/messages.h"
#include "ntlm/ntlm.h"
#include "wire/utf16.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>

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
using namespace nlassp::ntlm;

namespace {

constexpr int kOk = static_cast<int>(Error::None);
int code(Error e) { return static_cast<int>(e); }

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

// Runs NEGOTIATE -> CHALLENGE -> AUTHENTICATE; returns the acceptor's last result (or the
// initiator's if it failed first).
Error handshake(Pair& p, const Options& o = {})
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

bool logon_succeeds()
{
	Pair p;
	if (handshake(p) != Error::None || !p.client_complete || !p.server_complete)
		return false;
	if (!p.client->established() || !p.server->established() || p.client->package() != PackageId::Ntlm)
		return false;
	// NEGOTIATE flags as WinPR/Windows send them, with SEAL for confidentiality.
	NegotiateMessage nm;
	if (!nm.decode(p.negotiate) || nm.flags != initiator_negotiate_flags(true) || !(nm.flags & flag::Seal))
		return false;
	AuthenticateMessage am;
	if (!am.decode(p.authenticate) || !am.has_mic || !am.ntlmv2 || am.lm_response != Bytes(24, 0))
		return false;
	// The target info carries the MIC flag, zero channel bindings and the SPN.
	uint32_t avf = 0;
	const AvPair* cb = am.ntlmv2->av_pairs.find(AvId::ChannelBindings);
	const AvPair* tn = am.ntlmv2->av_pairs.find(AvId::TargetName);
	if (!am.ntlmv2->av_pairs.flags(avf) || avf != kAvFlagMicPresent || !cb || cb->value != Bytes(16, 0) || !tn ||
	    tn->value != wire::utf16le_bytes(u"TERMSRV/server.lab.test"))
		return false;
	ContextNames cn, sn;
	if (p.server->names(sn) != Error::None || sn.user != u"alice" || sn.domain != u"LAB" || sn.workstation != u"WS1")
		return false;
	if (p.client->names(cn) != Error::None || cn.user != u"alice" || cn.domain != u"LAB")
		return false;
	SecretBytes k1, k2;
	if (p.client->session_key(k1) != Error::None || p.server->session_key(k2) != Error::None || k1.size() != 16 ||
	    !constant_time_equal(k1.view(), k2.view()))
		return false;
	const ContextFlags want = ctx::Integrity | ctx::Confidentiality | ctx::SequenceDetect | ctx::ReplayDetect |
	                          ctx::Connection;
	if (p.client->flags() != want || p.server->flags() != want)
		return false;
	const Sizes s = p.client->sizes();
	if (s.max_token != 2888 || s.max_signature != 16 || s.block_size != 0 || s.security_trailer != 16)
		return false;
	// What a WinPR hash callback would get as its proof value: ServerChallenge || temp.
	ChallengeMessage cm;
	if (!cm.decode(p.challenge))
		return false;
	Bytes proof_input(cm.server_challenge.begin(), cm.server_challenge.end());
	proof_input.insert(proof_input.end(), am.nt_response.begin() + 16, am.nt_response.end());
	if (p.store->last_proof_input != proof_input)
		return false;
	// Both sides say the mechListMIC is required, and a further token is refused.
	StepInput again;
	again.token = p.authenticate;
	StepOutput out;
	return p.client->negotiation_mic_required() && p.server->negotiation_mic_required() &&
	       p.server->step(again, out) == Error::InvalidToken;
}

bool challenge_is_sane()
{
	Pair p;
	if (handshake(p) != Error::None)
		return false;
	ChallengeMessage cm;
	if (!cm.decode(p.challenge))
		return false;
	const uint32_t need = flag::Unicode | flag::Ntlm | flag::TargetInfo | flag::ExtendedSessionSecurity |
	                      flag::Seal | flag::Sign | flag::KeyExch | flag::Negotiate128 | flag::Version;
	uint64_t ts = 0;
	return (cm.flags & need) == need && !(cm.flags & flag::LmKey) && cm.target_info.timestamp(ts) &&
	       cm.target_info.find(AvId::NbComputerName) && cm.target_info.find(AvId::NbDomainName) &&
	       cm.target_info.find(AvId::DnsComputerName) && cm.target_info.find(AvId::DnsDomainName) &&
	       !cm.target_name.empty() && cm.version.has_value();
}

int logon_with(const Options& o)
{
	Pair p;
	return code(handshake(p, o));
}

ChannelBindings bindings(uint8_t fill)
{
	ChannelBindings cb;
	cb.application_data.assign(32, fill);
	const char prefix[] = "tls-server-end-point:";
	cb.application_data.insert(cb.application_data.begin(), prefix, prefix + sizeof(prefix) - 1);
	return cb;
}

int logon_with_bindings(int client, int server)
{
	const ChannelBindings a = bindings(0x11), b = bindings(0x22);
	Options o;
	o.client_bindings = client == 0 ? nullptr : (client == 1 ? &a : &b);
	o.server_bindings = server == 0 ? nullptr : (server == 1 ? &a : &b);
	return logon_with(o);
}

int logon_wrong_password()
{
	Options o;
	o.password = u"wrong";
	return logon_with(o);
}

int logon_unknown_user()
{
	Options o;
	o.user = u"mallory";
	return logon_with(o);
}

int logon_split_user(const char16_t* user)
{
	Options o;
	o.user = user;
	o.domain.clear();
	Pair p;
	const Error e = handshake(p, o);
	if (e != Error::None)
		return code(e);
	ContextNames n;
	if (p.server->names(n) != Error::None || n.user != u"alice" || n.domain != u"LAB")
		return -1;
	return kOk;
}

int logon_tampered(size_t offset)
{
	Options o;
	o.tamper_authenticate = [offset](Bytes& b) {
		if (offset < b.size())
			b[offset] ^= 0x01;
	};
	return logon_with(o);
}

int authenticate_first()
{
	// An acceptor that gets AUTHENTICATE (from another exchange) as its first token.
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	Pair q;
	if (!make_pair(q, Options{}))
		return -1;
	StepInput in;
	in.token = p.authenticate;
	StepOutput out;
	return code(q.server->step(in, out));
}

int challenge_to_acceptor_first()
{
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	Pair q;
	if (!make_pair(q, Options{}))
		return -1;
	StepInput in;
	in.token = p.challenge;
	StepOutput out;
	return code(q.server->step(in, out));
}

int negotiate_to_initiator()
{
	// An initiator that gets a NEGOTIATE where the CHALLENGE belongs.
	Pair p;
	if (!make_pair(p, Options{}))
		return -1;
	StepInput in;
	StepOutput out;
	if (p.client->step(in, out) != Error::None)
		return -1;
	StepInput in2;
	in2.token = out.token;
	StepOutput out2;
	return code(p.client->step(in2, out2));
}

int negotiate_twice_to_acceptor()
{
	Pair p;
	if (!make_pair(p, Options{}))
		return -1;
	StepInput in;
	StepOutput out;
	if (p.client->step(in, out) != Error::None)
		return -1;
	StepInput s;
	s.token = out.token;
	StepOutput so;
	if (p.server->step(s, so) != Error::None)
		return -1;
	return code(p.server->step(s, so));
}

int no_credentials(Role role)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Ntlm;
	c->use = role == Role::Initiator ? CredentialUse::Outbound : CredentialUse::Inbound;
	Error e = Error::None;
	ContextPtr ctx = create_context(role, c, e);
	if (ctx)
		return -1;
	// An identity without a password is not enough for an initiator either.
	if (role == Role::Initiator) {
		Identity id;
		id.user = u"alice";
		c->identity = id;
		Error e2 = Error::None;
		if (create_context(role, c, e2) || e2 != Error::NoCredentials)
			return -1;
	}
	return code(e);
}

int failed_context_stays_failed()
{
	Options o;
	o.password = u"wrong";
	Pair p;
	if (handshake(p, o) != Error::LogonDenied)
		return -1;
	Bytes tok;
	SecretBytes key;
	ContextNames n;
	if (p.server->session_key(key) != Error::NotEstablished || p.server->names(n) != Error::NotEstablished)
		return -1;
	const Bytes data = {1, 2, 3};
	Bytes copy = data;
	const MessageBuffer b{MessageBufferKind::Data, MutableByteView(copy)};
	return code(p.server->sign(std::span<const MessageBuffer>(&b, 1), tok));
}

// ---- message protection ------------------------------------------------------------------------

Error seal(SecurityContext& from, Bytes& data, Bytes& token)
{
	MessageBuffer b{MessageBufferKind::Data, MutableByteView(data)};
	return from.encrypt(std::span<MessageBuffer>(&b, 1), token);
}

Error unseal(SecurityContext& to, Bytes& data, ByteView token)
{
	MessageBuffer b{MessageBufferKind::Data, MutableByteView(data)};
	return to.decrypt(std::span<MessageBuffer>(&b, 1), token);
}

Error sign_msg(SecurityContext& from, Bytes& data, Bytes& token)
{
	const MessageBuffer b{MessageBufferKind::Data, MutableByteView(data)};
	return from.sign(std::span<const MessageBuffer>(&b, 1), token);
}

Error verify_msg(SecurityContext& to, Bytes& data, ByteView token)
{
	const MessageBuffer b{MessageBufferKind::Data, MutableByteView(data)};
	return to.verify(std::span<const MessageBuffer>(&b, 1), token);
}

bool seal_roundtrip(SecurityContext& a, SecurityContext& b, uint32_t expected_seq)
{
	const Bytes plain = {'C', 'r', 'e', 'd', 'S', 'S', 'P', ' ', 'p', 'u', 'b', 'K', 'e', 'y'};
	Bytes data = plain, token;
	if (seal(a, data, token) != Error::None || token.size() != 16 || data == plain)
		return false;
	// Version 1, sequence number in clear at the end.
	if (token[0] != 1 || token[1] != 0 || token[12] != static_cast<uint8_t>(expected_seq))
		return false;
	return unseal(b, data, token) == Error::None && data == plain;
}

bool sign_roundtrip(SecurityContext& a, SecurityContext& b)
{
	Bytes data = {'h', 'e', 'l', 'l', 'o'};
	const Bytes orig = data;
	Bytes token;
	return sign_msg(a, data, token) == Error::None && data == orig && token.size() == 16 &&
	       verify_msg(b, data, token) == Error::None;
}

bool protection_both_ways()
{
	Pair p;
	if (handshake(p) != Error::None)
		return false;
	for (uint32_t i = 0; i < 3; ++i) {
		if (!seal_roundtrip(*p.client, *p.server, i) || !seal_roundtrip(*p.server, *p.client, i))
			return false;
	}
	for (int i = 0; i < 3; ++i)
		if (!sign_roundtrip(*p.client, *p.server) || !sign_roundtrip(*p.server, *p.client))
			return false;
	// Several buffers: a sign-only header stays clear, data is sealed, and both are covered.
	Bytes header = {'h', 'd', 'r'}, body = {'b', 'o', 'd', 'y'};
	const Bytes h0 = header, b0 = body;
	MessageBuffer bufs[] = {{MessageBufferKind::SignOnly, MutableByteView(header)},
	                        {MessageBufferKind::Data, MutableByteView(body)}};
	Bytes token;
	if (p.client->encrypt(bufs, token) != Error::None || header != h0 || body == b0)
		return false;
	if (p.server->decrypt(bufs, token) != Error::None || header != h0 || body != b0)
		return false;
	return true;
}

int replayed_message()
{
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	const Bytes plain = {1, 2, 3, 4, 5};
	Bytes data = plain, token;
	if (seal(*p.client, data, token) != Error::None)
		return -1;
	const Bytes sealed = data;
	if (unseal(*p.server, data, token) != Error::None || data != plain)
		return -1;
	data = sealed;
	return code(unseal(*p.server, data, token));
}

int reordered_message()
{
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	Bytes d1 = {1}, t1, d2 = {2}, t2;
	if (sign_msg(*p.client, d1, t1) != Error::None || sign_msg(*p.client, d2, t2) != Error::None)
		return -1;
	return code(verify_msg(*p.server, d2, t2));
}

int flipped(int where)
{
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	Bytes data = {'s', 'e', 'c', 'r', 'e', 't'}, token;
	if (seal(*p.client, data, token) != Error::None)
		return -1;
	if (where == 0)
		data[2] ^= 0x40;            // ciphertext
	else if (where == 1)
		token[6] ^= 0x01;           // checksum
	else if (where == 2)
		token[0] = 2;               // version
	else if (where == 3)
		token.resize(15);           // too short
	else if (where == 4)
		token.push_back(0);         // too long
	return code(unseal(*p.server, data, token));
}

int flipped_sign_only()
{
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	Bytes header = {'h', 'd', 'r'}, body = {'b'};
	MessageBuffer bufs[] = {{MessageBufferKind::SignOnly, MutableByteView(header)},
	                        {MessageBufferKind::Data, MutableByteView(body)}};
	Bytes token;
	if (p.client->encrypt(bufs, token) != Error::None)
		return -1;
	header[0] ^= 1;
	return code(p.server->decrypt(bufs, token));
}

int protection_before_established()
{
	Pair p;
	if (!make_pair(p, Options{}))
		return -1;
	Bytes data = {1}, token;
	const Error a = seal(*p.client, data, token);
	const Error b = verify_msg(*p.server, data, Bytes(16, 0));
	return a == Error::NotEstablished && b == Error::NotEstablished ? kOk : -1;
}

int encrypt_without_confidentiality()
{
	Options o;
	o.requested = ctx::Integrity;
	Pair p;
	if (handshake(p, o) != Error::None)
		return -1;
	if (p.client->flags() & ctx::Confidentiality)
		return -1;
	// Signing works; sealing was not negotiated.
	if (!sign_roundtrip(*p.client, *p.server))
		return -1;
	Bytes data = {1}, token;
	return code(seal(*p.client, data, token));
}

// ---- SPNEGO mechListMIC -----------------------------------------------------------------------

bool negotiation_mic_and_reset()
{
	Pair p;
	if (handshake(p) != Error::None)
		return false;
	// mechTypes { NTLMSSP } as SPNEGO signs it.
	const Bytes mech_types = {0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
	Bytes cmic, smic;
	if (p.client->make_negotiation_mic(mech_types, cmic) != Error::None || cmic.size() != 16 || cmic[12] != 0)
		return false;
	if (p.server->verify_negotiation_mic(mech_types, cmic) != Error::None)
		return false;
	if (p.server->make_negotiation_mic(mech_types, smic) != Error::None || smic[12] != 0)
		return false;
	Bytes wrong = mech_types;
	wrong.back() ^= 1;
	Pair q;
	if (p.client->verify_negotiation_mic(mech_types, smic) != Error::None)
		return false;
	p.client->negotiation_mic_complete();
	p.server->negotiation_mic_complete();
	// CredSSP's next message carries sequence number 1 on fresh RC4 handles.
	return seal_roundtrip(*p.client, *p.server, 1) && seal_roundtrip(*p.server, *p.client, 1);
}

int negotiation_mic_without_reset_on_one_side()
{
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	const Bytes mech_types = {0x30, 0x00};
	Bytes cmic;
	if (p.client->make_negotiation_mic(mech_types, cmic) != Error::None ||
	    p.server->verify_negotiation_mic(mech_types, cmic) != Error::None)
		return -1;
	p.client->negotiation_mic_complete();   // the server "forgets" to reset
	Bytes data = {1, 2, 3}, token;
	if (seal(*p.client, data, token) != Error::None)
		return -1;
	return code(unseal(*p.server, data, token));
}

int negotiation_mic_altered()
{
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	const Bytes mech_types = {0x30, 0x00};
	Bytes cmic;
	if (p.client->make_negotiation_mic(mech_types, cmic) != Error::None)
		return -1;
	const Bytes other = {0x30, 0x01, 0x00};
	return code(p.server->verify_negotiation_mic(other, cmic));
}

// ---- hand-built clients -----------------------------------------------------------------------

struct Manual {
	int64_t clock_offset_seconds = 0;
	bool ntlmv1 = false;
	bool anonymous = false;
	bool key_exch = true;
};

// A client written with the message and crypto layers directly: no MIC, own timestamp.
int manual_logon(const Manual& m)
{
	Pair p;
	if (!make_pair(p, Options{}))
		return -1;
	NegotiateMessage nm;
	nm.flags = initiator_negotiate_flags(true);
	nm.version = Version{};
	StepInput s1;
	const Bytes neg = nm.encode();
	s1.token = neg;
	StepOutput o1;
	if (p.server->step(s1, o1) != Error::None)
		return -1;
	ChallengeMessage cm;
	if (!cm.decode(o1.token))
		return -1;

	AuthenticateMessage am;
	am.flags = (cm.flags & ~flag::KeyExch) | (m.key_exch ? flag::KeyExch : 0u);
	am.version = Version{};
	am.user = wire::utf16le_bytes(m.anonymous ? u"" : u"alice");
	am.domain = wire::utf16le_bytes(u"LAB");
	if (m.ntlmv1) {
		am.nt_response.assign(24, 0x5a);
		am.lm_response.assign(24, 0x5b);
	} else if (!m.anonymous) {
		SecretBytes key;
		if (ntowf_v2(wire::utf16le_bytes(u"Passw0rd!"), u"alice", u"LAB", key) != Error::None)
			return -1;
		const uint64_t ts = filetime_now() + static_cast<uint64_t>(m.clock_offset_seconds * 10000000);
		const uint8_t cc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
		const Bytes temp = ntlmv2_temp(ts, cc, cm.target_info.encode());
		std::array<uint8_t, 16> proof{};
		SecretBytes base;
		if (nt_proof_str(key.view(), cm.server_challenge, temp, proof) != Error::None ||
		    session_base_key_v2(key.view(), proof, base) != Error::None)
			return -1;
		am.nt_response = nt_challenge_response(proof, temp);
		if (m.key_exch) {
			const Bytes session(16, 0x77);
			SecretBytes esk;
			if (rc4k(base.view(), session, esk) != Error::None)
				return -1;
			am.encrypted_random_session_key.assign(esk.view().begin(), esk.view().end());
		}
	}
	if (m.key_exch && am.encrypted_random_session_key.empty())
		am.encrypted_random_session_key.assign(16, 0);
	const Bytes auth = am.encode();
	StepInput s2;
	s2.token = auth;
	StepOutput o2;
	const Error e = p.server->step(s2, o2);
	if (e == Error::None) {
		// Without a MIC, SPNEGO need not insist on a mechListMIC.
		if (p.server->negotiation_mic_required())
			return -1;
		// Signing works with the keys the client derived.
		SecretBytes k;
		if (p.server->session_key(k) != Error::None || k.size() != 16)
			return -1;
	}
	return code(e);
}

// ---- broken AUTHENTICATE messages at the acceptor -----------------------------------------------

// Every prefix of a real AUTHENTICATE and every single-byte change must fail, never crash.
bool broken_authenticate_everywhere()
{
	Pair ref;
	if (handshake(ref) != Error::None)
		return false;
	const size_t n = ref.authenticate.size();
	for (size_t len = 0; len < n; len += 1) {
		Options o;
		o.tamper_authenticate = [len](Bytes& b) { b.resize(len); };
		Pair p;
		const Error e = handshake(p, o);
		if (e != Error::InvalidToken) {
			std::fprintf(stderr, "AUTHENTICATE truncated to %zu: %s\n", len, error_name(e));
			return false;
		}
	}
	for (size_t i = 0; i < n; ++i) {
		Options o;
		o.tamper_authenticate = [i](Bytes& b) { b[i] ^= 0x20; };
		Pair p;
		const Error e = handshake(p, o);
		if (e == Error::None) {
			std::fprintf(stderr, "AUTHENTICATE with byte %zu flipped was accepted\n", i);
			return false;
		}
	}
	// Extended with trailing bytes: the MIC covers what was sent, so the logon fails.
	Options o;
	o.tamper_authenticate = [](Bytes& b) { b.push_back(0); };
	Pair p;
	return handshake(p, o) == Error::MessageAltered;
}

bool broken_challenge_at_initiator()
{
	Pair ref;
	if (handshake(ref) != Error::None)
		return false;
	for (size_t len = 0; len < ref.challenge.size(); ++len) {
		Pair p;
		if (!make_pair(p, Options{}))
			return false;
		StepInput a;
		a.requested = ctx::Confidentiality;
		StepOutput ao;
		if (p.client->step(a, ao) != Error::None)
			return false;
		StepInput b;
		const ByteView cut = ByteView(ref.challenge).first(len);
		b.token = cut;
		StepOutput bo;
		if (p.client->step(b, bo) != Error::InvalidToken)
			return false;
	}
	// A CHALLENGE without target info (an LM/NTLMv1-only server) is refused.
	ChallengeMessage cm;
	if (!cm.decode(ref.challenge))
		return false;
	cm.flags &= ~flag::TargetInfo;
	const Bytes v1 = cm.encode();
	ChallengeMessage cm2;
	if (!cm2.decode(ref.challenge))
		return false;
	cm2.flags &= ~flag::Ntlm;
	const Bytes no_ntlm = cm2.encode();
	for (const Bytes* tok : {&v1, &no_ntlm}) {
		Pair p;
		if (!make_pair(p, Options{}))
			return false;
		StepInput a;
		StepOutput ao;
		if (p.client->step(a, ao) != Error::None)
			return false;
		StepInput b;
		b.token = *tok;
		StepOutput bo;
		if (p.client->step(b, bo) != Error::InvalidToken)
			return false;
	}
	return true;
}

// ---- the initiator against CHALLENGE variants ---------------------------------------------------

// Feeds an initiator our acceptor's CHALLENGE changed by `edit`; returns the initiator's result
// and its AUTHENTICATE.
Error initiator_with_edited_challenge(const std::function<void(ChallengeMessage&)>& edit, AuthenticateMessage& am)
{
	Pair ref;
	if (handshake(ref) != Error::None)
		return Error::Internal;
	ChallengeMessage cm;
	if (!cm.decode(ref.challenge))
		return Error::Internal;
	edit(cm);
	const Bytes chal = cm.encode();
	Pair p;
	if (!make_pair(p, Options{}))
		return Error::Internal;
	StepInput a;
	a.requested = ctx::Confidentiality;
	StepOutput ao;
	if (p.client->step(a, ao) != Error::None)
		return Error::Internal;
	StepInput b;
	b.token = chal;
	StepOutput bo;
	const Error e = p.client->step(b, bo);
	if (e == Error::None && !am.decode(bo.token))
		return Error::Internal;
	return e;
}

bool challenge_without_timestamp()
{
	AuthenticateMessage am;
	if (initiator_with_edited_challenge([](ChallengeMessage& c) { c.target_info.remove(AvId::Timestamp); }, am) !=
	    Error::None)
		return false;
	// LMv2 (HMAC || client challenge) instead of Z(24), and our own clock in the blob.
	if (!am.ntlmv2 || am.lm_response.size() != 24 || am.lm_response == Bytes(24, 0) ||
	    !std::equal(am.ntlmv2->client_challenge.begin(), am.ntlmv2->client_challenge.end(), am.lm_response.begin() + 16))
		return false;
	const uint64_t now = filetime_now();
	const uint64_t ts = am.ntlmv2->timestamp;
	return ts <= now && now - ts < 60ULL * 10000000ULL;
}

bool challenge_without_key_exchange()
{
	AuthenticateMessage am;
	return initiator_with_edited_challenge([](ChallengeMessage& c) { c.flags &= ~flag::KeyExch; }, am) ==
	           Error::None &&
	       !(am.flags & flag::KeyExch) && am.encrypted_random_session_key.empty() && am.has_mic;
}

int challenge_without_seal()
{
	AuthenticateMessage am;
	return code(initiator_with_edited_challenge([](ChallengeMessage& c) { c.flags &= ~flag::Seal; }, am));
}

int challenge_without_unicode()
{
	AuthenticateMessage am;
	return code(initiator_with_edited_challenge([](ChallengeMessage& c) { c.flags &= ~flag::Unicode; }, am));
}

// ---- SAM file store ---------------------------------------------------------------------------

struct TempFile {
	std::string path;
	explicit TempFile(const std::string& content)
	{
		char tmpl[] = "/tmp/nlassp-sam-XXXXXX";
		const int fd = mkstemp(tmpl);
		if (fd >= 0) {
			path = tmpl;
			const ssize_t w = write(fd, content.data(), content.size());
			(void)w;
			close(fd);
		}
	}
	~TempFile()
	{
		if (!path.empty())
			unlink(path.c_str());
	}
};

std::string hex_nt_hash(std::u16string_view password)
{
	SecretBytes h;
	if (ntowf_v1(wire::utf16le_bytes(password), h) != Error::None)
		return {};
	return to_hex(h.view());
}

int sam_lookup(const std::string& file, std::u16string user, std::u16string domain, std::string& hash_hex)
{
	TempFile f(file);
	auto store = make_sam_file_store(f.path);
	NtlmLookup who;
	who.user = std::move(user);
	who.domain = std::move(domain);
	NtlmAccount a;
	const Error e = store->lookup(who, a);
	hash_hex = e == Error::None ? to_hex(a.key.view()) : std::string();
	return code(e);
}

bool sam_store_cases()
{
	const std::string alice = hex_nt_hash(u"Passw0rd!"), bob = hex_nt_hash(u"bobpw"), carol = hex_nt_hash(u"c");
	const std::string file = "# comment line\n"
	                         "\n"
	                         "broken line without colons\n"
	                         "bad:LAB:xyz:" + alice + ":::\n"            // LM hash of the wrong length
	                         "badhex:LAB::" + std::string(32, 'z') + ":::\n"
	                         "alice:LAB::" + alice + ":::\r\n"
	                         "Bob:::" + bob + ":::\n"
	                         "carol:OTHER:" + std::string(32, '0') + ":" + carol + ":::\n" +
	                         "long:LAB::" + alice + ":::" + std::string(5000, 'x') + "\n";
	std::string h;
	if (sam_lookup(file, u"alice", u"LAB", h) != kOk || h != alice)
		return false;
	if (sam_lookup(file, u"ALICE", u"lab", h) != kOk || h != alice)   // case-insensitive
		return false;
	if (sam_lookup(file, u"bob", u"", h) != kOk || h != bob)
		return false;
	if (sam_lookup(file, u"bob", u"ANYDOMAIN", h) != kOk || h != bob)   // empty-domain line as fallback
		return false;
	if (sam_lookup(file, u"carol", u"OTHER", h) != kOk || h != carol)
		return false;
	if (sam_lookup(file, u"carol", u"LAB", h) != code(Error::LogonDenied))
		return false;
	if (sam_lookup(file, u"alice", u"", h) != code(Error::LogonDenied))   // LAB line needs LAB
		return false;
	if (sam_lookup(file, u"bad", u"LAB", h) != code(Error::LogonDenied) ||
	    sam_lookup(file, u"badhex", u"LAB", h) != code(Error::LogonDenied) ||
	    sam_lookup(file, u"long", u"LAB", h) != code(Error::LogonDenied) ||
	    sam_lookup(file, u"nobody", u"LAB", h) != code(Error::LogonDenied))
		return false;
	// An unreadable file.
	auto store = make_sam_file_store("/nonexistent/nlassp/SAM");
	NtlmLookup who;
	who.user = u"alice";
	NtlmAccount a;
	return store->lookup(who, a) == Error::NoCredentials;
}

// A store that hands out NTOWFv2 itself, as WinPR hash callbacks do.
class NtowfV2Store final : public NtlmUserStore {
public:
	[[nodiscard]] HashKind hash_kind() const noexcept override { return HashKind::NtowfV2; }
	Error lookup(const NtlmLookup& who, NtlmAccount& out) const override
	{
		if (who.proof_input.size() <= 8 || who.mic_input.empty() || who.nt_proof.size() != 16)
			return Error::Internal;
		out.user = who.user;
		out.domain = who.domain;
		return ntowf_v2(wire::utf16le_bytes(u"Passw0rd!"), who.user, who.domain, out.key);
	}
};

int logon_with_ntowf_v2_store(std::u16string password)
{
	Options o;
	o.password = std::move(password);
	o.store = std::make_shared<NtowfV2Store>();
	return logon_with(o);
}

int logon_with_sam_file(std::u16string password)
{
	TempFile f("alice:LAB::" + hex_nt_hash(u"Passw0rd!") + ":::\n");
	Options o;
	o.password = std::move(password);
	o.store = make_sam_file_store(f.path);
	return logon_with(o);
}

} // namespace

static void test_logon_succeeds(void**) { assert_true(logon_succeeds()); }
static void test_challenge_offers_ntlmv2_session_security(void**) { assert_true(challenge_is_sane()); }
static void test_channel_bindings_match(void**) { assert_int_equal(logon_with_bindings(1, 1), kOk); }
static void test_channel_bindings_client_only(void**) { assert_int_equal(logon_with_bindings(1, 0), kOk); }
static void test_channel_bindings_missing(void**) { assert_int_equal(logon_with_bindings(0, 1), code(Error::BadBindings)); }
static void test_channel_bindings_mismatch(void**) { assert_int_equal(logon_with_bindings(2, 1), code(Error::BadBindings)); }
static void test_wrong_password_is_logon_denied(void**) { assert_int_equal(logon_wrong_password(), code(Error::LogonDenied)); }
static void test_unknown_user_is_logon_denied(void**) { assert_int_equal(logon_unknown_user(), code(Error::LogonDenied)); }
static void test_domain_backslash_user_is_split(void**) { assert_int_equal(logon_split_user(u"LAB\\alice"), kOk); }
static void test_user_at_domain_is_split(void**) { assert_int_equal(logon_split_user(u"alice@LAB"), kOk); }
static void test_tampered_mic_is_message_altered(void**) { assert_int_equal(logon_tampered(72 + 5), code(Error::MessageAltered)); }
static void test_tampered_version_is_message_altered(void**) { assert_int_equal(logon_tampered(66), code(Error::MessageAltered)); }
static void test_authenticate_first_is_invalid_token(void**) { assert_int_equal(authenticate_first(), code(Error::InvalidToken)); }
static void test_challenge_to_acceptor_is_invalid_token(void**) { assert_int_equal(challenge_to_acceptor_first(), code(Error::InvalidToken)); }
static void test_negotiate_to_initiator_is_invalid_token(void**) { assert_int_equal(negotiate_to_initiator(), code(Error::InvalidToken)); }
static void test_negotiate_twice_is_invalid_token(void**) { assert_int_equal(negotiate_twice_to_acceptor(), code(Error::InvalidToken)); }
static void test_initiator_without_password(void**) { assert_int_equal(no_credentials(Role::Initiator), code(Error::NoCredentials)); }
static void test_acceptor_without_user_store(void**) { assert_int_equal(no_credentials(Role::Acceptor), code(Error::NoCredentials)); }
static void test_failed_context_stays_failed(void**) { assert_int_equal(failed_context_stays_failed(), code(Error::NotEstablished)); }
static void test_protection_both_ways(void**) { assert_true(protection_both_ways()); }
static void test_replay_is_out_of_sequence(void**) { assert_int_equal(replayed_message(), code(Error::OutOfSequence)); }
static void test_reorder_is_out_of_sequence(void**) { assert_int_equal(reordered_message(), code(Error::OutOfSequence)); }
static void test_flipped_ciphertext_is_message_altered(void**) { assert_int_equal(flipped(0), code(Error::MessageAltered)); }
static void test_flipped_checksum_is_message_altered(void**) { assert_int_equal(flipped(1), code(Error::MessageAltered)); }
static void test_bad_signature_version(void**) { assert_int_equal(flipped(2), code(Error::InvalidToken)); }
static void test_short_token_is_buffer_too_small(void**) { assert_int_equal(flipped(3), code(Error::BufferTooSmall)); }
static void test_long_token_is_invalid(void**) { assert_int_equal(flipped(4), code(Error::InvalidToken)); }
static void test_flipped_sign_only_is_message_altered(void**) { assert_int_equal(flipped_sign_only(), code(Error::MessageAltered)); }
static void test_protection_before_established(void**) { assert_int_equal(protection_before_established(), kOk); }
static void test_encrypt_without_confidentiality(void**) { assert_int_equal(encrypt_without_confidentiality(), code(Error::Unsupported)); }
static void test_negotiation_mic_and_rc4_reset(void**) { assert_true(negotiation_mic_and_reset()); }
static void test_negotiation_mic_reset_on_one_side_only(void**) { assert_int_equal(negotiation_mic_without_reset_on_one_side(), code(Error::MessageAltered)); }
static void test_negotiation_mic_altered(void**) { assert_int_equal(negotiation_mic_altered(), code(Error::MessageAltered)); }
static void test_client_without_mic_is_accepted(void**) { assert_int_equal(manual_logon(Manual{}), kOk); }
static void test_client_without_key_exchange(void**)
{
	Manual m;
	m.key_exch = false;
	assert_int_equal(manual_logon(m), kOk);
}
static void test_stale_timestamp_is_time_skew(void**)
{
	Manual m;
	m.clock_offset_seconds = -3600;
	assert_int_equal(manual_logon(m), code(Error::TimeSkew));
}
static void test_future_timestamp_is_time_skew(void**)
{
	Manual m;
	m.clock_offset_seconds = 600;
	assert_int_equal(manual_logon(m), code(Error::TimeSkew));
}
static void test_ntlmv1_response_is_refused(void**)
{
	Manual m;
	m.ntlmv1 = true;
	assert_int_equal(manual_logon(m), code(Error::LogonDenied));
}
static void test_anonymous_is_refused(void**)
{
	Manual m;
	m.anonymous = true;
	assert_int_equal(manual_logon(m), code(Error::LogonDenied));
}
static void test_broken_authenticate_at_acceptor(void**) { assert_true(broken_authenticate_everywhere()); }
static void test_broken_challenge_at_initiator(void**) { assert_true(broken_challenge_at_initiator()); }
static void test_challenge_without_timestamp_uses_lmv2_and_own_clock(void**) { assert_true(challenge_without_timestamp()); }
static void test_challenge_without_key_exchange(void**) { assert_true(challenge_without_key_exchange()); }
static void test_challenge_without_seal_is_refused(void**) { assert_int_equal(challenge_without_seal(), code(Error::Unsupported)); }
static void test_challenge_without_unicode_is_refused(void**) { assert_int_equal(challenge_without_unicode(), code(Error::InvalidToken)); }
static void test_sam_store(void**) { assert_true(sam_store_cases()); }
static void test_logon_with_ntowf_v2_store(void**) { assert_int_equal(logon_with_ntowf_v2_store(u"Passw0rd!"), kOk); }
static void test_logon_with_ntowf_v2_store_wrong_password(void**) { assert_int_equal(logon_with_ntowf_v2_store(u"x"), code(Error::LogonDenied)); }
static void test_logon_with_sam_file(void**) { assert_int_equal(logon_with_sam_file(u"Passw0rd!"), kOk); }
static void test_logon_with_sam_file_wrong_password(void**) { assert_int_equal(logon_with_sam_file(u"nope"), code(Error::LogonDenied)); }

int main()
{
	if (!crypto::legacy_available()) {
		Error e = Error::None;
		auto c = std::make_shared<Credential>();
		(void)create_context(Role::Initiator, c, e);
		std::fprintf(stderr, "OpenSSL legacy provider missing: create_context says %s\n", error_name(e));
		return e == Error::PackageUnavailable ? 77 : 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logon_succeeds),
		cmocka_unit_test(test_challenge_offers_ntlmv2_session_security),
		cmocka_unit_test(test_channel_bindings_match),
		cmocka_unit_test(test_channel_bindings_client_only),
		cmocka_unit_test(test_channel_bindings_missing),
		cmocka_unit_test(test_channel_bindings_mismatch),
		cmocka_unit_test(test_wrong_password_is_logon_denied),
		cmocka_unit_test(test_unknown_user_is_logon_denied),
		cmocka_unit_test(test_domain_backslash_user_is_split),
		cmocka_unit_test(test_user_at_domain_is_split),
		cmocka_unit_test(test_tampered_mic_is_message_altered),
		cmocka_unit_test(test_tampered_version_is_message_altered),
		cmocka_unit_test(test_authenticate_first_is_invalid_token),
		cmocka_unit_test(test_challenge_to_acceptor_is_invalid_token),
		cmocka_unit_test(test_negotiate_to_initiator_is_invalid_token),
		cmocka_unit_test(test_negotiate_twice_is_invalid_token),
		cmocka_unit_test(test_initiator_without_password),
		cmocka_unit_test(test_acceptor_without_user_store),
		cmocka_unit_test(test_failed_context_stays_failed),
		cmocka_unit_test(test_protection_both_ways),
		cmocka_unit_test(test_replay_is_out_of_sequence),
		cmocka_unit_test(test_reorder_is_out_of_sequence),
		cmocka_unit_test(test_flipped_ciphertext_is_message_altered),
		cmocka_unit_test(test_flipped_checksum_is_message_altered),
		cmocka_unit_test(test_bad_signature_version),
		cmocka_unit_test(test_short_token_is_buffer_too_small),
		cmocka_unit_test(test_long_token_is_invalid),
		cmocka_unit_test(test_flipped_sign_only_is_message_altered),
		cmocka_unit_test(test_protection_before_established),
		cmocka_unit_test(test_encrypt_without_confidentiality),
		cmocka_unit_test(test_negotiation_mic_and_rc4_reset),
		cmocka_unit_test(test_negotiation_mic_reset_on_one_side_only),
		cmocka_unit_test(test_negotiation_mic_altered),
		cmocka_unit_test(test_client_without_mic_is_accepted),
		cmocka_unit_test(test_client_without_key_exchange),
		cmocka_unit_test(test_stale_timestamp_is_time_skew),
		cmocka_unit_test(test_future_timestamp_is_time_skew),
		cmocka_unit_test(test_ntlmv1_response_is_refused),
		cmocka_unit_test(test_anonymous_is_refused),
		cmocka_unit_test(test_broken_authenticate_at_acceptor),
		cmocka_unit_test(test_broken_challenge_at_initiator),
		cmocka_unit_test(test_challenge_without_timestamp_uses_lmv2_and_own_clock),
		cmocka_unit_test(test_challenge_without_key_exchange),
		cmocka_unit_test(test_challenge_without_seal_is_refused),
		cmocka_unit_test(test_challenge_without_unicode_is_refused),
		cmocka_unit_test(test_sam_store),
		cmocka_unit_test(test_logon_with_ntowf_v2_store),
		cmocka_unit_test(test_logon_with_ntowf_v2_store_wrong_password),
		cmocka_unit_test(test_logon_with_sam_file),
		cmocka_unit_test(test_logon_with_sam_file_wrong_password),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
