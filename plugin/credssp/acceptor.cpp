// The CREDSSP acceptor's steps: the Negotiate exchange, the pubKeyAuth check
// and answer, then the client's TSCredentials. The shared parts (TSRequest reading, sealing,
// pubKeyAuth computation, the step dispatch) are in context.cpp.
#include "credssp/context.h"

#include "common/log.h"

#include <algorithm>

namespace nlassp::credssp {

namespace {

const log::Logger logger("com.nlassp.credssp");

} // namespace

Error CredSspContext::acceptor_negotiating(const StepInput& in, const TsRequest& req, StepOutput& out)
{
	if (const Error e = check_peer_version(req.version); e != Error::None)
		return fail_with_token(e, out);
	if (req.client_nonce) {
		if (req.client_nonce->size() != kNonceSize) {
			NLASSP_LOG(logger, Warn, "CredSSP acceptor: a %zu-byte clientNonce (32 expected)", req.client_nonce->size());
			return fail_with_token(Error::InvalidToken, out);
		}
		std::copy(req.client_nonce->begin(), req.client_nonce->end(), nonce_.begin());
		have_nonce_ = true;
	}
	if (req.auth_info || req.nego_tokens.size() != 1) {
		NLASSP_LOG(logger, Warn, "CredSSP acceptor: expected exactly one negoToken and no authInfo");
		return fail_with_token(Error::InvalidToken, out);
	}
	StepOutput io;
	if (const Error e = step_inner(in, req.nego_tokens[0], io); e != Error::None) {
		NLASSP_LOG(logger, Info, "CredSSP acceptor: Negotiate failed: %s", error_name(e));
		return fail_with_token(e, out, io.token);
	}
	TsRequest reply;
	if (!io.token.empty())
		reply.nego_tokens.push_back(std::move(io.token));
	if (!io.complete) {
		if (req.pub_key_auth) {
			NLASSP_LOG(logger, Warn, "CredSSP acceptor: pubKeyAuth arrived before the negotiation completed");
			return fail_with_token(Error::InvalidToken, out);
		}
		return send(reply, out);
	}
	if (!req.pub_key_auth) {
		// The client's Negotiate completes one round later (it waits for our final token).
		state_ = State::AwaitPubKeyAuth;
		return send(reply, out);
	}
	if (const Error e = verify_pub_key_auth(*req.pub_key_auth); e != Error::None)
		return fail_with_token(e, out);
	Bytes pka;
	if (const Error e = make_pub_key_auth(pka); e != Error::None)
		return fail_with_token(e, out);
	reply.pub_key_auth = std::move(pka);
	state_ = State::AwaitCredentials;
	return send(reply, out);
}

Error CredSspContext::acceptor_pub_key_auth(const TsRequest& req, StepOutput& out)
{
	if (const Error e = check_peer_version(req.version); e != Error::None)
		return fail_with_token(e, out);
	if (req.client_nonce) {
		if (req.client_nonce->size() != kNonceSize)
			return fail_with_token(Error::InvalidToken, out);
		std::copy(req.client_nonce->begin(), req.client_nonce->end(), nonce_.begin());
		have_nonce_ = true;
	}
	if (!req.pub_key_auth || !req.nego_tokens.empty() || req.auth_info) {
		NLASSP_LOG(logger, Warn, "CredSSP acceptor: expected the client's pubKeyAuth alone");
		return fail_with_token(Error::InvalidToken, out);
	}
	if (const Error e = verify_pub_key_auth(*req.pub_key_auth); e != Error::None)
		return fail_with_token(e, out);
	TsRequest reply;
	Bytes pka;
	if (const Error e = make_pub_key_auth(pka); e != Error::None)
		return fail_with_token(e, out);
	reply.pub_key_auth = std::move(pka);
	state_ = State::AwaitCredentials;
	return send(reply, out);
}

Error CredSspContext::acceptor_credentials(const TsRequest& req, StepOutput& out)
{
	if (const Error e = check_peer_version(req.version); e != Error::None)
		return fail(e);
	if (!req.auth_info || !req.nego_tokens.empty() || req.pub_key_auth) {
		NLASSP_LOG(logger, Warn, "CredSSP acceptor: expected the client's authInfo alone");
		return fail(Error::InvalidToken);
	}
	if (const Error e = read_credentials(*req.auth_info); e != Error::None)
		return fail(e);
	state_ = State::Done;
	out.token.clear();
	out.complete = true;
	mutual_ = true;
	return Error::None;
}

} // namespace nlassp::credssp
