#include "ntlm/context_impl.h"

#include "common/text.h"

#include "ntlm/crypto.h"
#include "ntlm/ntlm.h"
#include "wire/utf16.h"

#include <unistd.h>

#include <array>
#include <cinttypes>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace nlassp::ntlm {

namespace detail {

const log::Logger kLog("com.nlassp.ntlm");

std::string account(std::u16string_view domain, std::u16string_view user)
{
	if (domain.empty())
		return text::printable(user);
	return text::printable(domain) + "\\" + text::printable(user);
}

void host_names(std::u16string& dns, std::u16string& netbios)
{
	char buf[256] = {};
	std::string host = "localhost";
	if (gethostname(buf, sizeof(buf) - 1) == 0 && buf[0] != '\0')
		host = buf;
	if (!wire::utf8_to_utf16(host, dns) || dns.empty())
		dns = u"localhost";
	std::u16string first = dns.substr(0, dns.find(u'.'));
	if (first.size() > 15)
		first.resize(15);
	netbios = wire::to_upper(first);
}

bool all_zero(ByteView v) noexcept
{
	uint8_t acc = 0;
	for (uint8_t b : v)
		acc |= b;
	return acc == 0;
}

Bytes u64le_bytes(uint64_t v)
{
	Bytes b(8);
	for (size_t i = 0; i < 8; ++i)
		b[i] = static_cast<uint8_t>(v >> (8 * i));
	return b;
}

Error bindings_hash(const ChannelBindings& cb, std::array<uint8_t, 16>& out)
{
	const Bytes ser = cb.serialize();
	return crypto::md5(ser, out);
}

namespace {

Bytes u32le_bytes(uint32_t v)
{
	return Bytes{static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v >> 16),
	             static_cast<uint8_t>(v >> 24)};
}

// The flags of our AUTHENTICATE message, given the server's CHALLENGE flags.
uint32_t authenticate_flags(uint32_t challenge, bool want_seal, bool domain, bool workstation) noexcept
{
	uint32_t f = flag::Unicode | flag::RequestTarget | flag::Ntlm | flag::AlwaysSign | flag::ExtendedSessionSecurity |
	             flag::TargetInfo | flag::Version | flag::Negotiate128 | flag::Sign |
	             (challenge & (flag::KeyExch | flag::Negotiate56)) | (want_seal ? flag::Seal : 0u);
	if (domain)
		f |= flag::DomainSupplied;
	if (workstation)
		f |= flag::WorkstationSupplied;
	return f;
}

// The exported session key: a random one sent RC4-encrypted under KXKEY with key exchange,
// else KXKEY itself (MS-NLMP 3.1.5.1.2).
Error exported_session_key(bool key_exch, const SecretBytes& kxkey, SecretBytes& exported, Bytes& encrypted)
{
	if (!key_exch) {
		exported = kxkey;
		return Error::None;
	}
	exported.resize(kKeySize);
	if (const Error e = crypto::random_bytes(exported.span()); e != Error::None)
		return e;
	SecretBytes esk;
	if (const Error e = rc4k(kxkey.view(), exported.view(), esk); e != Error::None)
		return e;
	encrypted.assign(esk.view().begin(), esk.view().end());
	return Error::None;
}

// The server's CHALLENGE message, decoded and held to what we accept: NTLMv2 with target
// information, Unicode, and sealing when confidentiality was requested. One line says why not.
Error read_challenge(ByteView token, bool want_seal, ChallengeMessage& ch)
{
	if (token.empty() || !ch.decode(token)) {
		NLASSP_LOG(kLog, Warn, "NTLM: the server's CHALLENGE message is malformed (%zu bytes); the server is not "
		                       "speaking NTLM or the data was corrupted", token.size());
		return Error::InvalidToken;
	}
	if (!(ch.flags & flag::Ntlm) || !(ch.flags & flag::TargetInfo) || ch.target_info_raw.empty()) {
		NLASSP_LOG(kLog, Warn, "NTLM: the server offers only LM/NTLMv1 (CHALLENGE flags 0x%08" PRIx32
		                       " without NTLM or target information); refusing — enable NTLMv2 on the server",
		           ch.flags);
		return Error::InvalidToken;
	}
	if (!(ch.flags & flag::Unicode)) {
		NLASSP_LOG(kLog, Warn, "NTLM: the server does not accept Unicode strings (CHALLENGE flags 0x%08" PRIx32
		                       "); refusing OEM-only NTLM", ch.flags);
		return Error::InvalidToken;
	}
	if (want_seal && !(ch.flags & flag::Seal)) {
		NLASSP_LOG(kLog, Warn, "NTLM: confidentiality was requested but the server refused sealing "
		                       "(no NTLMSSP_NEGOTIATE_SEAL); refusing an unencrypted session");
		return Error::Unsupported;
	}
	if (!(ch.flags & flag::ExtendedSessionSecurity))
		NLASSP_LOG(kLog, Debug, "NTLM: server did not offer extended session security; using it anyway (NTLMv2)");
	return Error::None;
}

// Target info for the AUTHENTICATE message: the server's pairs, then MsvAvFlags (MIC present),
// MsvAvChannelBindings and MsvAvTargetName, as WinPR 3.10 orders them.
Error client_target_info(const AvPairList& server, const ChannelBindings* bindings, const std::u16string& target,
                         Bytes& out)
{
	AvPairList av = server;
	uint32_t av_flags = 0;
	(void)av.flags(av_flags);
	av.remove(AvId::ChannelBindings);
	av.remove(AvId::TargetName);
	av.set(AvId::Flags, u32le_bytes(av_flags | kAvFlagMicPresent));
	std::array<uint8_t, 16> cbt{};
	if (bindings) {
		if (const Error e = bindings_hash(*bindings, cbt); e != Error::None)
			return e;
	}
	av.set(AvId::ChannelBindings, cbt);
	if (!target.empty())
		av.set(AvId::TargetName, wire::utf16le_bytes(target));
	out = av.encode();
	return out.empty() ? Error::InvalidToken : Error::None;
}

} // namespace

Error NtlmContext::init_initiator()
{
	const Identity& id = *cred_->identity;
	user_ = id.user;
	domain_ = id.domain;
	if (domain_.empty()) {
		if (const size_t bs = user_.find(u'\\'); bs != std::u16string::npos) {
			domain_ = user_.substr(0, bs);
			user_ = user_.substr(bs + 1);
		} else if (const size_t at = user_.rfind(u'@'); at != std::u16string::npos) {
			domain_ = user_.substr(at + 1);
			user_ = user_.substr(0, at);
		}
	}
	if (user_.empty()) {
		NLASSP_LOG(kLog, Warn, "NTLM: no user name to log on with; give one (e.g. /u:DOMAIN\\user)");
		return Error::NoCredentials;
	}
	return Error::None;
}

Error NtlmContext::step(const StepInput& in, StepOutput& out)
{
	out.token.clear();
	out.complete = false;
	switch (state_) {
	case State::Initial:
		return role_ == Role::Initiator ? initiator_negotiate(in, out) : acceptor_challenge(in, out);
	case State::WaitChallenge:
		return initiator_authenticate(in, out);
	case State::WaitAuthenticate:
		return acceptor_authenticate(in, out);
	case State::Established:
	case State::Failed:
		break;
	}
	NLASSP_LOG(kLog, Warn, "NTLM: a handshake token arrived after the exchange had %s; start a new context",
	           state_ == State::Established ? "completed" : "failed");
	return Error::InvalidToken;
}

// ---- initiator --------------------------------------------------------------------------------

uint32_t initiator_negotiate_flags_impl(bool confidentiality) noexcept
{
	uint32_t f = flag::Unicode | flag::RequestTarget | flag::Ntlm | flag::AlwaysSign | flag::ExtendedSessionSecurity |
	             flag::TargetInfo | flag::Version | flag::Negotiate128 | flag::KeyExch | flag::Negotiate56 |
	             flag::Sign;
	if (confidentiality)
		f |= flag::Seal;
	return f;
}

Error NtlmContext::initiator_negotiate(const StepInput& in, StepOutput& out)
{
	if (!in.token.empty()) {
		NLASSP_LOG(kLog, Warn, "NTLM: the initiator got a token (%zu bytes) before it sent NEGOTIATE; "
		                       "the peer is out of step", in.token.size());
		return fail(Error::InvalidToken);
	}
	requested_ = in.requested;
	target_ = in.target;
	NegotiateMessage nm;
	nm.flags = initiator_negotiate_flags_impl((requested_ & ctx::Confidentiality) != 0);
	nm.version = Version{};
	negotiate_raw_ = nm.encode();
	if (negotiate_raw_.empty())
		return fail(Error::Internal);
	out.token = negotiate_raw_;
	state_ = State::WaitChallenge;
	return Error::None;
}

Error NtlmContext::initiator_authenticate(const StepInput& in, StepOutput& out)
{
	ChallengeMessage ch;
	const bool want_seal = (requested_ & ctx::Confidentiality) != 0;
	if (const Error e = read_challenge(in.token, want_seal, ch); e != Error::None)
		return fail(e);
	challenge_raw_.assign(in.token.begin(), in.token.end());
	challenge_flags_ = ch.flags;
	server_challenge_ = ch.server_challenge;
	if (!in.target.empty())
		target_ = in.target;

	const Identity& id = *cred_->identity;
	const std::u16string ws = workstation();

	negotiated_ = authenticate_flags(ch.flags, want_seal, !domain_.empty(), !ws.empty());
	key_exch_ = (negotiated_ & flag::KeyExch) != 0;
	seal_ = (negotiated_ & flag::Seal) != 0;

	uint64_t timestamp = 0;
	const bool server_time = ch.target_info.timestamp(timestamp);
	if (!server_time)
		timestamp = filetime_now();
	Bytes av_bytes;
	if (const Error e = client_target_info(ch.target_info, in.bindings, target_, av_bytes); e != Error::None)
		return fail(e);

	std::array<uint8_t, 8> client_challenge{};
	if (const Error e = crypto::random_bytes(client_challenge); e != Error::None)
		return fail(e);
	const Bytes temp = ntlmv2_temp(timestamp, client_challenge, av_bytes);

	SecretBytes ntowf;
	if (const Error e = ntowf_v2(id.password.view(), user_, domain_, ntowf); e != Error::None)
		return fail(e);
	std::array<uint8_t, 16> proof{};
	if (const Error e = nt_proof_str(ntowf.view(), server_challenge_, temp, proof); e != Error::None)
		return fail(e);
	SecretBytes base;
	if (const Error e = session_base_key_v2(ntowf.view(), proof, base); e != Error::None)
		return fail(e);
	const SecretBytes kxkey = kxkey_v2(base);

	AuthenticateMessage am;
	am.flags = negotiated_;
	if (server_time) {
		am.lm_response.assign(24, 0);   // MS-NLMP 3.1.5.1.2: Z(24) when the server sent a timestamp
	} else if (const Error e = lmv2_response(ntowf.view(), server_challenge_, client_challenge, am.lm_response);
	           e != Error::None) {
		return fail(e);
	}
	am.nt_response = nt_challenge_response(proof, temp);
	am.domain = wire::utf16le_bytes(domain_);
	am.user = wire::utf16le_bytes(user_);
	am.workstation = wire::utf16le_bytes(ws);
	if (const Error e = exported_session_key(key_exch_, kxkey, exported_key_, am.encrypted_random_session_key);
	    e != Error::None)
		return fail(e);
	am.version = Version{};
	am.has_mic = true;
	Bytes raw = am.encode();
	if (raw.empty()) {
		NLASSP_LOG(kLog, Warn, "NTLM: the AUTHENTICATE message would be too large (a field over 65535 bytes)");
		return fail(Error::InvalidParameter);
	}
	std::array<uint8_t, 16> mic{};
	if (const Error e = compute_mic(exported_key_.view(), negotiate_raw_, challenge_raw_, raw, am.mic_offset(), mic);
	    e != Error::None)
		return fail(e);
	std::memcpy(raw.data() + am.mic_offset(), mic.data(), mic.size());

	if (const Error e = derive_session(); e != Error::None)
		return fail(e);
	mic_exchanged_ = true;
	out.token = std::move(raw);
	out.presents_credentials = true;
	out.complete = true;
	state_ = State::Established;
	return Error::None;
}

// ---- session ----------------------------------------------------------------------------------

Error NtlmContext::derive_session()
{
	const Direction send = role_ == Role::Initiator ? Direction::ClientToServer : Direction::ServerToClient;
	const Direction recv = role_ == Role::Initiator ? Direction::ServerToClient : Direction::ClientToServer;
	Error e = sign_key(exported_key_.view(), send, send_sign_);
	if (e == Error::None)
		e = sign_key(exported_key_.view(), recv, recv_sign_);
	if (e == Error::None)
		e = seal_key(exported_key_.view(), send, send_seal_key_);
	if (e == Error::None)
		e = seal_key(exported_key_.view(), recv, recv_seal_key_);
	if (e == Error::None)
		e = send_seal_.init(send_seal_key_.view());
	if (e == Error::None)
		e = recv_seal_.init(recv_seal_key_.view());
	send_seq_ = 0;
	recv_seq_ = 0;
	return e;
}

ContextFlags NtlmContext::flags() const noexcept
{
	ContextFlags f = ctx::Connection | ctx::Integrity | ctx::SequenceDetect | ctx::ReplayDetect;
	if (state_ == State::Established)
		return seal_ ? (f | ctx::Confidentiality) : f;
	return f | (requested_ & ctx::Confidentiality);
}

namespace {

std::vector<ByteView> signed_parts(std::span<const MessageBuffer> msg)
{
	std::vector<ByteView> parts;
	for (const MessageBuffer& b : msg)
		if (b.kind == MessageBufferKind::Data || b.kind == MessageBufferKind::SignOnly)
			parts.emplace_back(b.bytes.data(), b.bytes.size());
	return parts;
}

uint32_t read_u32le(const uint8_t* p) noexcept
{
	return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
	       (static_cast<uint32_t>(p[3]) << 24);
}

} // namespace

Error NtlmContext::sign(std::span<const MessageBuffer> msg, Bytes& token)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	const std::vector<ByteView> parts = signed_parts(msg);
	std::array<uint8_t, kSignatureSize> sig{};
	if (const Error e = make_signature(send_sign_.view(), key_exch_ ? &send_seal_ : nullptr, send_seq_, parts, sig);
	    e != Error::None)
		return e;
	token.assign(sig.begin(), sig.end());
	++send_seq_;
	return Error::None;
}

Error NtlmContext::encrypt(std::span<MessageBuffer> msg, Bytes& token)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	if (!seal_) {
		NLASSP_LOG(kLog, Warn, "NTLM: encryption asked for but sealing was not negotiated; request "
		                       "confidentiality when creating the context");
		return Error::Unsupported;
	}
	std::array<uint8_t, kSignatureSize> sig{};
	{
		const std::vector<ByteView> parts = signed_parts(std::span<const MessageBuffer>(msg.data(), msg.size()));
		if (const Error e = make_signature(send_sign_.view(), nullptr, send_seq_, parts, sig); e != Error::None)
			return e;
	}
	// MS-NLMP 3.4.3: the handle seals the message first, then encrypts the checksum.
	for (MessageBuffer& b : msg)
		if (b.kind == MessageBufferKind::Data)
			if (const Error e = send_seal_.process_in_place(b.bytes); e != Error::None)
				return e;
	if (key_exch_)
		if (const Error e = send_seal_.process_in_place(std::span<uint8_t>(sig).subspan(4, 8)); e != Error::None)
			return e;
	token.assign(sig.begin(), sig.end());
	++send_seq_;
	return Error::None;
}

Error NtlmContext::check_signature(std::span<const MessageBuffer> msg, ByteView token, bool unseal)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	if (token.size() < kSignatureSize)
		return Error::BufferTooSmall;
	if (token.size() > kSignatureSize || read_u32le(token.data()) != 1)
		return Error::InvalidToken;
	const uint32_t seq = read_u32le(token.data() + 12);
	if (seq != recv_seq_) {
		NLASSP_LOG(kLog, Debug, "NTLM: message with sequence number %" PRIu32 ", expected %" PRIu32
		                        " (replayed or reordered)", seq, recv_seq_);
		return Error::OutOfSequence;
	}
	if (unseal) {
		for (const MessageBuffer& b : msg)
			if (b.kind == MessageBufferKind::Data)
				if (const Error e = recv_seal_.process_in_place(b.bytes); e != Error::None)
					return e;
	}
	const std::vector<ByteView> parts = signed_parts(msg);
	std::array<uint8_t, kSignatureSize> expected{};
	if (const Error e = make_signature(recv_sign_.view(), key_exch_ ? &recv_seal_ : nullptr, seq, parts, expected);
	    e != Error::None)
		return e;
	if (!constant_time_equal(ByteView(expected), token)) {
		NLASSP_LOG(kLog, Warn, "NTLM: a message from the peer does not verify (sequence %" PRIu32
		                       "); it was altered on the way", seq);
		return Error::MessageAltered;
	}
	++recv_seq_;
	return Error::None;
}

Error NtlmContext::verify(std::span<const MessageBuffer> msg, ByteView token)
{
	return check_signature(msg, token, false);
}

Error NtlmContext::decrypt(std::span<MessageBuffer> msg, ByteView token)
{
	if (state_ == State::Established && !seal_) {
		NLASSP_LOG(kLog, Warn, "NTLM: decryption asked for but sealing was not negotiated; request "
		                       "confidentiality when creating the context");
		return Error::Unsupported;
	}
	return check_signature(std::span<const MessageBuffer>(msg.data(), msg.size()), token, true);
}

Error NtlmContext::session_key(SecretBytes& key) const
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	key = exported_key_;
	return Error::None;
}

Error NtlmContext::names(ContextNames& n) const
{
	if (role_ == Role::Acceptor) {
		if (state_ != State::Established)
			return Error::NotEstablished;
		n.user = peer_user_;
		n.domain = peer_domain_;
		n.workstation = peer_workstation_;
		return Error::None;
	}
	n.user = user_;
	n.domain = domain_;
	n.workstation = workstation();
	return Error::None;
}

Error NtlmContext::set_workstation(std::u16string name)
{
	if (name.size() > 0x7fff)
		return Error::InvalidParameter;
	ws_override_ = std::move(name);
	ws_set_ = true;
	return Error::None;
}

Error NtlmContext::make_negotiation_mic(ByteView mech_types_der, Bytes& mic)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	Bytes copy(mech_types_der.begin(), mech_types_der.end());
	const MessageBuffer buf{MessageBufferKind::SignOnly, MutableByteView(copy)};
	const Error e = sign(std::span<const MessageBuffer>(&buf, 1), mic);
	send_mic_pending_ = send_mic_pending_ || e == Error::None;
	return e;
}

Error NtlmContext::verify_negotiation_mic(ByteView mech_types_der, ByteView mic)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	Bytes copy(mech_types_der.begin(), mech_types_der.end());
	const MessageBuffer buf{MessageBufferKind::SignOnly, MutableByteView(copy)};
	const Error e = verify(std::span<const MessageBuffer>(&buf, 1), mic);
	recv_mic_pending_ = recv_mic_pending_ || e == Error::None;
	return e;
}

void NtlmContext::negotiation_mic_complete()
{
	if (state_ != State::Established)
		return;
	// WinPR and MIT restart both RC4 sealing handles after SPNEGO's mechListMIC; sequence numbers
	// carry on. Each direction that carried a MIC since the last call is restarted (MS-SPNG
	// 3.3.5.1): both, after a full exchange; only ours when an HTTP initiator completed without
	// the acceptor's MIC and only the acceptor's when that MIC is verified later.
	const bool send = std::exchange(send_mic_pending_, false);
	const bool recv = std::exchange(recv_mic_pending_, false);
	if ((send && send_seal_.init(send_seal_key_.view()) != Error::None) ||
	    (recv && recv_seal_.init(recv_seal_key_.view()) != Error::None)) {
		NLASSP_LOG(kLog, Warn, "NTLM: could not restart the RC4 sealing state after the SPNEGO MIC");
		state_ = State::Failed;
	}
}

} // namespace detail

uint32_t initiator_negotiate_flags(bool confidentiality) noexcept
{
	return detail::initiator_negotiate_flags_impl(confidentiality);
}

ContextPtr create_context(Role role, const CredentialPtr& cred, Error& err)
{
	using detail::kLog;
	err = Error::None;
	if (!crypto::legacy_available()) {
		NLASSP_LOG(kLog, Warn, "NTLM unavailable: OpenSSL legacy provider (MD4/RC4) not found — install it or use "
		                       "Kerberos");
		err = Error::PackageUnavailable;
		return nullptr;
	}
	if (!cred) {
		err = Error::NoCredentials;
		return nullptr;
	}
	if (role == Role::Initiator) {
		if (!cred->outbound() || !cred->identity || !cred->identity->has_password) {
			NLASSP_LOG(kLog, Warn, "NTLM: no user name and password to log on with; NTLM needs them "
			                       "(e.g. /u:DOMAIN\\user /p:password)");
			err = Error::NoCredentials;
			return nullptr;
		}
		// An empty password is no password (as for Kerberos): sending it would count a failed logon
		// toward the account's lockout wherever the account has a password, and FreeRDP passes an
		// empty one for /p: (the form +auth-only with a Kerberos ticket cache needs).
		if (cred->identity->password.empty() && !detail::blank_passwords_allowed()) {
			NLASSP_LOG(kLog, Warn, "NTLM: the password is empty, which NTLM does not send (it would count as a "
			                       "failed logon); give the password, or log on with a Kerberos ticket (kinit); "
			                       "NLASSP_NTLM_ALLOW_BLANK_PASSWORDS=1 sends it for an account without one");
			err = Error::NoCredentials;
			return nullptr;
		}
	} else if (!cred->inbound() || !cred->ntlm_users) {
		NLASSP_LOG(kLog, Warn, "NTLM: the server has no user store to check passwords against; configure a SAM file "
		                       "(winpr-hash -f sam) or a hash callback");
		err = Error::NoCredentials;
		return nullptr;
	}
	auto ctx = std::make_unique<detail::NtlmContext>(role, cred);
	if (role == Role::Initiator) {
		if (const Error e = ctx->init_initiator(); e != Error::None) {
			err = e;
			return nullptr;
		}
	}
	return ctx;
}

} // namespace nlassp::ntlm
