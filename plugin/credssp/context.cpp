#include "credssp/context.h"

#include "common/log.h"
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

struct StatusName {
	uint32_t status;
	const char* name;
	Error error;
};
constexpr StatusName kStatuses[] = {
    {0xC000006Du, "STATUS_LOGON_FAILURE", Error::LogonDenied},
    {0xC000006Au, "STATUS_WRONG_PASSWORD", Error::LogonDenied},
    {0xC0000064u, "STATUS_NO_SUCH_USER", Error::LogonDenied},
    {0xC0000072u, "STATUS_ACCOUNT_DISABLED", Error::LogonDenied},
    {0xC0000234u, "STATUS_ACCOUNT_LOCKED_OUT", Error::LogonDenied},
    {0xC0000193u, "STATUS_ACCOUNT_EXPIRED", Error::LogonDenied},
    {0xC000006Eu, "STATUS_ACCOUNT_RESTRICTION", Error::LogonDenied},
    {0xC000015Bu, "STATUS_LOGON_TYPE_NOT_GRANTED", Error::LogonDenied},
    {0xC0000022u, "STATUS_ACCESS_DENIED", Error::LogonDenied},
    {0xC00700EAu, "NTSTATUS_FROM_WIN32(ERROR_MORE_DATA), FreeRDP's wrong-password code", Error::LogonDenied},
    {0x8009030Cu, "SEC_E_LOGON_DENIED", Error::LogonDenied},
    {0xC0000071u, "STATUS_PASSWORD_EXPIRED", Error::PasswordExpired},
    {0xC0000224u, "STATUS_PASSWORD_MUST_CHANGE", Error::PasswordExpired},
    {0xC0000133u, "STATUS_TIME_DIFFERENCE_AT_DC", Error::TimeSkew},
    {0x80090324u, "SEC_E_TIME_SKEW", Error::TimeSkew},
    {0xC000005Eu, "STATUS_NO_LOGON_SERVERS", Error::NoAuthority},
    {0x80090311u, "SEC_E_NO_AUTHENTICATING_AUTHORITY", Error::NoAuthority},
    {0xC0000388u, "STATUS_DOWNGRADE_DETECTED", Error::DowngradeDetected},
    {0xC00002C3u, "STATUS_MUTUAL_AUTHENTICATION_FAILED", Error::MutualAuthFailed},
    {0xC000000Du, "STATUS_INVALID_PARAMETER", Error::InvalidToken},
    {0xC00000BBu, "STATUS_NOT_SUPPORTED", Error::Unsupported},
    {0xC00000E5u, "STATUS_INTERNAL_ERROR", Error::Internal},
    {0xC000009Au, "STATUS_INSUFFICIENT_RESOURCES", Error::InsufficientMemory},
    // A FreeRDP server sends NTSTATUS_FROM_WIN32(GetLastError()) after a failed
    // AcceptSecurityContext (nla.c); with nlassp as its SspiModule that is plugin/sspi/status.cpp's
    // to_win32_error of the failure.
    {0xC007052Eu, "FreeRDP server: ERROR_LOGON_FAILURE", Error::LogonDenied},
    {0xC0070005u, "FreeRDP server: ERROR_ACCESS_DENIED", Error::LogonDenied},
    {0xC0070576u, "FreeRDP server: ERROR_TIME_SKEW", Error::TimeSkew},
    {0xC007051Fu, "FreeRDP server: ERROR_NO_LOGON_SERVERS", Error::NoAuthority},
    {0xC0070574u, "FreeRDP server: ERROR_WRONG_TARGET_NAME", Error::WrongPrincipal},
    {0xC0070575u, "FreeRDP server: ERROR_MUTUAL_AUTH_FAILED", Error::MutualAuthFailed},
    {0xC007000Du, "FreeRDP server: ERROR_INVALID_DATA", Error::InvalidToken},
    {0xC0070032u, "FreeRDP server: ERROR_NOT_SUPPORTED", Error::Unsupported},
    {0xC007078Bu, "FreeRDP server: ERROR_CONTEXT_EXPIRED", Error::ContextExpired},
    {0xC0070057u, "FreeRDP server: ERROR_INVALID_PARAMETER", Error::Internal},
    {0xC007007Au, "FreeRDP server: ERROR_INSUFFICIENT_BUFFER", Error::Internal},
    {0xC0070008u, "FreeRDP server: ERROR_NOT_ENOUGH_MEMORY", Error::InsufficientMemory},
    {0xC007054Fu, "FreeRDP server: ERROR_INTERNAL_ERROR", Error::Internal},
};

bool ascii_ieq(char16_t a, char16_t b) noexcept
{
	auto lower = [](char16_t c) { return (c >= u'A' && c <= u'Z') ? static_cast<char16_t>(c + 32) : c; };
	return lower(a) == lower(b);
}

// '*' matches any run of characters (also none); everything else ASCII case-insensitively.
bool glob_match(std::u16string_view pattern, std::u16string_view text) noexcept
{
	size_t p = 0, t = 0, star = std::u16string_view::npos, mark = 0;
	while (t < text.size()) {
		if (p < pattern.size() && pattern[p] == u'*') {
			star = p++;
			mark = t;
		} else if (p < pattern.size() && ascii_ieq(pattern[p], text[t])) {
			++p;
			++t;
		} else if (star != std::u16string_view::npos) {
			p = star + 1;
			t = ++mark;
		} else {
			return false;
		}
	}
	while (p < pattern.size() && pattern[p] == u'*')
		++p;
	return p == pattern.size();
}

std::string narrow(std::u16string_view s)
{
	std::string out;
	if (!wire::utf16_to_utf8(s, out))
		return "<invalid>";
	return out;
}

} // namespace

// ---- NTSTATUS ---------------------------------------------------------------------------------

uint32_t error_to_ntstatus(Error e) noexcept
{
	switch (e) {
	case Error::None: return 0;
	case Error::PasswordExpired: return 0xC0000071u;
	case Error::TimeSkew: return 0xC0000133u;
	case Error::NoAuthority: return 0xC000005Eu;
	case Error::DowngradeDetected: return 0xC0000388u;
	case Error::MutualAuthFailed: return 0xC00002C3u;
	case Error::InvalidToken: return 0xC000000Du;
	case Error::Unsupported: return 0xC00000BBu;
	case Error::Internal: return 0xC00000E5u;
	case Error::InsufficientMemory: return 0xC000009Au;
	default: return 0xC000006Du; // STATUS_LOGON_FAILURE: what FreeRDP's client reports as a failed logon
	}
}

Error ntstatus_to_error(uint32_t status) noexcept
{
	for (const auto& s : kStatuses)
		if (s.status == status)
			return s.error;
	return Error::LogonDenied; // the server refused, for a reason we have no better name for
}

const char* ntstatus_name(uint32_t status) noexcept
{
	for (const auto& s : kStatuses)
		if (s.status == status)
			return s.name;
	return "a status nlassp has no name for";
}

// ---- parameters -------------------------------------------------------------------------------

Error parse_params(ByteView buffer, Params& out)
{
	NLASSP_CREDSSP_PARAMS p{};
	uint32_t cb = 0, version = 0;
	wire::Reader r(buffer);
	if (!r.u32le(cb) || !r.u32le(version)) {
		NLASSP_LOG(logger, Warn, "CredSSP: the NLASSP_SECBUFFER_CREDSSP_PARAMS buffer is too short (%zu bytes)",
		           buffer.size());
		return Error::InvalidParameter;
	}
	if (version != NLASSP_CREDSSP_PARAMS_VERSION || cb < sizeof(p) || cb > buffer.size()) {
		NLASSP_LOG(logger, Warn,
		           "CredSSP: NLASSP_CREDSSP_PARAMS has Version %" PRIu32 " and cbSize %" PRIu32
		           " in a %zu-byte buffer; expected Version %u and cbSize >= %zu",
		           version, cb, buffer.size(), NLASSP_CREDSSP_PARAMS_VERSION, sizeof(p));
		return Error::InvalidParameter;
	}
	// The struct is the caller's own C struct in this process: copy it in host layout.
	std::memcpy(&p, buffer.data(), sizeof(p));

	Params result;
	Options& o = result.options;
	o.min_version = p.MinVersion ? p.MinVersion : kMinVersion;
	o.max_version = p.MaxVersion ? p.MaxVersion : kMaxVersion;
	if (o.min_version < kMinVersion || o.max_version > kMaxVersion || o.min_version > o.max_version) {
		NLASSP_LOG(logger, Warn, "CredSSP: versions %" PRIu32 "..%" PRIu32 " asked; this package speaks 2..6",
		           o.min_version, o.max_version);
		return Error::InvalidParameter;
	}
	if (p.Flags & ~(NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT | NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION)) {
		NLASSP_LOG(logger, Warn, "CredSSP: unknown NLASSP_CREDSSP_PARAMS flags 0x%08" PRIx32, p.Flags);
		return Error::InvalidParameter;
	}
	o.tolerate_freerdp_echo_defect = p.Flags & NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT;
	o.allow_ntlm_only_delegation = !(p.Flags & NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION);

	ByteView key;
	if (!wire::Reader::field(buffer, p.PublicKeyOffset, p.PublicKeyLength, key)) {
		NLASSP_LOG(logger, Warn, "CredSSP: the public key (offset %" PRIu32 ", %" PRIu32
		                         " bytes) lies outside the %zu-byte parameters buffer",
		           p.PublicKeyOffset, p.PublicKeyLength, buffer.size());
		return Error::InvalidParameter;
	}
	switch (p.KeyFormat) {
	case NLASSP_CREDSSP_KEY_NONE:
		break;
	case NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO: {
		ByteView spk;
		if (!subject_public_key_from_spki(key, spk)) {
			NLASSP_LOG(logger, Warn, "CredSSP: the public key is not a DER SubjectPublicKeyInfo");
			return Error::InvalidParameter;
		}
		result.subject_public_key.emplace(spk.begin(), spk.end());
		break;
	}
	case NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY:
		if (key.empty()) {
			NLASSP_LOG(logger, Warn, "CredSSP: the public key is empty");
			return Error::InvalidParameter;
		}
		result.subject_public_key.emplace(key.begin(), key.end());
		break;
	default:
		NLASSP_LOG(logger, Warn, "CredSSP: unknown KeyFormat %" PRIu32, p.KeyFormat);
		return Error::InvalidParameter;
	}

	ByteView targets;
	if (!wire::Reader::field(buffer, p.DelegateTargetsOffset, p.DelegateTargetsLength, targets)) {
		NLASSP_LOG(logger, Warn, "CredSSP: the delegation targets lie outside the parameters buffer");
		return Error::InvalidParameter;
	}
	if (!targets.empty()) {
		std::u16string all;
		if (!wire::utf8_to_utf16(std::string_view(reinterpret_cast<const char*>(targets.data()), targets.size()),
		                         all)) {
			NLASSP_LOG(logger, Warn, "CredSSP: the delegation targets are not UTF-8");
			return Error::InvalidParameter;
		}
		o.delegate_targets.clear();
		size_t start = 0;
		while (start <= all.size()) {
			size_t end = all.find(u';', start);
			if (end == std::u16string::npos)
				end = all.size();
			std::u16string item = all.substr(start, end - start);
			while (!item.empty() && item.front() == u' ')
				item.erase(item.begin());
			while (!item.empty() && item.back() == u' ')
				item.pop_back();
			if (!item.empty())
				o.delegate_targets.push_back(std::move(item));
			start = end + 1;
		}
	}
	out = std::move(result);
	return Error::None;
}

// ---- the context ------------------------------------------------------------------------------

CredSspContext::CredSspContext(Role role, CredentialPtr cred, ContextFactory inner, Options defaults)
    : role_(role), cred_(std::move(cred)), inner_factory_(std::move(inner)), defaults_(std::move(defaults)),
      options_(defaults_)
{
}

void CredSspContext::reset()
{
	state_ = State::Start;
	inner_.reset();
	options_ = defaults_;
	supplied_.reset();
	requested_ = 0;
	target_.clear();
	version_ = peer_version_ = 0;
	have_nonce_ = false;
	sent_pub_key_auth_.clear();
	last_nego_token_.clear();
	delegated_ = echo_defect_seen_ = echo_defect_refused_ = mutual_ = false;
	peer_error_code_ = 0;
	received_.reset();
	// key_ stays: re-authentication runs over the same TLS connection.
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
	req.version = options_.max_version;
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
	if (in.package_params.empty())
		return Error::None;
	Params p;
	if (const Error e = parse_params(in.package_params, p); e != Error::None)
		return e;
	if (state_ == State::Start)
		options_ = p.options;
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
		version_ = std::min(options_.max_version, version);
		if (version_ < options_.min_version) {
			NLASSP_LOG(logger, Warn,
			           "CredSSP %s: the peer speaks TSRequest version %" PRIu32 " but at least %" PRIu32
			           " was asked for (MinVersion); refusing the downgrade",
			           role_name(role_), version, options_.min_version);
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
	const size_t trailer = inner_->sizes().security_trailer;
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
		if (options_.tolerate_freerdp_echo_defect) {
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

Error CredSspContext::make_credentials(Bytes& auth_info)
{
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
	TsCredentials tc;
	if (!decode_ts_credentials(plain.view(), tc)) {
		NLASSP_LOG(logger, Warn, "CredSSP acceptor: the decrypted authInfo is not a TSCredentials");
		return Error::InvalidToken;
	}
	DelegatedCredentials d;
	d.cred_type = tc.cred_type;
	d.raw = tc.credentials;
	switch (static_cast<CredType>(tc.cred_type)) {
	case CredType::Password: {
		TsPasswordCreds pc;
		if (!decode_ts_password_creds(tc.credentials.view(), pc) || !wire::utf16le_decode(pc.user, d.user) ||
		    !wire::utf16le_decode(pc.domain, d.domain) || pc.password.size() % 2 != 0) {
			NLASSP_LOG(logger, Warn, "CredSSP acceptor: malformed TSPasswordCreds");
			return Error::InvalidToken;
		}
		d.password = std::move(pc.password);
		d.empty = d.user.empty() && d.domain.empty() && d.password.empty();
		break;
	}
	case CredType::SmartCard: {
		TsSmartCardCreds sc;
		if (!decode_ts_smart_card_creds(tc.credentials.view(), sc) || sc.pin.size() % 2 != 0 ||
		    (sc.user_hint && !wire::utf16le_decode(*sc.user_hint, d.user)) ||
		    (sc.domain_hint && !wire::utf16le_decode(*sc.domain_hint, d.domain))) {
			NLASSP_LOG(logger, Warn, "CredSSP acceptor: malformed TSSmartCardCreds");
			return Error::InvalidToken;
		}
		d.password = std::move(sc.pin);
		break;
	}
	case CredType::RemoteGuard: {
		TsRemoteGuardCreds rg;
		if (!decode_ts_remote_guard_creds(tc.credentials.view(), rg)) {
			NLASSP_LOG(logger, Warn, "CredSSP acceptor: malformed TSRemoteGuardCreds");
			return Error::InvalidToken;
		}
		break;
	}
	default:
		NLASSP_LOG(logger, Warn, "CredSSP acceptor: unknown TSCredentials credType %" PRIu32, tc.cred_type);
		return Error::InvalidToken;
	}
	delegated_ = !d.empty;
	NLASSP_LOG(logger, Debug, "CredSSP acceptor: credType %" PRIu32 " received%s", d.cred_type,
	           d.empty ? " (empty: nothing delegated)" : "");
	received_ = std::move(d);
	return Error::None;
}

Error CredSspContext::send(TsRequest& req, StepOutput& out)
{
	req.version = options_.max_version;
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
		const bool allowed = std::any_of(options_.delegate_targets.begin(), options_.delegate_targets.end(),
		                                 [&](const std::u16string& p) { return glob_match(p, target_); });
		if (!allowed) {
			NLASSP_LOG(logger, Warn,
			           "CredSSP initiator: the delegation policy does not allow credentials to go to %s (allowed: "
			           "DelegateTargets, default TERMSRV/*); nothing was sent",
			           narrow(target_).c_str());
			return fail(Error::DelegationPolicy);
		}
		const Identity* id = in.supplied_identity ? in.supplied_identity
		                                          : (cred_ && cred_->identity ? &*cred_->identity : nullptr);
		if (!id || !id->has_password) {
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
	if (constant_time_equal(*req.pub_key_auth, sent_pub_key_auth_)) {
		NLASSP_LOG(logger, Info,
		           "CredSSP initiator: the server sent our own pubKeyAuth back: this is how FreeRDP's server refuses "
		           "a logon at CredSSP version %" PRIu32 ", which has no errorCode",
		           version_);
		return fail(Error::LogonDenied);
	}
	if (const Error e = verify_pub_key_auth(*req.pub_key_auth); e != Error::None)
		return fail(e);
	mutual_ = true;
	if ((requested_ & ctx::Delegate) && inner_->package() == PackageId::Ntlm && !options_.allow_ntlm_only_delegation) {
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

// ---- acceptor ---------------------------------------------------------------------------------

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
