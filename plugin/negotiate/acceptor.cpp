// The Negotiate acceptor (RFC 4178, MS-SPNG): the choice among the initiator's mechanisms, the
// replies with the mechListMIC exchange, and raw mechanism tokens handed to their mechanism
// (passthrough). See context.cpp for the whole shape.
#include "negotiate/context_impl.h"

#include "common/failure.h"

#include <algorithm>
#include <string>

namespace nlassp::negotiate::detail {

Error NegotiateContext::acceptor_first(const StepInput& in, StepOutput& out)
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

	const size_t chosen_index = choose_mechanism(init.mech_types);
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

// The index of the first offered mechanism we allow and can set up (kNone if none); it becomes
// the current one. Every mechanism tried is remembered in slots_.
size_t NegotiateContext::choose_mechanism(const std::vector<Bytes>& offers)
{
	for (size_t i = 0; i < offers.size(); ++i) {
		const Bytes& offered = offers[i];
		if (oid::equal(offered, oid::kerberos_u2u()) || oid::equal(offered, oid::negoex())) {
			NLASSP_LOG(logger, Debug, "Negotiate acceptor: skipping %s (not supported)", oid::name(offered).c_str());
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
				NLASSP_LOG(logger, Info, "Negotiate acceptor: cannot accept %s here: %s", package_name(m.id),
				           reason.empty() ? error_name(e) : reason.c_str());
				continue;
			}
			slots_.back().ctx = std::move(c);
			current_ = slots_.size() - 1;
			return i;
		}
	}
	return kNone;
}

Error NegotiateContext::acceptor_next(const StepInput& in, StepOutput& out)
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
Error NegotiateContext::acceptor_continue(const StepInput& in, StepOutput& out, ByteView token,
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
Error NegotiateContext::start_passthrough(const StepInput& in, StepOutput& out, ByteView mech_oid, const char* what)
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

Error NegotiateContext::passthrough_step(const StepInput& in, StepOutput& out)
{
	StepInput mi = mech_input(in, in.token);
	mi.requested = in.requested; // no SPNEGO, no mechListMIC: pass the caller's flags as they are
	Error e = mech()->step(mi, out);
	if (e != Error::None)
		return fail(e);
	return Error::None;
}

} // namespace nlassp::negotiate::detail
