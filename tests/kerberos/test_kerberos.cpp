// The Kerberos package against a real MIT KDC (tests/lab/kdc.sh: realm LAB.TEST on 127.0.0.1).
// Initiator and acceptor talk through the SecurityContext interface only.
//
// Test bodies only call helpers and assert: a failing CMocka assertion longjmps past C++
// destructors, so everything with a destructor lives in the global fixture or inside helpers.
#include "kerberos/context.h"
#include "kerberos/gss.h"
#include "kerberos/kerberos.h"

#include <winpr/sspi.h>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

// cmocka 1.1 has no extern "C" guards of its own.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}
// clang-format on

#ifndef NLASSP_KDC_SH
#error "NLASSP_KDC_SH must name tests/lab/kdc.sh"
#endif

using namespace nlassp;

namespace {

constexpr const char* kService = "TERMSRV/localhost@LAB.TEST";
const ContextFlags kRequested = ctx::MutualAuth | ctx::Confidentiality | ctx::Integrity | ctx::SequenceDetect |
                                ctx::ReplayDetect;

struct Lab {
	std::string dir;
	pid_t kdc = -1;
	bool running = false;
};

struct Pair {
	ContextPtr ini;
	ContextPtr acc;
	int tgs_during_accept = -1;
};

// WinPR's built-in Kerberos acceptor (InitSecurityInterfaceExA(0)), as FreeRDP's server uses it.
struct WinprAcceptor {
	SecurityFunctionTableA* table = nullptr;
	CredHandle cred{};
	CtxtHandle ctx{};
	bool have_cred = false;
	bool have_ctx = false;
	std::string keytab;
	SEC_WINPR_KERBEROS_SETTINGS settings{};
	SEC_WINNT_AUTH_IDENTITY_WINPR identity{};
	Bytes output;
	ULONG send_seq = 0;
	ULONG recv_seq = 0;

	WinprAcceptor() = default;
	WinprAcceptor(const WinprAcceptor&) = delete;
	WinprAcceptor& operator=(const WinprAcceptor&) = delete;
	~WinprAcceptor()
	{
		if (have_ctx)
			table->DeleteSecurityContext(&ctx);
		if (have_cred)
			table->FreeCredentialsHandle(&cred);
	}
};

// WinPR's built-in Kerberos initiator, driven as FreeRDP's client drives it.
struct WinprInitiator {
	SecurityFunctionTableA* table = nullptr;
	CredHandle cred{};
	CtxtHandle ctx{};
	bool have_cred = false;
	bool have_ctx = false;
	std::u16string user = u"alice", domain = u"LAB.TEST", password = u"Passw0rd!";
	SEC_WINPR_KERBEROS_SETTINGS settings{};
	SEC_WINPR_NTLM_SETTINGS ntlm{};
	SEC_WINNT_AUTH_IDENTITY_WINPR identity{};
	Bytes output;
	ULONG send_seq = 0;
	ULONG recv_seq = 0;

	WinprInitiator() = default;
	WinprInitiator(const WinprInitiator&) = delete;
	WinprInitiator& operator=(const WinprInitiator&) = delete;
	~WinprInitiator()
	{
		if (have_ctx)
			table->DeleteSecurityContext(&ctx);
		if (have_cred)
			table->FreeCredentialsHandle(&cred);
	}
};

struct Fixture {
	Lab lab;
	Pair pair;
	std::unique_ptr<WinprAcceptor> winpr;
	std::unique_ptr<WinprInitiator> winpr_client;
	Error last = Error::None;
	Bytes scratch;
};
Fixture* g = nullptr;

std::string read_file(const std::string& path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

int run(const std::string& cmd)
{
	int rc = std::system(cmd.c_str());
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool lab_start(Lab& lab)
{
	// Orphans of the shell (krb5kdc) become our children, so we can stop and reap them by pid.
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	char tmpl[] = "/tmp/nlassp-krbtest.XXXXXX";
	if (!mkdtemp(tmpl))
		return false;
	lab.dir = tmpl;
	std::string cmd = "bash -c '_KDC_TRAP_SET=1; . \"" NLASSP_KDC_SH "\" && kdc_setup \"" + lab.dir +
	                  "\" && kdc_start && echo $KDC_PID > \"" + lab.dir + "/pid.txt\"' >\"" + lab.dir +
	                  "/lab.out\" 2>&1";
	if (run(cmd) != 0) {
		std::fprintf(stderr, "KDC setup failed:\n%s\n", read_file(lab.dir + "/lab.out").c_str());
		return false;
	}
	lab.kdc = static_cast<pid_t>(std::atoi(read_file(lab.dir + "/pid.txt").c_str()));
	lab.running = lab.kdc > 0;
	setenv("KRB5_CONFIG", (lab.dir + "/krb5.conf").c_str(), 1);
	setenv("KRB5_KDC_PROFILE", (lab.dir + "/kdc.conf").c_str(), 1);
	setenv("KRB5CCNAME", ("FILE:" + lab.dir + "/user.ccache").c_str(), 1);
	setenv("KRB5_KTNAME", ("FILE:" + lab.dir + "/no-default.keytab").c_str(), 1);
	setenv("KRB5_CLIENT_KTNAME", ("FILE:" + lab.dir + "/no-client.keytab").c_str(), 1);
	return lab.running;
}

void lab_stop_kdc(Lab& lab)
{
	if (!lab.running)
		return;
	(void)kill(lab.kdc, SIGTERM);
	for (int i = 0; i < 200; ++i) {
		if (waitpid(lab.kdc, nullptr, WNOHANG) == lab.kdc || (kill(lab.kdc, 0) != 0 && errno == ESRCH))
			break;
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	if (kill(lab.kdc, 0) == 0) {
		(void)kill(lab.kdc, SIGKILL);
		(void)waitpid(lab.kdc, nullptr, 0);
	}
	lab.running = false;
}

void lab_teardown(Lab& lab)
{
	lab_stop_kdc(lab);
	if (!lab.dir.empty()) {
		std::error_code ec;
		std::filesystem::remove_all(lab.dir, ec);
	}
}

// TGS_REQ lines in the KDC log that issued a ticket for `service`.
int count_tgs(const std::string& service)
{
	std::istringstream log(read_file(g->lab.dir + "/kdc.log"));
	std::string line;
	int n = 0;
	while (std::getline(log, line))
		if (line.find("TGS_REQ") != std::string::npos && line.find("for " + service) != std::string::npos)
			++n;
	return n;
}

int count_kdc_requests()
{
	std::istringstream log(read_file(g->lab.dir + "/kdc.log"));
	std::string line;
	int n = 0;
	while (std::getline(log, line))
		if (line.find("AS_REQ") != std::string::npos || line.find("TGS_REQ") != std::string::npos)
			++n;
	return n;
}

// One kadmin.local query against the lab realm (through kdc.sh, which finds the sbin tools).
bool kdc_admin(const std::string& query)
{
	return run("bash -c '. \"" NLASSP_KDC_SH "\" && KDC_DIR=\"" + g->lab.dir + "\" && kdc_kadmin \"" + query +
	           "\"' >/dev/null 2>&1") == 0;
}

bool kinit(const std::string& ccache, const char* user = "alice")
{
	return run("echo 'Passw0rd!' | KRB5CCNAME='" + ccache + "' kinit " + user + " >/dev/null 2>&1") == 0;
}

SecretBytes utf16le(const char* ascii)
{
	SecretBytes out;
	for (const char* p = ascii; *p; ++p) {
		const uint8_t b[2] = {static_cast<uint8_t>(*p), 0};
		out.append(ByteView(b, 2));
	}
	return out;
}

CredentialPtr password_cred(const char16_t* user, const char16_t* domain, const char* password)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Kerberos;
	c->use = CredentialUse::Outbound;
	Identity id;
	id.user = user;
	id.domain = domain;
	id.password = utf16le(password);
	id.has_password = true;
	c->identity = std::move(id);
	return c;
}

CredentialPtr default_cred(const std::string& cache = "")
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Kerberos;
	c->use = CredentialUse::Outbound;
	c->kerberos.cache = cache;
	return c;
}

CredentialPtr acceptor_cred()
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Kerberos;
	c->use = CredentialUse::Inbound;
	c->kerberos.keytab = g->lab.dir + "/termsrv.keytab";
	return c;
}

// Runs a full login; the result is the first error either side reports.
Error login(const CredentialPtr& ic, const char16_t* target = u"TERMSRV/localhost", ContextFlags req = kRequested,
            const ChannelBindings* ini_cb = nullptr, const ChannelBindings* acc_cb = nullptr)
{
	Pair& p = g->pair;
	p = Pair{};
	Error err = Error::None;
	p.ini = kerberos::create_context(Role::Initiator, ic, err);
	if (err != Error::None)
		return err;
	p.acc = kerberos::create_context(Role::Acceptor, acceptor_cred(), err);
	if (err != Error::None)
		return err;
	Bytes to_acceptor;
	Bytes to_initiator;
	bool ini_done = false;
	bool acc_done = false;
	int accept_requests = 0;
	for (int round = 0; round < 4 && !(ini_done && acc_done); ++round) {
		if (!ini_done) {
			StepInput in;
			in.token = to_initiator;
			in.requested = req;
			in.target = target;
			in.bindings = ini_cb;
			StepOutput out;
			if ((err = p.ini->step(in, out)) != Error::None)
				return err;
			ini_done = out.complete;
			to_acceptor = std::move(out.token);
		}
		if (!acc_done && !to_acceptor.empty()) {
			StepInput in;
			in.token = to_acceptor;
			in.bindings = acc_cb;
			in.requested = ctx::MutualAuth | ctx::Confidentiality | ctx::Connection | ctx::UseSessionKey |
			               ctx::SequenceDetect | ctx::ExtendedError;
			StepOutput out;
			const int before = count_kdc_requests();
			err = p.acc->step(in, out);
			accept_requests += count_kdc_requests() - before;
			if (err != Error::None)
				return err;
			acc_done = out.complete;
			to_initiator = std::move(out.token);
			to_acceptor.clear();
		}
	}
	p.tgs_during_accept = accept_requests;
	if (!(ini_done && acc_done && p.ini->established() && p.acc->established()))
		return Error::Internal;
	return Error::None;
}

bool names_are(const SecurityContext& c, const char16_t* user, const char16_t* domain)
{
	ContextNames n;
	return c.names(n) == Error::None && n.user == user && n.domain == domain;
}

bool session_keys_match()
{
	SecretBytes a, b;
	return g->pair.ini->session_key(a) == Error::None && g->pair.acc->session_key(b) == Error::None && a.size() >= 16 &&
	       constant_time_equal(a.view(), b.view());
}

// Encrypts `text` on `from`, decrypts on `to`; checks the RFC 4121 layout of the token.
bool seal_roundtrip(SecurityContext& from, SecurityContext& to, const std::string& text, bool from_acceptor)
{
	Bytes data(text.begin(), text.end());
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (from.encrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return false;
	// Header: TOK_ID 05 04, flags (sealed, sender), filler FF, EC 0, RRC = 16 + trailer, and the
	// token is exactly what sizes() promised (60 bytes with AES: 16 + 16 + 12 + 16).
	if (token.size() != from.sizes().security_trailer || token.size() < 16)
		return false;
	if (token[0] != 0x05 || token[1] != 0x04 || token[3] != 0xff || token[4] != 0 || token[5] != 0)
		return false;
	if (((token[2] & 0x01) != 0) != from_acceptor || (token[2] & 0x02) == 0)
		return false;
	const size_t rrc = static_cast<size_t>(token[6] << 8 | token[7]);
	if (rrc != token.size() - 16 - 16)   // rotated: E(header) + checksum precede the confounder
		return false;
	if (std::string(data.begin(), data.end()) == text && !text.empty())
		return false;   // not encrypted in place
	if (to.decrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return false;
	return std::string(data.begin(), data.end()) == text;
}

Error tamper_decrypt(size_t flip_data_byte, bool flip_token)
{
	std::string text = "public key echo";
	Bytes data(text.begin(), text.end());
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (g->pair.ini->encrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return Error::Internal;
	if (flip_token)
		token[token.size() - 1] ^= 0x01;
	else
		data[flip_data_byte % data.size()] ^= 0x80;
	return g->pair.acc->decrypt(std::span<MessageBuffer>(&mb, 1), token);
}

Error replay_decrypt()
{
	std::string text = "TSCredentials";
	Bytes data(text.begin(), text.end());
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (g->pair.ini->encrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return Error::Internal;
	const Bytes sealed = data;
	if (g->pair.acc->decrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return Error::Internal;
	data = sealed;
	MessageBuffer again{MessageBufferKind::Data, MutableByteView(data)};
	return g->pair.acc->decrypt(std::span<MessageBuffer>(&again, 1), token);
}

Error seal_once()
{
	std::string text = "next message";
	Bytes data(text.begin(), text.end());
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (g->pair.ini->encrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return Error::Internal;
	return g->pair.acc->decrypt(std::span<MessageBuffer>(&mb, 1), token);
}

Error sign_verify(bool tamper)
{
	std::string text = "signed";
	Bytes data(text.begin(), text.end());
	const MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (g->pair.acc->sign(std::span<const MessageBuffer>(&mb, 1), token) != Error::None)
		return Error::Internal;
	if (token.size() != g->pair.acc->sizes().max_signature)
		return Error::Internal;
	if (tamper)
		data[0] ^= 1;
	return g->pair.ini->verify(std::span<const MessageBuffer>(&mb, 1), token);
}

Error negotiation_mic(bool tamper)
{
	const Bytes mech_types = {0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
	Bytes mic;
	if (g->pair.ini->make_negotiation_mic(mech_types, mic) != Error::None)
		return Error::Internal;
	Bytes other = mech_types;
	if (tamper)
		other[4] ^= 1;
	return g->pair.acc->verify_negotiation_mic(other, mic);
}

// Our initiator against WinPR's Kerberos acceptor; true when both sides are established.
bool winpr_login()
{
	g->winpr = std::make_unique<WinprAcceptor>();
	WinprAcceptor& w = *g->winpr;
	w.table = InitSecurityInterfaceExA(0);
	if (!w.table)
		return false;
	w.keytab = g->lab.dir + "/termsrv.keytab";
	w.settings.keytab = w.keytab.data();
	w.identity.identity.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
	w.identity.identity.Length = sizeof(SEC_WINNT_AUTH_IDENTITY_EXW);
	w.identity.identity.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE | SEC_WINNT_AUTH_IDENTITY_EXTENDED;
	w.identity.kerberosSettings = &w.settings;
	char package[] = "Kerberos";
	if (w.table->AcquireCredentialsHandleA(nullptr, package, SECPKG_CRED_INBOUND, nullptr, &w.identity, nullptr,
	                                       nullptr, &w.cred, nullptr) != SEC_E_OK)
		return false;
	w.have_cred = true;

	Error err = Error::None;
	g->pair = Pair{};
	g->pair.ini = kerberos::create_context(Role::Initiator, password_cred(u"alice", u"LAB.TEST", "Passw0rd!"), err);
	if (!g->pair.ini)
		return false;
	StepInput in;
	in.target = u"TERMSRV/localhost";
	in.requested = kRequested;
	StepOutput out;
	if (g->pair.ini->step(in, out) != Error::None || out.complete)
		return false;

	Bytes ap_req = std::move(out.token);
	SecBuffer ib{static_cast<ULONG>(ap_req.size()), SECBUFFER_TOKEN, ap_req.data()};
	SecBufferDesc idesc{SECBUFFER_VERSION, 1, &ib};
	w.output.assign(48000, 0);
	SecBuffer ob{static_cast<ULONG>(w.output.size()), SECBUFFER_TOKEN, w.output.data()};
	SecBufferDesc odesc{SECBUFFER_VERSION, 1, &ob};
	ULONG attrs = 0;
	SECURITY_STATUS st = w.table->AcceptSecurityContext(
	    &w.cred, nullptr, &idesc,
	    ASC_REQ_MUTUAL_AUTH | ASC_REQ_CONFIDENTIALITY | ASC_REQ_CONNECTION | ASC_REQ_USE_SESSION_KEY |
	        ASC_REQ_SEQUENCE_DETECT | ASC_REQ_EXTENDED_ERROR,
	    SECURITY_NATIVE_DREP, &w.ctx, &odesc, &attrs, nullptr);
	if (st != SEC_E_OK)
		return false;
	w.have_ctx = true;

	StepInput in2;
	in2.token = ByteView(w.output.data(), ob.cbBuffer);
	in2.requested = kRequested;
	in2.target = u"TERMSRV/localhost";
	StepOutput out2;
	return g->pair.ini->step(in2, out2) == Error::None && out2.complete && out2.token.empty();
}

// We encrypt, WinPR's DecryptMessage must recover the text.
bool winpr_decrypts_ours(const std::string& text)
{
	WinprAcceptor& w = *g->winpr;
	Bytes data(text.begin(), text.end());
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (g->pair.ini->encrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return false;
	SecBuffer b[2] = {{static_cast<ULONG>(token.size()), SECBUFFER_TOKEN, token.data()},
	                  {static_cast<ULONG>(data.size()), SECBUFFER_DATA, data.data()}};
	SecBufferDesc desc{SECBUFFER_VERSION, 2, b};
	ULONG qop = 0;
	if (w.table->DecryptMessage(&w.ctx, &desc, w.recv_seq++, &qop) != SEC_E_OK)
		return false;
	return std::string(data.begin(), data.end()) == text;
}

// WinPR's EncryptMessage (token sized by its cbSecurityTrailer, as FreeRDP does); we decrypt.
bool we_decrypt_winpr(const std::string& text)
{
	WinprAcceptor& w = *g->winpr;
	SecPkgContext_Sizes sizes{};
	if (w.table->QueryContextAttributesA(&w.ctx, SECPKG_ATTR_SIZES, &sizes) != SEC_E_OK)
		return false;
	if (sizes.cbSecurityTrailer != g->pair.ini->sizes().security_trailer)
		return false;
	Bytes token(sizes.cbSecurityTrailer, 0);
	Bytes data(text.begin(), text.end());
	SecBuffer b[2] = {{static_cast<ULONG>(token.size()), SECBUFFER_TOKEN, token.data()},
	                  {static_cast<ULONG>(data.size()), SECBUFFER_DATA, data.data()}};
	SecBufferDesc desc{SECBUFFER_VERSION, 2, b};
	if (w.table->EncryptMessage(&w.ctx, 0, &desc, w.send_seq++) != SEC_E_OK)
		return false;
	token.resize(b[0].cbBuffer);
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	if (g->pair.ini->decrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return false;
	return std::string(data.begin(), data.end()) == text;
}

// WinPR's initiator (FreeRDP's flags: MUTUAL_AUTH | CONFIDENTIALITY) against our acceptor.
bool winpr_client_login()
{
	g->winpr_client = std::make_unique<WinprInitiator>();
	WinprInitiator& w = *g->winpr_client;
	w.table = InitSecurityInterfaceExA(0);
	if (!w.table)
		return false;
	auto& ex = w.identity.identity;
	ex.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
	ex.Length = sizeof(SEC_WINNT_AUTH_IDENTITY_EXW);
	ex.User = reinterpret_cast<UINT16*>(w.user.data());
	ex.UserLength = static_cast<UINT32>(w.user.size());
	ex.Domain = reinterpret_cast<UINT16*>(w.domain.data());
	ex.DomainLength = static_cast<UINT32>(w.domain.size());
	ex.Password = reinterpret_cast<UINT16*>(w.password.data());
	ex.PasswordLength = static_cast<UINT32>(w.password.size());
	ex.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE | SEC_WINNT_AUTH_IDENTITY_EXTENDED;
	w.identity.kerberosSettings = &w.settings;
	w.identity.ntlmSettings = &w.ntlm;
	char package[] = "Kerberos";
	if (w.table->AcquireCredentialsHandleA(nullptr, package, SECPKG_CRED_OUTBOUND, nullptr, &w.identity, nullptr,
	                                       nullptr, &w.cred, nullptr) != SEC_E_OK)
		return false;
	w.have_cred = true;

	Error err = Error::None;
	g->pair = Pair{};
	g->pair.acc = kerberos::create_context(Role::Acceptor, acceptor_cred(), err);
	if (!g->pair.acc)
		return false;

	char target[] = "TERMSRV/localhost";
	ULONG attrs = ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY;
	w.output.assign(48000, 0);
	SecBuffer ob{static_cast<ULONG>(w.output.size()), SECBUFFER_TOKEN, w.output.data()};
	SecBufferDesc odesc{SECBUFFER_VERSION, 1, &ob};
	SECURITY_STATUS st = w.table->InitializeSecurityContextA(&w.cred, nullptr, target, attrs, 0, SECURITY_NATIVE_DREP,
	                                                         nullptr, 0, &w.ctx, &odesc, &attrs, nullptr);
	if (st != SEC_I_CONTINUE_NEEDED)
		return false;
	w.have_ctx = true;

	StepInput in;
	in.token = ByteView(w.output.data(), ob.cbBuffer);
	in.requested = ctx::MutualAuth | ctx::Confidentiality | ctx::Connection | ctx::UseSessionKey |
	               ctx::SequenceDetect | ctx::ExtendedError;
	StepOutput out;
	if (g->pair.acc->step(in, out) != Error::None || !out.complete || out.token.empty())
		return false;

	Bytes ap_rep = std::move(out.token);
	SecBuffer ib{static_cast<ULONG>(ap_rep.size()), SECBUFFER_TOKEN, ap_rep.data()};
	SecBufferDesc idesc{SECBUFFER_VERSION, 1, &ib};
	ob = SecBuffer{static_cast<ULONG>(w.output.size()), SECBUFFER_TOKEN, w.output.data()};
	st = w.table->InitializeSecurityContextA(&w.cred, &w.ctx, target, attrs, 0, SECURITY_NATIVE_DREP, &idesc, 0,
	                                         &w.ctx, &odesc, &attrs, nullptr);
	return st == SEC_E_OK && names_are(*g->pair.acc, u"alice", u"LAB.TEST");
}

// WinPR's client encrypts (as FreeRDP's nla.c does), our acceptor decrypts, and back.
bool winpr_client_exchange(const std::string& text)
{
	WinprInitiator& w = *g->winpr_client;
	SecPkgContext_Sizes sizes{};
	if (w.table->QueryContextAttributesA(&w.ctx, SECPKG_ATTR_SIZES, &sizes) != SEC_E_OK)
		return false;
	Bytes token(sizes.cbSecurityTrailer, 0);
	Bytes data(text.begin(), text.end());
	SecBuffer b[2] = {{static_cast<ULONG>(token.size()), SECBUFFER_TOKEN, token.data()},
	                  {static_cast<ULONG>(data.size()), SECBUFFER_DATA, data.data()}};
	SecBufferDesc desc{SECBUFFER_VERSION, 2, b};
	if (w.table->EncryptMessage(&w.ctx, 0, &desc, w.send_seq++) != SEC_E_OK)
		return false;
	token.resize(b[0].cbBuffer);
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	if (g->pair.acc->decrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return false;
	if (std::string(data.begin(), data.end()) != text)
		return false;

	Bytes reply_token;
	if (g->pair.acc->encrypt(std::span<MessageBuffer>(&mb, 1), reply_token) != Error::None)
		return false;
	SecBuffer r[2] = {{static_cast<ULONG>(reply_token.size()), SECBUFFER_TOKEN, reply_token.data()},
	                  {static_cast<ULONG>(data.size()), SECBUFFER_DATA, data.data()}};
	SecBufferDesc rdesc{SECBUFFER_VERSION, 2, r};
	ULONG qop = 0;
	if (w.table->DecryptMessage(&w.ctx, &rdesc, w.recv_seq++, &qop) != SEC_E_OK)
		return false;
	return std::string(data.begin(), data.end()) == text;
}

// ---------------------------------------------------------------------------------------------

int group_setup(void** state)
{
	g = new Fixture;
	*state = g;
	return lab_start(g->lab) ? 0 : -1;
}

int group_teardown(void**)
{
	if (g) {
		g->pair = Pair{};
		g->winpr.reset();
		g->winpr_client.reset();
		lab_teardown(g->lab);
		delete g;
		g = nullptr;
	}
	return 0;
}

void test_principal_names(void**)
{
	std::string p;
	assert_true(kerberos::client_principal("alice", "lab.test", "OTHER.TEST", p));
	assert_string_equal(p.c_str(), "alice@LAB.TEST");
	assert_true(kerberos::client_principal("alice@lab.test", "IGNORED", "", p));
	assert_string_equal(p.c_str(), "alice@LAB.TEST");
	assert_true(kerberos::client_principal("LAB\\alice", "", "LAB.TEST", p));
	assert_string_equal(p.c_str(), "alice@LAB.TEST");
	assert_true(kerberos::client_principal("alice", "", "LAB.TEST", p));
	assert_string_equal(p.c_str(), "alice@LAB.TEST");
	assert_true(kerberos::client_principal("alice", "corp", "LAB.TEST", p));
	assert_string_equal(p.c_str(), "alice@CORP");
	assert_false(kerberos::client_principal("alice", "", "", p));
	assert_false(kerberos::client_principal("", "LAB.TEST", "LAB.TEST", p));

	// A UPN whose suffix is not the realm: the enterprise name of the domain's (or default) realm.
	assert_true(kerberos::client_principal("alice@corp.example", "", "LAB.TEST", p));
	assert_string_equal(p.c_str(), "alice\\@corp.example@LAB.TEST");
	assert_true(kerberos::enterprise_principal(p));
	assert_true(kerberos::client_principal("alice@corp.example", "LAB", "LAB.TEST", p));
	assert_string_equal(p.c_str(), "alice\\@corp.example@LAB.TEST");
	assert_true(kerberos::client_principal("alice@corp.example", "other.test", "LAB.TEST", p));
	assert_string_equal(p.c_str(), "alice\\@corp.example@OTHER.TEST");
	assert_true(kerberos::client_principal("a/b@corp.example", "", "LAB.TEST", p));
	assert_string_equal(p.c_str(), "a\\/b\\@corp.example@LAB.TEST");
	// Realms stay realms: the realm itself in any case, one written in capitals, one krb5.conf lists,
	// a single-label suffix, and no realm to ask the UPN of.
	assert_true(kerberos::client_principal("alice@lab.test", "", "LAB.TEST", p));
	assert_string_equal(p.c_str(), "alice@LAB.TEST");
	assert_true(kerberos::client_principal("alice@CORP.EXAMPLE", "", "LAB.TEST", p));
	assert_string_equal(p.c_str(), "alice@CORP.EXAMPLE");
	assert_true(kerberos::client_principal("alice@corp.example", "", "LAB.TEST", p, {"LAB.TEST", "CORP.EXAMPLE"}));
	assert_string_equal(p.c_str(), "alice@CORP.EXAMPLE");
	assert_true(kerberos::client_principal("alice@corp", "", "LAB.TEST", p));
	assert_string_equal(p.c_str(), "alice@CORP");
	assert_true(kerberos::client_principal("alice@corp.example", "", "", p));
	assert_string_equal(p.c_str(), "alice@CORP.EXAMPLE");
	assert_false(kerberos::enterprise_principal("alice@LAB.TEST"));
	assert_false(kerberos::enterprise_principal("host/h@LAB.TEST"));
	assert_false(kerberos::enterprise_principal("a\\\\@LAB.TEST"));   // an escaped backslash, then the realm
	assert_false(kerberos::enterprise_principal("alice@LAB\\@X"));     // '@' escaped in the realm only
	assert_false(kerberos::enterprise_principal(""));
	assert_false(kerberos::enterprise_principal("\\"));

	kerberos::TargetName t;
	assert_true(kerberos::target_name("TERMSRV/host.lab.test", t));
	assert_true(t.hostbased);
	assert_string_equal(t.name.c_str(), "TERMSRV@host.lab.test");
	assert_true(kerberos::target_name("TERMSRV/host:3389", t));
	assert_string_equal(t.name.c_str(), "TERMSRV@host");
	assert_true(kerberos::target_name("HTTP/gw.lab.test@LAB.TEST", t));
	assert_false(t.hostbased);
	assert_false(kerberos::target_name("", t));
	assert_false(kerberos::target_name("/host", t));

	std::string user, realm;
	kerberos::split_principal("al\\@ice@LAB.TEST", user, realm);
	assert_string_equal(user.c_str(), "al\\@ice");
	assert_string_equal(realm.c_str(), "LAB.TEST");
}

void test_error_mapping(void**)
{
	using kerberos::gss::map_gss;
	using kerberos::gss::map_krb5;
	assert_int_equal(map_krb5(KRB5KDC_ERR_PREAUTH_FAILED), Error::LogonDenied);
	assert_int_equal(map_krb5(KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN), Error::LogonDenied);
	assert_int_equal(map_krb5(KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN), Error::TargetUnknown);
	assert_int_equal(map_krb5(KRB5KRB_AP_ERR_SKEW), Error::TimeSkew);
	assert_int_equal(map_krb5(KRB5_KDC_UNREACH), Error::NoAuthority);
	assert_int_equal(map_krb5(KRB5_REALM_UNKNOWN), Error::NoAuthority);
	assert_int_equal(map_krb5(KRB5_REALM_CANT_RESOLVE), Error::NoAuthority);
	assert_int_equal(map_krb5(KRB5KDC_ERR_KEY_EXP), Error::PasswordExpired);
	assert_int_equal(map_krb5(KRB5_FCC_NOFILE), Error::NoCredentials);
	assert_int_equal(map_krb5(ASN1_BAD_ID), Error::InvalidToken);
	assert_int_equal(map_gss(GSS_S_BAD_SIG, 0), Error::MessageAltered);
	assert_int_equal(map_gss(GSS_S_DEFECTIVE_TOKEN, 0), Error::InvalidToken);
	assert_int_equal(map_gss(GSS_S_NO_CRED, 0), Error::NoCredentials);
	assert_int_equal(map_gss(GSS_S_FAILURE, static_cast<OM_uint32>(KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN)), Error::TargetUnknown);
	assert_int_equal(kerberos::gss::map_supplementary(GSS_S_COMPLETE | GSS_S_DUPLICATE_TOKEN), Error::OutOfSequence);
	assert_int_equal(kerberos::gss::map_supplementary(GSS_S_COMPLETE | GSS_S_GAP_TOKEN), Error::OutOfSequence);
	assert_int_equal(kerberos::gss::map_supplementary(GSS_S_COMPLETE), Error::None);
}

// The krbtgt ticket in `cache`: its lifetime in seconds, or -1.
long tgt_lifetime(const std::string& cache)
{
	krb5_context k = nullptr;
	if (krb5_init_context(&k) != 0)
		return -1;
	long life = -1;
	krb5_ccache cc = nullptr;
	krb5_cc_cursor cur = nullptr;
	if (krb5_cc_resolve(k, cache.c_str(), &cc) == 0 && krb5_cc_start_seq_get(k, cc, &cur) == 0) {
		krb5_creds c;
		while (krb5_cc_next_cred(k, cc, &cur, &c) == 0) {
			if (c.server && c.server->length == 2 && c.server->data[0].length == 6 &&
			    std::memcmp(c.server->data[0].data, "krbtgt", 6) == 0)
				life = static_cast<long>(c.times.endtime) - static_cast<long>(c.times.starttime ? c.times.starttime : c.times.authtime);
			krb5_free_cred_contents(k, &c);
		}
		(void)krb5_cc_end_seq_get(k, cc, &cur);
	}
	if (cc)
		(void)krb5_cc_close(k, cc);
	krb5_free_context(k);
	return life;
}

CredentialPtr password_into_named_cache(const std::string& cache, int32_t life)
{
	auto c = std::make_shared<Credential>(*password_cred(u"alice", u"LAB.TEST", "Passw0rd!"));
	c->kerberos.cache = cache;
	c->kerberos.life_time = life;
	return c;
}

void test_password_into_named_cache_with_lifetime(void**)
{
	// kerberosSettings.cache names a cache: the password logon's tickets go there (asked for), with
	// the ticket lifetime of kerberosSettings.lifeTime.
	const std::string cache = "FILE:" + g->lab.dir + "/named.ccache";
	assert_int_equal(login(password_into_named_cache(cache, 1800)), Error::None);
	const long life = tgt_lifetime(cache);
	assert_true(life > 0 && life <= 1800);
}

void test_password_login(void**)
{
	const int tgs_before = count_tgs(kService);
	assert_int_equal(login(password_cred(u"alice", u"LAB.TEST", "Passw0rd!")), Error::None);
	// Kerberos (not a fallback) did the work: one service ticket was issued, by one TGS_REQ.
	assert_int_equal(count_tgs(kService) - tgs_before, 1);
	// The acceptor never talks to the KDC.
	assert_int_equal(g->pair.tgs_during_accept, 0);
	assert_true(names_are(*g->pair.acc, u"alice", u"LAB.TEST"));
	assert_true(names_are(*g->pair.ini, u"alice", u"LAB.TEST"));
	assert_true(g->pair.ini->flags() & ctx::MutualAuth);
	assert_true(g->pair.ini->flags() & ctx::Confidentiality);
	assert_true(g->pair.acc->flags() & ctx::SequenceDetect);
	assert_int_equal(g->pair.ini->package(), PackageId::Kerberos);
	assert_int_equal(g->pair.ini->sizes().max_token, 48000);
	assert_int_equal(g->pair.ini->sizes().security_trailer, 60);   // AES: 16 + 16 + 12 + 16
	assert_int_equal(g->pair.ini->sizes().max_signature, 28);      // 16 + 12
	assert_true(session_keys_match());
}

void test_delegation_flag_passes_through(void**)
{
	// Without Delegate nothing is delegated; with it (forwardable TGT) both sides report it.
	assert_int_equal(login(password_cred(u"alice", u"LAB.TEST", "Passw0rd!")), Error::None);
	assert_false(g->pair.acc->flags() & ctx::Delegate);
	assert_int_equal(login(password_cred(u"alice", u"LAB.TEST", "Passw0rd!"), u"TERMSRV/localhost",
	                       kRequested | ctx::Delegate),
	                 Error::None);
	assert_true(g->pair.ini->flags() & ctx::Delegate);
	assert_true(g->pair.acc->flags() & ctx::Delegate);
}

CredentialPtr user_without_password(const char16_t* user)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Kerberos;
	c->use = CredentialUse::Outbound;
	Identity id;
	id.user = user;
	id.domain = u"LAB.TEST";
	c->identity = std::move(id);
	return c;
}

void test_user_without_password_uses_ccache(void**)
{
	// A user name and no password: that user's ticket from the default ccache (KRB5CCNAME).
	assert_true(kinit("FILE:" + g->lab.dir + "/user.ccache"));
	assert_int_equal(login(user_without_password(u"alice")), Error::None);
	assert_true(names_are(*g->pair.acc, u"alice", u"LAB.TEST"));
	// An empty password is no password (FreeRDP's prompt answered with Enter after kinit): the
	// ticket, not an AS exchange the KDC would refuse.
	assert_int_equal(login(password_cred(u"alice", u"LAB.TEST", "")), Error::None);
	// Another user's name does not borrow alice's ticket.
	assert_int_equal(login(user_without_password(u"carol")), Error::NoCredentials);
	assert_int_equal(login(password_cred(u"carol", u"LAB.TEST", "")), Error::NoCredentials);
	std::filesystem::remove(g->lab.dir + "/user.ccache");
}

Error login_with_bindings(const char* client_end_point, const char* server_end_point)
{
	ChannelBindings a, b;
	const std::string x = std::string("tls-server-end-point:") + client_end_point;
	const std::string y = std::string("tls-server-end-point:") + server_end_point;
	a.application_data.assign(x.begin(), x.end());
	b.application_data.assign(y.begin(), y.end());
	return login(password_cred(u"alice", u"LAB.TEST", "Passw0rd!"), u"TERMSRV/localhost", kRequested, &a, &b);
}

void test_channel_bindings(void**)
{
	assert_int_equal(login_with_bindings("hash-1", "hash-1"), Error::None);
	assert_int_equal(login_with_bindings("hash-1", "hash-2"), Error::BadBindings);
}

void test_user_name_forms(void**)
{
	assert_int_equal(login(password_cred(u"alice@lab.test", u"", "Passw0rd!")), Error::None);
	assert_int_equal(login(password_cred(u"LAB\\alice", u"", "Passw0rd!")), Error::None);
	assert_int_equal(login(password_cred(u"alice", u"", "Passw0rd!")), Error::None);   // default realm
}

void test_message_protection(void**)
{
	assert_int_equal(login(password_cred(u"alice", u"LAB.TEST", "Passw0rd!")), Error::None);
	assert_true(seal_roundtrip(*g->pair.ini, *g->pair.acc, "client to server", false));
	assert_true(seal_roundtrip(*g->pair.acc, *g->pair.ini, "server to client", true));
	assert_true(seal_roundtrip(*g->pair.ini, *g->pair.acc, std::string(5000, 'x'), false));
	assert_int_equal(replay_decrypt(), Error::OutOfSequence);
	assert_int_equal(sign_verify(false), Error::None);
	assert_int_equal(sign_verify(true), Error::MessageAltered);
	// Tampered messages never verify (each leaves a gap in the acceptor's sequence, so last).
	assert_int_equal(tamper_decrypt(3, false), Error::MessageAltered);
	assert_int_equal(tamper_decrypt(0, true), Error::MessageAltered);
	// The message after a lost (tampered) one is out of sequence: SSPI's SEQUENCE_DETECT.
	assert_int_equal(seal_once(), Error::OutOfSequence);
}

void test_negotiation_mic(void**)
{
	assert_int_equal(login(password_cred(u"alice", u"LAB.TEST", "Passw0rd!")), Error::None);
	assert_int_equal(negotiation_mic(false), Error::None);
	assert_int_equal(negotiation_mic(true), Error::DowngradeDetected);
}

void test_protection_before_established(void**)
{
	Error err = Error::None;
	g->pair = Pair{};
	g->pair.acc = kerberos::create_context(Role::Acceptor, acceptor_cred(), err);
	assert_int_equal(err, Error::None);
	g->scratch = Bytes(16, 0);
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(g->scratch)};
	assert_int_equal(g->pair.acc->decrypt(std::span<MessageBuffer>(&mb, 1), g->scratch), Error::NotEstablished);
}

void test_garbage_first_token_is_invalid(void**)
{
	Error err = Error::None;
	g->pair = Pair{};
	g->pair.acc = kerberos::create_context(Role::Acceptor, acceptor_cred(), err);
	assert_int_equal(err, Error::None);
	g->scratch = {0x60, 0x05, 0x06, 0x03, 0x2a, 0x03, 0x04};
	StepInput in;
	in.token = g->scratch;
	StepOutput out;
	err = g->pair.acc->step(in, out);
	assert_int_equal(err, Error::InvalidToken);
	assert_true(out.token.empty());
}

void test_wrong_password_is_logon_denied(void**)
{
	assert_int_equal(login(password_cred(u"alice", u"LAB.TEST", "wrong")), Error::LogonDenied);
}

void test_unknown_user_is_logon_denied(void**)
{
	assert_int_equal(login(password_cred(u"mallory", u"LAB.TEST", "Passw0rd!")), Error::LogonDenied);
}

void test_unknown_service_is_target_unknown(void**)
{
	assert_int_equal(login(password_cred(u"alice", u"LAB.TEST", "Passw0rd!"), u"TERMSRV/nosuchhost.lab.test"),
	                 Error::TargetUnknown);
}

void test_user_ccache_untouched_by_password_login(void**)
{
	// Issue 4363: a password login must not overwrite the user's own credential cache.
	const std::string path = g->lab.dir + "/user.ccache";
	assert_true(kinit("FILE:" + path));
	g->scratch = Bytes();
	const std::string before = read_file(path);
	assert_false(before.empty());
	assert_int_equal(login(password_cred(u"alice", u"LAB.TEST", "Passw0rd!")), Error::None);
	assert_true(read_file(path) == before);
	std::filesystem::remove(path);
}

void test_ccache_login_without_identity(void**)
{
	const std::string cache = "FILE:" + g->lab.dir + "/kinit.ccache";
	assert_true(kinit(cache));
	int tgs = count_tgs(kService);
	// No identity at all: the ticket comes from the named ccache (kerberosSettings.cache).
	assert_int_equal(login(default_cred(cache)), Error::None);
	assert_true(count_tgs(kService) - tgs <= 1);
	assert_true(names_are(*g->pair.acc, u"alice", u"LAB.TEST"));
	// The service ticket is now cached: the next login needs no KDC round trip at all.
	tgs = count_tgs(kService);
	assert_int_equal(login(default_cred(cache)), Error::None);
	assert_int_equal(count_tgs(kService) - tgs, 0);

	// The default ccache (KRB5CCNAME), no identity.
	const std::string user_cache = g->lab.dir + "/user.ccache";
	assert_true(kinit("FILE:" + user_cache));
	tgs = count_tgs(kService);
	assert_int_equal(login(default_cred()), Error::None);
	assert_true(count_tgs(kService) - tgs <= 1);
	std::filesystem::remove(user_cache);
}

// A ccache whose recorded KDC time offset is an hour off: the client's authenticator is an hour
// ahead of the acceptor's clock. The service ticket is already cached, so only the acceptor judges.
bool skewed_ccache(const std::string& path)
{
	if (!kinit("FILE:" + path) ||
	    run("KRB5CCNAME='FILE:" + path + "' kvno TERMSRV/localhost >/dev/null 2>&1") != 0)
		return false;
	std::string bytes = read_file(path);
	// FILE ccache v4: 05 04, header length, tag 1 (KDC time offset) of 8 bytes: seconds, micros.
	if (bytes.size() < 16 || bytes[0] != 0x05 || bytes[1] != 0x04 || bytes[4] != 0 || bytes[5] != 1)
		return false;
	const uint32_t offset = 3600;
	bytes[8] = static_cast<char>(offset >> 24);
	bytes[9] = static_cast<char>(offset >> 16);
	bytes[10] = static_cast<char>(offset >> 8);
	bytes[11] = static_cast<char>(offset);
	std::ofstream f(path, std::ios::binary | std::ios::trunc);
	f << bytes;
	return f.good();
}

void test_clock_skew_is_time_skew(void**)
{
	assert_true(skewed_ccache(g->lab.dir + "/skewed.ccache"));
	assert_int_equal(login(default_cred("FILE:" + g->lab.dir + "/skewed.ccache")), Error::TimeSkew);
}

void test_expired_password_is_password_expired(void**)
{
	assert_true(kdc_admin("addprinc -pw Passw0rd! -pwexpire 2000-01-01 bob"));
	assert_int_equal(login(password_cred(u"bob", u"LAB.TEST", "Passw0rd!")), Error::PasswordExpired);
}

// Writes a krb5.conf whose LAB.TEST KDC is a dead port (1) and points KRB5_CONFIG at it; the real
// KDC's "127.0.0.1:port" goes to g->scratch as text.
bool use_dead_kdc_config()
{
	std::string conf = read_file(g->lab.dir + "/krb5.conf");
	const std::string key = "kdc = 127.0.0.1:";
	const size_t at = conf.find(key);
	if (at == std::string::npos)
		return false;
	const size_t end = conf.find('\n', at);
	const std::string real = conf.substr(at + 6, end - at - 6);
	conf.replace(at, end - at, "kdc = 127.0.0.1:1");
	{
		std::ofstream f(g->lab.dir + "/dead-krb5.conf");
		f << conf;
	}
	g->scratch.assign(real.begin(), real.end());
	setenv("KRB5_CONFIG", (g->lab.dir + "/dead-krb5.conf").c_str(), 1);
	return true;
}

void restore_config()
{
	setenv("KRB5_CONFIG", (g->lab.dir + "/krb5.conf").c_str(), 1);
}

CredentialPtr with_kdc_url(CredentialPtr base, bool as_proxy_attribute)
{
	auto c = std::make_shared<Credential>(*base);
	const std::string url = "tcp://" + std::string(g->scratch.begin(), g->scratch.end());
	if (as_proxy_attribute)
		c->kdc_proxy_server = url;
	else
		c->kerberos.kdc_url = url;
	return c;
}

Error login_dead_config(bool kdc_url, bool proxy_attribute, const std::string& cache)
{
	if (!use_dead_kdc_config())
		return Error::Internal;
	CredentialPtr c = cache.empty() ? password_cred(u"alice", u"LAB.TEST", "Passw0rd!") : default_cred(cache);
	if (kdc_url)
		c = with_kdc_url(c, proxy_attribute);
	Error e = login(c);
	restore_config();
	return e;
}

void test_kdc_url_is_honoured_per_context(void**)
{
	// krb5.conf names a dead KDC: without a KDC URL the logon cannot work...
	assert_int_equal(login_dead_config(false, false, ""), Error::NoAuthority);
	// ...with /kerberos:kdc-url (or SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS) every exchange (AS and
	// TGS) goes to the given KDC, for this logon only.
	int tgs = count_tgs(kService);
	assert_int_equal(login_dead_config(true, false, ""), Error::None);
	assert_int_equal(count_tgs(kService) - tgs, 1);
	assert_int_equal(login_dead_config(true, true, ""), Error::None);
	// A ccache logon (no password) fetches its service ticket through the KDC URL too.
	assert_true(kinit("FILE:" + g->lab.dir + "/url.ccache"));
	tgs = count_tgs(kService);
	assert_int_equal(login_dead_config(true, false, "FILE:" + g->lab.dir + "/url.ccache"), Error::None);
	assert_int_equal(count_tgs(kService) - tgs, 1);
	// Nothing leaked into the process: the next logon without a URL still sees the dead KDC.
	assert_int_equal(login_dead_config(false, false, ""), Error::NoAuthority);
}

void test_no_ccache_is_no_credentials(void**)
{
	Error err = Error::None;
	g->pair = Pair{};
	g->pair.ini = kerberos::create_context(Role::Initiator, default_cred("FILE:" + g->lab.dir + "/missing.ccache"), err);
	assert_int_equal(err, Error::NoCredentials);
	assert_null(g->pair.ini.get());
}

void test_realm_without_kdc_is_no_authority(void**)
{
	// OTHER.TEST has no kdc in krb5.conf and DNS look-ups are off: fail at once.
	Error err = Error::None;
	g->pair = Pair{};
	g->pair.ini = kerberos::create_context(Role::Initiator, password_cred(u"alice", u"OTHER.TEST", "Passw0rd!"), err);
	assert_int_equal(err, Error::NoAuthority);
}

void test_no_default_realm_is_no_authority(void**)
{
	const std::string conf = g->lab.dir + "/empty-krb5.conf";
	{
		std::ofstream f(conf);
		f << "[libdefaults]\n\tdns_lookup_kdc = false\n\tdns_lookup_realm = false\n";
	}
	const std::string saved = getenv("KRB5_CONFIG");
	setenv("KRB5_CONFIG", conf.c_str(), 1);
	Error err = Error::None;
	g->pair = Pair{};
	g->pair.ini = kerberos::create_context(Role::Initiator, password_cred(u"alice", u"", "Passw0rd!"), err);
	setenv("KRB5_CONFIG", saved.c_str(), 1);
	assert_int_equal(err, Error::NoAuthority);
}

void test_winpr_acceptor_interop(void**)
{
	// Our AP-REQ is accepted by WinPR's own Kerberos, and WinPR's DecryptMessage opens our wrap
	// tokens (and we open its): the SSPI layout (header + rotated trailer in the token buffer).
	assert_true(winpr_login());
	assert_true(winpr_decrypts_ours("public key of the TLS server"));
	assert_true(we_decrypt_winpr("public key + 1"));
	assert_true(winpr_decrypts_ours("TSCredentials"));
	assert_true(we_decrypt_winpr("second reply"));
	g->winpr.reset();
}

void test_winpr_initiator_interop(void**)
{
	// FreeRDP's own client (WinPR's Kerberos, FreeRDP's flags) logs in to our acceptor and the
	// two exchange sealed messages both ways.
	const int tgs_before = count_tgs(kService);
	assert_true(winpr_client_login());
	assert_int_equal(count_tgs(kService) - tgs_before, 1);
	assert_true(winpr_client_exchange("pubKeyAuth"));
	assert_true(winpr_client_exchange("TSCredentials"));
	g->winpr_client.reset();
}

Error create_with_config(const std::string& text, const char16_t* domain)
{
	const std::string conf = g->lab.dir + "/dns-krb5.conf";
	{
		std::ofstream f(conf);
		f << text;
	}
	setenv("KRB5_CONFIG", conf.c_str(), 1);
	Error err = Error::None;
	g->pair = Pair{};
	g->pair.ini = kerberos::create_context(Role::Initiator, password_cred(u"alice", domain, "Passw0rd!"), err);
	restore_config();
	return err;
}

void test_unconfigured_kerberos_fails_without_dns(void**)
{
	// DNS look-ups allowed, but they cannot help: fail at once rather than wait for DNS.
	const std::string dns_on = "[libdefaults]\n\tdns_lookup_kdc = true\n";
	assert_int_equal(create_with_config(dns_on, u"WORKGROUP"), Error::NoAuthority);
	assert_int_equal(create_with_config(dns_on, u"example.invalid"), Error::NoAuthority);
}

void test_kdc_stopped_is_no_authority(void**)
{
	lab_stop_kdc(g->lab);
	assert_int_equal(login(password_cred(u"alice", u"LAB.TEST", "Passw0rd!")), Error::NoAuthority);
}

} // namespace

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_principal_names),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_password_login),
		cmocka_unit_test(test_password_into_named_cache_with_lifetime),
		cmocka_unit_test(test_user_name_forms),
		cmocka_unit_test(test_delegation_flag_passes_through),
		cmocka_unit_test(test_channel_bindings),
		cmocka_unit_test(test_user_without_password_uses_ccache),
		cmocka_unit_test(test_message_protection),
		cmocka_unit_test(test_negotiation_mic),
		cmocka_unit_test(test_protection_before_established),
		cmocka_unit_test(test_garbage_first_token_is_invalid),
		cmocka_unit_test(test_wrong_password_is_logon_denied),
		cmocka_unit_test(test_unknown_user_is_logon_denied),
		cmocka_unit_test(test_unknown_service_is_target_unknown),
		cmocka_unit_test(test_user_ccache_untouched_by_password_login),
		cmocka_unit_test(test_ccache_login_without_identity),
		cmocka_unit_test(test_clock_skew_is_time_skew),
		cmocka_unit_test(test_expired_password_is_password_expired),
		cmocka_unit_test(test_kdc_url_is_honoured_per_context),
		cmocka_unit_test(test_no_ccache_is_no_credentials),
		cmocka_unit_test(test_realm_without_kdc_is_no_authority),
		cmocka_unit_test(test_no_default_realm_is_no_authority),
		cmocka_unit_test(test_unconfigured_kerberos_fails_without_dns),
		cmocka_unit_test(test_winpr_acceptor_interop),
		cmocka_unit_test(test_winpr_initiator_interop),
		// Last: stops the KDC.
		cmocka_unit_test(test_kdc_stopped_is_no_authority),
	};
	return cmocka_run_group_tests_name("kerberos", tests, group_setup, group_teardown);
}
