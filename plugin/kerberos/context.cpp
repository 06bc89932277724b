#include "kerberos/context.h"

#include "common/failure.h"
#include "common/log.h"
#include "kerberos/gss.h"
#include "kerberos/kerberos.h"
#include "wire/utf16.h"

#include <profile.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <ctime>
#include <vector>

namespace nlassp::kerberos {

namespace {

const log::Logger logger("com.nlassp.kerberos");

constexpr uint32_t kMaxToken = 48000;

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

class KerberosContext final : public SecurityContext {
public:
	KerberosContext(Role role, CredentialPtr cred) : role_(role), cred_(std::move(cred)) {}
	~KerberosContext() override
	{
		ctx_.reset();
		gcred_.reset();
		if (private_ccache_)
			ccache_.destroy();
		ccache_.close();
		krb5_.reset();
		if (!private_config_.empty())
			(void)unlink(private_config_.c_str());
	}

	Error init();

	Error step(const StepInput& in, StepOutput& out) override;
	[[nodiscard]] bool established() const noexcept override { return state_ == State::Established; }
	[[nodiscard]] ContextFlags flags() const noexcept override { return from_gss(ret_flags_); }
	[[nodiscard]] PackageId package() const noexcept override { return PackageId::Kerberos; }
	[[nodiscard]] Sizes sizes() const noexcept override { return sizes_; }

	Error sign(std::span<const MessageBuffer> msg, Bytes& token) override;
	Error verify(std::span<const MessageBuffer> msg, ByteView token) override;
	Error encrypt(std::span<MessageBuffer> msg, Bytes& token) override;
	Error decrypt(std::span<MessageBuffer> msg, ByteView token) override;
	Error session_key(SecretBytes& key) const override;
	Error names(ContextNames& names) const override;
	Error make_negotiation_mic(ByteView mech_types_der, Bytes& mic) override;
	Error verify_negotiation_mic(ByteView mech_types_der, ByteView mic) override;

private:
	enum class State : uint8_t { Start, InProgress, Established, Failed };

	Error init_initiator();
	Error init_acceptor();
	Error acquire_with_password(const std::string& principal, ByteView password_utf16le);
	Error acquire_from_ccache(const std::string& principal);
	[[nodiscard]] bool kdc_url_wanted() const noexcept
	{
		return !cred_->kerberos.kdc_url.empty() || !cred_->kdc_proxy_server.empty();
	}
	Error use_kdc_url(const std::string& realm);
	Error prefetch_service_ticket(const std::string& spn);
	Error check_realm(const std::string& realm);
	Error step_initiator(const StepInput& in, StepOutput& out);
	Error step_acceptor(const StepInput& in, StepOutput& out);
	void finish_establishment();
	Error fail_gss(const char* what, OM_uint32 major, OM_uint32 minor);
	Error fail_krb5(const char* what, krb5_error_code code);
	void log_failure(const char* what, Error e, const std::string& detail) const;

	Role role_;
	CredentialPtr cred_;
	State state_ = State::Start;
	gss::Krb5Context krb5_;
	std::string private_config_;   // krb5.conf fragment naming the KDC URL (removed on destruction)
	bool prefetch_ = false;         // KDC traffic must go through krb5_ (KDC URL in force)
	gss::Ccache ccache_;
	bool private_ccache_ = false;
	gss::Cred gcred_;
	gss::Ctx ctx_;
	gss::Name target_;
	std::string target_text_;
	std::string client_;       // "alice@LAB.TEST" (initiator: us; acceptor: the peer)
	OM_uint32 ret_flags_ = 0;
	Sizes sizes_{kMaxToken, 0, 1, 0};
};

void KerberosContext::log_failure(const char* what, Error e, const std::string& detail) const
{
	const char* hint = advice(e);
	// The reason and its fix, for a caller that reports the failure in its own line (Negotiate,
	// when it moves on to another mechanism: common/failure.h).
	failure::record(*hint ? detail + "; " + hint : detail);
	// "Kerberos cannot work here": not an error of the login as a whole. Alone, one INFO line;
	// under a caller that reports it (Negotiate trying Kerberos first), DEBUG only.
	const bool cannot_work_here = e == Error::NoAuthority || e == Error::NoCredentials || e == Error::TargetUnknown;
	if (e == Error::TimeSkew) {
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

Error KerberosContext::fail_krb5(const char* what, krb5_error_code code)
{
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
		NLASSP_LOG(logger, Error, "Kerberos is not usable: krb5_init_context failed (%d); check krb5.conf / KRB5_CONFIG",
		           static_cast<int>(code));
		return Error::PackageUnavailable;
	}
	const auto& ks = cred_->kerberos;
	if (!ks.pkinit_identity.empty() || !ks.pkinit_anchors.empty())
		NLASSP_LOG(logger, Warn, "Kerberos: PKINIT (smartcard) settings are not supported yet and are ignored");
	return role_ == Role::Initiator ? init_initiator() : init_acceptor();
}

Error KerberosContext::check_realm(const std::string& realm)
{
	// Fail within milliseconds when the realm has no KDC we could ever reach, so that Negotiate
	// can fall back to NTLM at once (no DNS SRV look-up, no network timeout).
	if (realm.empty()) {
		log_failure("logon", Error::NoAuthority, "no Kerberos realm (no default_realm in krb5.conf and none in the user name)");
		return Error::NoAuthority;
	}
	if (!cred_->kerberos.kdc_url.empty() || !cred_->kdc_proxy_server.empty())
		return Error::None;
	profile_t profile = nullptr;
	if (krb5_get_profile(krb5_.get(), &profile) != 0 || !profile)
		return Error::None;   // cannot tell; let the library try
	const char* path[] = {"realms", realm.c_str(), "kdc", nullptr};
	char** values = nullptr;
	const bool have_kdc = profile_get_values(profile, path, &values) == 0 && values && values[0];
	profile_free_list(values);
	int dns = 1;
	int dns_fallback = 1;
	(void)profile_get_boolean(profile, "libdefaults", "dns_fallback", nullptr, 1, &dns_fallback);
	(void)profile_get_boolean(profile, "libdefaults", "dns_lookup_kdc", nullptr, dns_fallback, &dns);
	char* configured_default = nullptr;
	const bool have_default_realm =
	    profile_get_string(profile, "libdefaults", "default_realm", nullptr, nullptr, &configured_default) == 0 &&
	    configured_default && *configured_default;
	profile_release_string(configured_default);
	profile_release(profile);
	if (have_kdc)
		return Error::None;
	if (!dns) {
		log_failure("logon", Error::NoAuthority, "no KDC for realm " + realm + " and DNS look-up of KDCs is off");
		return Error::NoAuthority;
	}
	// DNS SRV look-ups would be tried; skip them where they cannot help, so that NTLM users with
	// no Kerberos set up do not wait for DNS: a single-label name ("WORKGROUP") has no SRV
	// records, and a machine without a default_realm has no Kerberos configured at all.
	if (realm.find('.') == std::string::npos) {
		log_failure("logon", Error::NoAuthority, "no KDC for realm " + realm + " (a single-label domain, not a Kerberos realm)");
		return Error::NoAuthority;
	}
	if (!have_default_realm) {
		log_failure("logon", Error::NoAuthority,
		            "Kerberos is not configured on this machine (no default_realm, no KDC for realm " + realm + ")");
		return Error::NoAuthority;
	}
	return Error::None;
}

Error KerberosContext::init_initiator()
{
	if (!cred_->outbound()) {
		log_failure("logon", Error::NoCredentials, "the credential handle is not usable for outbound authentication");
		return Error::NoCredentials;
	}
	char* def = nullptr;
	std::string default_realm;
	if (krb5_get_default_realm(krb5_.get(), &def) == 0 && def) {
		default_realm = def;
		krb5_free_default_realm(krb5_.get(), def);
	}

	std::string principal;
	const auto& id = cred_->identity;
	if (id && !id->user.empty()) {
		std::string user, domain;
		if (!utf16_to_utf8_str(id->user, user) || !utf16_to_utf8_str(id->domain, domain)) {
			log_failure("logon", Error::InvalidParameter, "the user or domain name is not valid UTF-16");
			return Error::InvalidParameter;
		}
		if (!client_principal(user, domain, default_realm, principal)) {
			log_failure("logon", Error::NoAuthority,
			            "no Kerberos realm for user '" + user + "' (no domain given and no default_realm in krb5.conf)");
			return Error::NoAuthority;
		}
	}

	if (id && id->has_password && !principal.empty())
		return acquire_with_password(principal, id->password.view());
	return acquire_from_ccache(principal);
}

Error KerberosContext::acquire_with_password(const std::string& principal, ByteView password_utf16le)
{
	std::string user, realm;
	split_principal(principal, user, realm);
	if (Error e = check_realm(realm); e != Error::None)
		return e;
	if (kdc_url_wanted())
		if (Error e = use_kdc_url(realm); e != Error::None)
			return e;

	krb5_context k = krb5_.get();
	gss::Principal client;
	if (krb5_error_code code = krb5_parse_name(k, principal.c_str(), client.out(k)); code)
		return fail_krb5("logon", code);

	SecretBytes password;
	if (!password_utf8(password_utf16le, password)) {
		log_failure("logon", Error::InvalidParameter, "the password is not valid UTF-16 or contains NUL");
		return Error::InvalidParameter;
	}

	const auto& ks = cred_->kerberos;
	krb5_error_code code = 0;
	if (!ks.cache.empty()) {
		code = krb5_cc_resolve(k, ks.cache.c_str(), ccache_.out(k));
		private_ccache_ = false;
	} else {
		code = krb5_cc_new_unique(k, "MEMORY", nullptr, ccache_.out(k));
		private_ccache_ = code == 0;
	}
	if (code)
		return fail_krb5("logon", code);

	krb5_get_init_creds_opt* opt = nullptr;
	if ((code = krb5_get_init_creds_opt_alloc(k, &opt)) != 0)
		return fail_krb5("logon", code);
	if (ks.life_time > 0)
		krb5_get_init_creds_opt_set_tkt_life(opt, ks.life_time);
	if (ks.renew_life_time > 0)
		krb5_get_init_creds_opt_set_renew_life(opt, ks.renew_life_time);
	if (!ks.armor_cache.empty())
		code = krb5_get_init_creds_opt_set_fast_ccache_name(k, opt, ks.armor_cache.c_str());
	if (code == 0)
		code = krb5_get_init_creds_opt_set_out_ccache(k, opt, ccache_.get());
	krb5_creds creds;
	std::memset(&creds, 0, sizeof(creds));
	if (code == 0) {
		code = krb5_get_init_creds_password(k, &creds, client.get(), reinterpret_cast<const char*>(password.data()),
		                                    nullptr, nullptr, ks.start_time > 0 ? ks.start_time : 0, nullptr, opt);
		if (code == 0)
			krb5_free_cred_contents(k, &creds);
	}
	krb5_get_init_creds_opt_free(k, opt);
	if (code)
		return fail_krb5("logon", code);

	char* full = nullptr;
	if ((code = krb5_cc_get_full_name(k, ccache_.get(), &full)) != 0)
		return fail_krb5("logon", code);
	std::string ccname = full;
	krb5_free_string(k, full);

	gss_key_value_element_desc element{"ccache", ccname.c_str()};
	gss_key_value_set_desc store{1, &element};
	OM_uint32 minor = 0;
	OM_uint32 major = gss_acquire_cred_from(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, gss::krb5_mech_set(),
	                                        GSS_C_INITIATE, &store, gcred_.out(), nullptr, nullptr);
	if (GSS_ERROR(major))
		return fail_gss("logon", major, minor);
	client_ = principal;
	NLASSP_LOG(logger, Debug, "Kerberos: initial ticket for %s obtained into %s", principal.c_str(),
	           private_ccache_ ? "a private memory ccache" : ccname.c_str());
	return Error::None;
}

Error KerberosContext::acquire_from_ccache(const std::string& principal)
{
	const auto& ks = cred_->kerberos;
	OM_uint32 minor = 0;
	OM_uint32 major = 0;
	gss::Name desired;
	if (!principal.empty()) {
		gss_buffer_desc nb{principal.size(), const_cast<char*>(principal.data())};
		major = gss_import_name(&minor, &nb, GSS_KRB5_NT_PRINCIPAL_NAME, desired.out());
		if (GSS_ERROR(major))
			return fail_gss("logon", major, minor);
	}
	if (!ks.cache.empty()) {
		gss_key_value_element_desc element{"ccache", ks.cache.c_str()};
		gss_key_value_set_desc store{1, &element};
		major = gss_acquire_cred_from(&minor, desired.get(), GSS_C_INDEFINITE, gss::krb5_mech_set(), GSS_C_INITIATE,
		                              &store, gcred_.out(), nullptr, nullptr);
	} else {
		major = gss_acquire_cred(&minor, desired.get(), GSS_C_INDEFINITE, gss::krb5_mech_set(), GSS_C_INITIATE,
		                         gcred_.out(), nullptr, nullptr);
	}
	if (GSS_ERROR(major)) {
		Error e = gss::map_gss(major, minor);
		if (e != Error::NoAuthority && e != Error::TimeSkew)
			e = Error::NoCredentials;
		log_failure("logon", e, "no usable ticket in the credential cache: " + gss::describe(major, minor));
		return e;
	}
	// Who are we? (for names() and the realm check)
	gss::Name ours;
	OM_uint32 lifetime = 0;
	major = gss_inquire_cred(&minor, gcred_.get(), ours.out(), &lifetime, nullptr, nullptr);
	if (GSS_ERROR(major) || lifetime == 0) {
		log_failure("logon", Error::NoCredentials, "the ticket in the credential cache has expired");
		return Error::NoCredentials;
	}
	gss::Buffer text;
	if (!GSS_ERROR(gss_display_name(&minor, ours.get(), text.out(), nullptr)))
		client_ = text.str();
	std::string user, realm;
	split_principal(client_, user, realm);
	if (Error e = check_realm(realm); e != Error::None)
		return e;
	if (!kdc_url_wanted())
		return Error::None;
	if (Error e = use_kdc_url(realm); e != Error::None)
		return e;
	// Service tickets will be fetched through our context into the same cache GSSAPI reads.
	krb5_context k = krb5_.get();
	krb5_error_code code = ks.cache.empty() ? krb5_cc_default(k, ccache_.out(k)) : krb5_cc_resolve(k, ks.cache.c_str(), ccache_.out(k));
	if (code)
		return fail_krb5("logon", code);
	return Error::None;
}

// MIT krb5 reads KDC locations from its profile only, and GSSAPI makes its own krb5 contexts
// from the process-wide configuration. So a KDC URL is honoured per context without touching
// anything another thread sees: a private krb5_context whose profile is a small private file
// (the realm's kdc, marked final) in front of the usual krb5.conf files does every KDC exchange
// (AS, and the TGS for the service ticket before GSSAPI needs it); GSSAPI then finds every
// ticket in the ccache and never contacts a KDC itself.
Error KerberosContext::use_kdc_url(const std::string& realm)
{
	std::string url = !cred_->kdc_proxy_server.empty() ? cred_->kdc_proxy_server : cred_->kerberos.kdc_url;
	std::string kdc;
	if (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0) {
		kdc = url;                                   // an MS-KKDCP proxy URL, as MIT takes it
	} else if (url.rfind("tcp://", 0) == 0 || url.rfind("udp://", 0) == 0) {
		kdc = url.substr(6);                         // a plain KDC "host[:port]"
	} else {
		kdc = "https://" + url + "/KdcProxy";        // FreeRDP's /kerberos:kdc-url:<proxy host>
	}
	for (char c : kdc + realm) {
		if (c == '\n' || c == '\r' || c == '{' || c == '}' || c == '[' || c == ']' || c == '"') {
			log_failure("logon", Error::InvalidParameter, "the KDC URL or realm contains characters krb5.conf cannot hold");
			return Error::InvalidParameter;
		}
	}
	const char* tmp = std::getenv("TMPDIR");
	std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/nlassp-krb5-XXXXXX";
	std::vector<char> name(path.begin(), path.end());
	name.push_back('\0');
	int fd = mkstemp(name.data());
	if (fd < 0) {
		log_failure("logon", Error::Internal, "cannot create a private krb5 configuration file in " + path);
		return Error::Internal;
	}
	private_config_ = name.data();
	const std::string text = "[realms]\n\t" + realm + " = {\n\t\tkdc = " + kdc + "\n\t}*\n";
	const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
	(void)close(fd);
	if (!written) {
		log_failure("logon", Error::Internal, "cannot write the private krb5 configuration file " + private_config_);
		return Error::Internal;
	}

	// The files krb5_init_context would read: $KRB5_CONFIG (a colon-separated list), else the
	// system krb5.conf. Missing files are skipped by the profile library.
	const char* env = secure_getenv("KRB5_CONFIG");
	const std::string list = env && *env ? env : "/etc/krb5.conf";
	std::vector<std::string> paths{private_config_};
	for (size_t start = 0; start <= list.size();) {
		size_t end = list.find(':', start);
		if (end == std::string::npos)
			end = list.size();
		if (end > start)
			paths.push_back(list.substr(start, end - start));
		start = end + 1;
	}
	std::vector<const char*> files;
	for (const auto& f : paths)
		files.push_back(f.c_str());
	files.push_back(nullptr);
	profile_t profile = nullptr;
	long pcode = profile_init(files.data(), &profile);
	if (pcode) {
		log_failure("logon", Error::Internal, "cannot read the krb5 configuration with the KDC URL");
		return Error::Internal;
	}
	gss::Krb5Context fresh;
	krb5_error_code code = krb5_init_context_profile(profile, 0, fresh.out());
	profile_release(profile);
	if (code)
		return fail_krb5("logon", code);
	ccache_.close();
	krb5_ = std::move(fresh);
	prefetch_ = true;
	NLASSP_LOG(logger, Debug, "Kerberos: KDC for realm %s is %s (this logon only)", realm.c_str(), kdc.c_str());
	return Error::None;
}

Error KerberosContext::prefetch_service_ticket(const std::string& spn)
{
	krb5_context k = krb5_.get();
	TargetName t;
	if (!target_name(spn, t))
		return Error::TargetUnknown;
	gss::Principal server;
	krb5_error_code code = 0;
	if (t.hostbased) {
		const auto at = t.name.find('@');
		const std::string service = t.name.substr(0, at);
		const std::string host = t.name.substr(at + 1);
		code = krb5_sname_to_principal(k, host.c_str(), service.c_str(), KRB5_NT_SRV_HST, server.out(k));
	} else {
		code = krb5_parse_name(k, t.name.c_str(), server.out(k));
	}
	if (code)
		return fail_krb5("logon", code);
	gss::Principal client;
	if ((code = krb5_cc_get_principal(k, ccache_.get(), client.out(k))) != 0)
		return fail_krb5("logon", code);
	krb5_creds in;
	std::memset(&in, 0, sizeof(in));
	in.client = client.get();
	in.server = server.get();
	krb5_creds* out = nullptr;
	code = krb5_get_credentials(k, 0, ccache_.get(), &in, &out);
	if (out)
		krb5_free_creds(k, out);
	if (code) {
		std::string what = "logon to " + spn;
		return fail_krb5(what.c_str(), code);
	}
	return Error::None;
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
		std::string what = "logon to " + target_text_;
		return fail_gss(what.c_str(), major, minor);
	}
	ret_flags_ = flags;
	out.token.assign(output.view().begin(), output.view().end());
	if (major & GSS_S_CONTINUE_NEEDED) {
		state_ = State::InProgress;
		return Error::None;
	}
	finish_establishment();
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
	finish_establishment();
	out.complete = true;
	NLASSP_LOG(logger, Debug, "Kerberos: accepted %s", client_.c_str());
	return Error::None;
}

void KerberosContext::finish_establishment()
{
	state_ = State::Established;
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
}

Error KerberosContext::encrypt(std::span<MessageBuffer> msg, Bytes& token)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	if (!(ret_flags_ & GSS_C_CONF_FLAG))
		return Error::Unsupported;
	std::vector<gss_iov_buffer_desc> iov;
	iov.reserve(msg.size() + 2);
	iov.push_back({GSS_IOV_BUFFER_TYPE_HEADER, {0, nullptr}});
	for (auto& b : msg) {
		if (b.kind == MessageBufferKind::Padding)
			continue;   // RFC 4121 tokens need no padding; the header holds everything
		OM_uint32 type = b.kind == MessageBufferKind::SignOnly ? GSS_IOV_BUFFER_TYPE_SIGN_ONLY : GSS_IOV_BUFFER_TYPE_DATA;
		iov.push_back({type, {b.bytes.size(), b.bytes.data()}});
	}
	iov.push_back({GSS_IOV_BUFFER_TYPE_PADDING, {0, nullptr}});
	OM_uint32 minor = 0;
	int conf = 0;
	OM_uint32 major = gss_wrap_iov_length(&minor, ctx_.get(), 1, GSS_C_QOP_DEFAULT, &conf, iov.data(),
	                                      static_cast<int>(iov.size()));
	if (GSS_ERROR(major))
		return fail_gss("encrypt", major, minor);
	if (iov.back().buffer.length != 0) {
		NLASSP_LOG(logger, Error, "Kerberos encrypt: the session key's encryption type needs padding (not RFC 4121 AES); unsupported");
		return Error::Unsupported;
	}
	token.assign(iov[0].buffer.length, 0);
	iov[0].buffer.value = token.data();
	major = gss_wrap_iov(&minor, ctx_.get(), 1, GSS_C_QOP_DEFAULT, &conf, iov.data(), static_cast<int>(iov.size()));
	if (GSS_ERROR(major)) {
		token.clear();
		return fail_gss("encrypt", major, minor);
	}
	if (!conf) {
		token.clear();
		NLASSP_LOG(logger, Error, "Kerberos encrypt: GSSAPI did not encrypt the message");
		return Error::Internal;
	}
	token.resize(iov[0].buffer.length);
	return Error::None;
}

Error KerberosContext::decrypt(std::span<MessageBuffer> msg, ByteView token)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	if (token.size() < 16)
		return Error::InvalidToken;
	Bytes header(token.begin(), token.end());
	std::vector<gss_iov_buffer_desc> iov;
	iov.reserve(msg.size() + 1);
	iov.push_back({GSS_IOV_BUFFER_TYPE_HEADER, {header.size(), header.data()}});
	for (auto& b : msg) {
		if (b.kind == MessageBufferKind::Padding)
			continue;
		OM_uint32 type = b.kind == MessageBufferKind::SignOnly ? GSS_IOV_BUFFER_TYPE_SIGN_ONLY : GSS_IOV_BUFFER_TYPE_DATA;
		iov.push_back({type, {b.bytes.size(), b.bytes.data()}});
	}
	OM_uint32 minor = 0;
	int conf = 0;
	gss_qop_t qop = 0;
	OM_uint32 major = gss_unwrap_iov(&minor, ctx_.get(), &conf, &qop, iov.data(), static_cast<int>(iov.size()));
	auto wipe = [&] {
		for (auto& b : msg)
			if (b.kind == MessageBufferKind::Data)
				secure_wipe(b.bytes.data(), b.bytes.size());
	};
	if (GSS_ERROR(major)) {
		Error e = fail_gss("decrypt", major, minor);
		wipe();
		return e;
	}
	if (Error e = gss::map_supplementary(major); e != Error::None) {
		NLASSP_LOG(logger, Warn, "Kerberos decrypt: the message is %s; refused",
		           (major & GSS_S_DUPLICATE_TOKEN) ? "a replay" : (major & GSS_S_GAP_TOKEN) ? "ahead of sequence (messages were lost)" : "out of order");
		wipe();
		return e;
	}
	if (!conf) {
		NLASSP_LOG(logger, Warn, "Kerberos decrypt: the peer's message was not encrypted; refused");
		return Error::InvalidToken;
	}
	return Error::None;
}

Error KerberosContext::sign(std::span<const MessageBuffer> msg, Bytes& token)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	std::vector<gss_iov_buffer_desc> iov;
	iov.reserve(msg.size() + 1);
	for (const auto& b : msg) {
		if (b.kind == MessageBufferKind::Padding)
			continue;
		iov.push_back({GSS_IOV_BUFFER_TYPE_DATA, {b.bytes.size(), b.bytes.data()}});
	}
	iov.push_back({GSS_IOV_BUFFER_TYPE_MIC_TOKEN, {0, nullptr}});
	OM_uint32 minor = 0;
	OM_uint32 major = gss_get_mic_iov_length(&minor, ctx_.get(), GSS_C_QOP_DEFAULT, iov.data(), static_cast<int>(iov.size()));
	if (GSS_ERROR(major))
		return fail_gss("sign", major, minor);
	token.assign(iov.back().buffer.length, 0);
	iov.back().buffer.value = token.data();
	major = gss_get_mic_iov(&minor, ctx_.get(), GSS_C_QOP_DEFAULT, iov.data(), static_cast<int>(iov.size()));
	if (GSS_ERROR(major)) {
		token.clear();
		return fail_gss("sign", major, minor);
	}
	token.resize(iov.back().buffer.length);
	return Error::None;
}

Error KerberosContext::verify(std::span<const MessageBuffer> msg, ByteView token)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	Bytes mic(token.begin(), token.end());
	std::vector<gss_iov_buffer_desc> iov;
	iov.reserve(msg.size() + 1);
	for (const auto& b : msg) {
		if (b.kind == MessageBufferKind::Padding)
			continue;
		iov.push_back({GSS_IOV_BUFFER_TYPE_DATA, {b.bytes.size(), b.bytes.data()}});
	}
	iov.push_back({GSS_IOV_BUFFER_TYPE_MIC_TOKEN, {mic.size(), mic.data()}});
	OM_uint32 minor = 0;
	gss_qop_t qop = 0;
	OM_uint32 major = gss_verify_mic_iov(&minor, ctx_.get(), &qop, iov.data(), static_cast<int>(iov.size()));
	if (GSS_ERROR(major))
		return fail_gss("verify", major, minor);
	if (Error e = gss::map_supplementary(major); e != Error::None) {
		NLASSP_LOG(logger, Warn, "Kerberos verify: the signed message is replayed or out of order");
		return e;
	}
	return Error::None;
}

Error KerberosContext::make_negotiation_mic(ByteView mech_types_der, Bytes& mic)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	OM_uint32 minor = 0;
	gss_buffer_desc in = gss::input(mech_types_der);
	gss::Buffer out;
	OM_uint32 major = gss_get_mic(&minor, ctx_.get(), GSS_C_QOP_DEFAULT, &in, out.out());
	if (GSS_ERROR(major))
		return fail_gss("mechListMIC", major, minor);
	mic.assign(out.view().begin(), out.view().end());
	return Error::None;
}

Error KerberosContext::verify_negotiation_mic(ByteView mech_types_der, ByteView mic)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	OM_uint32 minor = 0;
	gss_buffer_desc in = gss::input(mech_types_der);
	gss_buffer_desc tok = gss::input(mic);
	gss_qop_t qop = 0;
	OM_uint32 major = gss_verify_mic(&minor, ctx_.get(), &in, &tok, &qop);
	if (GSS_ERROR(major)) {
		Error e = gss::map_gss(major, minor);
		if (e == Error::MessageAltered || e == Error::InvalidToken)
			e = Error::DowngradeDetected;
		log_failure("mechListMIC check", e, gss::describe(major, minor));
		return e;
	}
	return gss::map_supplementary(major);
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

} // namespace

bool client_principal(std::string_view user, std::string_view domain, std::string_view default_realm,
                      std::string& principal)
{
	std::string name;
	std::string realm;
	if (auto at = user.rfind('@'); at != std::string_view::npos) {
		name = std::string(user.substr(0, at));
		realm = std::string(user.substr(at + 1));
	} else if (auto bs = user.find('\\'); bs != std::string_view::npos) {
		realm = std::string(user.substr(0, bs));
		name = std::string(user.substr(bs + 1));
	} else {
		name = std::string(user);
		realm = std::string(domain);
	}
	if (name.empty())
		return false;
	if (realm.empty())
		realm = std::string(default_realm);
	if (realm.empty())
		return false;
	// A NetBIOS domain ("LAB") that names the default realm ("LAB.TEST").
	if (realm.find('.') == std::string::npos && !default_realm.empty()) {
		std::string_view first = default_realm.substr(0, default_realm.find('.'));
		if (iequals(first, realm))
			realm = std::string(default_realm);
	}
	principal = name + "@" + upper(realm);
	return true;
}

bool target_name(std::string_view spn, TargetName& out)
{
	if (spn.empty())
		return false;
	auto slash = spn.find('/');
	if (slash == std::string_view::npos || spn.find('@') != std::string_view::npos) {
		out.name = std::string(spn);
		out.hostbased = false;
		return true;
	}
	std::string_view service = spn.substr(0, slash);
	std::string_view host = spn.substr(slash + 1);
	// "TERMSRV/host:3389" and "HTTP/host/extra": the host is up to ':' or '/'.
	if (auto end = host.find_first_of(":/"); end != std::string_view::npos)
		host = host.substr(0, end);
	if (service.empty() || host.empty())
		return false;
	out.name = std::string(service) + "@" + std::string(host);
	out.hostbased = true;
	return true;
}

void split_principal(std::string_view principal, std::string& user, std::string& realm)
{
	size_t at = std::string_view::npos;
	for (size_t i = 0; i < principal.size(); ++i) {
		if (principal[i] == '\\') {
			++i;
			continue;
		}
		if (principal[i] == '@')
			at = i;
	}
	if (at == std::string_view::npos) {
		user = std::string(principal);
		realm.clear();
		return;
	}
	user = std::string(principal.substr(0, at));
	realm = std::string(principal.substr(at + 1));
}

ContextPtr create_context(Role role, const CredentialPtr& cred, Error& err)
{
	err = Error::None;
	std::unique_ptr<KerberosContext> c;
	try {
		c = std::make_unique<KerberosContext>(role, cred);
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
