// How Negotiate's log lines name who logs on to which server (negotiate/report.h).
#include "negotiate/report.h"

#include "common/text.h"

namespace nlassp::negotiate {

std::string logon_name(const Credential& cred)
{
	if (!cred.identity || cred.identity->user.empty())
		return "the default credentials";
	const std::string user = text::printable(cred.identity->user);
	if (cred.identity->domain.empty() || user.find_first_of("@\\") != std::string::npos)
		return user;
	return text::printable(cred.identity->domain) + "\\" + user;
}

bool is_http_target(std::u16string_view target) noexcept
{
	constexpr std::u16string_view kHttp = u"HTTP/";
	if (target.size() <= kHttp.size())
		return false;
	for (size_t i = 0; i < kHttp.size(); ++i) {
		char16_t c = target[i];
		if (c >= u'a' && c <= u'z')
			c = static_cast<char16_t>(c - u'a' + u'A');
		if (c != kHttp[i])
			return false;
	}
	return true;
}

std::string target_text(std::u16string_view target)
{
	if (target.empty())
		return "the server";
	return text::printable(target) + (is_http_target(target) ? " (the RD Gateway)" : "");
}

std::string refusal_hint(std::u16string_view target)
{
	// FreeRDP's g: (cmdline.c parse_gateway_host_option) sets GatewayUseSameCredentials, which
	// copies /u: /d: /p: over the gateway's credentials (client.c): a g: after u:/d:/p: silently
	// sends the RDP server's credentials to the gateway.
	if (is_http_target(target))
		return "check the gateway's user name, domain and password: FreeRDP takes them from "
		       "/gateway:g:HOST,u:USER,d:DOMAIN,p:PASSWORD with g: first (a g: after u:, d: or p: makes it send "
		       "/u: /d: /p: instead), or from /u: /d: /p: when the gateway gets none of its own";
	return "check the user name, domain and password";
}

} // namespace nlassp::negotiate
