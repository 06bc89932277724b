// A KDC URL (FreeRDP's /kerberos:kdc-url, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS) honoured for one
// logon through a private krb5 profile, and the service-ticket fetch that must then go through it.
#include "kerberos/context_impl.h"

#include <profile.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace nlassp::kerberos::detail {

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

} // namespace nlassp::kerberos::detail
