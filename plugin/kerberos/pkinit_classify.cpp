// What went wrong in a PKINIT AS exchange. MIT returns one error code for the whole exchange,
// which often is not PKINIT's (a KDC certificate that does not verify ends as "cannot read
// password" once MIT looks for another way to the reply key), so the exchange's trace lines are
// read for the numbers that tell: the KDC's KRB-ERROR codes and the pkinit module's results.
#include "kerberos/pkinit.h"

#include "kerberos/gss.h"

#include <dlfcn.h>
#include <profile.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <initializer_list>
#include <vector>

namespace nlassp::kerberos::pkinit {

namespace {

constexpr size_t kMaxMessage = 300;

bool parse_long(std::string_view s, long& v)
{
	const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
	return r.ec == std::errc();
}

std::string_view trim_line(std::string_view s)
{
	while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
		s.remove_suffix(1);
	return s.substr(0, kMaxMessage);
}

bool one_of(krb5_error_code code, std::initializer_list<krb5_error_code> set)
{
	for (krb5_error_code c : set)
		if (c == code)
			return true;
	return false;
}

// Certificate verdicts, whoever reaches them (RFC 4556 §3.1.3 error codes).
bool certificate_verdict(krb5_error_code code)
{
	return one_of(code, {KRB5KDC_ERR_CLIENT_NOT_TRUSTED, KRB5KDC_ERR_KDC_NOT_TRUSTED, KRB5KDC_ERR_INVALID_SIG,
	                     KRB5KDC_ERR_CANT_VERIFY_CERTIFICATE, KRB5KDC_ERR_INVALID_CERTIFICATE,
	                     KRB5KDC_ERR_REVOKED_CERTIFICATE, KRB5KDC_ERR_REVOCATION_STATUS_UNKNOWN,
	                     KRB5KDC_ERR_KDC_NAME_MISMATCH, KRB5KDC_ERR_INCONSISTENT_KEY_PURPOSE,
	                     KRB5KDC_ERR_DIGEST_IN_CERT_NOT_ACCEPTED});
}

// MIT's standard text for an error code (a null context gives the error table's message).
std::string text_of(krb5_error_code code)
{
	return gss::describe_krb5(nullptr, code);
}

std::vector<std::string> profile_values(profile_t profile, std::initializer_list<const char*> names)
{
	std::vector<const char*> path(names);
	path.push_back(nullptr);
	char** values = nullptr;
	std::vector<std::string> out;
	if (profile_get_values(profile, path.data(), &values) == 0 && values)
		for (char** v = values; *v; ++v)
			out.emplace_back(*v);
	profile_free_list(values);
	return out;
}

// Where MIT loads its plugins from: [libdefaults] plugin_base_dir, else <libkrb5's dir>/krb5/plugins.
std::string plugin_base_dir(profile_t profile)
{
	std::vector<std::string> base = profile_values(profile, {"libdefaults", "plugin_base_dir"});
	if (!base.empty())
		return base.front();
	Dl_info info{};
	if (dladdr(reinterpret_cast<void*>(&krb5_init_context), &info) == 0 || !info.dli_fname)
		return {};
	std::string lib = info.dli_fname;
	const size_t slash = lib.rfind('/');
	return slash == std::string::npos ? std::string() : lib.substr(0, slash) + "/krb5/plugins";
}

} // namespace

void observe_trace_line(std::string_view line, ExchangeTrace& t)
{
	static constexpr std::string_view kKdcError = "Received error from KDC: ";
	static constexpr std::string_view kModule = "Preauth module pkinit (";
	static constexpr std::string_view kReturned = ") returned: ";
	static constexpr std::string_view kMethods = "Processing preauth types: ";
	long v = 0;
	if (size_t p = line.find(kKdcError); p != std::string_view::npos) {
		if (parse_long(line.substr(p + kKdcError.size()), v))
			t.kdc_error = static_cast<krb5_error_code>(v);
		return;
	}
	if (size_t p = line.find(kModule); p != std::string_view::npos) {
		t.pkinit_ran = true;
		long pa_type = 0;
		const size_t r = line.find(kReturned, p);
		if (!parse_long(line.substr(p + kModule.size()), pa_type) || r == std::string_view::npos)
			return;
		const std::string_view result = line.substr(r + kReturned.size());
		if (!parse_long(result, v) || v == 0)
			return;
		if (pa_type == KRB5_PADATA_PK_AS_REQ)
			t.request_error = static_cast<krb5_error_code>(v);
		else if (pa_type == KRB5_PADATA_PK_AS_REP)
			t.reply_error = static_cast<krb5_error_code>(v);
		else
			return;
		const size_t slash = result.find('/');
		t.pkinit_message = slash == std::string_view::npos ? std::string() : std::string(trim_line(result.substr(slash + 1)));
		return;
	}
	if (size_t p = line.find(kMethods); p != std::string_view::npos) {
		t.methods_seen = true;
		t.pkinit_offered = line.find("(16)", p) != std::string_view::npos;
	}
}

bool plugin_disabled(krb5_context ctx, std::string& why)
{
	profile_t profile = nullptr;
	if (krb5_get_profile(ctx, &profile) != 0 || !profile)
		return false;   // cannot tell: let MIT try
	bool disabled = false;
	for (const std::string& d : profile_values(profile, {"plugins", "clpreauth", "disable"}))
		if (d == "pkinit") {
			why = "krb5.conf disables it ([plugins] clpreauth disable = pkinit)";
			disabled = true;
		}
	const std::vector<std::string> only = profile_values(profile, {"plugins", "clpreauth", "enable_only"});
	if (!disabled && !only.empty() && std::find(only.begin(), only.end(), "pkinit") == only.end()) {
		why = "krb5.conf's [plugins] clpreauth enable_only does not list pkinit";
		disabled = true;
	}
	profile_release(profile);
	return disabled;
}

bool plugin_available(krb5_context ctx, std::string& why)
{
	if (plugin_disabled(ctx, why))
		return false;
	profile_t profile = nullptr;
	if (krb5_get_profile(ctx, &profile) != 0 || !profile)
		return true;
	std::string path;
	for (const std::string& m : profile_values(profile, {"plugins", "clpreauth", "module"}))
		if (m.rfind("pkinit:", 0) == 0)
			path = m.substr(7);
	const std::string base = plugin_base_dir(profile);
	profile_release(profile);
	if (path.empty())
		path = "preauth/pkinit.so";
	if (!path.empty() && path[0] != '/')
		path = base.empty() ? std::string() : base + "/" + path;
	if (path.empty())
		return true;
	if (access(path.c_str(), R_OK) != 0) {
		why = "it is not installed (" + path + " is missing: install krb5-pkinit)";
		return false;
	}
	return true;
}

Failure classify_exchange(krb5_error_code code, const ExchangeTrace& t, bool plugin_present, const std::string& plugin_why,
                          const std::string& principal)
{
	const size_t at = principal.rfind('@');
	const std::string realm = at == std::string::npos ? principal : principal.substr(at + 1);
	if (code == KRB5KRB_AP_ERR_SKEW || code == KRB5_KDCREP_SKEW || t.kdc_error == KRB5KRB_AP_ERR_SKEW)
		return {Error::TimeSkew, "the KDC refused the time in the PKINIT request (" + text_of(KRB5KRB_AP_ERR_SKEW) + ")"};
	if (t.kdc_error == KRB5KDC_ERR_CLIENT_NAME_MISMATCH)
		return {Error::PkinitNameMismatch, "the KDC says the card's certificate does not name this principal (" +
		                                       text_of(t.kdc_error) + ")"};
	if (certificate_verdict(t.kdc_error))
		return {Error::SmartcardUntrusted, "the KDC for " + realm + " refused the card's certificate (" + text_of(t.kdc_error) +
		                                       "): it does not trust the CA that issued it, or the certificate is "
		                                       "revoked, expired or lacks the PKINIT client EKU"};
	if (t.reply_error != 0 && certificate_verdict(t.reply_error))
		return {Error::KdcCertUntrusted,
		        "the KDC's certificate is not trusted here (" + (t.pkinit_message.empty() ? text_of(t.reply_error) : t.pkinit_message) +
		            "): its CA is not among the PKINIT anchors, or it does not name krbtgt/" + realm + " (id-pkinit-san) "
		            "with the id-pkinit-KPKdc EKU"};
	if (t.reply_error != 0)
		return {Error::InvalidToken, "the KDC's PKINIT reply cannot be used: " +
		                                 (t.pkinit_message.empty() ? text_of(t.reply_error) : t.pkinit_message)};
	if (t.request_error != 0) {
		const std::string& m = t.pkinit_message;
		if (m.find("verify own certificate") != std::string::npos)
			return {Error::SmartcardUntrusted, "the PKINIT anchors here do not include the CA of the card's certificate "
			                                   "(MIT sends only a chain it can verify): " + m};
		if (m.find("anchors") != std::string::npos)
			return {Error::KdcCertUntrusted, "no PKINIT trust anchors: " + m};
		return {Error::SmartcardUnavailable, "PKINIT could not use the card: " + (m.empty() ? text_of(t.request_error) : m)};
	}
	// The KDC does not know the principal: on the first request, before any pre-authentication.
	if (code == KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN || t.kdc_error == KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN)
		return {Error::LogonDenied, "the KDC for " + realm + " does not know " + principal + " (" +
		                                text_of(KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN) + ")",
		        "check the user name (/u: /d:), or give none so that the certificate's own name is used"};
	// PKINIT ran and the KDC refused it without a reason of its own.
	if (t.pkinit_ran && t.kdc_error == KRB5KDC_ERR_PREAUTH_FAILED)
		return {Error::LogonDenied, "the KDC for " + realm + " refused the PKINIT request of " + principal + " (" +
		                                text_of(t.kdc_error) + ")",
		        "check that the KDC accepts the card's certificate for this user (its CA in the KDC's pkinit_anchors, "
		        "an id-pkinit-san or UPN naming the user)"};
	if (!t.pkinit_ran) {
		// MIT's plugin: only when its file really is missing, or when the KDC asked for PKINIT and
		// MIT still did not run it. (A KDC that was never reached says nothing about the plugin.)
		if (!plugin_present)
			return {Error::PkinitUnavailable, "MIT's PKINIT client plugin is not available: " + plugin_why};
		if (t.pkinit_offered)
			return {Error::PkinitUnavailable, "the KDC for " + realm + " offered PKINIT, but MIT's PKINIT client plugin "
			                                  "did not run (it is installed, so check [plugins] clpreauth in krb5.conf)"};
		if (t.methods_seen && (t.kdc_error == 0 || t.kdc_error == KRB5KDC_ERR_PREAUTH_REQUIRED))
			return {Error::PkinitUnavailable, "the KDC for " + realm + " does not offer PKINIT for this principal (the KDC "
			                                  "needs krb5-pkinit and pkinit_identity, the principal +requires_preauth)"};
	}
	// Not the smartcard logon's own failure: mapped as a password logon's AS exchange is.
	return {};
}

} // namespace nlassp::kerberos::pkinit
