// The NTLM acceptor's steps (MS-NLMP 3.2.5): CHALLENGE for the client's NEGOTIATE, then its
// AUTHENTICATE checked against the user store — names, NTLMv2 response, timestamp, session key,
// MIC, channel bindings. Who logged on is the account the store found, in its own spelling.
#include "ntlm/context_impl.h"

#include "ntlm/crypto.h"
#include "wire/utf16.h"

#include <cinttypes>
#include <cstring>

namespace nlassp::ntlm::detail {

namespace {

constexpr uint32_t kSupportedFlags = flag::Unicode | flag::RequestTarget | flag::Sign | flag::Seal | flag::Ntlm |
                                     flag::AlwaysSign | flag::ExtendedSessionSecurity | flag::TargetInfo |
                                     flag::Version | flag::Negotiate128 | flag::KeyExch | flag::Negotiate56;

// The AUTHENTICATE names as text a server can trust to mean one account: well-formed UTF-16 and,
// for the user and the domain, no NUL (C code would read "alice\0x" as "alice") and no backslash
// ("DOMAIN\user" would split elsewhere); the workstation may not hold a NUL either.
Error read_names(const AuthenticateMessage& am, std::u16string& user, std::u16string& domain, std::u16string& ws)
{
	if (!wire::utf16le_decode(am.user, user) || !wire::utf16le_decode(am.domain, domain) ||
	    !wire::utf16le_decode(am.workstation, ws)) {
		NLASSP_LOG(kLog, Warn, "NTLM: the client's AUTHENTICATE message has names that are not UTF-16 (odd length "
		                       "or an unpaired surrogate); refusing");
		return Error::InvalidToken;
	}
	auto bad = [](std::u16string_view s) {
		return s.find(u'\0') != std::u16string_view::npos || s.find(u'\\') != std::u16string_view::npos;
	};
	if (bad(user) || bad(domain) || ws.find(u'\0') != std::u16string::npos) {
		NLASSP_LOG(kLog, Warn, "NTLM: refusing the client's AUTHENTICATE for %s: a user or domain name with a NUL or "
		                       "a backslash (or a workstation name with a NUL) names no account and could be read "
		                       "as another", account(domain, user).c_str());
		return Error::InvalidToken;
	}
	return Error::None;
}

} // namespace

Error NtlmContext::acceptor_challenge(const StepInput& in, StepOutput& out)
{
	uint32_t type = 0;
	if (in.token.empty() || !peek_message_type(in.token, type)) {
		NLASSP_LOG(kLog, Warn, "NTLM: the client's first token (%zu bytes) is not an NTLM message; the client "
		                       "is not speaking NTLM", in.token.size());
		return fail(Error::InvalidToken);
	}
	if (type != static_cast<uint32_t>(MessageType::Negotiate)) {
		NLASSP_LOG(kLog, Warn, "NTLM: expected NEGOTIATE from the client but got message type %" PRIu32
		                       "; messages out of order, start the logon again", type);
		return fail(Error::InvalidToken);
	}
	NegotiateMessage nm;
	if (!nm.decode(in.token)) {
		NLASSP_LOG(kLog, Warn, "NTLM: the client's NEGOTIATE message is malformed (%zu bytes)", in.token.size());
		return fail(Error::InvalidToken);
	}
	if (!(nm.flags & flag::Unicode) || !(nm.flags & flag::Ntlm)) {
		NLASSP_LOG(kLog, Warn, "NTLM: the client offers no Unicode NTLM (NEGOTIATE flags 0x%08" PRIx32
		                       "); refusing LM/OEM-only clients — enable NTLMv2 on the client", nm.flags);
		return fail(Error::InvalidToken);
	}
	negotiate_raw_.assign(in.token.begin(), in.token.end());
	requested_ = in.requested;

	// We speak only extended session security, so it is always offered.
	challenge_flags_ = (nm.flags & kSupportedFlags) | flag::Unicode | flag::Ntlm | flag::RequestTarget |
	                   flag::TargetInfo | flag::TargetTypeServer | flag::Version | flag::ExtendedSessionSecurity;

	std::u16string dns_host, nb_host;
	host_names(dns_host, nb_host);
	std::u16string domain = nb_host, dns_domain = dns_host;
	if (cred_->identity && !cred_->identity->domain.empty()) {
		domain = cred_->identity->domain;
		dns_domain = cred_->identity->domain;
	} else if (const size_t dot = dns_host.find(u'.'); dot != std::u16string::npos && dot + 1 < dns_host.size()) {
		dns_domain = dns_host.substr(dot + 1);
	}

	ChallengeMessage cm;
	cm.flags = challenge_flags_;
	cm.target_name = wire::utf16le_bytes(nb_host);
	if (const Error e = crypto::random_bytes(server_challenge_); e != Error::None)
		return fail(e);
	cm.server_challenge = server_challenge_;
	cm.target_info.set(AvId::NbDomainName, wire::utf16le_bytes(wire::to_upper(domain)));
	cm.target_info.set(AvId::NbComputerName, wire::utf16le_bytes(nb_host));
	cm.target_info.set(AvId::DnsDomainName, wire::utf16le_bytes(dns_domain));
	cm.target_info.set(AvId::DnsComputerName, wire::utf16le_bytes(dns_host));
	cm.target_info.set(AvId::Timestamp, u64le_bytes(filetime_now()));
	cm.version = Version{};
	challenge_raw_ = cm.encode();
	if (challenge_raw_.empty())
		return fail(Error::Internal);
	out.token = challenge_raw_;
	state_ = State::WaitAuthenticate;
	return Error::None;
}

Error NtlmContext::acceptor_authenticate(const StepInput& in, StepOutput& out)
{
	uint32_t type = 0;
	if (!in.token.empty() && peek_message_type(in.token, type) && type != static_cast<uint32_t>(MessageType::Authenticate)) {
		NLASSP_LOG(kLog, Warn, "NTLM: expected AUTHENTICATE from the client but got message type %" PRIu32
		                       "; messages out of order, start the logon again", type);
		return fail(Error::InvalidToken);
	}
	AuthenticateMessage am;
	if (in.token.empty() || !am.decode(in.token)) {
		NLASSP_LOG(kLog, Warn, "NTLM: the client's AUTHENTICATE message is malformed (%zu bytes); the client is not "
		                       "speaking NTLM correctly or the data was corrupted", in.token.size());
		return fail(Error::InvalidToken);
	}
	std::u16string user, domain, ws;
	if (const Error e = read_names(am, user, domain, ws); e != Error::None)
		return fail(e);
	const std::string who = account(domain, user);
	if (user.empty() || (am.flags & flag::Anonymous)) {
		NLASSP_LOG(kLog, Warn, "NTLM: anonymous logon refused; the client must give a user name and password");
		return fail(Error::LogonDenied);
	}
	if (!am.ntlmv2) {
		NLASSP_LOG(kLog, Warn, "NTLM: logon denied for %s: the client sent an LM/NTLMv1 response (%zu bytes); only "
		                       "NTLMv2 is accepted — set the client's LmCompatibilityLevel to 3 or higher",
		           who.c_str(), am.nt_response.size());
		return fail(Error::LogonDenied);
	}

	negotiated_ = (am.flags & challenge_flags_) | flag::ExtendedSessionSecurity;
	key_exch_ = (negotiated_ & flag::KeyExch) != 0;
	seal_ = (negotiated_ & flag::Seal) != 0;
	if (key_exch_ != !am.encrypted_random_session_key.empty() ||
	    (key_exch_ && am.encrypted_random_session_key.size() != kKeySize)) {
		NLASSP_LOG(kLog, Warn, "NTLM: the client's AUTHENTICATE message has a session key of %zu bytes that does "
		                       "not fit its key-exchange flag; refusing",
		           am.encrypted_random_session_key.size());
		return fail(Error::InvalidToken);
	}

	NtlmAccount found;
	if (const Error e = look_up(am, user, domain, who, found); e != Error::None)
		return fail(e);
	if (const Error e = verify_response(am, user, domain, who, found); e != Error::None)
		return fail(e);
	if (const Error e = verify_mic_and_bindings(am, in, who); e != Error::None)
		return fail(e);

	if (const Error e = derive_session(); e != Error::None)
		return fail(e);
	// Who logged on is the account the store found, spelled its way; never the client's spelling.
	peer_user_ = std::move(found.user);
	peer_domain_ = std::move(found.domain);
	peer_workstation_ = std::move(ws);
	out.complete = true;
	state_ = State::Established;
	NLASSP_LOG(kLog, Debug, "NTLM: %s logged on as %s", who.c_str(), account(peer_domain_, peer_user_).c_str());
	return Error::None;
}

// What the user store says about the client's names, with the inputs WinPR hash callbacks get:
// ServerChallenge || temp, and the three messages with the MIC field zeroed.
Error NtlmContext::look_up(const AuthenticateMessage& am, const std::u16string& user, const std::u16string& domain,
                           const std::string& who, NtlmAccount& found) const
{
	const ByteView temp = ByteView(am.nt_response).subspan(16);
	Bytes proof_input(server_challenge_.begin(), server_challenge_.end());
	proof_input.insert(proof_input.end(), temp.begin(), temp.end());
	Bytes mic_input = negotiate_raw_;
	mic_input.insert(mic_input.end(), challenge_raw_.begin(), challenge_raw_.end());
	const size_t auth_at = mic_input.size();
	mic_input.insert(mic_input.end(), am.raw.begin(), am.raw.end());
	if (am.has_mic)
		std::memset(mic_input.data() + auth_at + am.mic_offset(), 0, am.mic.size());

	NtlmLookup lookup;
	lookup.user = user;
	lookup.domain = domain;
	lookup.nt_proof = ByteView(am.ntlmv2->nt_proof);
	lookup.encrypted_random_session_key = am.encrypted_random_session_key;
	lookup.mic = am.has_mic ? ByteView(am.mic) : ByteView();
	lookup.proof_input = proof_input;
	lookup.mic_input = mic_input;
	const Error le = cred_->ntlm_users->lookup(lookup, found);
	if (le == Error::LogonDenied) {
		if (!found.refusal_logged)
			NLASSP_LOG(kLog, Warn, "NTLM: logon denied for %s: no such user in the server's user store (SAM file); "
			                       "add the user or check the domain name", who.c_str());
		return Error::LogonDenied;
	}
	if (le != Error::None) {
		NLASSP_LOG(kLog, Warn, "NTLM: logon for %s failed: the server's user store could not be read (%s)",
		           who.c_str(), error_name(le));
		return le;
	}
	if (found.key.size() != kKeySize || found.user.empty()) {
		NLASSP_LOG(kLog, Warn, "NTLM: logon for %s failed: the user store returned a key of %zu bytes (not 16) or "
		                       "no account name", who.c_str(), found.key.size());
		return Error::Internal;
	}
	if (all_zero(found.key.view())) {
		NLASSP_LOG(kLog, Warn, "NTLM: logon denied for %s: the user store returned an all-zero key, which any client "
		                       "can use without a password", who.c_str());
		return Error::LogonDenied;
	}
	return Error::None;
}

// NTProofStr, the timestamp, and the session key, with the response key from the names as the
// client sent them (its NTOWFv2 input), whatever the store's spelling.
Error NtlmContext::verify_response(const AuthenticateMessage& am, const std::u16string& user,
                                   const std::u16string& domain, const std::string& who, NtlmAccount& found)
{
	const Ntlmv2Response& v2 = *am.ntlmv2;
	const ByteView temp = ByteView(am.nt_response).subspan(16);
	SecretBytes ntowf;
	if (cred_->ntlm_users->hash_kind() == NtlmUserStore::HashKind::NtowfV2)
		ntowf = std::move(found.key);
	else if (const Error e = ntowf_v2_from_hash(found.key.view(), user, domain, ntowf); e != Error::None)
		return e;
	std::array<uint8_t, 16> proof{};
	if (const Error e = nt_proof_str(ntowf.view(), server_challenge_, temp, proof); e != Error::None)
		return e;
	if (!constant_time_equal(proof, v2.nt_proof)) {
		NLASSP_LOG(kLog, Warn, "NTLM: logon denied for %s: password does not match", who.c_str());
		return Error::LogonDenied;
	}

	const int64_t now = static_cast<int64_t>(filetime_now() / 10000000ULL);
	const int64_t then = static_cast<int64_t>(v2.timestamp / 10000000ULL);
	const int64_t skew = now > then ? now - then : then - now;
	if (skew > kMaxClockSkewSeconds) {
		NLASSP_LOG(kLog, Warn, "NTLM: logon denied for %s: the client's timestamp is %" PRId64 " s away from this "
		                       "server's clock (allowed %" PRId64 " s); fix the clocks or retry (stale or replayed "
		                       "message)", who.c_str(), skew, kMaxClockSkewSeconds);
		return Error::TimeSkew;
	}

	SecretBytes base;
	if (const Error e = session_base_key_v2(ntowf.view(), proof, base); e != Error::None)
		return e;
	const SecretBytes kxkey = kxkey_v2(base);
	if (key_exch_)
		return rc4k(kxkey.view(), am.encrypted_random_session_key, exported_key_);
	exported_key_ = kxkey;
	return Error::None;
}

Error NtlmContext::verify_mic_and_bindings(const AuthenticateMessage& am, const StepInput& in, const std::string& who)
{
	const Ntlmv2Response& v2 = *am.ntlmv2;
	uint32_t av_flags = 0;
	if (v2.av_pairs.flags(av_flags) && (av_flags & kAvFlagMicPresent)) {
		std::array<uint8_t, 16> mic{};
		if (const Error e = compute_mic(exported_key_.view(), negotiate_raw_, challenge_raw_, am.raw, am.mic_offset(), mic);
		    e != Error::None)
			return e;
		if (!constant_time_equal(mic, am.mic)) {
			NLASSP_LOG(kLog, Warn, "NTLM: logon for %s refused: the message integrity check (MIC) does not verify; "
			                       "the NTLM messages were altered on the way", who.c_str());
			return Error::MessageAltered;
		}
		mic_exchanged_ = true;
	}
	if (!in.bindings)
		return Error::None;
	std::array<uint8_t, 16> expected{};
	if (const Error e = bindings_hash(*in.bindings, expected); e != Error::None)
		return e;
	const AvPair* cb = v2.av_pairs.find(AvId::ChannelBindings);
	if (!cb || all_zero(cb->value)) {
		NLASSP_LOG(kLog, Warn, "NTLM: logon for %s refused: the client sent no channel bindings but this server "
		                       "requires them; update the client", who.c_str());
		return Error::BadBindings;
	}
	if (!constant_time_equal(cb->value, expected)) {
		NLASSP_LOG(kLog, Warn, "NTLM: logon for %s refused: the channel bindings do not match this TLS channel "
		                       "(a TLS-intercepting proxy in the way?)", who.c_str());
		return Error::BadBindings;
	}
	return Error::None;
}
} // namespace nlassp::ntlm::detail
