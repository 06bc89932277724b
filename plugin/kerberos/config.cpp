#include "kerberos/config.h"

#include <profile.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace nlassp::kerberos::config {

namespace {

// secure_getenv, as MIT itself reads KRB5_CONFIG (ignored in setuid programs).
const char* krb5_config_env()
{
	const char* env = secure_getenv("KRB5_CONFIG");
	return env && *env ? env : nullptr;
}

std::string join(const std::vector<std::string>& names)
{
	std::string out;
	for (size_t i = 0; i < names.size(); ++i)
		out += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
	return out;
}

} // namespace

std::vector<std::string> files()
{
	const char* env = krb5_config_env();
	if (!env)
		return {"/etc/krb5.conf"};
	std::vector<std::string> out;
	const std::string list = env;
	for (size_t start = 0; start <= list.size();) {
		size_t end = list.find(':', start);
		if (end == std::string::npos)
			end = list.size();
		if (end > start)
			out.push_back(list.substr(start, end - start));
		start = end + 1;
	}
	return out;
}

std::string describe_init_failure(krb5_error_code code)
{
	// After krb5_init_context (even a failed one) MIT's error tables are loaded, so the message
	// is the one kinit shows; without a context there is no extended message to ask for.
	const char* msg = krb5_get_error_message(nullptr, code);
	std::string out = msg ? msg : "unknown Kerberos error";
	krb5_free_error_message(nullptr, msg);
	for (const std::string& f : files()) {
		if (access(f.c_str(), R_OK) != 0)
			continue;
		const char* one[] = {f.c_str(), nullptr};
		profile_t profile = nullptr;
		const long pcode = profile_init(one, &profile);
		if (profile)
			profile_release(profile);
		if (pcode == 0)
			continue;
		const char* detail = krb5_get_error_message(nullptr, static_cast<krb5_error_code>(pcode));
		out += std::string(" (") + f + ": " + (detail ? detail : "cannot be parsed") + ")";
		krb5_free_error_message(nullptr, detail);
		break;
	}
	return out;
}

std::string skipped_files_note()
{
	if (!krb5_config_env())
		return {};
	std::vector<std::string> missing, unreadable, read;
	std::string why;
	for (const std::string& f : files()) {
		if (access(f.c_str(), R_OK) == 0) {
			read.push_back(f);
		} else if (errno == ENOENT || errno == ENOTDIR) {
			missing.push_back(f);
		} else {
			why = std::strerror(errno);
			unreadable.push_back(f);
		}
	}
	if (missing.empty() && unreadable.empty())
		return {};
	std::string out = "KRB5_CONFIG names ";
	if (!missing.empty())
		out += join(missing) + (missing.size() == 1 ? ", which does not exist" : ", which do not exist");
	if (!unreadable.empty())
		out += std::string(missing.empty() ? "" : ", and ") + join(unreadable) + ", which cannot be read (" + why + ")";
	const bool one = missing.size() + unreadable.size() == 1;
	out += std::string("; MIT Kerberos skips ") + (one ? "it" : "them") + " silently and " +
	       (read.empty() ? "runs without any configuration (no realm, no KDC)" : "reads only " + join(read));
	out += one ? ": correct KRB5_CONFIG or create the file" : ": correct KRB5_CONFIG or create the files";
	return out;
}

} // namespace nlassp::kerberos::config
