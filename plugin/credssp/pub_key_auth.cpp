// The public-key proof of MS-CSSP 3.1.5: sealing and unsealing CredSSP fields with the inner
// package, building and checking pubKeyAuth (the public-key echo at versions 2-4, the
// nonce-bound hash from version 5), FreeRDP's known echo defect, and what a pubKeyAuth sent back
// to the initiator means.
#include "credssp/context.h"

#include "common/log.h"
#include "credssp/crypto.h"
#include "wire/reader.h"

#include <algorithm>
#include <cinttypes>

namespace nlassp::credssp {

namespace {

const log::Logger logger("com.nlassp.credssp");

const char* role_name(Role r) noexcept { return r == Role::Initiator ? "initiator" : "acceptor"; }

} // namespace

Error CredSspContext::seal(ByteView plaintext, Bytes& wire_out)
{
	// The plaintext may be TSCredentials: keep it where it is wiped even if sealing fails.
	SecretBytes data(plaintext);
	MessageBuffer mb{MessageBufferKind::Data, data.span()};
	Bytes token;
	const Error e = inner_->encrypt(std::span<MessageBuffer>(&mb, 1), token);
	if (e != Error::None) {
		NLASSP_LOG(logger, Warn, "CredSSP %s: %s cannot seal: %s", role_name(role_), package_name(inner_->package()),
		           error_name(e));
		return e;
	}
	wire_out = std::move(token);
	wire_out.insert(wire_out.end(), data.view().begin(), data.view().end());
	return Error::None;
}

Error CredSspContext::unseal(ByteView wire_in, SecretBytes& plaintext)
{
	const size_t trailer = inner_->received_token_size(wire_in);
	wire::Reader r(wire_in);
	ByteView token;
	if (!r.bytes(trailer, token) || r.empty()) {
		NLASSP_LOG(logger, Warn, "CredSSP %s: a sealed field of %zu bytes is shorter than the %zu-byte trailer",
		           role_name(role_), wire_in.size(), trailer);
		return Error::InvalidToken;
	}
	SecretBytes data(r.rest());
	MessageBuffer mb{MessageBufferKind::Data, data.span()};
	const Error e = inner_->decrypt(std::span<MessageBuffer>(&mb, 1), token);
	if (e != Error::None)
		return e;
	plaintext = std::move(data);
	return Error::None;
}

Error CredSspContext::make_pub_key_auth(Bytes& out)
{
	if (!key_) {
		NLASSP_LOG(logger, Warn,
		           "CredSSP %s: no TLS public key was given; pass it in an NLASSP_SECBUFFER_CREDSSP_PARAMS input "
		           "buffer (nlassp/credssp.h)",
		           role_name(role_));
		return Error::InvalidParameter;
	}
	if (hash_binding()) {
		std::array<uint8_t, 32> h{};
		const HashDirection dir =
		    role_ == Role::Initiator ? HashDirection::ClientToServer : HashDirection::ServerToClient;
		if (const Error e = binding_hash(dir, nonce_, *key_, h); e != Error::None)
			return e;
		return seal(h, out);
	}
	if (role_ == Role::Initiator)
		return seal(*key_, out);
	const Bytes echo = public_key_echo(*key_);
	return seal(echo, out);
}

Error CredSspContext::verify_pub_key_auth(ByteView wire_in)
{
	if (!key_) {
		NLASSP_LOG(logger, Warn,
		           "CredSSP %s: no TLS public key was given; pass it in an NLASSP_SECBUFFER_CREDSSP_PARAMS input "
		           "buffer (nlassp/credssp.h)",
		           role_name(role_));
		return Error::InvalidParameter;
	}
	SecretBytes plain;
	if (const Error e = unseal(wire_in, plain); e != Error::None) {
		NLASSP_LOG(logger, Warn, "CredSSP %s: the peer's pubKeyAuth does not decrypt (%s)", role_name(role_),
		           error_name(e));
		return e == Error::InvalidToken ? e : Error::MessageAltered;
	}
	Bytes expected;
	if (hash_binding()) {
		if (role_ == Role::Acceptor && !have_nonce_) {
			NLASSP_LOG(logger, Warn, "CredSSP acceptor: version %" PRIu32 " pubKeyAuth without a clientNonce",
			           version_);
			return Error::InvalidToken;
		}
		std::array<uint8_t, 32> h{};
		const HashDirection dir =
		    role_ == Role::Initiator ? HashDirection::ServerToClient : HashDirection::ClientToServer;
		if (const Error e = binding_hash(dir, nonce_, *key_, h); e != Error::None)
			return e;
		expected.assign(h.begin(), h.end());
	} else {
		expected = role_ == Role::Initiator ? public_key_echo(*key_) : *key_;
	}
	if (constant_time_equal(plain.view(), expected))
		return Error::None;

	if (role_ == Role::Initiator && !hash_binding() && is_freerdp_echo_defect(plain.view(), key_->size())) {
		if (policy_.options().tolerate_freerdp_echo_defect) {
			NLASSP_LOG(logger, Warn,
			           "CredSSP initiator: the server's public-key echo is 01 00 00 ..., the known defect of "
			           "FreeRDP's CredSSP server at versions 2-4; accepted as asked (the echo does not bind the "
			           "TLS key here)");
			echo_defect_seen_ = true;
			return Error::None;
		}
		NLASSP_LOG(logger, Warn,
		           "CredSSP initiator: the server's public-key echo is 01 00 00 ... instead of the TLS key + 1: the "
		           "known defect of FreeRDP's CredSSP server at versions 2-4 (its signature verifies). Use CredSSP "
		           "version 5 or 6, or opt into tolerating it (NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT, "
		           "nlassp-probe --tolerate-freerdp-echo-bug)");
		echo_defect_refused_ = true;
		return Error::MutualAuthFailed;
	}
	NLASSP_LOG(logger, Error,
	           "CredSSP %s: the peer's pubKeyAuth does not match the TLS public key (%s, version %" PRIu32
	           "): possible man-in-the-middle - the TLS connection does not end at the peer that authenticated%s",
	           role_name(role_), hash_binding() ? "binding hash" : "public-key echo", version_,
	           role_ == Role::Initiator ? "; no credentials were sent" : "");
	return role_ == Role::Initiator ? Error::MutualAuthFailed : Error::MessageAltered;
}

// The server sent our own pubKeyAuth back. FreeRDP's nla.c does that when its AcceptSecurityContext
// fails on the TSRequest that carried our pubKeyAuth: it answers with the pubKeyAuth it last
// received, its output buffer as negoToken, and errorCode NTSTATUS_FROM_WIN32(GetLastError()) only
// at versions 3, 4 and 6 and only when that is not 0 (an errorCode is read before we get here). So
// it is FreeRDP's refusal only when our pubKeyAuth went out with a negoToken (the server's
// mechanism was still running and could fail on it - with our Negotiate it goes out alone, after
// the server's mechanism completed, and a FreeRDP server then never sends it back), the reply has
// no authInfo, and its negoToken is:
//   - at versions 2 and 5 (no errorCode ever): absent or all zero bytes;
//   - at versions 3, 4 and 6 (no errorCode: the server's SSPI provider left GetLastError() at 0):
//     present, non-empty and all zero - the provider's untouched cbMaxToken output buffer. A
//     provider that empties its output on failure (as nlassp does) also sets the last error, so
//     its refusals carry an errorCode.
// Anything else is a peer that did not prove it holds the TLS key and the session key, and
// returned what it cannot make itself: a man in the middle reflecting our message. Nothing is sent
// either way.
Error CredSspContext::reflected_pub_key_auth(const TsRequest& req)
{
	const bool zero_filled = req.nego_tokens.size() == 1 && !req.nego_tokens[0].empty() &&
	                         std::all_of(req.nego_tokens[0].begin(), req.nego_tokens[0].end(), [](uint8_t b) { return b == 0; });
	const bool has_error_code = version_ != 2 && version_ != 5;
	const bool shape = has_error_code ? zero_filled : (req.nego_tokens.empty() || zero_filled);
	if (pub_key_auth_with_token_ && shape && !req.auth_info) {
		NLASSP_LOG(logger, Info,
		           "CredSSP initiator: the server sent our own pubKeyAuth back: this is how FreeRDP's server refuses "
		           "a logon %s (version %" PRIu32 ")",
		           has_error_code ? "when its SSPI provider gives no error code" : "at a CredSSP version without errorCode",
		           version_);
		return Error::LogonDenied;
	}
	NLASSP_LOG(logger, Error,
	           "CredSSP initiator: the server sent our own pubKeyAuth back (version %" PRIu32 ", %s): it did not "
	           "prove it holds the TLS key - possible man-in-the-middle reflecting our message; no credentials "
	           "were sent",
	           version_,
	           !pub_key_auth_with_token_ ? "after its authentication had completed"
	                                     : "not in the shape of FreeRDP's refusal");
	return Error::MutualAuthFailed;
}

} // namespace nlassp::credssp
