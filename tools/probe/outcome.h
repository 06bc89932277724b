// nlassp-probe's verdict on how a probe ended: whether the logon was refused and by whom (the
// server, or the KDC before anything reached the server), the plain-language reason, and what
// was delegated. Apart from the network code so that the wording of every outcome is unit-tested
// (tests/credssp/test_probe_outcome.cpp).
#pragma once

#include "common/error.h"
#include "credssp/credssp.h"

#include <string>

namespace nlassp::probe {

// --delegate / --no-delegate / neither (delegate the password when there is one).
enum class Delegation { Auto, Always, Never };

// Whether CredSSP is asked to delegate (ISC_REQ_DELEGATE).
[[nodiscard]] bool wants_delegation(Delegation d, bool have_password) noexcept;

// What the probe knows when the CredSSP exchange ended.
struct Ending {
	Error error = Error::None;
	credssp::Info info;            // as far as the exchange got (peer_error_code: the server's errorCode)
	bool sent_to_server = false;   // at least one TSRequest was written to the server
	std::string net_error;         // how the connection ended the exchange, when it did
	Delegation delegation = Delegation::Auto;
	bool have_password = false;
	uint32_t min_version = credssp::kDefaultMinVersion;   // --min-credssp-version
};

struct Verdict {
	bool refused = false;          // exit status 1: the credentials were refused
	std::string refused_by;        // "server", "kdc", or empty
	std::string reason;            // one plain-language sentence
};

[[nodiscard]] Verdict judge(const Ending& e);

// The "delegated" line of a successful probe: "yes (the user name and password)", or "no" and why.
[[nodiscard]] std::string delegation_text(const Ending& e);

} // namespace nlassp::probe
