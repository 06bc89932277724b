// The pure name helpers of kerberos/context.h: client principal, SSPI target -> GSSAPI name.
#include "kerberos/context_impl.h"

namespace nlassp::kerberos {

using detail::iequals;
using detail::upper;

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

} // namespace nlassp::kerberos
