// The pure name helpers of kerberos/context.h: client principal, SSPI target -> GSSAPI name.
#include "kerberos/context_impl.h"

namespace nlassp::kerberos {

using detail::iequals;
using detail::upper;

namespace {

// The realm a domain names: upper-cased; a NetBIOS domain ("LAB") that is the first label of
// `default_realm` ("LAB.TEST") becomes `default_realm`; an empty domain is `default_realm`.
std::string realm_of(std::string_view domain, std::string_view default_realm)
{
	std::string realm(domain.empty() ? default_realm : domain);
	if (realm.find('.') == std::string::npos && !default_realm.empty()) {
		std::string_view first = default_realm.substr(0, default_realm.find('.'));
		if (iequals(first, realm))
			realm = std::string(default_realm);
	}
	return upper(realm);
}

// "alice@corp.example" is a UPN, not alice of realm CORP.EXAMPLE, when its suffix is a DNS name as
// written (a dot and a lower-case letter: a realm is written in capitals), the realm it would be
// asked of is known and is not that suffix, and krb5.conf does not list the suffix as a realm.
bool upn_suffix(std::string_view suffix, std::string_view home, const std::vector<std::string>& known_realms)
{
	if (suffix.find('.') == std::string_view::npos || home.find('.') == std::string_view::npos || iequals(suffix, home))
		return false;
	bool lower = false;
	for (char c : suffix)
		lower = lower || (c >= 'a' && c <= 'z');
	if (!lower)
		return false;
	for (const std::string& r : known_realms)
		if (iequals(r, suffix))
			return false;
	return true;
}

// One principal name component as krb5_unparse_name writes it: '@', '/' and '\' escaped.
std::string escaped_component(std::string_view name)
{
	std::string out;
	for (char c : name) {
		if (c == '@' || c == '/' || c == '\\')
			out += '\\';
		out += c;
	}
	return out;
}

} // namespace

bool client_principal(std::string_view user, std::string_view domain, std::string_view default_realm,
                      std::string& principal, const std::vector<std::string>& known_realms)
{
	std::string name;
	std::string realm;
	if (auto at = user.rfind('@'); at != std::string_view::npos) {
		name = std::string(user.substr(0, at));
		realm = std::string(user.substr(at + 1));
		const std::string home = realm_of(domain, default_realm);
		if (!name.empty() && upn_suffix(realm, home, known_realms)) {
			// An enterprise name (RFC 6806 section 5): the whole UPN is the one name component.
			principal = escaped_component(user) + "@" + home;
			return true;
		}
	} else if (auto bs = user.find('\\'); bs != std::string_view::npos) {
		realm = std::string(user.substr(0, bs));
		name = std::string(user.substr(bs + 1));
	} else {
		name = std::string(user);
		realm = std::string(domain);
	}
	if (name.empty())
		return false;
	realm = realm_of(realm, default_realm);
	if (realm.empty())
		return false;
	principal = name + "@" + realm;
	return true;
}

bool enterprise_principal(std::string_view principal)
{
	for (size_t i = 0; i + 1 < principal.size(); ++i) {
		if (principal[i] == '@')
			return false;   // the realm separator came first
		if (principal[i] == '\\') {
			if (principal[i + 1] == '@')
				return true;
			++i;
		}
	}
	return false;
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
