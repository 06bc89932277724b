// The Negotiate initiator (RFC 4178, MS-SPNG): the offer with the first usable mechanism's
// optimistic token, the fallback rule between mechanisms (policy.h), and the replies to the
// acceptor until both sides agree the exchange is over. See context.cpp for the whole shape.
#include "negotiate/context_impl.h"

#include "common/failure.h"
#include "negotiate/policy.h"
#include "negotiate/report.h"

#include <optional>
#include <string>

namespace nlassp::negotiate::detail {

Error NegotiateContext::initiator_first(const StepInput& in, StepOutput& out)
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

	Offer offer;
	if (Error e = set_up_mechanisms(in, offer); e != Error::None)
		return e;
	if (current_ == kNone) {
		NLASSP_LOG(logger, Warn,
		           "Negotiate: no mechanism can authenticate (%s): %s; check the credentials, the "
		           "Kerberos realm/KDC, or /auth-pkg-list",
		           error_name(offer.first_error), offer.passed_over.c_str());
		return fail(offer.first_error == Error::None ? Error::NoCredentials : offer.first_error);
	}
	// The one line that says why the mechanism in use is not the first choice.
	if (!offer.passed_over.empty())
		NLASSP_LOG(logger, Info, "Negotiate: using %s for %s because %s", mech_name(),
		           target_text(in.target).c_str(), offer.passed_over.c_str());
	if (!offer.not_offered.empty())
		NLASSP_LOG(logger, Info, "Negotiate: using %s, not offering more because %s", mech_name(),
		           offer.not_offered.c_str());

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
	if (!offer.optimistic.empty())
		init.mech_token = std::move(offer.optimistic);
	if (!encode_neg_token_init(init, out.token))
		return fail(Error::Internal);
	NLASSP_LOG(logger, Debug, "Negotiate initiator: offering %zu mechanism(s), optimistic token from %s",
	           slots_.size(), mech_name());
	state_ = State::Negotiating;
	return Error::None;
}

// Every allowed mechanism is set up in order; the first whose context can be created and whose
// first step succeeds gives the optimistic token, the others that can be created are offered
// after it. A mechanism that fails before sending anything is handled by the fallback rule
// (may_fall_back): either it is passed over, and the reason goes into one INFO line naming what
// is used instead, or the whole login stops with its error (returned; Error::None otherwise).
Error NegotiateContext::set_up_mechanisms(const StepInput& in, Offer& offer)
{
	for (const Mechanism& m : allowed_) {
		const bool trying = current_ == kNone;
		Error e = Error::None;
		if (set_up(in, m, offer.optimistic, e))
			continue;
		bool has_fix = false;
		const std::string recorded = failure::take(&has_fix);
		const std::string reason = recorded.empty() ? error_name(e) : recorded;
		if (offer.first_error == Error::None)
			offer.first_error = e;
		if (exclusive_)
			return fail(e);
		if (!may_fall_back(e)) {
			report_refusal(m.id, e, recorded, has_fix);
			return fail(e);
		}
		std::string& list = trying ? offer.passed_over : offer.not_offered;
		list += std::string(list.empty() ? "" : "; ") + package_name(m.id) + " cannot work here: " + reason;
	}
	failure::clear();
	return Error::None;
}

// One mechanism: its context is created and joins the offer; the first one to do so also makes
// the optimistic token. False (with `e`) when it cannot take part.
bool NegotiateContext::set_up(const StepInput& in, const Mechanism& m, Bytes& optimistic, Error& e)
{
	const bool trying = current_ == kNone;
	failure::clear();
	// A mechanism that claimed the credential has no fallback: it reports its own failures, and
	// nothing is said on its behalf.
	std::optional<failure::CallerReports> reported_here;
	if (!exclusive_)
		reported_here.emplace();
	ContextPtr c = create_mech(m, e);
	if (!c)
		return false;
	slots_.push_back(Slot{m, std::move(c)});
	if (!trying)
		return true;
	current_ = slots_.size() - 1;
	StepOutput mo;
	e = step_mech(in, {}, mo);
	if (e == Error::None) {
		optimistic = std::move(mo.token);
		awaiting_verdict_ = mo.presents_credentials;
		return true;
	}
	slots_.pop_back();
	current_ = kNone;
	mech_complete_ = false;
	mic_required_ = false;
	return false;
}

// The one line for a mechanism whose authority judged the credentials before anything was sent:
// the mechanism logged its reason (`recorded`, may be empty) at DEBUG only (common/failure.h), and
// it goes into this line, which names the logon (user and server) and what to check.
void NegotiateContext::report_refusal(PackageId id, Error e, const std::string& recorded, bool has_fix) const
{
	if (exclusive_ || !failure::is_refusal(e))
		return;   // the mechanism logged it itself (no CallerReports guard, or not a refusal)
	const std::string why = std::string(error_name(e)) + (recorded.empty() ? "" : ": " + recorded);
	if (has_fix) {
		// The authority refused for a reason that is not the password, and the reason says the fix.
		NLASSP_LOG(logger, Info, "Negotiate: %s refused the logon (%s); not trying another mechanism (the logon of %s to %s)",
		           package_name(id), why.c_str(), logon_name(*cred_).c_str(), target_text(target_).c_str());
	} else if (e == Error::LogonDenied || e == Error::PasswordExpired) {
		// For a wrong password the fix depends on the logon; an expired password's is in the reason.
		const std::string hint = e == Error::LogonDenied ? ": " + refusal_hint(target_) : std::string();
		NLASSP_LOG(logger, Info,
		           "Negotiate: %s refused the credentials (%s); not trying another mechanism with them, "
		           "so that a wrong password counts once toward an account lockout (the logon of %s to %s%s)",
		           package_name(id), why.c_str(), logon_name(*cred_).c_str(), target_text(target_).c_str(),
		           hint.c_str());
	} else {
		NLASSP_LOG(logger, Info,
		           "Negotiate: %s says the account may not log on (%s); not trying another mechanism, which "
		           "would be refused too and count another failed logon (the logon of %s to %s)",
		           package_name(id), why.c_str(), logon_name(*cred_).c_str(), target_text(target_).c_str());
	}
}

Error NegotiateContext::initiator_next(const StepInput& in, StepOutput& out)
{
	NegotiationToken t;
	if (!decode_negotiation_token(in.token, t) || t.kind != NegotiationToken::Kind::Resp)
		return invalid("the acceptor's token is not a valid SPNEGO NegTokenResp");
	const SpnegoNegTokenResp& r = t.resp;
	awaiting_verdict_ = false;   // the acceptor answered

	if (r.neg_state == NegState::Reject)
		return initiator_rejected(in, r);
	if (r.neg_state == NegState::RequestMic) {
		mic_required_ = true;
		acceptor_requested_mic_ = true;
	}

	// An empty responseToken is the same as none (old IIS sends one).
	const bool have_token = r.response_token && !r.response_token->empty();
	if (Error e = check_reply(r, have_token); e != Error::None)
		return e;

	StepOutput mo;
	if (!mech_complete_) {
		Error e = step_mech(in, have_token ? ByteView(*r.response_token) : ByteView(), mo);
		if (e != Error::None)
			return fail(e);
	}
	const bool acceptor_done = r.neg_state == NegState::AcceptCompleted;
	const bool sending = !mo.token.empty();
	const bool presents_credentials = mo.presents_credentials;

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
		awaiting_verdict_ = presents_credentials;
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
		if (may_skip_final_token())
			return complete_before_final_token(out);
		awaiting_verdict_ = presents_credentials;
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

// The acceptor's reject: its mechanism's error token (if any) goes to our mechanism, which may
// say more, then one line names the refused logon.
Error NegotiateContext::initiator_rejected(const StepInput& in, const SpnegoNegTokenResp& r)
{
	if (r.response_token && !r.response_token->empty() && !mech_complete_) {
		StepOutput mo;
		Error e = step_mech(in, *r.response_token, mo);
		if (e != Error::None)
			return fail(e);
	}
	NLASSP_LOG(logger, Info,
	           "Negotiate initiator: the acceptor rejected the authentication (%s): %s refused the "
	           "logon of %s; %s",
	           mech_name(), target_text(target_).c_str(), logon_name(*cred_).c_str(), refusal_hint(target_).c_str());
	return fail(Error::LogonDenied);
}

// What the acceptor's reply must hold: on the first reply, its choice of mechanism (a switch
// away from our optimistic one makes the mechListMIC mandatory); later, the same mechanism and
// a mechanism token exactly while ours is incomplete.
Error NegotiateContext::check_reply(const SpnegoNegTokenResp& r, bool have_token)
{
	if (nego_done_) {
		if (r.supported_mech && !names_mechanism(*r.supported_mech, slots_[current_].mech))
			return invalid("the acceptor changed supportedMech after the first reply");
		if (!have_token && !mech_complete_)
			return invalid("the acceptor's reply lacks the mechanism token");
		if (have_token && mech_complete_)
			return invalid("the acceptor sent a mechanism token after our mechanism completed");
		return Error::None;
	}
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
	return Error::None;
}

// HTTP authentication (an RD Gateway, any HTTP/ service): RFC 4559 makes the server's final
// token optional, and Microsoft's RD Gateway sends none (its 101/200 has no WWW-Authenticate,
// FreeRDP PR #13418); FreeRDP 3.10-3.15 never calls us again then (rdg.c: no token, no call),
// and failed the login although the gateway had accepted it. So, for an HTTP/ target only,
// the initiator completes when its last mechanism token goes out, provided nothing still due
// from the acceptor protects us:
//   - our mechanism is complete (NTLM after AUTHENTICATE; never Kerberos awaiting the AP-REP
//     that mutual authentication asked for: that one arrives in initiator_next as a token);
//   - the acceptor took our first choice and did not ask for the MIC exchange (request-mic):
//     the acceptor's mechListMIC then guards against no downgrade (RFC 4178 section 5), and
//     ours, which an acceptor does require, goes out with this token.
// NLA (TERMSRV/) always waits: FreeRDP's CredSSP server sends the final token and waits for the
// next TSRequest (FreeRDP's contract). What the acceptor may still send is checked if a caller
// passes it (initiator_after_completion).
bool NegotiateContext::may_skip_final_token() const
{
	return is_http_target(target_) && mech_complete_ && current_ == 0 && !acceptor_requested_mic_;
}

Error NegotiateContext::complete_before_final_token(StepOutput& out)
{
	if (mic_sent_)
		mech()->negotiation_mic_complete();
	state_ = State::CompletedBeforeFinalToken;
	out.complete = true;
	NLASSP_LOG(logger, Info,
	           "Negotiate initiator: the %s logon of %s to %s is complete on our side; an HTTP server need "
	           "not answer its last token (RFC 4559; Microsoft's RD Gateway does not), so the HTTP status "
	           "is the verdict: if FreeRDP then reports access denied (HTTP 401), the server refused these "
	           "credentials: %s",
	           mech_name(), logon_name(*cred_).c_str(), target_text(target_).c_str(), refusal_hint(target_).c_str());
	return Error::None;
}

// The acceptor's final token after we completed without it (a caller that passes it anyway):
// accept-completed, no mechanism token, and its mechListMIC verified if present; or a reject.
Error NegotiateContext::initiator_after_completion(const StepInput& in, StepOutput& out)
{
	NegotiationToken t;
	if (!decode_negotiation_token(in.token, t) || t.kind != NegotiationToken::Kind::Resp)
		return invalid("the acceptor's final token is not a valid SPNEGO NegTokenResp");
	const SpnegoNegTokenResp& r = t.resp;
	if (r.neg_state == NegState::Reject)
		return initiator_rejected(in, r);
	if (r.supported_mech && !names_mechanism(*r.supported_mech, slots_[current_].mech))
		return invalid("the acceptor changed supportedMech after the first reply");
	if (r.response_token && !r.response_token->empty())
		return invalid("the acceptor sent a mechanism token after our mechanism completed");
	if (r.neg_state && *r.neg_state != NegState::AcceptCompleted)
		return invalid("the acceptor's final token does not say accept-completed");
	if (r.mech_list_mic) {
		if (!mic_sent_)
			return invalid("the acceptor sent a mechListMIC after the exchange ended without ours");
		std::optional<Bytes> none;
		if (Error e = exchange_mic(r.mech_list_mic, false, none); e != Error::None)
			return fail(e);
		// Its MIC moved the mechanism's receive state on: restart it, as after any exchange.
		mech()->negotiation_mic_complete();
	}
	state_ = State::Done;
	out.complete = true;
	NLASSP_LOG(logger, Debug, "Negotiate initiator: the acceptor's final token confirms %s%s", mech_name(),
	           r.mech_list_mic ? " (its mechListMIC verified)" : "");
	return Error::None;
}

} // namespace nlassp::negotiate::detail
