#include "kerberos/context_impl.h"

#include "common/failure.h"
#include "kerberos/config.h"
#include "kerberos/ext_error.h"
#include "kerberos/kerberos.h"
#include "wire/utf16.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace nlassp::kerberos {

namespace detail {

const log::Logger logger("com.nlassp.kerberos");

std::string upper(std::string_view s)
{
	std::string out(s);
	for (char& c : out)
		c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
	return out;
}

bool iequals(std::string_view a, std::string_view b)
{
	if (a.size() != b.size())
		return false;
	for (size_t i = 0; i < a.size(); ++i)
		if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
			return false;
	return true;
}

// UTF-16LE password bytes → NUL-terminated UTF-8 in SecretBytes. False on invalid UTF-16.
bool password_utf8(ByteView in, SecretBytes& out)
{
	if (in.size() % 2 != 0)
		return false;
	SecretBytes buf(in.size() / 2 * 3 + 1);
	size_t n = 0;
	auto put = [&](uint32_t cp) {
		if (cp < 0x80) {
			buf[n++] = static_cast<uint8_t>(cp);
		} else if (cp < 0x800) {
			buf[n++] = static_cast<uint8_t>(0xc0 | (cp >> 6));
			buf[n++] = static_cast<uint8_t>(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			buf[n++] = static_cast<uint8_t>(0xe0 | (cp >> 12));
			buf[n++] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3f));
			buf[n++] = static_cast<uint8_t>(0x80 | (cp & 0x3f));
		} else {
			buf[n++] = static_cast<uint8_t>(0xf0 | (cp >> 18));
			buf[n++] = static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3f));
			buf[n++] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3f));
			buf[n++] = static_cast<uint8_t>(0x80 | (cp & 0x3f));
		}
	};
	for (size_t i = 0; i < in.size(); i += 2) {
		uint32_t u = static_cast<uint32_t>(in[i] | (in[i + 1] << 8));
		if (u == 0)
			return false;   // an embedded NUL would silently truncate the password
		if (u >= 0xd800 && u <= 0xdbff) {
			if (i + 3 >= in.size())
				return false;
			uint32_t lo = static_cast<uint32_t>(in[i + 2] | (in[i + 3] << 8));
			if (lo < 0xdc00 || lo > 0xdfff)
				return false;
			put(0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00));
			i += 2;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			return false;
		} else {
			put(u);
		}
	}
	buf[n++] = 0;
	out = SecretBytes(buf.data(), n);
	return true;
}

std::string utc_now()
{
	char text[64] = "?";
	std::time_t now = std::time(nullptr);
	std::tm tm{};
	if (gmtime_r(&now, &tm))
		(void)std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &tm);
	return text;
}

// The advice that goes with an error in the one log line a failure produces.
const char* advice(Error e)
{
	switch (e) {
	case Error::LogonDenied: return "check the user name and password";
	case Error::PasswordExpired: return "the password has expired: change it first";
	case Error::TargetUnknown: return "the KDC does not know this service principal (connect by the host name registered in the realm)";
	case Error::NoAuthority: return "set the realm's kdc in krb5.conf or pass /kerberos:kdc-url";
	case Error::NoCredentials: return "run kinit or give a user name and password";
	case Error::TimeSkew: return "synchronise this machine's clock with the KDC (see clockskew in krb5.conf)";
	case Error::WrongPrincipal: return "the keytab has no key for the service principal the client asked for";
	case Error::AccountRevoked:
	case Error::AccountDisabled:
	case Error::AccountLockedOut:
	case Error::AccountExpired:
	case Error::InvalidLogonHours:
	case Error::InvalidWorkstation: return account_advice(e);
	case Error::SmartcardWrongPin: return "retype the card's PIN";
	case Error::SmartcardPinLocked: return "unblock the PIN with the card's PUK / SO PIN (e.g. pkcs11-tool --unlock-pin) or ask its issuer";
	case Error::SmartcardNoCertificate: return "check the card holds a logon certificate with its key (pkcs11-tool --list-objects) or the cert:/key: files";
	case Error::SmartcardUnavailable: return "insert the card and check the PKCS#11 module (/kerberos:pkcs11-module:)";
	case Error::SmartcardUntrusted: return "the KDC must trust the CA that issued the card's certificate (kdc.conf pkinit_anchors), and so must /kerberos:pkinit-anchors: here";
	case Error::KdcCertUntrusted: return "give the CA of the KDC's certificate with /kerberos:pkinit-anchors:FILE:/path/ca.pem or pkinit_anchors in krb5.conf";
	case Error::PkinitUnavailable: return "install MIT's PKINIT plugin (package krb5-pkinit) and enable PKINIT on the KDC";
	case Error::PkinitNameMismatch: return "the certificate's id-pkinit-san or UPN must name this principal (kdc.conf pkinit_allow_upn for UPNs)";
	default: return "";
	}
}

ContextFlags from_gss(OM_uint32 f)
{
	ContextFlags out = 0;
	if (f & GSS_C_DELEG_FLAG) out |= ctx::Delegate;
	if (f & GSS_C_MUTUAL_FLAG) out |= ctx::MutualAuth;
	if (f & GSS_C_REPLAY_FLAG) out |= ctx::ReplayDetect;
	if (f & GSS_C_SEQUENCE_FLAG) out |= ctx::SequenceDetect;
	if (f & GSS_C_CONF_FLAG) out |= ctx::Confidentiality;
	if (f & GSS_C_INTEG_FLAG) out |= ctx::Integrity;
	if (f & GSS_C_IDENTIFY_FLAG) out |= ctx::Identify;
	return out;
}

OM_uint32 to_gss(ContextFlags f)
{
	OM_uint32 out = 0;
	if (f & ctx::Delegate) out |= GSS_C_DELEG_FLAG;
	if (f & ctx::MutualAuth) out |= GSS_C_MUTUAL_FLAG;
	if (f & ctx::ReplayDetect) out |= GSS_C_REPLAY_FLAG;
	if (f & ctx::SequenceDetect) out |= GSS_C_SEQUENCE_FLAG;
	if (f & ctx::Confidentiality) out |= GSS_C_CONF_FLAG;
	if (f & ctx::Integrity) out |= GSS_C_INTEG_FLAG;
	if (f & ctx::Identify) out |= GSS_C_IDENTIFY_FLAG;
	return out;
}

bool utf16_to_utf8_str(const std::u16string& in, std::string& out)
{
	return wire::utf16_to_utf8(in, out);
}

void KerberosContext::log_failure(const char* what, Error e, const std::string& detail, const std::string& fix) const
{
	const char* hint = fix.empty() ? advice(e) : fix.c_str();
	// The reason with its fix, for a caller that reports the failure in its own line
	// (common/failure.h): Negotiate, when it moves on to another mechanism, or when the KDC refused
	// the credentials. For a wrong password the caller gives the fix itself: it knows which logon
	// (the gateway's or the server's) and where its credentials come from.
	const bool refused = failure::is_refusal(e);
	// A refusal with its own fix (a KDC policy) keeps it: the caller's wrong-password fix is not it.
	const bool own_fix = e == Error::LogonDenied && !fix.empty();
	failure::record(*hint && (e != Error::LogonDenied || own_fix) ? detail + "; " + hint : detail, own_fix);
	// "Kerberos cannot work here": not an error of the login as a whole. Alone, one INFO line;
	// under a caller that reports it (Negotiate trying Kerberos first), DEBUG only. A refusal
	// under such a caller is DEBUG too: the caller's line is the one that names the logon.
	const bool cannot_work_here = e == Error::NoAuthority || e == Error::NoCredentials || e == Error::TargetUnknown;
	if (refused && failure::caller_reports()) {
		NLASSP_LOG(logger, Debug, "Kerberos %s failed: %s (%s)", what, detail.c_str(), error_name(e));
	} else if (e == Error::TimeSkew) {
		NLASSP_LOG(logger, Error, "Kerberos %s failed: %s (%s); this machine's clock reads %s, the peer's differs by more than the allowed skew; %s",
		           what, detail.c_str(), error_name(e), utc_now().c_str(), hint);
	} else if (cannot_work_here && failure::caller_reports()) {
		NLASSP_LOG(logger, Debug, "Kerberos %s failed: %s (%s)%s%s", what, detail.c_str(), error_name(e),
		           *hint ? "; " : "", hint);
	} else if (cannot_work_here) {
		NLASSP_LOG(logger, Info, "Kerberos %s failed: %s (%s)%s%s", what, detail.c_str(), error_name(e),
		           *hint ? "; " : "", hint);
	} else {
		NLASSP_LOG(logger, Error, "Kerberos %s failed: %s (%s)%s%s", what, detail.c_str(), error_name(e),
		           *hint ? "; " : "", hint);
	}
}

Error KerberosContext::fail_gss(const char* what, OM_uint32 major, OM_uint32 minor)
{
	Error e = gss::map_gss(major, minor);
	log_failure(what, e, gss::describe(major, minor));
	return e;
}

Error KerberosContext::fail_service_ticket(const std::string& what, krb5_error_code code, const std::string& detail,
                                          Error e)
{
	switch (code) {
	case KRB5KDC_ERR_POLICY:
		log_failure(what.c_str(), e, detail,
		            "the KDC's policy refuses this user a ticket for " + target_text_ +
		                " (an authentication policy, or a service the account may not use); the password is not "
		                "the problem: ask an administrator");
		return e;
	case KRB5KDC_ERR_CLIENT_REVOKED:
		log_failure(what.c_str(), e, detail,
		            "the KDC refused a service ticket: the account has been disabled or locked out since its "
		            "ticket-granting ticket was issued; ask an administrator to enable or unlock it (and kdestroy "
		            "the old tickets)");
		return e;
	default:
		log_failure(what.c_str(), e, detail);
		return e;
	}
}

Error KerberosContext::fail_krb5(const char* what, krb5_error_code code)
{
	if (Error e = explain_kdc_proxy_failure(what, code); e != Error::None)
		return e;
	Error e = gss::map_krb5(code);
	log_failure(what, e, gss::describe_krb5(krb5_.get(), code));
	return e;
}

Error KerberosContext::init()
{
	if (!cred_)
		return Error::NoCredentials;
	krb5_error_code code = krb5_init_context(krb5_.out());
	if (code) {
		const std::string why = "Kerberos is not usable: " + config::describe_init_failure(code) +
		                        "; fix the krb5 configuration (" +
		                        (std::getenv("KRB5_CONFIG") ? "the files in KRB5_CONFIG" : "/etc/krb5.conf") +
		                        "; kinit shows the same error)";
		failure::record(why);   // for Negotiate's line when it moves on to NTLM
		NLASSP_LOG(logger, Error, "%s", why.c_str());
		return Error::PackageUnavailable;
	}
	if (const std::string note = config::skipped_files_note(); !note.empty())
		NLASSP_LOG(logger, Warn, "Kerberos: %s", note.c_str());
	return role_ == Role::Initiator ? init_initiator() : init_acceptor();
}

Error KerberosContext::init_acceptor()
{
	if (!cred_->inbound()) {
		log_failure("accept", Error::NoCredentials, "the credential handle is not usable for inbound authentication");
		return Error::NoCredentials;
	}
	const auto& ks = cred_->kerberos;
	OM_uint32 minor = 0;
	OM_uint32 major = 0;
	if (!ks.keytab.empty()) {
		gss_key_value_element_desc element{"keytab", ks.keytab.c_str()};
		gss_key_value_set_desc store{1, &element};
		major = gss_acquire_cred_from(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, gss::krb5_mech_set(), GSS_C_ACCEPT,
		                              &store, gcred_.out(), nullptr, nullptr);
	} else {
		major = gss_acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, gss::krb5_mech_set(), GSS_C_ACCEPT,
		                         gcred_.out(), nullptr, nullptr);
	}
	if (GSS_ERROR(major)) {
		log_failure("accept", Error::NoCredentials,
		            "no service key in the keytab " + (ks.keytab.empty() ? std::string("(default)") : ks.keytab) + ": " +
		                gss::describe(major, minor));
		return Error::NoCredentials;
	}
	return Error::None;
}

Error KerberosContext::step(const StepInput& in, StepOutput& out)
{
	out.token.clear();
	out.complete = false;
	if (state_ == State::Failed)
		return Error::InvalidHandle;
	if (state_ == State::Established)
		return Error::InvalidParameter;
	Error e = role_ == Role::Initiator ? step_initiator(in, out) : step_acceptor(in, out);
	if (e != Error::None) {
		state_ = State::Failed;
		out.token.clear();
		out.complete = false;
		return e;
	}
	if (out.token.size() > kMaxToken) {
		NLASSP_LOG(logger, Error, "Kerberos token of %zu bytes exceeds the maximum token size %u", out.token.size(),
		           static_cast<unsigned>(kMaxToken));
		state_ = State::Failed;
		out.token.clear();
		return Error::OutputTooSmall;
	}
	return Error::None;
}

namespace {
struct Bindings {
	gss_channel_bindings_struct cb{};
	explicit Bindings(const ChannelBindings* b)
	{
		if (!b)
			return;
		cb.initiator_addrtype = b->initiator_addr_type;
		cb.initiator_address = gss::input(b->initiator_addr);
		cb.acceptor_addrtype = b->acceptor_addr_type;
		cb.acceptor_address = gss::input(b->acceptor_addr);
		cb.application_data = gss::input(b->application_data);
	}
};
} // namespace

Error KerberosContext::step_initiator(const StepInput& in, StepOutput& out)
{
	OM_uint32 minor = 0;
	OM_uint32 major = 0;
	if (state_ == State::Start) {
		if (!in.token.empty()) {
			log_failure("logon", Error::InvalidToken, "the first call of an initiator takes no input token");
			return Error::InvalidToken;
		}
		std::string spn;
		TargetName t;
		if (!wire::utf16_to_utf8(in.target, spn) || !target_name(spn, t)) {
			log_failure("logon", Error::TargetUnknown, "unusable target name '" + spn + "'");
			return Error::TargetUnknown;
		}
		gss_buffer_desc nb{t.name.size(), t.name.data()};
		major = gss_import_name(&minor, &nb, t.hostbased ? GSS_C_NT_HOSTBASED_SERVICE : GSS_KRB5_NT_PRINCIPAL_NAME,
		                        target_.out());
		if (GSS_ERROR(major))
			return fail_gss("logon", major, minor);
		target_text_ = spn;
		if (prefetch_)
			if (Error e = prefetch_service_ticket(spn); e != Error::None)
				return e;
	} else if (in.token.empty()) {
		log_failure("logon", Error::InvalidToken, "the acceptor's reply is empty");
		return Error::InvalidToken;
	}

	Bindings cb(in.bindings);
	gss_buffer_desc input = gss::input(in.token);
	gss::Buffer output;
	OM_uint32 flags = 0;
	major = gss_init_sec_context(&minor, gcred_.get(), ctx_.inout(), target_.get(), gss_mech_krb5, to_gss(in.requested), 0,
	                             in.bindings ? &cb.cb : GSS_C_NO_CHANNEL_BINDINGS,
	                             in.token.empty() ? GSS_C_NO_BUFFER : &input, nullptr, output.out(), &flags, nullptr);
	if (GSS_ERROR(major)) {
		const std::string what = "logon to " + target_text_;
		if (state_ == State::Start)   // the first call gets the service ticket: a TGS exchange
			return fail_service_ticket(what, static_cast<krb5_error_code>(minor), gss::describe(major, minor),
			                           gss::map_gss(major, minor));
		return fail_gss(what.c_str(), major, minor);
	}
	ret_flags_ = flags;
	out.token.assign(output.view().begin(), output.view().end());
	// The first token is the AP-REQ: the service ticket and authenticator the acceptor judges.
	out.presents_credentials = state_ == State::Start && !out.token.empty();
	if (major & GSS_S_CONTINUE_NEEDED) {
		state_ = State::InProgress;
		return Error::None;
	}
	if (Error e = finish_establishment(); e != Error::None)
		return e;
	if (rc4_)
		adopt_acceptor_subkey(in.token);
	out.complete = true;
	return Error::None;
}

Error KerberosContext::step_acceptor(const StepInput& in, StepOutput& out)
{
	if (in.token.empty()) {
		log_failure("accept", Error::InvalidToken, "the client sent an empty token");
		return Error::InvalidToken;
	}
	OM_uint32 minor = 0;
	Bindings cb(in.bindings);
	gss_buffer_desc input = gss::input(in.token);
	gss::Buffer output;
	gss::Name source;
	gss::Cred delegated;
	OM_uint32 flags = 0;
	OM_uint32 major = gss_accept_sec_context(&minor, ctx_.inout(), gcred_.get(), &input,
	                                         in.bindings ? &cb.cb : GSS_C_NO_CHANNEL_BINDINGS, source.out(), nullptr,
	                                         output.out(), &flags, nullptr, delegated.out());
	if (GSS_ERROR(major)) {
		// Not a Kerberos token at all (another mechanism's OID, garbage): the peer's fault.
		if (GSS_ROUTINE_ERROR(major) == GSS_S_BAD_MECH) {
			log_failure("accept", Error::InvalidToken, "the client's token is not a Kerberos token");
			return Error::InvalidToken;
		}
		return fail_gss("accept", major, minor);
	}
	ret_flags_ = flags;
	out.token.assign(output.view().begin(), output.view().end());
	if (major & GSS_S_CONTINUE_NEEDED) {
		state_ = State::InProgress;
		return Error::None;
	}
	gss::Buffer text;
	if (!GSS_ERROR(gss_display_name(&minor, source.get(), text.out(), nullptr)))
		client_ = text.str();
	if (Error e = finish_establishment(); e != Error::None)
		return e;
	out.complete = true;
	NLASSP_LOG(logger, Debug, "Kerberos: accepted %s", client_.c_str());
	return Error::None;
}

Error KerberosContext::finish_establishment()
{
	// An RC4-HMAC key: our own tokens in the layouts SSPI peers use (rc4_protect.h).
	if (Error e = Rc4Protection::create(ctx_.get(), ret_flags_, rc4_); e != Error::None)
		return e;
	state_ = State::Established;
	if (rc4_) {
		sizes_.security_trailer = Rc4Protection::max_trailer();
		sizes_.max_signature = Rc4Protection::max_signature();
		sizes_.block_size = 1;
		NLASSP_LOG(logger, Debug, "Kerberos: the session key is RC4-HMAC; messages are protected in %s layout",
		           rc4_->layout() == Rc4Protection::Layout::Rfc4757 ? "RFC 4757's" : "WinPR's RFC 4121");
		return Error::None;
	}
	OM_uint32 minor = 0;
	// What gss_wrap_iov will really put into the token buffer (header + rotated trailer).
	gss_iov_buffer_desc iov[3] = {{GSS_IOV_BUFFER_TYPE_HEADER, {0, nullptr}},
	                              {GSS_IOV_BUFFER_TYPE_DATA, {1, nullptr}},
	                              {GSS_IOV_BUFFER_TYPE_PADDING, {0, nullptr}}};
	int conf = 0;
	if (!GSS_ERROR(gss_wrap_iov_length(&minor, ctx_.get(), 1, GSS_C_QOP_DEFAULT, &conf, iov, 3)))
		sizes_.security_trailer = static_cast<uint32_t>(iov[0].buffer.length);
	gss_iov_buffer_desc mic[2] = {{GSS_IOV_BUFFER_TYPE_DATA, {1, nullptr}},
	                              {GSS_IOV_BUFFER_TYPE_MIC_TOKEN, {0, nullptr}}};
	if (!GSS_ERROR(gss_get_mic_iov_length(&minor, ctx_.get(), GSS_C_QOP_DEFAULT, mic, 2)))
		sizes_.max_signature = static_cast<uint32_t>(mic[1].buffer.length);
	sizes_.block_size = 1;
	return Error::None;
}

Error KerberosContext::session_key(SecretBytes& key) const
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	OM_uint32 minor = 0;
	gss::BufferSet set;
	OM_uint32 major = gss_inquire_sec_context_by_oid(&minor, ctx_.get(), GSS_C_INQ_SSPI_SESSION_KEY, set.out());
	if (GSS_ERROR(major) || set.get() == GSS_C_NO_BUFFER_SET || set.get()->count < 1)
		return Error::Internal;
	const gss_buffer_desc& b = set.get()->elements[0];
	key = SecretBytes(static_cast<const uint8_t*>(b.value), b.length);
	if (b.value && b.length)
		secure_wipe(b.value, b.length);
	return Error::None;
}

Error KerberosContext::names(ContextNames& out) const
{
	if (client_.empty())
		return Error::NotEstablished;
	std::string user, realm;
	split_principal(client_, user, realm);
	if (!wire::utf8_to_utf16(user, out.user) || !wire::utf8_to_utf16(realm, out.domain))
		return Error::Internal;
	out.workstation.clear();
	return Error::None;
}

} // namespace detail

ContextPtr create_context(Role role, const CredentialPtr& cred, Error& err)
{
	err = Error::None;
	std::unique_ptr<detail::KerberosContext> c;
	try {
		c = std::make_unique<detail::KerberosContext>(role, cred);
	} catch (...) {
		err = Error::InsufficientMemory;
		return nullptr;
	}
	err = c->init();
	if (err != Error::None)
		return nullptr;
	return c;
}

} // namespace nlassp::kerberos
