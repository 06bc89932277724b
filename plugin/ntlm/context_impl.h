// Internals of the NTLM package shared by its source files: the NtlmContext class and the small
// helpers its parts use. Not a public interface: only plugin/ntlm/*.cpp include it.
//
//   context.cpp   construction, the initiator's steps, session keys, message protection, names
//   acceptor.cpp  the acceptor's steps: CHALLENGE, then AUTHENTICATE checked against the user store
#pragma once

#include "common/log.h"
#include "common/package.h"
#include "crypto/crypto.h"
#include "ntlm/context.h"
#include "ntlm/crypto.h"
#include "ntlm/messages.h"

#include <array>
#include <string>
#include <string_view>

namespace nlassp::ntlm::detail {

extern const log::Logger kLog;

// "DOMAIN\user" (or "user") for a log line, control characters replaced (common/text.h).
std::string account(std::u16string_view domain, std::u16string_view user);
// The DNS host name and its NetBIOS form (first label, upper case, at most 15 characters).
void host_names(std::u16string& dns, std::u16string& netbios);
bool all_zero(ByteView v) noexcept;
Bytes u64le_bytes(uint64_t v);
// MD5 of the gss_channel_bindings_struct serialization (MsvAvChannelBindings).
Error bindings_hash(const ChannelBindings& cb, std::array<uint8_t, 16>& out);

class NtlmContext final : public SecurityContext {
public:
	NtlmContext(Role role, CredentialPtr cred) : role_(role), cred_(std::move(cred)) {}

	Error step(const StepInput& in, StepOutput& out) override;
	[[nodiscard]] bool established() const noexcept override { return state_ == State::Established; }
	[[nodiscard]] ContextFlags flags() const noexcept override;
	[[nodiscard]] PackageId package() const noexcept override { return PackageId::Ntlm; }
	[[nodiscard]] Sizes sizes() const noexcept override { return Sizes{kMaxToken, kSignatureSize, 0, kSignatureSize}; }

	Error sign(std::span<const MessageBuffer> msg, Bytes& token) override;
	Error verify(std::span<const MessageBuffer> msg, ByteView token) override;
	Error encrypt(std::span<MessageBuffer> msg, Bytes& token) override;
	Error decrypt(std::span<MessageBuffer> msg, ByteView token) override;

	Error session_key(SecretBytes& key) const override;
	Error names(ContextNames& names) const override;
	Error set_workstation(std::u16string name) override;

	[[nodiscard]] bool negotiation_mic_required() const noexcept override { return mic_exchanged_; }
	Error make_negotiation_mic(ByteView mech_types_der, Bytes& mic) override;
	Error verify_negotiation_mic(ByteView mech_types_der, ByteView mic) override;
	void negotiation_mic_complete() override;

	Error init_initiator();

private:
	enum class State : uint8_t { Initial, WaitChallenge, WaitAuthenticate, Established, Failed };

	Error initiator_negotiate(const StepInput& in, StepOutput& out);
	Error initiator_authenticate(const StepInput& in, StepOutput& out);
	Error acceptor_challenge(const StepInput& in, StepOutput& out);
	Error acceptor_authenticate(const StepInput& in, StepOutput& out);
	Error look_up(const AuthenticateMessage& am, const std::u16string& user, const std::u16string& domain,
	              const std::string& who, NtlmAccount& found) const;
	Error verify_response(const AuthenticateMessage& am, const std::u16string& user, const std::u16string& domain,
	                      const std::string& who, NtlmAccount& found);
	Error verify_mic_and_bindings(const AuthenticateMessage& am, const StepInput& in, const std::string& who);
	Error derive_session();
	Error check_signature(std::span<const MessageBuffer> msg, ByteView token, bool unseal);
	Error fail(Error e)
	{
		state_ = State::Failed;
		return e;
	}
	[[nodiscard]] std::u16string workstation() const
	{
		if (ws_set_)
			return ws_override_;
		if (cred_ && !cred_->workstation.empty())
			return cred_->workstation;
		std::u16string dns, nb;
		host_names(dns, nb);
		return nb;
	}

	Role role_;
	CredentialPtr cred_;
	State state_ = State::Initial;

	// Initiator identity (split from "DOMAIN\user" or "user@domain" when no domain was given).
	std::u16string user_, domain_;
	std::u16string ws_override_;
	bool ws_set_ = false;
	ContextFlags requested_ = 0;
	std::u16string target_;

	// Handshake.
	Bytes negotiate_raw_, challenge_raw_;
	uint32_t challenge_flags_ = 0;
	std::array<uint8_t, 8> server_challenge_{};
	uint32_t negotiated_ = 0;
	bool seal_ = false;
	bool key_exch_ = false;
	bool mic_exchanged_ = false;

	// Acceptor: who logged on.
	std::u16string peer_user_, peer_domain_, peer_workstation_;

	// Session.
	SecretBytes exported_key_;
	SecretBytes send_sign_, recv_sign_, send_seal_key_, recv_seal_key_;
	crypto::Rc4 send_seal_, recv_seal_;
	bool send_mic_pending_ = false;   // a mechListMIC went out / came in since the last
	bool recv_mic_pending_ = false;   // negotiation_mic_complete()
	uint32_t send_seq_ = 0, recv_seq_ = 0;
};

} // namespace nlassp::ntlm::detail
