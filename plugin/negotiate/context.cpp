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
//  - HTTP/ targets (an RD Gateway): the initiator completes when its last mechanism token goes
//    out, with its MIC, if the acceptor took its first choice without request-mic; the acceptor's
//    final token is optional there (RFC 4559) and Microsoft's gateway sends none
//    (may_skip_final_token in initiator.cpp). NLA waits for it, always.
//  - Raw NTLMSSP (and raw GSS mechanism tokens) reaching a Negotiate acceptor are handed to
//    that mechanism without SPNEGO framing, as Windows does for peers that skip SPNEGO.
#include "negotiate/context_impl.h"

#include "common/failure.h"
#include "negotiate/policy.h"
#include "negotiate/report.h"

#include <algorithm>
#include <optional>
#include <string>

namespace nlassp::negotiate {

namespace detail {

const log::Logger logger("com.nlassp.negotiate");

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

bool names_mechanism(ByteView offered, const Mechanism& m)
{
	if (oid::equal(offered, m.oid))
		return true;
	return m.id == PackageId::Kerberos && oid::is_kerberos(offered) && oid::is_kerberos(m.oid);
}

// An initiator deleted while it waits for the acceptor's verdict on the token that presents its
// credentials (an NTLM AUTHENTICATE, a Kerberos AP-REQ): over HTTP (an RD Gateway) a refusal is
// often a bare 401 that never reaches us, so this is the one place that can tell the user which
// logon went unanswered.
NegotiateContext::~NegotiateContext()
{
	if (role_ != Role::Initiator || !awaiting_verdict_ || state_ != State::Negotiating)
		return;
	try {
		// Over HTTP a mechanism still waiting for the server's mutual authentication (Kerberos'
		// AP-REP) may have been accepted without it: Microsoft's RD Gateway sends no final token.
		if (!mech_complete_ && is_http_target(target_)) {
			NLASSP_LOG(logger, Info,
			           "Negotiate initiator: the %s logon of %s to %s ended before the server answered the "
			           "token that presents these credentials; if the connection failed there, the server "
			           "either refused them (%s) or accepted them without the reply that proves its own "
			           "identity (mutual authentication), which this module requires and Microsoft's RD "
			           "Gateway does not send (see the README, 'Using it with an RD Gateway')",
			           mech_name(), logon_name(*cred_).c_str(), target_text(target_).c_str(),
			           refusal_hint(target_).c_str());
			return;
		}
		NLASSP_LOG(logger, Info,
		           "Negotiate initiator: the %s logon of %s to %s ended before the server answered the "
		           "token that presents these credentials; if the connection failed there, the server most "
		           "likely refused them: %s",
		           mech_name(), logon_name(*cred_).c_str(), target_text(target_).c_str(),
		           refusal_hint(target_).c_str());
	} catch (...) { // NOLINT(bugprone-empty-catch): a destructor must not throw
	}
}

Error NegotiateContext::step(const StepInput& in, StepOutput& out)
{
	out = StepOutput{};
	switch (state_) {
	case State::Start:
		return role_ == Role::Initiator ? initiator_first(in, out) : acceptor_first(in, out);
	case State::Negotiating:
		return role_ == Role::Initiator ? initiator_next(in, out) : acceptor_next(in, out);
	case State::CompletedBeforeFinalToken:
		return initiator_after_completion(in, out);
	case State::Passthrough:
		return passthrough_step(in, out);
	case State::Done:
		NLASSP_LOG(logger, Warn, "Negotiate %s: a token arrived after the context was established",
		           role_name(role_));
		return Error::InvalidToken;
	case State::Failed:
		NLASSP_LOG(logger, Warn, "Negotiate %s: the context already failed; start a new one", role_name(role_));
		return Error::InvalidToken;
	}
	return Error::Internal;
}

bool NegotiateContext::established() const noexcept
{
	if (state_ == State::Done || state_ == State::CompletedBeforeFinalToken)
		return true;
	return state_ == State::Passthrough && mech() && mech()->established();
}

Sizes NegotiateContext::sizes() const noexcept
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

// Remembered and given to every mechanism context, so that a switch to NTLM after the first
// call still sends it; the answer is the current mechanism's.
Error NegotiateContext::set_workstation(std::u16string name)
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

StepInput NegotiateContext::mech_input(const StepInput& in, ByteView token) const
{
	StepInput mi;
	mi.token = token;
	mi.bindings = in.bindings;
	// As MIT and WinPR do: integrity is what makes a mechListMIC possible.
	mi.requested = in.requested | ctx::Integrity;
	mi.target = in.target;
	return mi;
}

ContextPtr NegotiateContext::create_mech(const Mechanism& m, Error& err)
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

Error NegotiateContext::fail(Error e)
{
	awaiting_verdict_ = false;
	state_ = State::Failed;
	return e;
}

Error NegotiateContext::invalid(const char* what)
{
	NLASSP_LOG(logger, Warn, "Negotiate %s: %s", role_name(role_), what);
	return fail(Error::InvalidToken);
}

// Acceptor: on failure, a NegTokenResp{reject} for the initiator (with the mechanism's error
// token, if it made one).
Error NegotiateContext::reject(StepOutput& out, Error e, const Bytes& mech_error_token)
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
Error NegotiateContext::step_mech(const StepInput& in, ByteView token, StepOutput& mo)
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
Error NegotiateContext::exchange_mic(const std::optional<Bytes>& mic_in, bool sending, std::optional<Bytes>& mic_out)
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

Error NegotiateContext::finish(StepOutput& out)
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

} // namespace detail

using detail::describe;
using detail::logger;
using detail::role_name;

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
	return std::make_unique<detail::NegotiateContext>(role, cred, std::move(mechs), claimed.has_value());
}

} // namespace nlassp::negotiate
