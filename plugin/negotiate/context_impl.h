// Internals of the Negotiate package shared by its source files: the NegotiateContext class.
// Not a public interface: only plugin/negotiate/*.cpp include it.
//
// The context's work is split by responsibility:
//   context.cpp    construction, the step dispatch, what both roles share (running the chosen
//                  mechanism, the mechListMIC exchange, failing and finishing), create_context
//   initiator.cpp  the initiator: the offer, the fallback between mechanisms, the replies
//   acceptor.cpp   the acceptor: the choice, the replies, raw mechanism tokens (passthrough)
#pragma once

#include "common/log.h"
#include "negotiate/context.h"
#include "negotiate/messages.h"

#include <optional>
#include <string>
#include <vector>

namespace nlassp::negotiate::detail {

extern const log::Logger logger;

constexpr size_t kNone = static_cast<size_t>(-1);

const char* role_name(Role role);
// "Kerberos, NTLM" for a log line; "none" when empty.
std::string describe(const std::vector<Mechanism>& mechs);
// Whether an OID from the peer names this mechanism. Microsoft's Kerberos OID is an alias of
// the standard one (Windows offers both; Samba answers with the old one).
bool names_mechanism(ByteView offered, const Mechanism& m);

class NegotiateContext final : public SecurityContext {
public:
	NegotiateContext(Role role, CredentialPtr cred, std::vector<Mechanism> mechs, bool exclusive)
	    : role_(role), cred_(std::move(cred)), allowed_(std::move(mechs)), exclusive_(exclusive)
	{
	}
	~NegotiateContext() override;

	Error step(const StepInput& in, StepOutput& out) override;
	[[nodiscard]] bool established() const noexcept override;
	[[nodiscard]] ContextFlags flags() const noexcept override { return mech() ? mech()->flags() : 0; }
	[[nodiscard]] PackageId package() const noexcept override
	{
		return current_ != kNone ? slots_[current_].mech.id : PackageId::Negotiate;
	}
	[[nodiscard]] Sizes sizes() const noexcept override;

	Error sign(std::span<const MessageBuffer> msg, Bytes& token) override
	{
		return established() ? mech()->sign(msg, token) : Error::NotEstablished;
	}
	Error verify(std::span<const MessageBuffer> msg, ByteView token) override
	{
		return established() ? mech()->verify(msg, token) : Error::NotEstablished;
	}
	[[nodiscard]] uint32_t wrap_token_size(std::span<const MessageBuffer> msg) const noexcept override
	{
		return established() ? mech()->wrap_token_size(msg) : sizes().security_trailer;
	}
	[[nodiscard]] size_t received_token_size(ByteView message) const noexcept override
	{
		return established() ? mech()->received_token_size(message) : sizes().security_trailer;
	}
	Error encrypt(std::span<MessageBuffer> msg, Bytes& token) override
	{
		return established() ? mech()->encrypt(msg, token) : Error::NotEstablished;
	}
	Error decrypt(std::span<MessageBuffer> msg, ByteView token) override
	{
		return established() ? mech()->decrypt(msg, token) : Error::NotEstablished;
	}
	Error session_key(SecretBytes& key) const override
	{
		return established() ? mech()->session_key(key) : Error::NotEstablished;
	}
	Error names(ContextNames& n) const override { return established() ? mech()->names(n) : Error::NotEstablished; }
	// Remote Credential Guard: the chosen mechanism's answer (Kerberos makes one; NTLM cannot).
	Error ticket_logon(TicketLogon& out) override
	{
		return established() ? mech()->ticket_logon(out) : Error::NotEstablished;
	}
	Error set_workstation(std::u16string name) override;

private:
	// CompletedBeforeFinalToken: an HTTP initiator that completed when its last token went out
	// (initiator.cpp, may_skip_final_token); the acceptor's final token may still be passed.
	enum class State : uint8_t { Start, Negotiating, CompletedBeforeFinalToken, Passthrough, Done, Failed };

	struct Slot {
		Mechanism mech;
		ContextPtr ctx;
	};

	[[nodiscard]] SecurityContext* mech() const noexcept
	{
		return current_ != kNone ? slots_[current_].ctx.get() : nullptr;
	}
	[[nodiscard]] const char* mech_name() const noexcept
	{
		return current_ != kNone ? package_name(slots_[current_].mech.id) : "none";
	}

	// ---- both roles (context.cpp) ---------------------------------------------------------
	StepInput mech_input(const StepInput& in, ByteView token) const;
	ContextPtr create_mech(const Mechanism& m, Error& err);
	Error fail(Error e);
	Error invalid(const char* what);
	Error reject(StepOutput& out, Error e, const Bytes& mech_error_token = {});
	Error step_mech(const StepInput& in, ByteView token, StepOutput& mo);
	Error exchange_mic(const std::optional<Bytes>& mic_in, bool sending, std::optional<Bytes>& mic_out);
	Error finish(StepOutput& out);

	// ---- initiator (initiator.cpp) --------------------------------------------------------
	// What setting up the allowed mechanisms found, for the offer and its log lines.
	struct Offer {
		Error first_error = Error::None;
		std::string passed_over;   // "Kerberos cannot work here: <reason>" for the INFO line
		std::string not_offered;   // the same for mechanisms after the chosen one
		Bytes optimistic;          // the chosen mechanism's first token
	};
	Error initiator_first(const StepInput& in, StepOutput& out);
	Error set_up_mechanisms(const StepInput& in, Offer& offer);
	bool set_up(const StepInput& in, const Mechanism& m, Bytes& optimistic, Error& e);
	void report_refusal(PackageId id, Error e, const std::string& reason, bool has_fix) const;
	Error initiator_next(const StepInput& in, StepOutput& out);
	Error initiator_rejected(const StepInput& in, const SpnegoNegTokenResp& r);
	Error check_reply(const SpnegoNegTokenResp& r, bool have_token);
	[[nodiscard]] bool may_skip_final_token() const;
	Error complete_before_final_token(StepOutput& out);
	Error initiator_after_completion(const StepInput& in, StepOutput& out);

	// ---- acceptor (acceptor.cpp) ----------------------------------------------------------
	Error acceptor_first(const StepInput& in, StepOutput& out);
	size_t choose_mechanism(const std::vector<Bytes>& offers);
	Error acceptor_next(const StepInput& in, StepOutput& out);
	Error acceptor_continue(const StepInput& in, StepOutput& out, ByteView token, const std::optional<Bytes>& mic_in,
	                        SpnegoNegTokenResp reply);
	Error start_passthrough(const StepInput& in, StepOutput& out, ByteView mech_oid, const char* what);
	Error passthrough_step(const StepInput& in, StepOutput& out);

	Role role_;
	CredentialPtr cred_;
	std::vector<Mechanism> allowed_;
	std::vector<Slot> slots_;   // initiator: the offered mechanisms; acceptor: those tried
	size_t current_ = kNone;
	State state_ = State::Start;
	Bytes mech_types_der_;
	std::optional<std::u16string> workstation_;
	bool nego_done_ = false;
	bool mech_complete_ = false;
	bool mic_required_ = false;
	bool mic_sent_ = false;
	bool mic_received_ = false;
	bool acceptor_requested_mic_ = false;   // initiator: the acceptor's first reply said request-mic
	std::u16string target_;          // initiator: the SPN, for log lines
	bool awaiting_verdict_ = false;  // initiator: the token that presents our credentials (an NTLM
	                                 // AUTHENTICATE, a Kerberos AP-REQ) is out, no answer yet
	bool exclusive_ = false;   // the one mechanism claimed the credential (a smartcard logon)
};

} // namespace nlassp::negotiate::detail
