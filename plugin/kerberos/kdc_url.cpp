// A KDC URL (FreeRDP's /kerberos:kdc-url, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS) honoured for one
// logon through a private krb5 profile, the service-ticket fetch that must then go through it,
// and what goes wrong on the way to a KDC proxy (MS-KKDCP over TLS): a certificate MIT does not
// trust (http_anchors), or MIT's TLS plugin (krb5-k5tls) missing.
#include "kerberos/context_impl.h"

#include <profile.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace nlassp::kerberos::detail {

namespace {

bool is_http_url(const std::string& s)
{
	return s.rfind("https://", 0) == 0 || s.rfind("http://", 0) == 0;
}

// The KDC URL as a krb5.conf kdc relation takes it.
std::string kdc_relation(const std::string& url)
{
	if (is_http_url(url))
		return url;                                  // an MS-KKDCP proxy URL, as MIT takes it
	if (url.rfind("tcp://", 0) == 0 || url.rfind("udp://", 0) == 0)
		return url.substr(6);                        // a plain KDC "host[:port]"
	return "https://" + url + "/KdcProxy";           // FreeRDP's /kerberos:kdc-url:<proxy host>
}

// A krb5.conf relation value: line breaks, braces, brackets and quotes are syntax.
bool conf_value_ok(const std::string& value)
{
	return value.find_first_of("\n\r{}[]\"") == std::string::npos;
}

// The realm becomes a krb5.conf tag: a blank or '=' would split it, '*' marks a section final,
// '#' and ';' start comments, braces and quotes are syntax.
bool conf_tag_ok(const std::string& tag)
{
	for (char c : tag) {
		const auto u = static_cast<unsigned char>(c);
		if (u <= 0x20 || u == 0x7f || std::strchr("=*#;{}[]\"", c))
			return false;
	}
	return true;
}

// The files krb5_init_context would read, after FIRST: $KRB5_CONFIG (a colon-separated list),
// else the system krb5.conf. Missing files are skipped by the profile library.
std::vector<std::string> config_files(const std::string& first)
{
	const char* env = secure_getenv("KRB5_CONFIG");
	const std::string list = env && *env ? env : "/etc/krb5.conf";
	std::vector<std::string> paths{first};
	for (size_t start = 0; start <= list.size();) {
		size_t end = list.find(':', start);
		if (end == std::string::npos)
			end = list.size();
		if (end > start)
			paths.push_back(list.substr(start, end - start));
		start = end + 1;
	}
	return paths;
}

// A realm for a log line: control characters as '?', at most 64 bytes.
std::string printable_realm(const std::string& realm)
{
	std::string out;
	for (char c : realm.substr(0, 64))
		out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
	return realm.size() > 64 ? out + "..." : out;
}

// Relations of the realm stanza that name KDCs: replaced by the URL, or MIT would also try them
// (directly, around the proxy) and retry a refused password against the primary.
bool names_a_kdc(const char* relation)
{
	return std::strcmp(relation, "kdc") == 0 || std::strcmp(relation, "master_kdc") == 0 ||
	       std::strcmp(relation, "primary_kdc") == 0;
}

bool plain_name(const char* s)
{
	if (!*s)
		return false;
	for (; *s; ++s)
		if (std::strchr(" \t\r\n=\"{}[]*;#", *s))
			return false;
	return true;
}

// A profile value as a quoted string (prof_parse.c's escapes: \\, \", \n, \t, \b).
std::string quoted(const char* v)
{
	std::string out = "\"";
	for (; *v; ++v) {
		switch (*v) {
		case '\\': out += "\\\\"; break;
		case '"': out += "\\\""; break;
		case '\n': out += "\\n"; break;
		case '\t': out += "\\t"; break;
		case '\b': out += "\\b"; break;
		default: out += *v; break;
		}
	}
	return out + "\"";
}

// Every relation (and subsection, recursively) under `names` in the user's profile, as
// krb5.conf text indented by `depth` tabs; KDC relations are left out at the top level.
void copy_section(profile_t profile, std::vector<const char*> names, int depth, std::string& out)
{
	names.push_back(nullptr);
	void* iter = nullptr;
	if (profile_iterator_create(profile, names.data(), PROFILE_ITER_LIST_SECTION, &iter) != 0)
		return;
	names.pop_back();
	const std::string indent(static_cast<size_t>(depth), '\t');
	char* name = nullptr;
	char* value = nullptr;
	while (profile_iterator(&iter, &name, &value) == 0 && name) {
		if (!plain_name(name) || depth > 6) {
			NLASSP_LOG(logger, Debug, "Kerberos: realm relation not copied into the private profile (unusual name)");
		} else if (value) {
			if (!(depth == 2 && names_a_kdc(name)))
				out += indent + name + " = " + quoted(value) + "\n";
		} else {
			out += indent + name + " = {\n";
			std::vector<const char*> sub = names;
			sub.push_back(name);
			copy_section(profile, sub, depth + 1, out);
			out += indent + "}\n";
		}
		profile_release_string(name);
		profile_release_string(value);
		name = value = nullptr;
	}
	profile_iterator_free(&iter);
}

} // namespace

// What MIT's sendto_kdc and its k5tls plugin report through the trace callback about a KDC
// proxy; nothing else is kept (trace lines about keys and tickets never are).
void KdcTrace::callback(krb5_context, const krb5_trace_info* info, void* data)
{
	if (!info || !info->message || !data)
		return;
	static const char* const kKept[] = {"TLS certificate error", "TLS certificate name mismatch",
	                                    "TLS server certificate not received", "TLS error", "Error loading k5tls",
	                                    "HTTPS error"};
	// MIT hands over "[pid] seconds.micros: message\n".
	std::string_view m(info->message);
	if (const size_t at = m.find(": "); !m.empty() && m[0] == '[' && at != std::string_view::npos)
		m.remove_prefix(at + 2);
	while (!m.empty() && (m.back() == '\n' || m.back() == '\r'))
		m.remove_suffix(1);
	auto* self = static_cast<KdcTrace*>(data);
	for (const char* k : kKept)
		if (m.rfind(k, 0) == 0 && self->lines.size() < 16)
			self->lines.emplace_back(m);
}

// Diagnoses a KDC proxy that could not be reached through the trace of the failed exchange.
void KerberosContext::watch_kdc_proxy(const std::string& url, const std::string& realm)
{
	proxy_url_ = url;
	proxy_realm_ = realm;
	const char* user_trace = secure_getenv("KRB5_TRACE");
	if (user_trace && *user_trace)
		return;   // the user traces to a file already: do not take that away
	if (!trace_)
		trace_ = std::make_unique<KdcTrace>();
	trace_->lines.clear();
	(void)krb5_set_trace_callback(krb5_.get(), &KdcTrace::callback, trace_.get());
}

Error KerberosContext::explain_kdc_proxy_failure(const char* what, krb5_error_code code)
{
	if (!trace_ || trace_->lines.empty() || code != KRB5_KDC_UNREACH)
		return Error::None;
	auto find = [&](const char* prefix) -> const std::string* {
		for (const auto& l : trace_->lines)
			if (l.rfind(prefix, 0) == 0)
				return &l;
		return nullptr;
	};
	const std::string where = "the KDC proxy " + proxy_url_;
	const std::string realm = "[realms] " + proxy_realm_;
	std::string detail, fix;
	const std::string* k5tls = find("Error loading k5tls");
	const std::string* mismatch = find("TLS certificate name mismatch");
	const std::string* untrusted = find("TLS certificate error");
	const std::string* tls = find("TLS");
	if (k5tls) {
		detail = where + " needs MIT Kerberos' TLS plugin, which cannot be loaded (" + *k5tls + ")";
		fix = "install krb5-k5tls (the k5tls plugin)";
	} else if (mismatch) {
		detail = "TLS to " + where + " failed: " + *mismatch;
		fix = "use the host name the proxy's certificate is issued for in the KDC URL";
	} else if (untrusted) {
		detail = "TLS to " + where + " failed: the proxy's certificate is not trusted (" + *untrusted + ")";
		fix = "if it comes from a private CA, add http_anchors = FILE:/path/to/ca.pem to " + realm +
		      " in krb5.conf (or the CA to the system's trust store)";
	} else if (tls) {
		detail = "TLS to " + where + " failed: " + *tls;
		fix = "check that the URL is the proxy's (https://host/KdcProxy) and that it speaks TLS";
	} else {
		detail = "cannot reach " + where + " (" + trace_->lines.front() + ")";
		fix = "check the URL and that the proxy is running";
	}
	log_failure(what, Error::NoAuthority, detail, fix);
	return Error::NoAuthority;
}

// MIT krb5 reads KDC locations from its profile only, and GSSAPI makes its own krb5 contexts
// from the process-wide configuration. So a KDC URL is honoured per context without touching
// anything another thread sees: a private krb5_context whose profile is a small private file
// in front of the usual krb5.conf files does every KDC exchange (AS, and the TGS for the service
// ticket before GSSAPI needs it); GSSAPI then finds every ticket in the ccache and never
// contacts a KDC itself. The file holds the realm's stanza as the user configured it (with
// http_anchors, timeouts, pkinit_* ...) but with the URL as its only KDC, marked final.
Error KerberosContext::use_kdc_url(const std::string& realm)
{
	const std::string kdc =
	    kdc_relation(!cred_->kdc_proxy_server.empty() ? cred_->kdc_proxy_server : cred_->kerberos.kdc_url);
	if (!conf_value_ok(kdc)) {
		log_failure("logon", Error::InvalidParameter, "the KDC URL contains characters krb5.conf cannot hold",
		            "check /kerberos:kdc-url");
		return Error::InvalidParameter;
	}
	if (!conf_tag_ok(realm)) {
		log_failure("logon", Error::InvalidParameter,
		            "the realm name '" + printable_realm(realm) + "' has a character a krb5.conf realm name cannot "
		            "hold (a blank, control character, '=', '*', '#', ';', brace, bracket or quote)",
		            "give the realm as the KDC knows it (e.g. /d:EXAMPLE.COM or user@EXAMPLE.COM)");
		return Error::InvalidParameter;
	}
	std::string text = "[realms]\n\t" + realm + " = {\n\t\tkdc = " + kdc + "\n";
	profile_t user_profile = nullptr;
	if (krb5_get_profile(krb5_.get(), &user_profile) == 0 && user_profile) {
		copy_section(user_profile, {"realms", realm.c_str()}, 2, text);
		profile_release(user_profile);
	}
	text += "\t}*\n";

	const char* tmp = secure_getenv("TMPDIR");
	std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/nlassp-krb5-XXXXXX";
	std::vector<char> name(path.begin(), path.end());
	name.push_back('\0');
	int fd = mkstemp(name.data());
	if (fd < 0) {
		log_failure("logon", Error::Internal, "cannot create a private krb5 configuration file in " + path);
		return Error::Internal;
	}
	private_config_ = name.data();
	const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
	(void)close(fd);
	if (!written) {
		log_failure("logon", Error::Internal, "cannot write the private krb5 configuration file " + private_config_);
		return Error::Internal;
	}

	const std::vector<std::string> paths = config_files(private_config_);
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
	if (is_http_url(kdc))
		watch_kdc_proxy(kdc, realm);
	NLASSP_LOG(logger, Debug, "Kerberos: KDC for realm %s is %s (this logon only)", realm.c_str(), kdc.c_str());
	return Error::None;
}

Error KerberosContext::prefetch_service_ticket(const std::string& spn)
{
	krb5_context k = krb5_.get();
	if (trace_)
		trace_->lines.clear();   // explain this exchange only
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
		const std::string what = "logon to " + spn;
		if (Error e = explain_kdc_proxy_failure(what.c_str(), code); e != Error::None)
			return e;
		return fail_service_ticket(what, code, gss::describe_krb5(k, code), gss::map_krb5(code));
	}
	return Error::None;
}

} // namespace nlassp::kerberos::detail
