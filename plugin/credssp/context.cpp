#include "credssp/context.h"

#include "common/log.h"
#include "common/text.h"
#include "credssp/crypto.h"
#include "crypto/crypto.h"
#include "nlassp/credssp.h"
#include "wire/reader.h"
#include "wire/utf16.h"

#include <algorithm>
#include <cinttypes>
#include <cstddef>
#include <cstring>

namespace nlassp::credssp {

namespace {

const log::Logger logger("com.nlassp.credssp");

// Tokens are one TSRequest around one Negotiate token (Windows' Negotiate cbMaxToken) plus the
// pubKeyAuth of a large RSA key or the TSCredentials.
constexpr uint32_t kMaxToken = 48256 + 4096;

const char* role_name(Role r) noexcept { return r == Role::Initiator ? "initiator" : "acceptor"; }

} // namespace

// ---- the context ------------------------------------------------------------------------------

CredSspContext::CredSspContext(Role role, CredentialPtr cred, ContextFactory inner, Options defaults)
    : role_(role), cred_(std::move(cred)), inner_factory_(std::move(inner)), defaults_(std::move(defaults)),
      policy_(defaults_)
{
}

void CredSspContext::reset()
{
	state_ = State::Start;
	inner_.reset();
	supplied_.reset();
	requested_ = 0;
	target_.clear();
	version_ = peer_version_ = 0;
	have_nonce_ = false;
	sent_pub_key_auth_.clear();
	pub_key_auth_with_token_ = false;
	last_nego_token_.clear();
	delegated_ = remote_guard_ = echo_defect_seen_ = echo_defect_refused_ = mutual_ = false;
	peer_error_code_ = 0;
	received_.reset();
	// key_ stays: re-authentication runs over the same TLS connection. policy_ stays: the policy
	// a context was created with lasts for its whole life.
}

Error CredSspContext::fail(Error e)
{
	state_ = State::Failed;
	return e;
}

bool CredSspContext::sends_error_code() const noexcept
{
	return version_ == 3 || version_ == 4 || version_ == 6;
}

Error CredSspContext::fail_with_token(Error e, StepOutput& out, const Bytes& nego_token)
{
	// MS-CSSP: errorCode exists at versions 3, 4 and 6. At 2 and 5 only a SPNEGO reject (if the
	// mechanism made one) tells the client.
	TsRequest req;
	req.version = policy_.options().max_version;
	if (!nego_token.empty())
		req.nego_tokens.push_back(nego_token);
	if (sends_error_code())
		req.error_code = error_to_ntstatus(e);
	out.token.clear();
	if (req.error_code || !req.nego_tokens.empty()) {
		Bytes token;
		if (encode_ts_request(req, token))
			out.token = std::move(token);
	}
	return fail(e);
}

Error CredSspContext::apply_params(const StepInput& in)
{
	const bool given = !in.package_params.empty();
	Params p;
	if (given)
		if (const Error e = parse_params(in.package_params, p); e != Error::None)
			return e;
	if (!policy_set_) {
		// The context's first call fixes its policy: this buffer's, else the defaults.
		if (given)
			if (const Error e = policy_.set_first(p); e != Error::None)
				return e;
		policy_set_ = true;
	} else if (given) {
		// Any later buffer (on a later step, or re-authenticating) may only tighten it.
		if (const Error e = policy_.tighten(p); e != Error::None)
			return e;
		if (version_ && (version_ < policy_.options().min_version || version_ > policy_.options().max_version)) {
			NLASSP_LOG(logger, Warn, "CredSSP %s: TSRequest version %" PRIu32 " is in use but the new parameters "
			           "allow only %" PRIu32 "..%" PRIu32, role_name(role_), version_, policy_.options().min_version,
			           policy_.options().max_version);
			return Error::Unsupported;
		}
	}
	if (p.subject_public_key)
		key_ = std::move(p.subject_public_key);
	return Error::None;
}

Error CredSspContext::create_inner(const StepInput& in)
{
	CredentialPtr cred = cred_;
	if (in.supplied_identity) {
		auto copy = std::make_shared<Credential>(cred_ ? *cred_ : Credential{});
		copy->identity = *in.supplied_identity;
		if (role_ == Role::Initiator && !copy->outbound())
			copy->use = CredentialUse::Outbound;
		supplied_ = *in.supplied_identity;
		cred = std::move(copy);
	}
	Error err = Error::None;
	ContextPtr c = inner_factory_ ? inner_factory_(role_, cred, err) : nullptr;
	if (!c) {
		if (err == Error::None)
			err = Error::Internal;
		NLASSP_LOG(logger, Warn, "CredSSP %s: Negotiate cannot start: %s", role_name(role_), error_name(err));
		return err;
	}
	if (err != Error::None)
		return err;
	inner_ = std::move(c);
	return Error::None;
}

Error CredSspContext::read_request(const StepInput& in, TsRequest& req, StepOutput& out)
{
	const TsRequestFrame f = frame_ts_request(in.token);
	switch (f.state) {
	case TsRequestFrame::State::Incomplete:
		out.missing = f.missing;
		NLASSP_LOG(logger, Debug, "CredSSP %s: partial TSRequest (%zu bytes), %zu more needed", role_name(role_),
		           in.token.size(), f.missing);
		return Error::IncompleteMessage;
	case TsRequestFrame::State::Invalid:
		NLASSP_LOG(logger, Warn, "CredSSP %s: the peer's token is not a TSRequest (%zu bytes)", role_name(role_),
		           in.token.size());
		return fail(Error::InvalidToken);
	case TsRequestFrame::State::Complete:
		break;
	}
	if (f.length != in.token.size()) {
		NLASSP_LOG(logger, Warn, "CredSSP %s: %zu bytes follow the TSRequest in the input token", role_name(role_),
		           in.token.size() - f.length);
		return fail(Error::InvalidToken);
	}
	if (!decode_ts_request(in.token, req)) {
		NLASSP_LOG(logger, Warn, "CredSSP %s: malformed TSRequest (%zu bytes)", role_name(role_), in.token.size());
		return fail(Error::InvalidToken);
	}
	return Error::None;
}

Error CredSspContext::check_peer_version(uint32_t version)
{
	if (peer_version_ == 0) {
		if (version < kMinVersion) {
			NLASSP_LOG(logger, Warn, "CredSSP %s: the peer speaks TSRequest version %" PRIu32 "; 2 is the lowest",
			           role_name(role_), version);
			return Error::InvalidToken;
		}
		peer_version_ = version;
		const Options& o = policy_.options();
		version_ = std::min(o.max_version, version);
		if (version_ < o.min_version) {
			NLASSP_LOG(logger, Warn,
			           "CredSSP %s: the peer speaks TSRequest version %" PRIu32 " but at least %" PRIu32
			           " is required (MinVersion; the default is %" PRIu32 "): refusing the downgrade - versions "
			           "below 5 lack the nonce-bound public-key hash (CVE-2018-0886); update the peer, or lower "
			           "MinVersion explicitly to accept it",
			           role_name(role_), version, o.min_version, kDefaultMinVersion);
			return Error::Unsupported;
		}
		NLASSP_LOG(logger, Debug, "CredSSP %s: peer version %" PRIu32 ", using %" PRIu32, role_name(role_),
		           version, version_);
		return Error::None;
	}
	if (version != peer_version_) {
		NLASSP_LOG(logger, Warn, "CredSSP %s: the peer changed its TSRequest version from %" PRIu32 " to %" PRIu32,
		           role_name(role_), peer_version_, version);
		return Error::InvalidToken;
	}
	return Error::None;
}

Error CredSspContext::step_inner(const StepInput& in, ByteView token, StepOutput& inner_out)
{
	StepInput ii;
	ii.token = token;
	ii.bindings = in.bindings;
	// CredSSP needs a mechanism that can seal pubKeyAuth and the credentials.
	ii.requested = (requested_ & (ctx::MutualAuth | ctx::ReplayDetect | ctx::SequenceDetect | ctx::Identify |
	                              ctx::UseSessionKey)) |
	               ctx::Confidentiality | ctx::Integrity;
	if (role_ == Role::Initiator)
		ii.requested |= ctx::MutualAuth;
	ii.target = target_;
	return inner_->step(ii, inner_out);
}

Error CredSspContext::make_credentials(Bytes& auth_info)
{
	if (policy_.options().remote_guard)
		return make_remote_guard_credentials(auth_info);
	TsPasswordCreds pc;
	if (requested_ & ctx::Delegate) {
		const Identity* id = supplied_ ? &*supplied_ : (cred_ && cred_->identity ? &*cred_->identity : nullptr);
		if (!id || !id->has_password)
			return Error::IncompleteCredentials;
		pc.domain = wire::utf16le_bytes(id->domain);
		pc.user = wire::utf16le_bytes(id->user);
		pc.password = id->password;
		delegated_ = true;
	}
	TsCredentials tc;
	tc.cred_type = static_cast<uint32_t>(CredType::Password);
	if (!encode_ts_password_creds(pc, tc.credentials))
		return Error::Internal;
	SecretBytes der;
	if (!encode_ts_credentials(tc, der))
		return Error::Internal;
	return seal(der.view(), auth_info);
}

Error CredSspContext::read_credentials(ByteView auth_info)
{
	SecretBytes plain;
	if (const Error e = unseal(auth_info, plain); e != Error::None) {
		NLASSP_LOG(logger, Warn, "CredSSP acceptor: the client's authInfo does not decrypt (%s)", error_name(e));
		return e == Error::InvalidToken ? e : Error::MessageAltered;
	}
	DelegatedCredentials d;
	if (const Error e = decode_delegated(plain.view(), d); e != Error::None)
		return e;
	remote_guard_ = d.cred_type == static_cast<uint32_t>(CredType::RemoteGuard);
	delegated_ = !d.empty;
	NLASSP_LOG(logger, Debug, "CredSSP acceptor: credType %" PRIu32 " received%s", d.cred_type,
	           d.empty ? " (empty: nothing delegated)" : "");
	received_ = std::move(d);
	return Error::None;
}

Error CredSspContext::send(TsRequest& req, StepOutput& out)
{
	req.version = policy_.options().max_version;
	if (!encode_ts_request(req, out.token))
		return fail(Error::Internal);
	return Error::None;
}

// ---- initiator --------------------------------------------------------------------------------

Error CredSspContext::initiator_start(const StepInput& in, StepOutput& out)
{
	requested_ = in.requested;
	target_ = in.target;
	if (requested_ & (ctx::Datagram | ctx::NullSession)) {
		NLASSP_LOG(logger, Warn, "CredSSP initiator: datagram and null-session contexts are not supported");
		return fail(Error::Unsupported);
	}
	if (requested_ & ctx::Delegate) {
		if (target_.empty()) {
			NLASSP_LOG(logger, Warn, "CredSSP initiator: delegation needs a target name (e.g. TERMSRV/host)");
			return fail(Error::TargetUnknown);
		}
		if (!policy_.delegation_allowed(target_)) {
			NLASSP_LOG(logger, Warn,
			           "CredSSP initiator: the delegation policy does not allow credentials to go to %s (allowed: "
			           "DelegateTargets, default TERMSRV/*); nothing was sent",
			           text::printable(target_).c_str());
			return fail(Error::DelegationPolicy);
		}
		const Identity* id = in.supplied_identity ? in.supplied_identity
		                                          : (cred_ && cred_->identity ? &*cred_->identity : nullptr);
		// A smartcard logon's "password" is the card's PIN: TSPasswordCreds would hand it to the
		// server as a password (and TSSmartCardCreds are not sent by this package). Decided on the
		// credential the logon uses (create_inner: a supplied identity with the handle's PKINIT
		// settings). Remote Credential Guard sends the PKINIT ticket instead, which is fine.
		if (!policy_.options().remote_guard && smartcard_credential(cred_.get(), id)) {
			NLASSP_LOG(logger, Warn,
			           "CredSSP initiator: a smartcard logon's PIN is not delegated as a password; do not ask for "
			           "delegation (ISC_REQ_DELEGATE) with smartcard credentials");
			return fail(Error::IncompleteCredentials);
		}
		// Remote Credential Guard delegates a forwarded TGT, not a password.
		if (!policy_.options().remote_guard && (!id || !id->has_password)) {
			NLASSP_LOG(logger, Warn,
			           "CredSSP initiator: ISC_REQ_DELEGATE without a password to delegate; supply one "
			           "(ISC_REQ_USE_SUPPLIED_CREDS) or do not ask for delegation");
			return fail(Error::IncompleteCredentials);
		}
	}
	if (const Error e = crypto::random_bytes(nonce_); e != Error::None)
		return fail(e);
	have_nonce_ = true;
	if (const Error e = create_inner(in); e != Error::None)
		return fail(e);
	StepOutput io;
	if (const Error e = step_inner(in, {}, io); e != Error::None)
		return fail(e);
	if (io.complete || io.token.empty()) {
		NLASSP_LOG(logger, Warn, "CredSSP initiator: Negotiate produced no first token");
		return fail(Error::Internal);
	}
	TsRequest req;
	req.nego_tokens.push_back(std::move(io.token));
	state_ = State::Negotiating;
	return send(req, out);
}

Error CredSspContext::initiator_negotiating(const StepInput& in, const TsRequest& req, StepOutput& out)
{
	if (const Error e = check_peer_version(req.version); e != Error::None)
		return fail(e);
	if (req.pub_key_auth || req.auth_info || req.nego_tokens.size() > 1) {
		NLASSP_LOG(logger, Warn, "CredSSP initiator: unexpected fields from the server during the negotiation");
		return fail(Error::InvalidToken);
	}
	if (req.nego_tokens.empty()) {
		NLASSP_LOG(logger, Info, "CredSSP initiator: the server sent neither a negoToken nor an errorCode: it refused "
		                         "the logon");
		return fail(Error::LogonDenied);
	}
	const Bytes& token = req.nego_tokens[0];
	if (!token.empty() && std::all_of(token.begin(), token.end(), [](uint8_t b) { return b == 0; })) {
		// FreeRDP's server answers a failed AcceptSecurityContext with its untouched output buffer
		// (cbMaxToken zero bytes) and, at versions 2 and 5, no errorCode.
		NLASSP_LOG(logger, Info,
		           "CredSSP initiator: the server answered with an all-zero negoToken and no errorCode: how "
		           "FreeRDP's server refuses a logon at CredSSP version %" PRIu32,
		           version_);
		return fail(Error::LogonDenied);
	}
	StepOutput io;
	if (const Error e = step_inner(in, token, io); e != Error::None)
		return fail(e);
	last_nego_token_ = token;
	TsRequest reply;
	if (!io.token.empty())
		reply.nego_tokens.push_back(std::move(io.token));
	if (!io.complete) {
		if (reply.nego_tokens.empty())
			return fail(Error::Internal);
		return send(reply, out);
	}
	Bytes pka;
	if (const Error e = make_pub_key_auth(pka); e != Error::None)
		return fail(e);
	sent_pub_key_auth_ = pka;
	pub_key_auth_with_token_ = !reply.nego_tokens.empty();
	reply.pub_key_auth = std::move(pka);
	if (hash_binding())
		reply.client_nonce.emplace(nonce_.begin(), nonce_.end());
	state_ = State::AwaitPubKeyAuth;
	NLASSP_LOG(logger, Debug, "CredSSP initiator: %s done, pubKeyAuth (version %" PRIu32 ") sent",
	           package_name(inner_->package()), version_);
	return send(reply, out);
}

Error CredSspContext::initiator_server_key(const TsRequest& req, StepOutput& out)
{
	if (const Error e = check_peer_version(req.version); e != Error::None)
		return fail(e);
	if (req.pub_key_auth && constant_time_equal(*req.pub_key_auth, sent_pub_key_auth_))
		return fail(reflected_pub_key_auth(req));
	if (req.nego_tokens.size() == 1 && req.nego_tokens[0] == last_nego_token_) {
		// FreeRDP's server sends its final SPNEGO token again beside its pubKeyAuth.
		NLASSP_LOG(logger, Debug, "CredSSP initiator: the server repeated its final negoToken; ignored");
	} else if (!req.nego_tokens.empty()) {
		NLASSP_LOG(logger, Warn, "CredSSP initiator: a new negoToken after the negotiation completed");
		return fail(Error::InvalidToken);
	}
	if (req.auth_info) {
		NLASSP_LOG(logger, Warn, "CredSSP initiator: unexpected authInfo from the server");
		return fail(Error::InvalidToken);
	}
	if (!req.pub_key_auth) {
		NLASSP_LOG(logger, Warn, "CredSSP initiator: the server answered without pubKeyAuth");
		return fail(Error::InvalidToken);
	}
	if (const Error e = verify_pub_key_auth(*req.pub_key_auth); e != Error::None)
		return fail(e);
	mutual_ = true;
	if ((requested_ & ctx::Delegate) && inner_->package() == PackageId::Ntlm &&
	    !policy_.options().allow_ntlm_only_delegation) {
		NLASSP_LOG(logger, Warn,
		           "CredSSP initiator: only NTLM authenticated the server and the policy forbids delegating then "
		           "(NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION); no credentials were sent");
		return fail(Error::PolicyNtlmOnly);
	}
	TsRequest reply;
	Bytes auth_info;
	if (const Error e = make_credentials(auth_info); e != Error::None)
		return fail(e);
	reply.auth_info = std::move(auth_info);
	if (const Error e = send(reply, out); e != Error::None)
		return e;
	state_ = State::Done;
	out.complete = true;
	NLASSP_LOG(logger, Debug, "CredSSP initiator: established (version %" PRIu32 ", %s, %s)", version_,
	           package_name(inner_->package()), delegated_ ? "credentials delegated" : "empty credentials");
	return Error::None;
}

Error CredSspContext::step(const StepInput& in, StepOutput& out)
{
	out = StepOutput{};
	if (state_ == State::Failed) {
		NLASSP_LOG(logger, Warn, "CredSSP %s: the context already failed; start a new one", role_name(role_));
		return Error::InvalidToken;
	}
	if (state_ == State::Done) {
		// Calling again after success: re-authentication over the same TLS connection.
		const bool restart = role_ == Role::Initiator ? in.token.empty() : !in.token.empty();
		if (!restart) {
			NLASSP_LOG(logger, Warn, "CredSSP %s: a token arrived after the context was established", role_name(role_));
			return fail(Error::InvalidToken);
		}
		NLASSP_LOG(logger, Debug, "CredSSP %s: re-authentication", role_name(role_));
		reset();
	}
	if (const Error e = apply_params(in); e != Error::None)
		return state_ == State::Start ? e : fail(e);

	if (role_ == Role::Initiator && state_ == State::Start)
		return initiator_start(in, out);

	TsRequest req;
	if (const Error e = read_request(in, req, out); e != Error::None)
		return e;

	if (role_ == Role::Initiator) {
		if (req.error_code) {
			const uint32_t code = *req.error_code;
			const Error e = ntstatus_to_error(code);
			peer_error_code_ = code;
			NLASSP_LOG(logger, Info, "CredSSP initiator: the server refused the logon: errorCode 0x%08" PRIX32 " (%s)",
			           code, ntstatus_name(code));
			return fail(e);
		}
		switch (state_) {
		case State::Negotiating: return initiator_negotiating(in, req, out);
		case State::AwaitPubKeyAuth: return initiator_server_key(req, out);
		default: return fail(Error::Internal);
		}
	}

	switch (state_) {
	case State::Start:
		requested_ = in.requested;
		if (requested_ & (ctx::Datagram | ctx::NullSession)) {
			NLASSP_LOG(logger, Warn, "CredSSP acceptor: datagram and null-session contexts are not supported");
			return fail(Error::Unsupported);
		}
		if (const Error e = create_inner(in); e != Error::None)
			return fail(e);
		state_ = State::Negotiating;
		return acceptor_negotiating(in, req, out);
	case State::Negotiating: return acceptor_negotiating(in, req, out);
	case State::AwaitPubKeyAuth: return acceptor_pub_key_auth(req, out);
	case State::AwaitCredentials: return acceptor_credentials(req, out);
	default: return fail(Error::Internal);
	}
}

ContextFlags CredSspContext::flags() const noexcept
{
	ContextFlags f = ctx::ManualCredValidation | (requested_ & (ctx::Connection | ctx::Stream));
	if (role_ == Role::Acceptor)
		f |= requested_ & ctx::ExtendedError;
	if (supplied_)
		f |= ctx::UseSuppliedCreds; // ISC_RET_USED_SUPPLIED_CREDS
	if (state_ == State::Done && inner_) {
		f |= inner_->flags() & ~ctx::Delegate;
		if (delegated_)
			f |= ctx::Delegate;
		if (mutual_ && role_ == Role::Initiator)
			f |= ctx::MutualAuth;
	}
	return f;
}

Sizes CredSspContext::sizes() const noexcept
{
	Sizes s;
	if (inner_ && state_ == State::Done)
		s = inner_->sizes();
	s.max_token = kMaxToken;
	return s;
}

Error CredSspContext::session_key(SecretBytes& key) const
{
	return state_ == State::Done ? inner_->session_key(key) : Error::NotEstablished;
}

Error CredSspContext::names(ContextNames& n) const
{
	return state_ == State::Done ? inner_->names(n) : Error::NotEstablished;
}

Error CredSspContext::set_workstation(std::u16string name)
{
	return inner_ ? inner_->set_workstation(std::move(name)) : Error::Unsupported;
}

Info CredSspContext::info() const
{
	Info i;
	i.version = version_;
	i.peer_version = peer_version_;
	i.established = state_ == State::Done;
	i.delegated = delegated_;
	i.echo_defect_seen = echo_defect_seen_;
	i.echo_defect_refused = echo_defect_refused_;
	i.remote_guard = remote_guard_;
	i.peer_error_code = peer_error_code_;
	i.mechanism = inner_ ? inner_->package() : PackageId::Negotiate;
	return i;
}

Error CredSspContext::delegated(DelegatedCredentials& out) const
{
	if (role_ != Role::Acceptor)
		return Error::Unsupported;
	if (state_ != State::Done || !received_)
		return Error::NotEstablished;
	out = *received_;
	return Error::None;
}

// ---- entry points -----------------------------------------------------------------------------

ContextPtr create_context(Role role, const CredentialPtr& cred, ContextFactory inner, Error& err, Options defaults)
{
	err = Error::None;
	if (!inner) {
		err = Error::Internal;
		return nullptr;
	}
	if (!cred) {
		err = Error::NoCredentials;
		return nullptr;
	}
	if (role == Role::Initiator ? !cred->outbound() : !cred->inbound()) {
		err = Error::NoCredentials;
		return nullptr;
	}
	try {
		return std::make_unique<CredSspContext>(role, cred, std::move(inner), std::move(defaults));
	} catch (const std::bad_alloc&) {
		err = Error::InsufficientMemory;
		return nullptr;
	}
}

std::optional<Info> query_info(const SecurityContext& ctx)
{
	const auto* c = dynamic_cast<const CredSspContext*>(&ctx);
	if (!c)
		return std::nullopt;
	return c->info();
}

Error query_delegated_credentials(const SecurityContext& ctx, DelegatedCredentials& out)
{
	const auto* c = dynamic_cast<const CredSspContext*>(&ctx);
	if (!c)
		return Error::Unsupported;
	return c->delegated(out);
}

} // namespace nlassp::credssp
