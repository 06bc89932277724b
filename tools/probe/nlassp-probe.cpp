// nlassp-probe: tests Network Level Authentication against a real RDP server.
//
//   X.224 Connection Request (RDP_NEG_REQ: PROTOCOL_HYBRID | PROTOCOL_HYBRID_EX) over TCP,
//   the Connection Confirm, TLS with OpenSSL (no certificate verification unless --verify; the
//   server key is taken from its certificate), then nlassp's CREDSSP package over the TLS
//   connection, exactly as an SSPI caller drives it: tokens are TSRequests, a partial TSRequest
//   gives IncompleteMessage with the missing byte count and the probe reads that many more.
//   With PROTOCOL_HYBRID_EX the server's Early User Authorization Result is read as well.
//
// It reports the negotiated protocol, CredSSP version, mechanism, the outcome with its SSPI
// status and a plain-language reason, and the time of each phase (--json for scripts).
//
// Exit status: 0 logged in; 1 the server refused the logon; 2 anything else failed; 64 usage.
#include "credssp/credssp.h"
#include "kerberos/kerberos.h"
#include "negotiate/context.h"
#include "negotiate/messages.h"
#include "negotiate/negotiate.h"
#include "nlassp/credssp.h"
#include "ntlm/ntlm.h"
#include "sspi/status.h"
#include "wire/reader.h"
#include "wire/utf16.h"
#include "wire/writer.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <dlfcn.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace nlassp;

namespace {

constexpr uint32_t PROTOCOL_SSL = 0x1, PROTOCOL_HYBRID = 0x2, PROTOCOL_HYBRID_EX = 0x8;

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
	bool delegate = true;
	bool remote_guard = false;       // --remote-guard: Remote Credential Guard (no password sent)
	bool remote_guard_compat = false; // --remote-guard-freerdp-compat
	bool restricted_admin = false;   // --restricted-admin: restricted admin mode, nothing delegated
	int timeout = 15;
	std::string module;   // --module: drive CREDSSP through this SSPI module (dlopen), as a caller would
};

void usage(FILE* f)
{
	std::fprintf(f,
	             "usage: nlassp-probe [options] HOST[:PORT]\n"
	             "  --user NAME            user to log on as (DOMAIN\\user and user@domain work too)\n"
	             "  --domain NAME          the user's domain\n"
	             "  --password PASS        password (or NLASSP_PROBE_PASSWORD in the environment)\n"
	             "  --ccache PATH          Kerberos credential cache to use instead of a password\n"
	             "  --auth-pkg-list LIST   as FreeRDP's /auth-pkg-list, e.g. '!kerberos' or 'ntlm'\n"
	             "  --target SPN           service principal (default TERMSRV/HOST)\n"
	             "  --credssp-version N    highest TSRequest version to offer, 2..6 (default 6)\n"
	             "  --min-credssp-version N   refuse a server below version N (default 5: versions 2-4 are\n"
	             "                         insecure, CVE-2018-0886; 2 connects to them anyway)\n"
	             "  --tolerate-freerdp-echo-bug   accept FreeRDP's defective v2-4 public-key echo\n"
	             "  --no-delegate          send empty credentials (restricted-admin style)\n"
	             "  --remote-guard         Remote Credential Guard: send a Kerberos ticket logon (a host/\n"
	             "                         ticket and the forwarded TGT; kinit -f) instead of a password\n"
	             "  --remote-guard-freerdp-compat   with --remote-guard: add the keyless NTLM supplemental\n"
	             "                         credential FreeRDP's servers require (issue 12007)\n"
	             "  --restricted-admin     ask for restricted admin mode; send empty credentials\n"
	             "  --verify               verify the server certificate and host name\n"
	             "  --timeout SECONDS      per network read/write (default 15)\n"
	             "  --module PATH          use CREDSSP through the SSPI table of this module (dlopen,\n"
	             "                         InitSecurityInterfaceA), e.g. libnlassp.so; default: built in\n"
	             "  --json                 one JSON object on stdout\n");
}

bool parse_uint(const char* s, uint32_t lo, uint32_t hi, uint32_t& out)
{
	char* end = nullptr;
	errno = 0;
	const unsigned long v = std::strtoul(s, &end, 10);
	if (errno || !end || *end || v < lo || v > hi)
		return false;
	out = static_cast<uint32_t>(v);
	return true;
}

int parse_args(int argc, char** argv, Args& a)
{
	for (int i = 1; i < argc; ++i) {
		std::string o = argv[i];
		auto value = [&](const char*& v) {
			if (i + 1 >= argc)
				return false;
			v = argv[++i];
			return true;
		};
		const char* v = nullptr;
		uint32_t n = 0;
		if (o == "--help" || o == "-h") {
			usage(stdout);
			std::exit(0);
		} else if (o == "--json") {
			a.json = true;
		} else if (o == "--verify") {
			a.verify = true;
		} else if (o == "--tolerate-freerdp-echo-bug") {
			a.tolerate = true;
		} else if (o == "--no-delegate") {
			a.delegate = false;
		} else if (o == "--remote-guard") {
			a.remote_guard = true;
		} else if (o == "--remote-guard-freerdp-compat") {
			a.remote_guard = a.remote_guard_compat = true;
		} else if (o == "--restricted-admin") {
			a.restricted_admin = true;
			a.delegate = false;
		} else if (o == "--user" && value(v)) {
			a.user = v;
		} else if (o == "--domain" && value(v)) {
			a.domain = v;
		} else if (o == "--password" && value(v)) {
			a.password = v;
		} else if (o == "--ccache" && value(v)) {
			a.ccache = v;
		} else if (o == "--auth-pkg-list" && value(v)) {
			a.package_list = v;
		} else if (o == "--module" && value(v)) {
			a.module = v;
		} else if (o == "--target" && value(v)) {
			a.target = v;
		} else if (o == "--credssp-version" && value(v) && parse_uint(v, 2, 6, n)) {
			a.max_version = n;
		} else if (o == "--min-credssp-version" && value(v) && parse_uint(v, 2, 6, n)) {
			a.min_version = n;
		} else if (o == "--timeout" && value(v) && parse_uint(v, 1, 3600, n)) {
			a.timeout = static_cast<int>(n);
		} else if (!o.empty() && o[0] != '-' && a.host.empty()) {
			const size_t colon = o.rfind(':');
			if (o.front() == '[') { // [v6]:port
				const size_t close = o.find(']');
				if (close == std::string::npos)
					return 64;
				a.host = o.substr(1, close - 1);
				if (close + 1 < o.size() && o[close + 1] == ':')
					a.port = o.substr(close + 2);
			} else if (colon != std::string::npos && o.find(':') == colon) {
				a.host = o.substr(0, colon);
				a.port = o.substr(colon + 1);
			} else {
				a.host = o;
			}
		} else {
			std::fprintf(stderr, "nlassp-probe: bad argument '%s'\n", o.c_str());
			usage(stderr);
			return 64;
		}
	}
	if (a.host.empty()) {
		usage(stderr);
		return 64;
	}
	if (a.min_version > a.max_version) {
		std::fprintf(stderr,
		             "nlassp-probe: --credssp-version %" PRIu32 " is below the minimum version %" PRIu32
		             "%s\n",
		             a.max_version, a.min_version,
		             a.min_version == credssp::kDefaultMinVersion
		                 ? "; versions below 5 are insecure (CVE-2018-0886): add --min-credssp-version 2 to use them"
		                 : " (--min-credssp-version)");
		return 64;
	}
	if (!a.password)
		if (const char* env = std::getenv("NLASSP_PROBE_PASSWORD"))
			a.password = env;
	// DOMAIN\user and user@domain.
	if (a.domain.empty()) {
		const size_t bs = a.user.find('\\');
		const size_t at = a.user.rfind('@');
		if (bs != std::string::npos) {
			a.domain = a.user.substr(0, bs);
			a.user = a.user.substr(bs + 1);
		} else if (at != std::string::npos) {
			a.domain = a.user.substr(at + 1);
			a.user = a.user.substr(0, at);
		}
	}
	if (a.target.empty())
		a.target = "TERMSRV/" + a.host;
	return 0;
}

// ---- reporting --------------------------------------------------------------------------------

using Clock = std::chrono::steady_clock;

struct Phase {
	const char* name;
	double ms;
};

struct Report {
	std::string host, port;
	std::string stage = "tcp";        // where it ended: tcp, x224, tls, credssp, early-auth, done
	bool success = false;
	bool refused = false;             // the server refused the logon (exit 1)
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
	bool remote_guard = false;        // Remote Credential Guard credentials were sent
	bool echo_defect_tolerated = false;
	bool insecure_version = false;    // the exchange used, or the server offers, a version below 5
	std::vector<Phase> phases;
};

std::string json_escape(const std::string& s)
{
	std::string o;
	for (unsigned char c : s) {
		switch (c) {
		case '"': o += "\\\""; break;
		case '\\': o += "\\\\"; break;
		case '\n': o += "\\n"; break;
		case '\t': o += "\\t"; break;
		default:
			if (c < 0x20) {
				char b[8];
				std::snprintf(b, sizeof(b), "\\u%04x", c);
				o += b;
			} else {
				o += static_cast<char>(c);
			}
		}
	}
	return o;
}

void print_report(const Report& r, bool json)
{
	double total = 0;
	for (const auto& p : r.phases)
		total += p.ms;
	if (json) {
		std::printf("{\"host\":\"%s\",\"port\":\"%s\",\"success\":%s,\"refused\":%s,\"stage\":\"%s\","
		            "\"protocol\":\"%s\",\"credssp_version\":%" PRIu32 ",\"server_credssp_version\":%" PRIu32 ","
		            "\"mechanism\":\"%s\",\"status\":\"%s\",\"status_code\":\"0x%08" PRIX32 "\",\"error\":\"%s\","
		            "\"reason\":\"%s\",\"tls\":\"%s\",\"cipher\":\"%s\",\"delegated\":%s,\"remote_guard\":%s,"
		            "\"freerdp_echo_defect_tolerated\":%s,\"insecure_credssp_version\":%s,\"via\":\"%s\","
		            "\"phases_ms\":{",
		            json_escape(r.host).c_str(), json_escape(r.port).c_str(), r.success ? "true" : "false",
		            r.refused ? "true" : "false", r.stage.c_str(), r.protocol.c_str(), r.credssp_version,
		            r.server_version, r.mechanism.c_str(), r.status.c_str(), r.status_value, r.error.c_str(),
		            json_escape(r.reason).c_str(), r.tls_version.c_str(), r.tls_cipher.c_str(),
		            r.delegated ? "true" : "false", r.remote_guard ? "true" : "false",
		            r.echo_defect_tolerated ? "true" : "false", r.insecure_version ? "true" : "false",
		            json_escape(r.via).c_str());
		for (size_t i = 0; i < r.phases.size(); ++i)
			std::printf("%s\"%s\":%.3f", i ? "," : "", r.phases[i].name, r.phases[i].ms);
		std::printf("},\"total_ms\":%.3f}\n", total);
		return;
	}
	std::printf("nlassp-probe %s:%s\n", r.host.c_str(), r.port.c_str());
	if (!r.protocol.empty())
		std::printf("  protocol    %s\n", r.protocol.c_str());
	if (!r.tls_version.empty())
		std::printf("  tls         %s %s\n", r.tls_version.c_str(), r.tls_cipher.c_str());
	if (r.credssp_version)
		std::printf("  credssp     version %" PRIu32 " (server offers %" PRIu32 ")%s\n", r.credssp_version,
		            r.server_version, r.insecure_version ? "  INSECURE: below 5 (CVE-2018-0886)" : "");
	if (!r.mechanism.empty())
		std::printf("  mechanism   %s (CREDSSP %s)\n", r.mechanism.c_str(), r.via.c_str());
	std::printf("  outcome     %s%s%s (0x%08" PRIX32 ")\n", r.success ? "success" : r.refused ? "refused" : "failed",
	            r.status.empty() ? "" : "  ", r.status.c_str(), r.status_value);
	std::printf("  reason      %s\n", r.reason.c_str());
	if (r.success)
		std::printf("  delegated   %s%s\n",
		            r.remote_guard ? "Remote Credential Guard (a Kerberos ticket logon, no password)"
		            : r.delegated  ? "yes"
		                           : "no (empty credentials)",
		            r.echo_defect_tolerated ? "  [FreeRDP v2-4 echo defect tolerated]" : "");
	std::printf("  time        ");
	for (const auto& p : r.phases)
		std::printf("%s %.1f ms, ", p.name, p.ms);
	std::printf("total %.1f ms\n", total);
}

const char* plain_reason(Error e, const credssp::Info& info)
{
	switch (e) {
	case Error::None: return "logged in: the server accepted the credentials and proved it holds the TLS key";
	case Error::LogonDenied: return "the server refused the logon: wrong user name or password, or the account may not log on";
	case Error::PasswordExpired: return "the password has expired or must be changed";
	case Error::NoCredentials: return "no usable credentials: give --user/--password, or a Kerberos ccache";
	case Error::IncompleteCredentials: return "there is no password to delegate; give --password or use --no-delegate";
	case Error::MutualAuthFailed:
		return info.echo_defect_refused
		           ? "the server's public-key echo has the known defect of FreeRDP's CredSSP server at versions 2-4; "
		             "use --credssp-version 6, or --tolerate-freerdp-echo-bug"
		           : "the server could not prove it owns the TLS key: possible man-in-the-middle; no credentials were sent";
	case Error::MessageAltered: return "a protected CredSSP field failed its integrity check: tampering or a man-in-the-middle";
	case Error::TimeSkew: return "the clocks of this machine and the KDC/server differ too much";
	case Error::NoAuthority: return "no Kerberos KDC or domain controller could be reached";
	case Error::TargetUnknown: return "the KDC does not know the service principal (try --target or NTLM)";
	case Error::WrongPrincipal: return "the server is not the principal we asked for";
	case Error::DelegationPolicy:
		return "credentials may not be delegated here: the delegation policy refuses this target, or (--remote-guard) "
		       "the Kerberos TGT cannot be forwarded (kinit -f)";
	case Error::PolicyNtlmOnly: return "only NTLM authenticated the server and the policy forbids delegating then";
	case Error::Unsupported:
		return "the server's CredSSP version is below --min-credssp-version, or an option is unsupported "
		       "(--remote-guard needs Kerberos)";
	case Error::InvalidToken: return "the server sent a malformed or unexpected CredSSP message";
	case Error::DowngradeDetected: return "the SPNEGO mechanism list was tampered with (downgrade)";
	case Error::PackageUnavailable: return "the mechanism cannot work here (e.g. no MD4/RC4 for NTLM)";
	case Error::InvalidParameter: return "the TLS server key could not be used";
	default: return "the CredSSP exchange failed";
	}
}

// ---- network ----------------------------------------------------------------------------------

struct Fd {
	int fd = -1;
	~Fd()
	{
		if (fd >= 0)
			::close(fd);
	}
};

bool send_all(int fd, ByteView b)
{
	size_t done = 0;
	while (done < b.size()) {
		const ssize_t n = ::send(fd, b.data() + done, b.size() - done, MSG_NOSIGNAL);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return false;
		}
		done += static_cast<size_t>(n);
	}
	return true;
}

bool recv_all(int fd, uint8_t* p, size_t n)
{
	size_t done = 0;
	while (done < n) {
		const ssize_t r = ::recv(fd, p + done, n - done, 0);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return false;
		}
		done += static_cast<size_t>(r);
	}
	return true;
}

std::string connect_tcp(const Args& a, int timeout, Fd& out)
{
	addrinfo hints{};
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	addrinfo* res = nullptr;
	const int rc = ::getaddrinfo(a.host.c_str(), a.port.c_str(), &hints, &res);
	if (rc != 0)
		return std::string("cannot resolve ") + a.host + ": " + gai_strerror(rc);
	std::string err = "no address";
	for (addrinfo* ai = res; ai; ai = ai->ai_next) {
		const int fd = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		timeval tv{timeout, 0};
		(void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		const int one = 1;
		(void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			out.fd = fd;
			err.clear();
			break;
		}
		err = std::string("cannot connect: ") + std::strerror(errno);
		::close(fd);
	}
	::freeaddrinfo(res);
	return err;
}

// X.224 Connection Request with RDP_NEG_REQ; the Connection Confirm's selected protocol.
std::string x224_negotiate(int fd, const std::string& user, uint8_t request_flags, uint32_t& selected)
{
	wire::Writer x;
	const std::string cookie = "Cookie: mstshash=" + (user.empty() ? std::string("probe") : user.substr(0, 9)) + "\r\n";
	const size_t li = 6 + cookie.size() + 8;
	x.u8(0x03);
	x.u8(0x00);
	x.u16be(static_cast<uint16_t>(4 + 1 + li));
	x.u8(static_cast<uint8_t>(li));
	x.u8(0xe0);      // CR
	x.u16be(0);      // DST-REF
	x.u16be(0);      // SRC-REF
	x.u8(0);         // class 0
	x.bytes(as_bytes(cookie));
	x.u8(0x01);      // TYPE_RDP_NEG_REQ
	x.u8(request_flags);  // RESTRICTED_ADMIN_MODE_REQUIRED 0x1, REDIRECTED_AUTHENTICATION_MODE_REQUIRED 0x2
	x.u16le(8);
	x.u32le(PROTOCOL_HYBRID | PROTOCOL_HYBRID_EX);
	if (!x.ok() || !send_all(fd, x.view()))
		return "cannot send the X.224 Connection Request";

	uint8_t hdr[4];
	if (!recv_all(fd, hdr, 4))
		return "no X.224 Connection Confirm (connection closed or timed out)";
	if (hdr[0] != 0x03)
		return "the server does not speak RDP (no TPKT header)";
	const size_t len = (static_cast<size_t>(hdr[2]) << 8) | hdr[3];
	if (len < 11 || len > 1024)
		return "malformed X.224 Connection Confirm";
	Bytes body(len - 4);
	if (!recv_all(fd, body.data(), body.size()))
		return "truncated X.224 Connection Confirm";
	wire::Reader r(body);
	uint8_t li_in = 0, code = 0;
	uint16_t dst = 0, src = 0;
	uint8_t cls = 0;
	if (!r.u8(li_in) || !r.u8(code) || !r.u16be(dst) || !r.u16be(src) || !r.u8(cls) || (code & 0xf0) != 0xd0)
		return "the server's answer is not an X.224 Connection Confirm";
	uint8_t type = 0, flags = 0;
	uint16_t nlen = 0;
	uint32_t value = 0;
	if (!r.u8(type) || !r.u8(flags) || !r.u16le(nlen) || !r.u32le(value))
		return "the server answered without RDP negotiation (standard RDP security only): no NLA";
	if (type == 0x03) {
		switch (value) {
		case 1: return "the server refused: it requires TLS without NLA (SSL_REQUIRED_BY_SERVER)";
		case 2: return "the server refused: it only allows standard RDP security (SSL_NOT_ALLOWED_BY_SERVER)";
		case 3: return "the server refused: SSL_CERT_NOT_ON_SERVER";
		case 4: return "the server refused: INCONSISTENT_FLAGS";
		case 5: return "the server refused: it requires CredSSP (HYBRID_REQUIRED_BY_SERVER)";
		case 6: return "the server refused: it requires TLS with certificate-based client authentication";
		default: return "the server refused the negotiation (RDP_NEG_FAILURE " + std::to_string(value) + ")";
		}
	}
	if (type != 0x02)
		return "unknown RDP negotiation response type " + std::to_string(type);
	selected = value;
	if (!(value & (PROTOCOL_HYBRID | PROTOCOL_HYBRID_EX)))
		return value & PROTOCOL_SSL ? "the server chose TLS without NLA" : "the server chose standard RDP security: no NLA";
	return "";
}

struct SslDeleter {
	void operator()(SSL* s) const { SSL_free(s); }
	void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
	void operator()(X509* x) const { X509_free(x); }
};

std::string openssl_error()
{
	const unsigned long e = ERR_get_error();
	if (!e)
		return "";
	char buf[256];
	ERR_error_string_n(e, buf, sizeof(buf));
	return buf;
}

std::string tls_connect(int fd, const Args& a, std::unique_ptr<SSL_CTX, SslDeleter>& ctx,
                        std::unique_ptr<SSL, SslDeleter>& ssl, Bytes& spki)
{
	ctx.reset(SSL_CTX_new(TLS_client_method()));
	if (!ctx)
		return "OpenSSL: " + openssl_error();
	SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION);
	if (a.verify) {
		SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
		if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1)
			return "OpenSSL: cannot load the default CA certificates";
	} else {
		SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
	}
	ssl.reset(SSL_new(ctx.get()));
	if (!ssl || SSL_set_fd(ssl.get(), fd) != 1)
		return "OpenSSL: " + openssl_error();
	in6_addr ip6{};
	in_addr ip4{};
	const bool is_ip = inet_pton(AF_INET, a.host.c_str(), &ip4) == 1 || inet_pton(AF_INET6, a.host.c_str(), &ip6) == 1;
	if (!is_ip)
		(void)SSL_set_tlsext_host_name(ssl.get(), a.host.c_str());
	if (a.verify && SSL_set1_host(ssl.get(), a.host.c_str()) != 1)
		return "OpenSSL: cannot set the host name to verify";
	if (SSL_connect(ssl.get()) != 1) {
		const long vr = SSL_get_verify_result(ssl.get());
		if (a.verify && vr != X509_V_OK)
			return std::string("TLS: the server certificate does not verify: ") + X509_verify_cert_error_string(vr);
		return "TLS handshake failed: " + openssl_error();
	}
	std::unique_ptr<X509, SslDeleter> cert(SSL_get1_peer_certificate(ssl.get()));
	if (!cert)
		return "TLS: the server sent no certificate";
	unsigned char* der = nullptr;
	const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &der);
	if (n <= 0)
		return "TLS: cannot read the server's public key";
	spki.assign(der, der + n);
	OPENSSL_free(der);
	return "";
}

bool tls_write(SSL* ssl, ByteView b)
{
	size_t done = 0;
	while (done < b.size()) {
		size_t w = 0;
		if (SSL_write_ex(ssl, b.data() + done, b.size() - done, &w) != 1)
			return false;
		done += w;
	}
	return true;
}

bool tls_read(SSL* ssl, uint8_t* p, size_t n)
{
	size_t done = 0;
	while (done < n) {
		size_t r = 0;
		if (SSL_read_ex(ssl, p + done, n - done, &r) != 1)
			return false;
		done += r;
	}
	return true;
}

// ---- CredSSP ----------------------------------------------------------------------------------

std::vector<negotiate::Mechanism> mechanisms()
{
	std::vector<negotiate::Mechanism> m;
	m.push_back({PackageId::Kerberos, Bytes(negotiate::oid::kerberos().begin(), negotiate::oid::kerberos().end()),
	             &kerberos::create_context, &kerberos::smartcard_logon});
	m.push_back({PackageId::Ntlm, Bytes(negotiate::oid::ntlmssp().begin(), negotiate::oid::ntlmssp().end()),
	             &ntlm::create_context, {}});
	return m;
}

Bytes params_buffer(const Args& a, ByteView spki)
{
	NLASSP_CREDSSP_PARAMS p{};
	p.cbSize = sizeof(p);
	p.Version = NLASSP_CREDSSP_PARAMS_VERSION;
	p.Flags = (a.tolerate ? NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT : 0u) |
	          (a.remote_guard ? NLASSP_CREDSSP_REMOTE_GUARD : 0u) |
	          (a.remote_guard_compat ? NLASSP_CREDSSP_REMOTE_GUARD_FREERDP_COMPAT : 0u);
	p.MinVersion = a.min_version;
	p.MaxVersion = a.max_version;
	p.KeyFormat = NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO;
	p.PublicKeyOffset = sizeof(p);
	p.PublicKeyLength = static_cast<uint32_t>(spki.size());
	// The probe delegates to the target it was told to use.
	p.DelegateTargetsOffset = static_cast<uint32_t>(sizeof(p) + spki.size());
	p.DelegateTargetsLength = static_cast<uint32_t>(a.target.size());
	// One allocation of the final size, then copies (GCC 12 at -O2 reports a false -Warray-bounds
	// on vector::insert after a sizeof-sized vector).
	Bytes b(sizeof(p) + spki.size() + a.target.size());
	std::memcpy(b.data(), &p, sizeof(p));
	if (!spki.empty())
		std::memcpy(b.data() + sizeof(p), spki.data(), spki.size());
	if (!a.target.empty())
		std::memcpy(b.data() + sizeof(p) + spki.size(), a.target.data(), a.target.size());
	return b;
}

// Runs the initiator over TLS. Returns the Error of the last step (None = established).
Error run_credssp(const Args& a, SSL* ssl, ByteView spki, Report& rep, std::string& net_error,
                  std::optional<credssp::Info>& info)
{
	auto cred = std::make_shared<Credential>();
	cred->package = PackageId::CredSsp;
	cred->use = CredentialUse::Outbound;
	if (!a.ccache.empty())
		cred->kerberos.cache = a.ccache;
	if (!a.user.empty() || a.password) {
		Identity id;
		if (!wire::utf8_to_utf16(a.user, id.user) || !wire::utf8_to_utf16(a.domain, id.domain))
			return Error::InvalidParameter;
		if (a.password) {
			if (!wire::utf8_to_utf16le_secret(*a.password, id.password))
				return Error::InvalidParameter;
			id.has_password = true;
		}
		id.package_list = a.package_list;
		cred->identity = std::move(id);
	}
	Error err = Error::None;
	// With an identity, Negotiate applies its package list itself; a ccache-only logon has none.
	const std::string list = cred->identity ? std::string() : a.package_list;
	ContextPtr ctx = credssp::create_context(
	    Role::Initiator, cred,
	    [list](Role role, const CredentialPtr& c, Error& e) {
		    return negotiate::create_context(role, c, negotiate::apply_package_list(mechanisms(), list), e);
	    },
	    err);
	if (!ctx)
		return err;
	const Bytes prm = params_buffer(a, spki);
	StepInput in;
	in.requested = ctx::MutualAuth | ctx::Confidentiality | ctx::Connection | ctx::Stream | ctx::ManualCredValidation |
	               (a.delegate ? ctx::Delegate : 0u);
	std::u16string target;
	(void)wire::utf8_to_utf16(a.target, target);
	in.target = target;
	in.package_params = prm;
	StepOutput out;
	Error e = ctx->step(in, out);
	in.package_params = {};
	Bytes buf;
	while (e == Error::None) {
		info = credssp::query_info(*ctx);
		if (!out.token.empty() && !tls_write(ssl, out.token)) {
			net_error = "the server closed the connection while we sent a TSRequest";
			return Error::Internal;
		}
		if (out.complete)
			break;
		// Read the next TSRequest the way a stream caller does: the package says how much is missing.
		buf.clear();
		size_t want = 0;
		for (;;) {
			in.token = buf;
			e = ctx->step(in, out);
			if (e != Error::IncompleteMessage)
				break;
			want = out.missing;
			const size_t old = buf.size();
			buf.resize(old + want);
			if (!tls_read(ssl, buf.data() + old, want)) {
				net_error = old == 0 ? "the server closed the connection instead of answering (it refused the "
				                       "logon without an errorCode, or dropped the connection)"
				                     : "the server closed the connection in the middle of a TSRequest";
				info = credssp::query_info(*ctx);
				return Error::LogonDenied;
			}
		}
	}
	info = credssp::query_info(*ctx);
	(void)rep;
	return e;
}

// The Error whose SSPI status this is (the first in the enumeration: LogonDenied before
// PasswordExpired), for the plain-language reason of a status the module returned.
Error error_of(SECURITY_STATUS st)
{
	if (st == SEC_E_OK)
		return Error::None;
	for (uint32_t i = 1; i <= static_cast<uint32_t>(Error::NotEstablished); ++i)
		if (sspi::to_status(static_cast<Error>(i)) == st)
			return static_cast<Error>(i);
	return Error::Internal;
}

// The same exchange through an SSPI module's table, as an application would drive it:
// AcquireCredentialsHandleA("CREDSSP") with FreeRDP's SEC_WINNT_AUTH_IDENTITY_WINPR, then
// InitializeSecurityContextA with { SECBUFFER_TOKEN, SECBUFFER_EMPTY, NLASSP_SECBUFFER_CREDSSP_PARAMS }
// inputs, ISC_REQ_ALLOCATE_MEMORY output, and SECBUFFER_MISSING telling how much more to read.
Error run_credssp_module(const Args& a, SSL* ssl, ByteView spki, Report& rep, std::string& net_error,
                         std::optional<credssp::Info>& info)
{
	void* lib = ::dlopen(a.module.c_str(), RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		net_error = std::string("cannot load the module: ") + ::dlerror();
		return Error::PackageUnavailable;
	}
	using InitFn = SecurityFunctionTableA* (*)();
	auto init = reinterpret_cast<InitFn>(::dlsym(lib, "InitSecurityInterfaceA"));
	SecurityFunctionTableA* t = init ? init() : nullptr;
	if (!t) {
		net_error = "the module has no InitSecurityInterfaceA";
		return Error::PackageUnavailable;
	}
	std::u16string user, domain, password, list;
	(void)wire::utf8_to_utf16(a.user, user);
	(void)wire::utf8_to_utf16(a.domain, domain);
	if (a.password)
		(void)wire::utf8_to_utf16(*a.password, password);
	(void)wire::utf8_to_utf16(a.package_list, list);
	SEC_WINNT_AUTH_IDENTITY_WINPR auth{};
	SEC_WINPR_KERBEROS_SETTINGS krb{};
	std::string cache = a.ccache;
	auth.identity.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
	auth.identity.Length = sizeof(SEC_WINNT_AUTH_IDENTITY_EX);
	auth.identity.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE | SEC_WINNT_AUTH_IDENTITY_EXTENDED;
	auth.identity.User = reinterpret_cast<UINT16*>(user.data());
	auth.identity.UserLength = static_cast<UINT32>(user.size());
	auth.identity.Domain = reinterpret_cast<UINT16*>(domain.data());
	auth.identity.DomainLength = static_cast<UINT32>(domain.size());
	auth.identity.Password = reinterpret_cast<UINT16*>(password.data());
	auth.identity.PasswordLength = static_cast<UINT32>(password.size());
	auth.identity.PackageList = list.empty() ? nullptr : reinterpret_cast<UINT16*>(list.data());
	auth.identity.PackageListLength = static_cast<UINT32>(list.size());
	auth.kerberosSettings = &krb;
	if (!cache.empty())
		krb.cache = cache.data();
	const bool anonymous = a.user.empty() && !a.password && a.ccache.empty();
	CredHandle cred{};
	char pkg[] = "CREDSSP";
	SECURITY_STATUS st = t->AcquireCredentialsHandleA(nullptr, pkg, SECPKG_CRED_OUTBOUND, nullptr,
	                                                  anonymous ? nullptr : &auth, nullptr, nullptr, &cred, nullptr);
	if (st != SEC_E_OK) {
		net_error = std::string("AcquireCredentialsHandle(CREDSSP) failed: ") + sspi::status_name(st);
		return error_of(st);
	}
	const Bytes prm = params_buffer(a, spki);
	std::string target = a.target;
	const ULONG req = ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY | ISC_REQ_CONNECTION | ISC_REQ_STREAM |
	                  ISC_REQ_MANUAL_CRED_VALIDATION | ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_EXTENDED_ERROR |
	                  (a.delegate ? ISC_REQ_DELEGATE : 0u);
	CtxtHandle ctx{};
	bool have_ctx = false;
	Bytes buf;
	auto query = [&] {
		NLASSP_CREDSSP_INFO ni{};
		if (have_ctx && t->QueryContextAttributesA(&ctx, NLASSP_ATTR_CREDSSP_INFO, &ni) == SEC_E_OK) {
			credssp::Info i;
			i.version = ni.Version;
			i.peer_version = ni.PeerVersion;
			i.established = ni.Flags & NLASSP_CREDSSP_INFO_ESTABLISHED;
			i.delegated = ni.Flags & NLASSP_CREDSSP_INFO_DELEGATED;
			i.echo_defect_seen = ni.Flags & NLASSP_CREDSSP_INFO_ECHO_DEFECT_SEEN;
			i.echo_defect_refused = ni.Flags & NLASSP_CREDSSP_INFO_ECHO_DEFECT_REFUSED;
			i.remote_guard = ni.Flags & NLASSP_CREDSSP_INFO_REMOTE_GUARD;
			const std::string m = ni.Mechanism;
			i.mechanism = m == "NTLM" ? PackageId::Ntlm : m == "Kerberos" ? PackageId::Kerberos : PackageId::Negotiate;
			info = i;
		}
	};
	st = SEC_I_CONTINUE_NEEDED;
	for (int round = 0; round < 16 && st == SEC_I_CONTINUE_NEEDED; ++round) {
		SecBuffer ob{0, SECBUFFER_TOKEN, nullptr};
		SecBufferDesc od{SECBUFFER_VERSION, 1, &ob};
		ULONG attrs = 0;
		if (!have_ctx) {
			SecBuffer ib[1] = {{static_cast<ULONG>(prm.size()), NLASSP_SECBUFFER_CREDSSP_PARAMS,
			                    const_cast<uint8_t*>(prm.data())}};
			SecBufferDesc id{SECBUFFER_VERSION, 1, ib};
			st = t->InitializeSecurityContextA(&cred, nullptr, target.data(), req, 0, SECURITY_NATIVE_DREP, &id, 0,
			                                   &ctx, &od, &attrs, nullptr);
		} else {
			buf.clear();
			ULONG want = 2;
			st = SEC_E_INCOMPLETE_MESSAGE;
			while (st == SEC_E_INCOMPLETE_MESSAGE) {
				const size_t old = buf.size();
				buf.resize(old + want);
				if (!tls_read(ssl, buf.data() + old, want)) {
					net_error = old == 0 ? "the server closed the connection instead of answering (it refused the "
					                       "logon without an errorCode, or dropped the connection)"
					                     : "the server closed the connection in the middle of a TSRequest";
					query();
					(void)t->DeleteSecurityContext(&ctx);
					(void)t->FreeCredentialsHandle(&cred);
					return Error::LogonDenied;
				}
				SecBuffer ib[2] = {{static_cast<ULONG>(buf.size()), SECBUFFER_TOKEN, buf.data()},
				                   {0, SECBUFFER_EMPTY, nullptr}};
				SecBufferDesc id{SECBUFFER_VERSION, 2, ib};
				st = t->InitializeSecurityContextA(&cred, &ctx, target.data(), req, 0, SECURITY_NATIVE_DREP, &id, 0,
				                                   &ctx, &od, &attrs, nullptr);
				if (st == SEC_E_INCOMPLETE_MESSAGE)
					want = ib[1].BufferType == SECBUFFER_MISSING && ib[1].cbBuffer ? ib[1].cbBuffer : 1;
			}
		}
		if (st == SEC_E_OK || st == SEC_I_CONTINUE_NEEDED)
			have_ctx = true;
		query();
		const bool wrote = !ob.pvBuffer || tls_write(ssl, ByteView(static_cast<uint8_t*>(ob.pvBuffer), ob.cbBuffer));
		if (ob.pvBuffer)
			(void)t->FreeContextBuffer(ob.pvBuffer);
		if (!wrote) {
			net_error = "the server closed the connection while we sent a TSRequest";
			st = SEC_E_INTERNAL_ERROR;
		}
	}
	if (have_ctx)
		(void)t->DeleteSecurityContext(&ctx);
	(void)t->FreeCredentialsHandle(&cred);
	(void)rep;
	return error_of(st);
}

} // namespace

int main(int argc, char** argv)
{
	Args a;
	if (const int rc = parse_args(argc, argv, a); rc != 0)
		return rc;
	if (a.json && !std::getenv("WLOG_LEVEL"))
		::setenv("WLOG_LEVEL", "OFF", 1);

	Report rep;
	rep.host = a.host;
	rep.port = a.port;
	auto finish = [&](int code) {
		print_report(rep, a.json);
		return code;
	};
	auto t0 = Clock::now();
	auto lap = [&](const char* name) {
		const auto now = Clock::now();
		rep.phases.push_back({name, std::chrono::duration<double, std::milli>(now - t0).count()});
		t0 = now;
	};

	Fd fd;
	if (std::string err = connect_tcp(a, a.timeout, fd); !err.empty()) {
		rep.reason = err;
		lap("tcp");
		return finish(2);
	}
	lap("tcp");
	rep.stage = "x224";
	uint32_t selected = 0;
	const uint8_t neg_flags = static_cast<uint8_t>((a.restricted_admin ? 0x1 : 0) | (a.remote_guard ? 0x2 : 0));
	if (std::string err = x224_negotiate(fd.fd, a.user, neg_flags, selected); !err.empty()) {
		rep.reason = err;
		lap("x224");
		return finish(2);
	}
	lap("x224");
	rep.selected_protocol = selected;
	rep.protocol = selected & PROTOCOL_HYBRID_EX ? "HYBRID_EX" : "HYBRID";

	rep.stage = "tls";
	std::unique_ptr<SSL_CTX, SslDeleter> sctx;
	std::unique_ptr<SSL, SslDeleter> ssl;
	Bytes spki;
	if (std::string err = tls_connect(fd.fd, a, sctx, ssl, spki); !err.empty()) {
		rep.reason = err;
		lap("tls");
		return finish(2);
	}
	rep.tls_version = SSL_get_version(ssl.get());
	rep.tls_cipher = SSL_get_cipher_name(ssl.get());
	lap("tls");

	rep.stage = "credssp";
	std::string net_error;
	std::optional<credssp::Info> info;
	if (!a.module.empty())
		rep.via = a.module;
	const Error e = a.module.empty() ? run_credssp(a, ssl.get(), spki, rep, net_error, info)
	                                 : run_credssp_module(a, ssl.get(), spki, rep, net_error, info);
	lap("credssp");
	if (info) {
		rep.credssp_version = info->version;
		rep.server_version = info->peer_version;
		rep.mechanism = package_name(info->mechanism);
		rep.delegated = info->delegated;
		rep.remote_guard = info->remote_guard;
		rep.echo_defect_tolerated = info->echo_defect_seen;
		rep.insecure_version = (info->peer_version && info->peer_version < credssp::kDefaultMinVersion) ||
		                       (info->version && info->version < credssp::kDefaultMinVersion);
	}
	const SECURITY_STATUS st = sspi::to_status(e);
	rep.status = sspi::status_name(st);
	rep.status_value = static_cast<uint32_t>(st);
	rep.error = error_name(e);
	rep.reason = !net_error.empty() ? net_error : plain_reason(e, info ? *info : credssp::Info{});
	if (e == Error::Unsupported && info && info->peer_version && info->peer_version < a.min_version)
		rep.reason = "the server speaks CredSSP version " + std::to_string(info->peer_version) +
		             (info->peer_version < credssp::kDefaultMinVersion
		                  ? ", which is insecure (below 5: no nonce-bound public-key hash, CVE-2018-0886); not "
		                    "connected - use --min-credssp-version 2 to connect anyway"
		                  : ", below --min-credssp-version");
	if (e != Error::None) {
		rep.refused = e == Error::LogonDenied || e == Error::PasswordExpired;
		return finish(rep.refused ? 1 : 2);
	}

	if (selected & PROTOCOL_HYBRID_EX) {
		// MS-RDPBCGR 2.2.10.2 Early User Authorization Result PDU.
		rep.stage = "early-auth";
		uint8_t r[4];
		if (!tls_read(ssl.get(), r, 4)) {
			rep.reason = "CredSSP succeeded but the server closed the connection before the Early User "
			             "Authorization Result";
			lap("early-auth");
			return finish(2);
		}
		lap("early-auth");
		const uint32_t result = static_cast<uint32_t>(r[0]) | (static_cast<uint32_t>(r[1]) << 8) |
		                        (static_cast<uint32_t>(r[2]) << 16) | (static_cast<uint32_t>(r[3]) << 24);
		if (result != 0) {
			rep.refused = true;
			char hex[16];
			std::snprintf(hex, sizeof(hex), "0x%08" PRIX32, result);
			rep.reason = std::string("CredSSP succeeded but the server denied access (Early User Authorization "
			                         "Result ") + hex + ")";
			return finish(1);
		}
	}
	rep.stage = "done";
	rep.success = true;
	(void)SSL_shutdown(ssl.get());
	return finish(0);
}
