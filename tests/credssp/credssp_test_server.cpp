// A minimal NLA server for tests: our CREDSSP acceptor behind X.224 + TLS on 127.0.0.1, driven
// through the SSPI table exactly as a server application drives it (AcquireCredentialsHandle with
// a WinPR SAM file, AcceptSecurityContext with the TLS key in NLASSP_SECBUFFER_CREDSSP_PARAMS,
// SECBUFFER_MISSING to read each TSRequest, ASC_REQ_EXTENDED_ERROR tokens sent on failure,
// QueryContextAttributes(NLASSP_ATTR_CREDSSP_DELEGATED_CREDENTIALS) at the end).
//
//   credssp_test_server --port N --cert server.crt --key server.key --sam SAM [--max-version V]
//                       [--min-version V] [--connections K] [--keytab FILE]
//                       [--remote-guard PROOF_SPN] [--absent TEXT]
//
// The acceptor accepts TSRequest versions 2..6 unless told otherwise: it lowers the package's
// default minimum (5) explicitly, so that every client version can be tested against it.
//
// Prints one line per connection on stdout:
//   OK version=6 mechanism=NTLM user=LAB\alice delegated=yes
//   FAIL status=SEC_E_LOGON_DENIED
// With --remote-guard, Remote Credential Guard credentials (TSRemoteGuardCreds, as stock xfreerdp3
// +remoteGuard sends them) are decoded with our decoders and proved with libkrb5 as a server would
// use them (tests/e2e/rcg_proof.c: the host/ ticket decrypted with the keytab, the KRB-CRED read, its
// forwarded TGT used for a ticket to PROOF_SPN); the OK line then ends with
//   remote-guard=alice@LAB.TEST service=host/127.0.0.1@LAB.TEST flags=0x2 krb-cred=unsealed
//   tgt=forwarded proof=HTTP/proof.lab.test@LAB.TEST supplemental=empty
// or "remote-guard=refused(<why>)". With --absent TEXT the line also says whether TEXT (UTF-8 or
// UTF-16LE) occurs anywhere in the decrypted TSCredentials: " text-in-credentials=no".
#include "../e2e/rcg_proof.h"
#include "credssp/messages.h"
#include "kerberos/ticket_logon.h"
#include "nlassp/credssp.h"
#include "sspi/packages.h"
#include "sspi/status.h"
#include "sspi/table.h"
#include "wire/reader.h"
#include "wire/utf16.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

using namespace nlassp;

namespace {

struct Checks {
	std::string keytab;
	std::string proof_spn;   // --remote-guard
	std::string absent;      // --absent
};

bool contains(ByteView hay, ByteView needle)
{
	return !needle.empty() && std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

// " remote-guard=..." for TSRemoteGuardCreds (credType 6) as received.
std::string remote_guard_report(ByteView raw, const Checks& c)
{
	credssp::TsRemoteGuardCreds rg;
	if (!credssp::decode_ts_remote_guard_creds(raw, rg))
		return " remote-guard=refused(malformed TSRemoteGuardCreds)";
	if (rg.logon_cred.package_name != wire::utf16le_bytes(u"Kerberos"))
		return " remote-guard=refused(logonCred is not for the Kerberos package)";
	TicketLogon t;
	if (const Error e = kerberos::decode_ticket_logon(rg.logon_cred.cred_buffer.view(), t); e != Error::None)
		return std::string(" remote-guard=refused(KERB_TICKET_LOGON: ") + error_name(e) + ")";
	rcg_proof proof{};
	if (rcg_prove(c.keytab.empty() ? nullptr : c.keytab.c_str(), t.service_ticket.data(), t.service_ticket.size(),
	              t.ticket_granting_ticket.data(), t.ticket_granting_ticket.size(), c.proof_spn.c_str(), &proof) != 0)
		return std::string(" remote-guard=refused(") + proof.error + ")";
	char flags[16];
	std::snprintf(flags, sizeof(flags), "0x%x", t.flags);
	const std::string supplemental = !rg.has_supplemental              ? "absent"
	                                 : rg.supplemental_creds.empty() ? "empty"
	                                                                 : std::to_string(rg.supplemental_creds.size());
	return std::string(" remote-guard=") + proof.client + " service=" + proof.service + " flags=" + flags +
	       " krb-cred=" + (proof.krb_cred_sealed ? "sealed" : "unsealed") +
	       " tgt=" + (proof.tgt_forwarded ? "forwarded" : "not-forwarded") + " proof=" + proof.proof_service +
	       " supplemental=" + supplemental;
}

bool recv_all(int fd, uint8_t* p, size_t n)
{
	size_t done = 0;
	while (done < n) {
		const ssize_t r = ::recv(fd, p + done, n - done, 0);
		if (r <= 0)
			return false;
		done += static_cast<size_t>(r);
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

bool tls_write(SSL* ssl, const uint8_t* p, size_t n)
{
	size_t w = 0;
	return n == 0 || (SSL_write_ex(ssl, p, n, &w) == 1 && w == n);
}

// X.224 Connection Request in, Connection Confirm selecting PROTOCOL_HYBRID out.
bool x224(int fd)
{
	uint8_t hdr[4];
	if (!recv_all(fd, hdr, 4) || hdr[0] != 3)
		return false;
	const size_t len = (static_cast<size_t>(hdr[2]) << 8) | hdr[3];
	if (len < 7 || len > 4096)
		return false;
	std::vector<uint8_t> body(len - 4);
	if (!recv_all(fd, body.data(), body.size()))
		return false;
	static const uint8_t cc[] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34,
	                             0x00, 0x02, 0x00, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00};
	return ::send(fd, cc, sizeof(cc), MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof(cc));
}

std::string serve(int fd, SSL_CTX* sctx, const std::vector<uint8_t>& params, SecurityFunctionTableA* t,
                  CredHandle* cred, const Checks& checks)
{
	if (!x224(fd))
		return "FAIL x224";
	SSL* ssl = SSL_new(sctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) != 1) {
		SSL_free(ssl);
		return "FAIL tls";
	}
	CtxtHandle ctx{};
	bool have_ctx = false;
	std::string result = "FAIL incomplete";
	const ULONG req = ASC_REQ_MUTUAL_AUTH | ASC_REQ_CONFIDENTIALITY | ASC_REQ_CONNECTION | ASC_REQ_EXTENDED_ERROR |
	                  ASC_REQ_ALLOCATE_MEMORY | ASC_REQ_STREAM;
	std::vector<uint8_t> in;
	for (int round = 0; round < 16; ++round) {
		SECURITY_STATUS s = SEC_E_INCOMPLETE_MESSAGE;
		SecBuffer ob{0, SECBUFFER_TOKEN, nullptr};
		ULONG attrs = 0;
		in.clear();
		ULONG want = 2;
		while (s == SEC_E_INCOMPLETE_MESSAGE) {
			const size_t old = in.size();
			in.resize(old + want);
			if (!tls_read(ssl, in.data() + old, want)) {
				result = round == 0 ? "FAIL read" : result;
				goto done;
			}
			SecBuffer ib[3] = {{static_cast<ULONG>(in.size()), SECBUFFER_TOKEN, in.data()},
			                   {0, SECBUFFER_EMPTY, nullptr},
			                   {static_cast<ULONG>(params.size()), NLASSP_SECBUFFER_CREDSSP_PARAMS,
			                    const_cast<uint8_t*>(params.data())}};
			SecBufferDesc id{SECBUFFER_VERSION, have_ctx ? 2u : 3u, ib};
			SecBufferDesc od{SECBUFFER_VERSION, 1, &ob};
			s = t->AcceptSecurityContext(cred, have_ctx ? &ctx : nullptr, &id, req, SECURITY_NATIVE_DREP, &ctx, &od,
			                             &attrs, nullptr);
			if (s == SEC_E_INCOMPLETE_MESSAGE)
				want = ib[1].BufferType == SECBUFFER_MISSING ? ib[1].cbBuffer : 1;
		}
		if (ob.pvBuffer) {
			(void)tls_write(ssl, static_cast<uint8_t*>(ob.pvBuffer), ob.cbBuffer);
			(void)t->FreeContextBuffer(ob.pvBuffer);
		}
		if (s == SEC_I_CONTINUE_NEEDED) {
			have_ctx = true;
			continue;
		}
		if (s != SEC_E_OK) {
			result = std::string("FAIL status=") + sspi::status_name(s);
			break;
		}
		have_ctx = true;
		NLASSP_CREDSSP_INFO info{};
		NLASSP_CREDSSP_DELEGATED_CREDENTIALS_PTR d{};
		if (t->QueryContextAttributesA(&ctx, NLASSP_ATTR_CREDSSP_INFO, &info) != SEC_E_OK ||
		    t->QueryContextAttributesA(&ctx, NLASSP_ATTR_CREDSSP_DELEGATED_CREDENTIALS, &d) != SEC_E_OK) {
			result = "FAIL query";
			break;
		}
		std::string user, domain;
		(void)wire::utf16_to_utf8(std::u16string_view(reinterpret_cast<const char16_t*>(d.Credentials->User),
		                                              d.Credentials->UserLength),
		                          user);
		(void)wire::utf16_to_utf8(std::u16string_view(reinterpret_cast<const char16_t*>(d.Credentials->Domain),
		                                              d.Credentials->DomainLength),
		                          domain);
		result = "OK version=" + std::to_string(info.Version) + " mechanism=" + info.Mechanism + " user=" + domain +
		         "\\" + user + " delegated=" + (d.Credentials->Empty ? "no" : "yes");
		const ByteView raw(d.Credentials->Raw, d.Credentials->RawLength);
		if (!checks.proof_spn.empty() && d.Credentials->CredType == NLASSP_CREDSSP_CRED_REMOTE_GUARD)
			result += remote_guard_report(raw, checks);
		if (!checks.absent.empty()) {
			std::u16string wide;
			(void)wire::utf8_to_utf16(checks.absent, wide);
			const bool found = contains(raw, as_bytes(checks.absent)) || contains(raw, wire::utf16le_bytes(wide));
			result += std::string(" text-in-credentials=") + (found ? "yes" : "no");
		}
		(void)t->FreeContextBuffer(d.Credentials);
		break;
	}
done:
	if (have_ctx)
		(void)t->DeleteSecurityContext(&ctx);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	return result;
}

} // namespace

int main(int argc, char** argv)
{
	std::string cert, key, sam, keytab;
	Checks checks;
	int port = 0, connections = 1;
	uint32_t max_version = 0, min_version = 2;
	for (int i = 1; i + 1 < argc; i += 2) {
		const std::string o = argv[i];
		if (o == "--port")
			port = std::atoi(argv[i + 1]);
		else if (o == "--cert")
			cert = argv[i + 1];
		else if (o == "--key")
			key = argv[i + 1];
		else if (o == "--sam")
			sam = argv[i + 1];
		else if (o == "--max-version")
			max_version = static_cast<uint32_t>(std::atoi(argv[i + 1]));
		else if (o == "--min-version")
			min_version = static_cast<uint32_t>(std::atoi(argv[i + 1]));
		else if (o == "--keytab")
			keytab = argv[i + 1];
		else if (o == "--connections")
			connections = std::atoi(argv[i + 1]);
		else if (o == "--remote-guard")
			checks.proof_spn = argv[i + 1];
		else if (o == "--absent")
			checks.absent = argv[i + 1];
	}
	checks.keytab = keytab;
	if (!port || cert.empty() || key.empty() || sam.empty()) {
		std::fprintf(stderr, "usage: credssp_test_server --port N --cert C --key K --sam SAM [--max-version V] "
		                     "[--min-version V] [--connections K]\n");
		return 64;
	}
	std::setvbuf(stdout, nullptr, _IOLBF, 0);

	SSL_CTX* sctx = SSL_CTX_new(TLS_server_method());
	if (!sctx || SSL_CTX_use_certificate_file(sctx, cert.c_str(), SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(sctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
		return 2;
	// Our own key, as the acceptor hands it over.
	std::vector<uint8_t> spki;
	{
		FILE* f = std::fopen(cert.c_str(), "r");
		X509* x = f ? PEM_read_X509(f, nullptr, nullptr, nullptr) : nullptr;
		if (f)
			std::fclose(f);
		unsigned char* der = nullptr;
		const int n = x ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der) : 0;
		if (n <= 0)
			return 2;
		spki.assign(der, der + n);
		OPENSSL_free(der);
		X509_free(x);
	}
	NLASSP_CREDSSP_PARAMS p{};
	p.cbSize = sizeof(p);
	p.Version = NLASSP_CREDSSP_PARAMS_VERSION;
	p.MinVersion = min_version;
	p.MaxVersion = max_version;
	p.KeyFormat = NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO;
	p.PublicKeyOffset = sizeof(p);
	p.PublicKeyLength = static_cast<uint32_t>(spki.size());
	std::vector<uint8_t> params(sizeof(p));
	std::memcpy(params.data(), &p, sizeof(p));
	params.insert(params.end(), spki.begin(), spki.end());

	sspi::register_builtin_packages();
	SecurityFunctionTableA* t = sspi::table_a();
	SEC_WINNT_AUTH_IDENTITY_WINPR auth{};
	SEC_WINPR_NTLM_SETTINGS ntlm{};
	SEC_WINPR_KERBEROS_SETTINGS krb{};
	if (!keytab.empty()) {
		krb.keytab = keytab.data();
		auth.kerberosSettings = &krb;
	}
	auth.identity.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
	auth.identity.Length = sizeof(SEC_WINNT_AUTH_IDENTITY_EX);
	auth.identity.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE | SEC_WINNT_AUTH_IDENTITY_EXTENDED;
	auth.ntlmSettings = &ntlm;
	ntlm.samFile = sam.data();
	CredHandle cred{};
	char pkg[] = "CREDSSP";
	if (t->AcquireCredentialsHandleA(nullptr, pkg, SECPKG_CRED_INBOUND, nullptr, &auth, nullptr, nullptr, &cred,
	                                 nullptr) != SEC_E_OK)
		return 2;

	const int ls = ::socket(AF_INET, SOCK_STREAM, 0);
	const int one = 1;
	(void)::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_port = htons(static_cast<uint16_t>(port));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(ls, 4) != 0)
		return 2;
	std::printf("LISTENING %d\n", port);
	for (int i = 0; i < connections; ++i) {
		const int fd = ::accept(ls, nullptr, nullptr);
		if (fd < 0)
			break;
		timeval tv{20, 0};
		(void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		std::printf("%s\n", serve(fd, sctx, params, t, &cred, checks).c_str());
		::close(fd);
	}
	::close(ls);
	(void)t->FreeCredentialsHandle(&cred);
	SSL_CTX_free(sctx);
	return 0;
}
