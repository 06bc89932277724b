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
// Exit status: 0 logged in; 1 the logon was refused (by the server, or by the KDC before anything
// was sent to the server); 2 anything else failed; 64 usage. --version prints the version.
#include "probe.h"

#include "common/version.h"
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
using namespace nlassp::probe;

namespace {

constexpr uint32_t PROTOCOL_SSL = 0x1, PROTOCOL_HYBRID = 0x2, PROTOCOL_HYBRID_EX = 0x8;

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
	             "  --delegate             delegate the password, and fail if there is none (default:\n"
	             "                         delegate it when one is given, else send empty credentials)\n"
	             "  --remote-guard         Remote Credential Guard: send a Kerberos ticket logon (a host/\n"
	             "                         ticket and the forwarded TGT; kinit -f) instead of a password\n"
	             "  --remote-guard-freerdp-compat   with --remote-guard: add the keyless NTLM supplemental\n"
	             "                         credential FreeRDP's servers require (issue 12007)\n"
	             "  --restricted-admin     ask for restricted admin mode; send empty credentials\n"
	             "  --verify               verify the server certificate and host name\n"
	             "  --timeout SECONDS      per network read/write (default 15)\n"
	             "  --module PATH          use CREDSSP through the SSPI table of this module (dlopen,\n"
	             "                         InitSecurityInterfaceA), e.g. libnlassp.so; default: built in\n"
	             "  --json                 one JSON object on stdout\n"
	             "  --version              print the version (and with --module, the module's) and exit\n");
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

// A switch without a value; false when `o` is not one.
bool parse_switch(const std::string& o, Args& a)
{
	if (o == "--json")
		a.json = true;
	else if (o == "--verify")
		a.verify = true;
	else if (o == "--tolerate-freerdp-echo-bug")
		a.tolerate = true;
	else if (o == "--no-delegate")
		a.delegation = probe::Delegation::Never;
	else if (o == "--delegate")
		a.delegation = probe::Delegation::Always;
	else if (o == "--remote-guard")
		a.remote_guard = true;
	else if (o == "--remote-guard-freerdp-compat")
		a.remote_guard = a.remote_guard_compat = true;
	else if (o == "--restricted-admin") {
		a.restricted_admin = true;
		a.delegation = probe::Delegation::Never;
	} else if (o == "--version")
		a.show_version = true;
	else
		return false;
	return true;
}

// An option with its value `v`; false when `o` is not one or `v` is out of range.
bool parse_option(const std::string& o, const char* v, Args& a)
{
	uint32_t n = 0;
	if (o == "--user")
		a.user = v;
	else if (o == "--domain")
		a.domain = v;
	else if (o == "--password")
		a.password = v;
	else if (o == "--ccache")
		a.ccache = v;
	else if (o == "--auth-pkg-list")
		a.package_list = v;
	else if (o == "--module")
		a.module = v;
	else if (o == "--target")
		a.target = v;
	else if (o == "--credssp-version" && parse_uint(v, 2, 6, n))
		a.max_version = n;
	else if (o == "--min-credssp-version" && parse_uint(v, 2, 6, n))
		a.min_version = n;
	else if (o == "--timeout" && parse_uint(v, 1, 3600, n))
		a.timeout = static_cast<int>(n);
	else
		return false;
	return true;
}

// HOST, HOST:PORT or [V6]:PORT; false when malformed.
bool parse_host(const std::string& o, Args& a)
{
	const size_t colon = o.rfind(':');
	if (o.front() == '[') { // [v6]:port
		const size_t close = o.find(']');
		if (close == std::string::npos)
			return false;
		a.host = o.substr(1, close - 1);
		if (close + 1 < o.size() && o[close + 1] == ':')
			a.port = o.substr(close + 2);
	} else if (colon != std::string::npos && o.find(':') == colon) {
		a.host = o.substr(0, colon);
		a.port = o.substr(colon + 1);
	} else {
		a.host = o;
	}
	return true;
}

// What follows from the arguments together: checks, the password from the environment, the
// domain from DOMAIN\user or user@domain, the default target. 0, or 64 for a usage error.
int finish_args(Args& a)
{
	if (a.host.empty() && !a.show_version) {
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

int parse_args(int argc, char** argv, Args& a)
{
	for (int i = 1; i < argc; ++i) {
		const std::string o = argv[i];
		if (o == "--help" || o == "-h") {
			usage(stdout);
			std::exit(0);
		}
		if (parse_switch(o, a))
			continue;
		if (i + 1 < argc && parse_option(o, argv[i + 1], a)) {
			++i;
			continue;
		}
		if (!o.empty() && o[0] != '-' && a.host.empty()) {
			if (!parse_host(o, a))
				return 64;
			continue;
		}
		std::fprintf(stderr, "nlassp-probe: bad argument '%s'\n", o.c_str());
		usage(stderr);
		return 64;
	}
	return finish_args(a);
}

using Clock = std::chrono::steady_clock;

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
	               (probe::wants_delegation(a.delegation, a.password.has_value()) ? ctx::Delegate : 0u);
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
		if (!out.token.empty()) {
			if (!tls_write(ssl, out.token)) {
				net_error = "the server closed the connection while we sent a TSRequest";
				return Error::Internal;
			}
			rep.sent_to_server = true;
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
	return e;
}

// The CREDSSP exchange's ending, judged (outcome.cpp), into the report.
void record_credssp(const Args& a, Error e, const std::optional<credssp::Info>& info, const std::string& net_error,
                    Report& rep)
{
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
	probe::Ending ending;
	ending.error = e;
	ending.info = info ? *info : credssp::Info{};
	ending.sent_to_server = rep.sent_to_server;
	ending.net_error = net_error;
	ending.delegation = a.delegation;
	ending.have_password = a.password.has_value();
	ending.min_version = a.min_version;
	const probe::Verdict verdict = probe::judge(ending);
	rep.reason = verdict.reason;
	rep.delegation = probe::delegation_text(ending);
	rep.refused = verdict.refused;
	rep.refused_by = verdict.refused_by;
}

// MS-RDPBCGR 2.2.10.2 Early User Authorization Result PDU (PROTOCOL_HYBRID_EX). The exit status:
// 0 authorized, 1 the server denied access, 2 no result.
int read_early_auth(SSL* ssl, Report& rep)
{
	uint8_t r[4];
	if (!tls_read(ssl, r, 4)) {
		rep.reason = "CredSSP succeeded but the server closed the connection before the Early User "
		             "Authorization Result";
		return 2;
	}
	const uint32_t result = static_cast<uint32_t>(r[0]) | (static_cast<uint32_t>(r[1]) << 8) |
	                        (static_cast<uint32_t>(r[2]) << 16) | (static_cast<uint32_t>(r[3]) << 24);
	if (result == 0)
		return 0;
	rep.refused = true;
	rep.refused_by = "server";
	char hex[16];
	std::snprintf(hex, sizeof(hex), "0x%08" PRIX32, result);
	rep.reason = std::string("CredSSP succeeded but the server denied access (Early User Authorization Result ") +
	             hex + ")";
	return 1;
}

} // namespace

// ---- shared with module.cpp (probe.h) ---------------------------------------------------------

bool nlassp::probe::tls_write(SSL* ssl, ByteView b)
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

bool nlassp::probe::tls_read(SSL* ssl, uint8_t* p, size_t n)
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

Bytes nlassp::probe::params_buffer(const Args& a, ByteView spki)
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

int main(int argc, char** argv)
{
	Args a;
	if (const int rc = parse_args(argc, argv, a); rc != 0)
		return rc;
	if (a.show_version)
		return print_version(a);
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
	record_credssp(a, e, info, net_error, rep);
	if (e != Error::None)
		return finish(rep.refused ? 1 : 2);

	if (selected & PROTOCOL_HYBRID_EX) {
		rep.stage = "early-auth";
		const int rc = read_early_auth(ssl.get(), rep);
		lap("early-auth");
		if (rc != 0)
			return finish(rc);
	}
	rep.stage = "done";
	rep.success = true;
	(void)SSL_shutdown(ssl.get());
	return finish(0);
}
