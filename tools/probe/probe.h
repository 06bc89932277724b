// nlassp-probe's parts (tools/probe): what the command line asked for, what a probe reports, and
// the pieces shared between them.
//   nlassp-probe.cpp  options, TCP, X.224, TLS, CREDSSP built in, main
//   module.cpp        CREDSSP through an SSPI module's table (--module), --version
//   report.cpp        the report, as text or JSON
//   outcome.cpp       the verdict and its wording (refused by whom, why, what was delegated)
#pragma once

#include "outcome.h"

#include "common/bytes.h"
#include "common/error.h"
#include "credssp/credssp.h"

#include <openssl/ssl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nlassp::probe {

struct Args {
	std::string host;
	std::string port = "3389";
	std::string user, domain;
	std::optional<std::string> password;
	std::string ccache;
	std::string package_list;
	std::string target;
	uint32_t max_version = 6, min_version = credssp::kDefaultMinVersion;
	bool tolerate = false;
	bool verify = false;
	bool json = false;
	bool show_version = false;
	probe::Delegation delegation = probe::Delegation::Auto;
	bool remote_guard = false;        // --remote-guard: Remote Credential Guard (no password sent)
	bool remote_guard_compat = false; // --remote-guard-freerdp-compat
	bool restricted_admin = false;    // --restricted-admin: restricted admin mode, nothing delegated
	int timeout = 15;
	std::string module;   // --module: drive CREDSSP through this SSPI module (dlopen), as a caller would
};

struct Phase {
	const char* name;
	double ms;
};

struct Report {
	std::string host, port;
	std::string stage = "tcp";        // where it ended: tcp, x224, tls, credssp, early-auth, done
	bool success = false;
	bool refused = false;             // the logon was refused (exit 1)
	std::string refused_by;           // "server", or "kdc" (before anything was sent to the server)
	std::string protocol;             // "HYBRID", "HYBRID_EX", ...
	uint32_t selected_protocol = 0;
	uint32_t credssp_version = 0, server_version = 0;
	std::string mechanism;
	std::string status = "";          // SSPI status name
	uint32_t status_value = 0;
	std::string error;                // internal Error name
	std::string reason;               // plain language
	std::string tls_version, tls_cipher;
	std::string via = "built-in";     // "built-in" or the module path
	bool delegated = false;
	std::string delegation;           // the "delegated" line: yes, or no and why
	bool sent_to_server = false;      // a TSRequest was written to the server
	bool remote_guard = false;        // Remote Credential Guard credentials were sent
	bool echo_defect_tolerated = false;
	bool insecure_version = false;    // the exchange used, or the server offers, a version below 5
	std::vector<Phase> phases;
};

// The TLS connection, whole buffers at a time.
[[nodiscard]] bool tls_write(SSL* ssl, ByteView b);
[[nodiscard]] bool tls_read(SSL* ssl, uint8_t* p, size_t n);

// The NLASSP_SECBUFFER_CREDSSP_PARAMS buffer for the server key `spki` and the options in `a`.
Bytes params_buffer(const Args& a, ByteView spki);

// CREDSSP through the SSPI table of the module a.module names (module.cpp). Returns the Error of
// the last step (None = established); net_error says how the connection ended it, if it did.
Error run_credssp_module(const Args& a, SSL* ssl, ByteView spki, Report& rep, std::string& net_error,
                         std::optional<credssp::Info>& info);

// --version: this tool's version and, with --module, the module's. The exit status.
int print_version(const Args& a);

void print_report(const Report& r, bool json);

} // namespace nlassp::probe
