// SPNEGO (RFC 4178, MS-SPNG) as a negotiator over SecurityContext mechanisms.
//
// Shape of an exchange (what both sides do, and what WinPR, MIT and Windows expect of us):
//  - The initiator offers every usable mechanism in mechTypes and an optimistic token from the
//    first one. A mechanism that cannot even produce its first token because it cannot work
//    here (Kerberos without a realm, KDC or ticket, or for an unknown SPN) is dropped from the
//    offer at once, the next one is tried, and one INFO line says which is used and why. A
//    mechanism that reports the credentials refused (LogonDenied, PasswordExpired) ends the
//    login with that error: see may_fall_back().
//  - The acceptor picks the first offered mechanism it supports and is allowed to use (never
//    Kerberos user-to-user, which stock FreeRDP clients list first). If that is not the first
//    offered one, the optimistic token is dropped and the reply is request-mic with
//    supportedMech and no responseToken (RFC 4178 §3.2).
//  - mechListMIC: required when the acceptor did not pick the initiator's first mechanism,
//    when the acceptor asks (request-mic), when the mechanism says so
//    (negotiation_mic_required(), e.g. NTLM with an AUTHENTICATE MIC), or once the peer has
//    sent one. The side that sends the final mechanism token sends its MIC with it; the other
//    side answers with its own. The initiator also adds a MIC to its final mechanism token
//    whenever the mechanism can make one (Windows and WinPR peers answer it). A missing
//    required MIC is Error::DowngradeDetected, a wrong one Error::MessageAltered.
//  - Raw NTLMSSP (and raw GSS mechanism tokens) reaching a Negotiate acceptor are handed to
//    that mechanism without SPNEGO framing, as Windows does for peers that skip SPNEGO.
#include "negotiate/context.h"

#include "common/failure.h"
#include "common/log.h"
#include "negotiate/messages.h"
#include "negotiate/policy.h"
#include "negotiate/report.h"

#include <algorithm>
#include <optional>
#include <string>

namespace nlassp::negotiate {

namespace {

const log::Logger logger("com.nlassp.negotiate");

constexpr size_t kNone = static_cast<size_t>(-1);

const char* role_name(Role role)
{
	return role == Role::Initiator ? "initiator" : "acceptor";
}

std::string describe(const std::vector<Mechanism>& mechs)
{
	std::string s;
	for (const Mechanism& m : mechs) {
		if (!s.empty())
			s += ", ";
		s += package_name(m.id);
	}
	return s.empty() ? "none" : s;
}

// Whether an OID from the peer names this mechanism. Microsoft's Kerberos OID is an alias of
// the standard one (Windows offers both; Samba answers with the old one).
bool names_mechanism(ByteView offered, const Mechanism& m)
{
	if (oid::equal(offered, m.oid))
		return true;
	return m.id == PackageId::Kerberos && oid::is_kerberos(offered) && oid::is_kerberos(m.oid);
}

class NegotiateContext final : public SecurityContext {
public:
	NegotiateContext(Role role, CredentialPtr cred, std::vector<Mechanism> mechs, bool exclusive)
	    : role_(role), cred_(std::move(cred)), allowed_(std::move(mechs)), exclusive_(exclusive)
	{
	}

	// An initiator deleted while it waits for the acceptor's verdict on its final mechanism
	// token: over HTTP (an RD Gateway) a refusal is often a bare 401 that never reaches us, so
	// this is the one place that can tell the user which logon went unanswered.
	~NegotiateContext() override
	{
		if (role_ != Role::Initiator || !awaiting_verdict_ || state_ != State::Negotiating)
			return;
		try {
			NLASSP_LOG(logger, Info,
			           "Negotiate initiator: the %s logon of %s to %s ended before the server answered our "
			           "final token; if the connection failed there, the server most likely refused these "
			           "credentials: %s",
			           mech_name(), logon_name(*cred_).c_str(), target_text(target_).c_str(),
			           refusal_hint(target_).c_str());
		} catch (...) { // NOLINT(bugprone-empty-catch): a destructor must not throw
		}
	}

	Error step(const StepInput& in, StepOutput& out) override
	{
		out = StepOutput{};
		switch (state_) {
		case State::Start:
			return role_ == Role::Initiator ? initiator_first(in, out) : acceptor_first(in, out);
		case State::Negotiating:
			return role_ == Role::Initiator ? initiator_next(in, out) : acceptor_next(in, out);
		case State::Passthrough:
			return passthrough_step(in, out);
		case State::Done:
			NLASSP_LOG(logger, Warn, "Negotiate %s: a token arrived after the context was established",
			           role_name(role_));
			return Error::InvalidToken;
		case State::Failed:
			NLASSP_LOG(logger, Warn, "Negotiate %s: the context already failed; start a new one",
			           role_name(role_));
			return Error::InvalidToken;
		}
		return Error::Internal;
	}

	[[nodiscard]] bool established() const noexcept override
	{
		if (state_ == State::Done)
			return true;
		return state_ == State::Passthrough && mech() && mech()->established();
	}

	[[nodiscard]] ContextFlags flags() const noexcept override { return mech() ? mech()->flags() : 0; }

	[[nodiscard]] PackageId package() const noexcept override
	{
		return current_ != kNone ? slots_[current_].mech.id : PackageId::Negotiate;
	}

	[[nodiscard]] Sizes sizes() const noexcept override
	{
		Sizes s;
		if (mech() && established())
			s = mech()->sizes();
		uint32_t max_token = std::max(s.max_token, kNegotiateMaxToken);
		for (const Slot& slot : slots_)
			if (slot.ctx)
				max_token = std::max(max_token, slot.ctx->sizes().max_token);
		s.max_token = max_token;
		return s;
	}

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
	Error names(ContextNames& n) const override
	{
		return established() ? mech()->names(n) : Error::NotEstablished;
	}
	// Remote Credential Guard: the chosen mechanism's answer (Kerberos makes one; NTLM cannot).
	Error ticket_logon(TicketLogon& out) override
	{
		return established() ? mech()->ticket_logon(out) : Error::NotEstablished;
	}

	// Remembered and given to every mechanism context, so that a switch to NTLM after the first
	// call still sends it; the answer is the current mechanism's.
	Error set_workstation(std::u16string name) override
	{
		workstation_ = name;
		Error result = Error::None;
		for (size_t i = 0; i < slots_.size(); ++i) {
			if (!slots_[i].ctx)
				continue;
			Error e = slots_[i].ctx->set_workstation(name);
			if (i == current_)
				result = e;
		}
		return result;
	}

private:
	enum class State : uint8_t { Start, Negotiating, Passthrough, Done, Failed };

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

	StepInput mech_input(const StepInput& in, ByteView token) const
	{
		StepInput mi;
		mi.token = token;
		mi.bindings = in.bindings;
		// As MIT and WinPR do: integrity is what makes a mechListMIC possible.
		mi.requested = in.requested | ctx::Integrity;
		mi.target = in.target;
		return mi;
	}

	ContextPtr create_mech(const Mechanism& m, Error& err)
	{
		err = Error::None;
		ContextPtr c;
		if (m.create)
			c = m.create(role_, cred_, err);
		if (!c && err == Error::None)
			err = Error::Internal;
		if (c && err != Error::None)
			c.reset();
		if (c && workstation_)
			(void)c->set_workstation(*workstation_);
		return c;
	}

	Error fail(Error e)
	{
		awaiting_verdict_ = false;
		state_ = State::Failed;
		return e;
	}

	Error invalid(const char* what)
	{
		NLASSP_LOG(logger, Warn, "Negotiate %s: %s", role_name(role_), what);
		return fail(Error::InvalidToken);
	}

	// Acceptor: on failure, a NegTokenResp{reject} for the initiator (with the mechanism's error
	// token, if it made one).
	Error reject(StepOutput& out, Error e, const Bytes& mech_error_token = {})
	{
		SpnegoNegTokenResp resp;
		resp.neg_state = NegState::Reject;
		if (!mech_error_token.empty())
			resp.response_token = mech_error_token;
		Bytes token;
		if (encode_neg_token_resp(resp, token))
			out.token = std::move(token);
		return fail(e);
	}

	// Runs the current mechanism on `token`; records completion and the mechanism's demand
	// for a mechListMIC.
	Error step_mech(const StepInput& in, ByteView token, StepOutput& mo)
	{
		Error e = mech()->step(mech_input(in, token), mo);
		if (e != Error::None) {
			NLASSP_LOG(logger, Debug, "Negotiate %s: %s failed: %s", role_name(role_), mech_name(),
			           error_name(e));
			return e;
		}
		if (mo.complete) {
			mech_complete_ = true;
			if (mech()->negotiation_mic_required())
				mic_required_ = true;
		}
		return Error::None;
	}

	// The mechListMIC step, once the mechanism is complete (RFC 4178 §5). `sending` says whether
	// a mechanism token goes out with this reply.
	Error exchange_mic(const std::optional<Bytes>& mic_in, bool sending, std::optional<Bytes>& mic_out)
	{
		if (mic_in) {
			if (mic_received_) {
				NLASSP_LOG(logger, Warn, "Negotiate %s: the peer sent a second mechListMIC", role_name(role_));
				return Error::InvalidToken;
			}
			Error e = mech()->verify_negotiation_mic(mech_types_der_, *mic_in);
			if (e != Error::None) {
				NLASSP_LOG(logger, Warn,
				           "Negotiate %s: the peer's mechListMIC does not verify (%s): the mechanism "
				           "list was altered in transit, or the peer's %s keys differ from ours",
				           role_name(role_), error_name(e), mech_name());
				return Error::MessageAltered;
			}
			mic_received_ = true;
			mic_required_ = true; // a MIC received must be answered
		} else if (mic_required_ && !mic_received_ && !sending) {
			NLASSP_LOG(logger, Warn,
			           "Negotiate %s: the peer finished %s without the required mechListMIC; refusing, "
			           "as this is how a mechanism downgrade looks",
			           role_name(role_), mech_name());
			return Error::DowngradeDetected;
		}
		const bool volunteer = role_ == Role::Initiator && sending;
		if (!mic_sent_ && (mic_required_ || volunteer)) {
			Bytes mic;
			Error e = mech()->make_negotiation_mic(mech_types_der_, mic);
			if (e == Error::Unsupported && !mic_required_)
				return Error::None;
			if (e != Error::None) {
				NLASSP_LOG(logger, Warn, "Negotiate %s: %s cannot make the mechListMIC: %s",
				           role_name(role_), mech_name(), error_name(e));
				return e;
			}
			mic_out = std::move(mic);
			mic_sent_ = true;
		}
		return Error::None;
	}

	Error finish(StepOutput& out)
	{
		awaiting_verdict_ = false;
		if (mic_sent_ || mic_received_)
			mech()->negotiation_mic_complete();
		state_ = State::Done;
		out.complete = true;
		NLASSP_LOG(logger, Debug, "Negotiate %s: established with %s%s", role_name(role_), mech_name(),
		           mic_sent_ && mic_received_ ? " (mechListMIC exchanged)" : "");
		return Error::None;
	}

	// ---- initiator ------------------------------------------------------------------------

	Error initiator_first(const StepInput& in, StepOutput& out)
	{
		target_ = in.target;
		if (!in.token.empty()) {
			// A Windows acceptor may speak first with a NegTokenInit2 carrying hints; they say
			// nothing we use.
			NegotiationToken hint;
			if (!decode_negotiation_token(in.token, hint) || hint.kind != NegotiationToken::Kind::Init)
				return invalid("the first input is not a NegTokenInit; expected no input or the "
				               "acceptor's NegTokenInit2");
		}

		// Every allowed mechanism is set up in order; the first whose context can be created and
		// whose first step succeeds gives the optimistic token, the others that can be created
		// are offered after it. A mechanism that fails before sending anything is handled by the
		// fallback rule (may_fall_back): either it is passed over, and the reason goes into one
		// INFO line naming what is used instead, or the whole login stops with its error.
		Error first_error = Error::None;
		std::string passed_over;   // "Kerberos cannot work here: <reason>" for the line below
		std::string not_offered;   // the same for mechanisms after the chosen one
		Bytes optimistic;
		for (const Mechanism& m : allowed_) {
			const bool trying = current_ == kNone;
			failure::clear();
			Error e = Error::None;
			ContextPtr c;
			{
				// A mechanism that claimed the credential has no fallback: it reports its own
				// failures, and nothing is said on its behalf.
				std::optional<failure::CallerReports> reported_here;
				if (!exclusive_)
					reported_here.emplace();
				c = create_mech(m, e);
				if (c && trying) {
					StepOutput mo;
					current_ = slots_.size();
					slots_.push_back(Slot{m, std::move(c)});
					e = step_mech(in, {}, mo);
					if (e == Error::None) {
						optimistic = std::move(mo.token);
						continue;
					}
					slots_.pop_back();
					current_ = kNone;
					mech_complete_ = false;
					mic_required_ = false;
				}
			}
			if (c) {
				slots_.push_back(Slot{m, std::move(c)});
				continue;
			}
			std::string reason = failure::take();
			if (reason.empty())
				reason = error_name(e);
			if (first_error == Error::None)
				first_error = e;
			if (exclusive_)
				return fail(e);
			if (!may_fall_back(e)) {
				if (allowed_.size() <= 1) {
					// the mechanism's own line says it all
				} else if (e == Error::LogonDenied || e == Error::PasswordExpired) {
					NLASSP_LOG(logger, Info,
					           "Negotiate: %s refused the credentials (%s); not trying another mechanism with "
					           "them, so that a wrong password counts once toward an account lockout (the logon "
					           "of %s to %s: %s)",
					           package_name(m.id), error_name(e), logon_name(*cred_).c_str(),
					           target_text(in.target).c_str(), refusal_hint(in.target).c_str());
				} else {
					NLASSP_LOG(logger, Info,
					           "Negotiate: %s says the account may not log on (%s); not trying another "
					           "mechanism, which would be refused too and count another failed logon (the "
					           "logon of %s to %s)",
					           package_name(m.id), error_name(e), logon_name(*cred_).c_str(),
					           target_text(in.target).c_str());
				}
				return fail(e);
			}
			std::string& list = trying ? passed_over : not_offered;
			list += std::string(list.empty() ? "" : "; ") + package_name(m.id) + " cannot work here: " + reason;
		}
		failure::clear();
		if (current_ == kNone) {
			NLASSP_LOG(logger, Warn,
			           "Negotiate: no mechanism can authenticate (%s): %s; check the credentials, the "
			           "Kerberos realm/KDC, or /auth-pkg-list",
			           error_name(first_error), passed_over.c_str());
			return fail(first_error == Error::None ? Error::NoCredentials : first_error);
		}
		// The one line that says why the mechanism in use is not the first choice.
		if (!passed_over.empty())
			NLASSP_LOG(logger, Info, "Negotiate: using %s for %s because %s", mech_name(),
			           target_text(in.target).c_str(), passed_over.c_str());
		if (!not_offered.empty())
			NLASSP_LOG(logger, Info, "Negotiate: using %s, not offering more because %s", mech_name(),
			           not_offered.c_str());

		std::vector<Bytes> oids;
		for (const Slot& s : slots_)
			oids.push_back(s.mech.oid);
		SpnegoNegTokenInit init;
		if (!encode_mech_type_list(oids, init.mech_types_der)) {
			NLASSP_LOG(logger, Error, "Negotiate: a mechanism has an invalid OID");
			return fail(Error::Internal);
		}
		mech_types_der_ = init.mech_types_der;
		init.mech_types = std::move(oids);
		if (!optimistic.empty())
			init.mech_token = std::move(optimistic);
		if (!encode_neg_token_init(init, out.token))
			return fail(Error::Internal);
		NLASSP_LOG(logger, Debug, "Negotiate initiator: offering %zu mechanism(s), optimistic token from %s",
		           slots_.size(), mech_name());
		state_ = State::Negotiating;
		awaiting_verdict_ = mech_complete_;
		return Error::None;
	}

	Error initiator_next(const StepInput& in, StepOutput& out)
	{
		NegotiationToken t;
		if (!decode_negotiation_token(in.token, t) || t.kind != NegotiationToken::Kind::Resp)
			return invalid("the acceptor's token is not a valid SPNEGO NegTokenResp");
		const SpnegoNegTokenResp& r = t.resp;

		if (r.neg_state == NegState::Reject) {
			if (r.response_token && !r.response_token->empty() && !mech_complete_) {
				StepOutput mo;
				Error e = step_mech(in, *r.response_token, mo);
				if (e != Error::None)
					return fail(e);
			}
			NLASSP_LOG(logger, Info,
			           "Negotiate initiator: the acceptor rejected the authentication (%s): %s refused the "
			           "logon of %s; %s",
			           mech_name(), target_text(target_).c_str(), logon_name(*cred_).c_str(),
			           refusal_hint(target_).c_str());
			return fail(Error::LogonDenied);
		}
		if (r.neg_state == NegState::RequestMic)
			mic_required_ = true;

		// An empty responseToken is the same as none (old IIS sends one).
		const bool have_token = r.response_token && !r.response_token->empty();
		if (!nego_done_) {
			nego_done_ = true;
			if (r.supported_mech && !names_mechanism(*r.supported_mech, slots_[current_].mech)) {
				size_t chosen = kNone;
				for (size_t i = 0; i < slots_.size() && chosen == kNone; ++i)
					if (i != current_ && slots_[i].ctx && names_mechanism(*r.supported_mech, slots_[i].mech))
						chosen = i;
				if (chosen == kNone)
					return invalid("the acceptor chose a mechanism we did not offer");
				NLASSP_LOG(logger, Info, "Negotiate: the acceptor chose %s instead of %s",
				           package_name(slots_[chosen].mech.id), mech_name());
				slots_[current_].ctx.reset();
				current_ = chosen;
				mech_complete_ = false;
				mic_required_ = true; // not our first choice: RFC 4178 §5 requires the MIC
			} else if (!have_token && !mech_complete_) {
				return invalid("the acceptor accepted our mechanism but sent no mechanism token");
			} else if (have_token && mech_complete_) {
				return invalid("the acceptor sent a mechanism token after our mechanism completed");
			}
		} else {
			if (r.supported_mech && !names_mechanism(*r.supported_mech, slots_[current_].mech))
				return invalid("the acceptor changed supportedMech after the first reply");
			if (!have_token && !mech_complete_)
				return invalid("the acceptor's reply lacks the mechanism token");
			if (have_token && mech_complete_)
				return invalid("the acceptor sent a mechanism token after our mechanism completed");
		}

		StepOutput mo;
		if (!mech_complete_) {
			Error e = step_mech(in, have_token ? ByteView(*r.response_token) : ByteView(), mo);
			if (e != Error::None)
				return fail(e);
		}
		const bool acceptor_done = r.neg_state == NegState::AcceptCompleted;
		const bool sending = !mo.token.empty();

		SpnegoNegTokenResp reply;
		if (sending)
			reply.response_token = std::move(mo.token);

		if (!mech_complete_) {
			if (acceptor_done)
				return invalid("the acceptor reports completion but our mechanism needs more");
			if (!sending) {
				NLASSP_LOG(logger, Error, "Negotiate initiator: %s is incomplete but produced no token",
				           mech_name());
				return fail(Error::Internal);
			}
			reply.neg_state = NegState::AcceptIncomplete;
			if (!encode_neg_token_resp(reply, out.token))
				return fail(Error::Internal);
			return Error::None;
		}

		std::optional<Bytes> mic_out;
		if (Error e = exchange_mic(r.mech_list_mic, sending, mic_out); e != Error::None)
			return fail(e);
		const bool made_mic = mic_out.has_value();
		reply.mech_list_mic = std::move(mic_out);

		const bool both_mics = mic_sent_ && mic_received_;
		if (sending && !both_mics) {
			// Our final mechanism token (with our MIC, if any) still has to reach the acceptor.
			if (acceptor_done)
				return invalid("the acceptor reports completion before our final mechanism token");
			reply.neg_state = NegState::AcceptIncomplete;
			if (!encode_neg_token_resp(reply, out.token))
				return fail(Error::Internal);
			awaiting_verdict_ = true;
			return Error::None;
		}
		if (sending || made_mic) {
			// A last token for the acceptor: our MIC answering its MIC. SSPI returns SEC_E_OK
			// with it, and FreeRDP sends it.
			reply.neg_state = NegState::AcceptCompleted;
			if (!encode_neg_token_resp(reply, out.token))
				return fail(Error::Internal);
		} else if (!acceptor_done) {
			// We stop here and send nothing: the acceptor must say so too, or the two ends
			// disagree about whether the exchange is over.
			return invalid("the acceptor's final token does not say accept-completed");
		}
		return finish(out);
	}

	// ---- acceptor -------------------------------------------------------------------------

	Error acceptor_first(const StepInput& in, StepOutput& out)
	{
		if (in.token.empty())
			return reject(out, invalid("the initiator's first token is empty"));

		if (is_raw_ntlmssp(in.token))
			return start_passthrough(in, out, oid::ntlmssp(), "a raw NTLMSSP message");
		Bytes raw_mech;
		if (peek_initial_context_mech(in.token, raw_mech)) {
			if (!oid::is_kerberos(raw_mech) && !oid::equal(raw_mech, oid::ntlmssp()))
				return reject(out, invalid("the initiator's first token is a GSS token of an unknown mechanism"));
			return start_passthrough(in, out, raw_mech, "a raw mechanism token");
		}

		NegotiationToken t;
		if (!decode_negotiation_token(in.token, t) || t.kind != NegotiationToken::Kind::Init)
			return reject(out, invalid("the initiator's first token is not a valid SPNEGO NegTokenInit"));
		SpnegoNegTokenInit& init = t.init;
		mech_types_der_ = init.mech_types_der;

		// Pick the first offered mechanism we allow and can set up.
		size_t chosen_index = kNone;
		for (size_t i = 0; i < init.mech_types.size() && chosen_index == kNone; ++i) {
			const Bytes& offered = init.mech_types[i];
			if (oid::equal(offered, oid::kerberos_u2u()) || oid::equal(offered, oid::negoex())) {
				NLASSP_LOG(logger, Debug, "Negotiate acceptor: skipping %s (not supported)",
				           oid::name(offered).c_str());
				continue;
			}
			for (const Mechanism& m : allowed_) {
				if (!names_mechanism(offered, m))
					continue;
				if (std::any_of(slots_.begin(), slots_.end(),
				                [&](const Slot& s) { return s.mech.id == m.id && oid::equal(s.mech.oid, m.oid); }))
					continue; // already tried (the other Kerberos OID)
				Error e = Error::None;
				failure::clear();
				ContextPtr c;
				{
					failure::CallerReports reported_here;
					c = create_mech(m, e);
				}
				slots_.push_back(Slot{m, nullptr});
				if (!c) {
					std::string reason = failure::take();
					NLASSP_LOG(logger, Info, "Negotiate acceptor: cannot accept %s here: %s",
					           package_name(m.id), reason.empty() ? error_name(e) : reason.c_str());
					continue;
				}
				slots_.back().ctx = std::move(c);
				current_ = slots_.size() - 1;
				chosen_index = i;
				break;
			}
		}
		if (chosen_index == kNone) {
			std::string offered;
			for (const Bytes& o : init.mech_types)
				offered += (offered.empty() ? "" : ", ") + oid::name(o);
			NLASSP_LOG(logger, Warn,
			           "Negotiate acceptor: no common mechanism: the client offers %s, this server "
			           "allows %s",
			           offered.c_str(), describe(allowed_).c_str());
			return reject(out, Error::LogonDenied);
		}
		const Bytes& chosen_oid = init.mech_types[chosen_index];
		NLASSP_LOG(logger, Debug, "Negotiate acceptor: chose %s (offer #%zu)", oid::name(chosen_oid).c_str(),
		           chosen_index + 1);

		SpnegoNegTokenResp reply;
		reply.supported_mech = chosen_oid;
		if (chosen_index != 0) {
			// Not the initiator's first choice: its optimistic token (if any) is for another
			// mechanism; drop it and ask for the MIC that proves the offer was not altered.
			mic_required_ = true;
			reply.neg_state = NegState::RequestMic;
			state_ = State::Negotiating;
			if (!encode_neg_token_resp(reply, out.token))
				return fail(Error::Internal);
			return Error::None;
		}
		reply.neg_state = NegState::AcceptIncomplete;
		state_ = State::Negotiating;
		if (!init.mech_token || init.mech_token->empty()) {
			if (!encode_neg_token_resp(reply, out.token))
				return fail(Error::Internal);
			return Error::None;
		}
		return acceptor_continue(in, out, *init.mech_token, init.mech_list_mic, std::move(reply));
	}

	Error acceptor_next(const StepInput& in, StepOutput& out)
	{
		NegotiationToken t;
		if (!decode_negotiation_token(in.token, t) || t.kind != NegotiationToken::Kind::Resp)
			return reject(out, invalid("the initiator's token is not a valid SPNEGO NegTokenResp"));
		const SpnegoNegTokenResp& r = t.resp;
		if (r.neg_state == NegState::Reject) {
			NLASSP_LOG(logger, Info, "Negotiate acceptor: the initiator gave up (%s)", mech_name());
			return fail(Error::LogonDenied);
		}
		if (r.supported_mech)
			return reject(out, invalid("the initiator sent supportedMech"));
		const bool have_token = r.response_token && !r.response_token->empty();
		if (!have_token && !r.mech_list_mic)
			return reject(out, invalid("the initiator's token has neither a mechanism token nor a MIC"));
		if (have_token && mech_complete_)
			return reject(out, invalid("the initiator sent a mechanism token after the mechanism completed"));
		if (!have_token && !mech_complete_)
			return reject(out, invalid("the initiator's token lacks the mechanism token"));
		SpnegoNegTokenResp reply;
		return acceptor_continue(in, out, have_token ? ByteView(*r.response_token) : ByteView(),
		                         r.mech_list_mic, std::move(reply));
	}

	// Steps the mechanism (when a token came), runs the MIC exchange and writes the reply.
	Error acceptor_continue(const StepInput& in, StepOutput& out, ByteView token,
	                        const std::optional<Bytes>& mic_in, SpnegoNegTokenResp reply)
	{
		const bool stepped = !token.empty();
		StepOutput mo;
		if (stepped) {
			Error e = step_mech(in, token, mo);
			if (e != Error::None)
				return reject(out, e, mo.token);
		}
		const bool sending = !mo.token.empty();
		if (sending)
			reply.response_token = std::move(mo.token);

		if (!mech_complete_) {
			if (mic_in)
				return reject(out, invalid("the initiator sent a mechListMIC before the mechanism completed"));
			if (!sending) {
				NLASSP_LOG(logger, Error, "Negotiate acceptor: %s is incomplete but produced no token",
				           mech_name());
				return reject(out, Error::Internal);
			}
			if (!reply.neg_state)
				reply.neg_state = NegState::AcceptIncomplete;
			if (!encode_neg_token_resp(reply, out.token))
				return fail(Error::Internal);
			return Error::None;
		}

		std::optional<Bytes> mic_out;
		if (Error e = exchange_mic(mic_in, sending, mic_out); e != Error::None)
			return reject(out, e);
		const bool made_mic = mic_out.has_value();
		reply.mech_list_mic = std::move(mic_out);

		if (mic_required_ && !(mic_sent_ && mic_received_)) {
			// Our MIC (and final mechanism token) go out; the initiator's MIC is still due.
			reply.neg_state = NegState::AcceptIncomplete;
			if (!encode_neg_token_resp(reply, out.token))
				return fail(Error::Internal);
			return Error::None;
		}
		if (stepped || sending || made_mic || reply.supported_mech) {
			reply.neg_state = NegState::AcceptCompleted;
			if (!encode_neg_token_resp(reply, out.token))
				return fail(Error::Internal);
		}
		return finish(out);
	}

	// A raw mechanism token under Negotiate: hand the whole exchange to that mechanism.
	Error start_passthrough(const StepInput& in, StepOutput& out, ByteView mech_oid, const char* what)
	{
		for (const Mechanism& m : allowed_) {
			if (!names_mechanism(mech_oid, m))
				continue;
			Error e = Error::None;
			ContextPtr c = create_mech(m, e);
			if (!c) {
				NLASSP_LOG(logger, Warn, "Negotiate acceptor: cannot accept %s (%s): %s", what,
				           package_name(m.id), error_name(e));
				return fail(e);
			}
			slots_.push_back(Slot{m, std::move(c)});
			current_ = 0;
			state_ = State::Passthrough;
			NLASSP_LOG(logger, Debug, "Negotiate acceptor: %s without SPNEGO; using %s directly", what,
			           package_name(m.id));
			return passthrough_step(in, out);
		}
		NLASSP_LOG(logger, Warn,
		           "Negotiate acceptor: the client sent %s (%s), which this server does not allow "
		           "(allowed: %s)",
		           what, oid::name(mech_oid).c_str(), describe(allowed_).c_str());
		return fail(Error::LogonDenied);
	}

	Error passthrough_step(const StepInput& in, StepOutput& out)
	{
		StepInput mi = mech_input(in, in.token);
		mi.requested = in.requested; // no SPNEGO, no mechListMIC: pass the caller's flags as they are
		Error e = mech()->step(mi, out);
		if (e != Error::None)
			return fail(e);
		return Error::None;
	}

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
	std::u16string target_;          // initiator: the SPN, for log lines
	bool awaiting_verdict_ = false;  // initiator: our final mechanism token is out, no answer yet
	bool exclusive_ = false;   // the one mechanism claimed the credential (a smartcard logon)
};

} // namespace

ContextPtr create_context(Role role, const CredentialPtr& cred, std::vector<Mechanism> mechanisms, Error& err)
{
	if (!cred) {
		err = Error::NoCredentials;
		return nullptr;
	}
	std::vector<Mechanism> usable;
	for (Mechanism& m : mechanisms)
		if (m.create && oid::valid(m.oid))
			usable.push_back(std::move(m));
	const std::string list = cred->identity ? cred->identity->package_list : std::string();
	// A credential one mechanism claims (a smartcard logon for Kerberos) goes to it alone.
	std::optional<PackageId> claimed;
	if (role == Role::Initiator)
		for (const Mechanism& m : usable)
			if (m.claims && m.claims(*cred))
				claimed = m.id;
	std::vector<Mechanism> mechs = apply_package_list(std::move(usable), list);
	if (claimed) {
		std::erase_if(mechs, [&](const Mechanism& m) { return m.id != *claimed; });
		if (mechs.empty()) {
			NLASSP_LOG(logger, Error,
			           "Negotiate initiator: a smartcard logon needs %s, but the package list \"%s\" excludes it; "
			           "allow it (or leave /auth-pkg-list out)",
			           package_name(*claimed), list.c_str());
			err = Error::NoCredentials;
			return nullptr;
		}
	}
	if (mechs.empty()) {
		NLASSP_LOG(logger, Error,
		           "Negotiate %s: no authentication package is left after the package list \"%s\"; "
		           "allow ntlm or kerberos (e.g. /auth-pkg-list:'!kerberos')",
		           role_name(role), list.c_str());
		err = Error::NoCredentials;
		return nullptr;
	}
	NLASSP_LOG(logger, Info, "Negotiate %s: mechanisms %s%s%s%s%s", role_name(role), describe(mechs).c_str(),
	           list.empty() ? "" : " (package list \"", list.c_str(), list.empty() ? "" : "\")",
	           claimed ? " (a smartcard logon: no other mechanism may see its PIN)" : "");
	err = Error::None;
	return std::make_unique<NegotiateContext>(role, cred, std::move(mechs), claimed.has_value());
}

} // namespace nlassp::negotiate
