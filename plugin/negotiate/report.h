// How Negotiate's log lines name who logs on to which server, and what a user should check when
// that server refused the logon. FreeRDP authenticates to an RD Gateway with the target
// HTTP/<gateway> and its own gateway credentials, so a line about a refusal must say which of
// the two logons (gateway or RDP server) it is about.
#pragma once

#include "common/package.h"

#include <string>
#include <string_view>

namespace nlassp::negotiate {

// "GW\gwuser", "gwuser@LAB.TEST" (as given), "gwuser" (no domain), or "the default credentials"
// when the credential has no identity (a Kerberos ticket cache).
std::string logon_name(const Credential& cred);

// Whether the SPN names an HTTP service ("HTTP/host"): FreeRDP's RD Gateway transports.
bool is_http_target(std::u16string_view target) noexcept;

// "HTTP/gw.example.com (the RD Gateway)", "TERMSRV/host", or "the server" when empty.
std::string target_text(std::u16string_view target);

// What to check when this target refused the credentials.
std::string refusal_hint(std::u16string_view target);

} // namespace nlassp::negotiate
