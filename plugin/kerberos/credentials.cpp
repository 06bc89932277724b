// Initiator credentials: the realm check that lets Negotiate fall back at once, a password's AS
// exchange into a private memory ccache, and tickets from an existing ccache.
#include "kerberos/context_impl.h"
#include "kerberos/pkinit.h"

#include "wire/utf16.h"

#include <profile.h>

#include <cstring>

namespace nlassp::kerberos::detail {

std::vector<std::string> configured_realms(krb5_context k)
{
	std::vector<std::string> out;
	profile_t profile = nullptr;
	if (krb5_get_profile(k, &profile) != 0 || !profile)
		return out;
	const char* path[] = {"realms", nullptr};
	char** names = nullptr;
	if (profile_get_subsection_names(profile, path, &names) == 0 && names)
		for (char** n = names; *n; ++n)
			out.emplace_back(*n);
	profile_free_list(names);
	profile_release(profile);
	return out;
}

krb5_error_code parse_client(krb5_context k, const std::string& principal, gss::Principal& out)
{
	const krb5_error_code code = krb5_parse_name(k, principal.c_str(), out.out(k));
	if (code == 0 && enterprise_principal(principal))
		out.get()->type = KRB5_NT_ENTERPRISE_PRINCIPAL;
	return code;
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
	std::string proxy;   // the 3.10 workaround: kdc = https://proxy/KdcProxy in the realm's stanza
	for (char** v = have_kdc ? values : nullptr; v && *v; ++v)
		if (std::strncmp(*v, "https://", 8) == 0 || std::strncmp(*v, "http://", 7) == 0) {
			proxy = *v;
			break;
		}
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
	if (!proxy.empty()) {
		// Our krb5 context does every KDC exchange (the TGS too), so that a proxy that cannot be
		// reached is explained (kdc_url.cpp).
		watch_kdc_proxy(proxy, realm);
		prefetch_ = true;
	}
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

	// A smartcard logon: PKINIT, and the "password" is the card's PIN (kerberos/pkinit.h).
	if (pkinit::requested(*cred_))
		return acquire_with_pkinit(default_realm);

	std::string principal;
	const auto& id = cred_->identity;
	if (id && !id->user.empty()) {
		std::string user, domain;
		if (!utf16_to_utf8_str(id->user, user) || !utf16_to_utf8_str(id->domain, domain)) {
			log_failure("logon", Error::InvalidParameter, "the user or domain name is not valid UTF-16");
			return Error::InvalidParameter;
		}
		// krb5.conf's realms matter only to a name with '@' (a realm or a UPN): read only then.
		const bool at = user.find('@') != std::string::npos;
		if (!client_principal(user, domain, default_realm, principal,
		                      at ? configured_realms(krb5_.get()) : std::vector<std::string>{})) {
			log_failure("logon", Error::NoAuthority,
			            "no Kerberos realm for user '" + user + "' (no domain given and no default_realm in krb5.conf)");
			return Error::NoAuthority;
		}
	}

	// An empty password is no password: a ticket for that user from the ccache, never an AS
	// exchange that the KDC would count as a failed logon toward a lockout. FreeRDP's client hands
	// one over when its password prompt is answered with Enter (and +auth-only needs /p:), which is
	// how its users log on with a ticket from kinit.
	if (id && id->has_password && !principal.empty() && !id->password.empty())
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
	if (krb5_error_code code = parse_client(k, principal, client); code)
		return fail_krb5("logon", code);

	SecretBytes password;
	if (!password_utf8(password_utf16le, password)) {
		log_failure("logon", Error::InvalidParameter, "the password is not valid UTF-16 or contains NUL");
		return Error::InvalidParameter;
	}

	if (Error e = open_logon_ccache("logon"); e != Error::None)
		return e;
	if (Error e = password_as_exchange(client.get(), password, principal); e != Error::None)
		return e;
	return adopt_logon_ccache("logon", principal, "");
}

// The ccache a logon's AS exchange writes: kerberosSettings.cache when the caller names one, else a
// private MEMORY ccache (destroyed with the context; the user's own ccache is never written).
Error KerberosContext::open_logon_ccache(const char* what)
{
	krb5_context k = krb5_.get();
	const auto& ks = cred_->kerberos;
	krb5_error_code code = 0;
	if (!ks.cache.empty()) {
		code = krb5_cc_resolve(k, ks.cache.c_str(), ccache_.out(k));
		private_ccache_ = false;
	} else {
		code = krb5_cc_new_unique(k, "MEMORY", nullptr, ccache_.out(k));
		private_ccache_ = code == 0;
	}
	return code ? fail_krb5(what, code) : Error::None;
}

// After the logon's AS exchange: GSSAPI's credential from that ccache, and who we are now.
Error KerberosContext::adopt_logon_ccache(const char* what, const std::string& principal, const std::string& how)
{
	krb5_context k = krb5_.get();
	char* full = nullptr;
	if (krb5_error_code code = krb5_cc_get_full_name(k, ccache_.get(), &full); code)
		return fail_krb5(what, code);
	const std::string ccname = full;
	krb5_free_string(k, full);
	gss_key_value_element_desc element{"ccache", ccname.c_str()};
	gss_key_value_set_desc store{1, &element};
	OM_uint32 minor = 0;
	const OM_uint32 major = gss_acquire_cred_from(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, gss::krb5_mech_set(),
	                                              GSS_C_INITIATE, &store, gcred_.out(), nullptr, nullptr);
	if (GSS_ERROR(major))
		return fail_gss(what, major, minor);
	// Who the KDC says we are (the ccache's principal, from its reply): a UPN asked as an enterprise
	// name, or a name the KDC canonicalized, is not the name we asked with.
	client_ = principal;
	gss::Principal who;
	char* text = nullptr;
	if (krb5_cc_get_principal(k, ccache_.get(), who.out(k)) == 0 && krb5_unparse_name(k, who.get(), &text) == 0) {
		client_ = text;
		krb5_free_unparsed_name(k, text);
	}
	NLASSP_LOG(logger, Debug, "Kerberos: initial ticket for %s obtained%s into %s", client_.c_str(), how.c_str(),
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
		if (e == Error::NoCredentials && !principal.empty()) {
			// A user name without a password: say so, and what would work.
			log_failure("logon", e,
			            "no password (or an empty one) for " + principal +
			                " and no ticket for it in the credential cache; nothing was sent to the KDC",
			            "give a password or kinit " + principal);
			return e;
		}
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
	if (!kdc_url_wanted() && !prefetch_)
		return Error::None;
	if (kdc_url_wanted())
		if (Error e = use_kdc_url(realm); e != Error::None)
			return e;
	// Service tickets will be fetched through our context into the same cache GSSAPI reads.
	krb5_context k = krb5_.get();
	krb5_error_code code = ks.cache.empty() ? krb5_cc_default(k, ccache_.out(k)) : krb5_cc_resolve(k, ks.cache.c_str(), ccache_.out(k));
	if (code)
		return fail_krb5("logon", code);
	return Error::None;
}

} // namespace nlassp::kerberos::detail
