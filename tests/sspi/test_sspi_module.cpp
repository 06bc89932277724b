// The built libnlassp.so, loaded as FreeRDP's auth_resolve_sspi_table loads an SSPI module
// (dlopen + dlsym("InitSecurityInterfaceA")), logging in to itself through the A table exactly as
// libfreerdp/core/credssp_auth.c drives it: QuerySecurityPackageInfo for the name and cbMaxToken,
// SEC_WINNT_AUTH_IDENTITY_WINPR credentials, nla.c's flags with pfContextAttr fed back as the next
// fContextReq, preallocated cbMaxToken output buffers, then EncryptMessage/DecryptMessage both ways.
//
// Test bodies only call bool helpers and assert (CMocka longjmps past destructors).
#include <winpr/sspi.h>

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}
// clang-format on

namespace {

using Bytes = std::vector<uint8_t>;

constexpr ULONG kClientFlags = ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY;   // nla.c
constexpr ULONG kServerFlags = ASC_REQ_MUTUAL_AUTH | ASC_REQ_CONFIDENTIALITY | ASC_REQ_CONNECTION |
                               ASC_REQ_USE_SESSION_KEY | ASC_REQ_SEQUENCE_DETECT | ASC_REQ_EXTENDED_ERROR;

// MS-NLMP 4.2.1: User / Domain / Password, NT hash of "Password".
constexpr char kNtHash[] = "a4f49c406510bdcab6824ee7c30fd852";

SecurityFunctionTableA* g_table = nullptr;
SecurityFunctionTableW* g_wtable = nullptr;
std::string g_sam_path;

bool failed(const char* what)
{
	std::fprintf(stderr, "FAILED: %s\n", what);
	return false;
}

bool expect(const char* what, SECURITY_STATUS got, SECURITY_STATUS want)
{
	if (got == want)
		return true;
	std::fprintf(stderr, "FAILED: %s: got 0x%08x, want 0x%08x\n", what, static_cast<unsigned>(got),
	             static_cast<unsigned>(want));
	return false;
}

int load_module(void**)
{
	const char* path = std::getenv("NLASSP_MODULE_PATH");
#ifdef NLASSP_MODULE_PATH_DEFAULT
	if (!path || !*path)
		path = NLASSP_MODULE_PATH_DEFAULT;
#endif
	void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		std::fprintf(stderr, "dlopen(%s): %s\n", path, dlerror());
		return -1;
	}
	auto init = reinterpret_cast<INIT_SECURITY_INTERFACE_A>(dlsym(lib, "InitSecurityInterfaceA"));
	auto init_w = reinterpret_cast<INIT_SECURITY_INTERFACE_W>(dlsym(lib, "InitSecurityInterfaceW"));
	if (!init || !init_w)
		return -1;
	g_wtable = init_w();
	if (!g_wtable)
		return -1;
	g_table = init();
	if (!g_table || init() != g_table)   // the same static table on every call
		return -1;

	char tmpl[] = "/tmp/nlassp-sam-XXXXXX";
	const int fd = mkstemp(tmpl);
	if (fd < 0)
		return -1;
	const std::string line = std::string("User:Domain::") + kNtHash + ":::\n";
	const bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
	close(fd);
	g_sam_path = tmpl;
	return ok ? 0 : -1;
}

int unload_module(void**)
{
	if (!g_sam_path.empty())
		unlink(g_sam_path.c_str());
	return 0;
}

// ---- one side of the exchange, as credssp_auth.c keeps it ----------------------------------

struct Auth {
	bool server = false;
	SecPkgInfoA* info = nullptr;
	CredHandle cred{};
	CtxtHandle ctx{};
	bool have_cred = false, have_ctx = false, done = false;
	ULONG flags = 0;
	SecPkgContext_Sizes sizes{};
	std::u16string user, domain, password, package_list;
	SEC_WINNT_AUTH_IDENTITY_WINPR auth_data{};
	SEC_WINPR_NTLM_SETTINGS ntlm{};
	SEC_WINPR_KERBEROS_SETTINGS kerberos{};
};

bool setup_auth(Auth& a, const char* package, bool server, const char* password = "Password",
                const char16_t* package_list = nullptr)
{
	a.server = server;
	char pkg[32];
	std::snprintf(pkg, sizeof(pkg), "%s", package);
	if (!expect("QuerySecurityPackageInfoA", g_table->QuerySecurityPackageInfoA(pkg, &a.info), SEC_E_OK))
		return false;
	// credssp_auth_setup_auth_data: an EXW with UNICODE|EXTENDED plus the WinPR settings.
	auto& id = a.auth_data.identity;
	id.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
	id.Length = sizeof(SEC_WINNT_AUTH_IDENTITY_EX);
	id.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE | SEC_WINNT_AUTH_IDENTITY_EXTENDED;
	a.auth_data.ntlmSettings = &a.ntlm;
	a.auth_data.kerberosSettings = &a.kerberos;
	if (!server) {
		a.user = u"User";
		a.domain = u"Domain";
		for (const char* p = password; *p; ++p)
			a.password.push_back(static_cast<char16_t>(*p));
		id.User = reinterpret_cast<UINT16*>(a.user.data());
		id.UserLength = static_cast<UINT32>(a.user.size());
		id.Domain = reinterpret_cast<UINT16*>(a.domain.data());
		id.DomainLength = static_cast<UINT32>(a.domain.size());
		id.Password = reinterpret_cast<UINT16*>(a.password.data());
		id.PasswordLength = static_cast<UINT32>(a.password.size());
		if (package_list) {
			a.package_list = package_list;
			id.PackageList = reinterpret_cast<UINT16*>(a.package_list.data());
			id.PackageListLength = static_cast<UINT32>(a.package_list.size());
		}
		a.flags = kClientFlags;
	} else {
		if (!a.ntlm.hashCallback)
			a.ntlm.samFile = g_sam_path.data();
		a.flags = kServerFlags;
	}
	const SECURITY_STATUS s = g_table->AcquireCredentialsHandleA(
	    nullptr, a.info->Name, server ? SECPKG_CRED_INBOUND : SECPKG_CRED_OUTBOUND, nullptr, &a.auth_data, nullptr,
	    nullptr, &a.cred, nullptr);
	a.have_cred = s == SEC_E_OK;
	return expect("AcquireCredentialsHandleA", s, SEC_E_OK);
}

void free_auth(Auth& a)
{
	if (a.have_ctx)
		(void)g_table->DeleteSecurityContext(&a.ctx);
	if (a.have_cred)
		(void)g_table->FreeCredentialsHandle(&a.cred);
	if (a.info)
		(void)g_table->FreeContextBuffer(a.info);
	a = Auth{};
}

// credssp_auth_authenticate: one call with the peer's token (empty on the client's first).
SECURITY_STATUS authenticate(Auth& a, const Bytes& in, Bytes& out)
{
	SecBuffer in_buf{static_cast<ULONG>(in.size()), SECBUFFER_TOKEN,
	                 in.empty() ? nullptr : const_cast<uint8_t*>(in.data())};
	SecBufferDesc in_desc{SECBUFFER_VERSION, 1, &in_buf};
	out.assign(a.info->cbMaxToken, 0);   // sspi_SecBufferAlloc(cbMaxToken)
	SecBuffer out_buf{a.info->cbMaxToken, SECBUFFER_TOKEN, out.data()};
	SecBufferDesc out_desc{SECBUFFER_VERSION, 1, &out_buf};
	SECURITY_STATUS s;
	if (a.server) {
		s = g_table->AcceptSecurityContext(&a.cred, a.have_ctx ? &a.ctx : nullptr, &in_desc, a.flags,
		                                   SECURITY_NATIVE_DREP, &a.ctx, &out_desc, &a.flags, nullptr);
	} else {
		char spn[] = "TERMSRV/server.example";
		s = g_table->InitializeSecurityContextA(&a.cred, a.have_ctx ? &a.ctx : nullptr, spn, a.flags, 0,
		                                        SECURITY_NATIVE_DREP, &in_desc, 0, &a.ctx, &out_desc, &a.flags,
		                                        nullptr);
	}
	if (s == SEC_E_OK || s == SEC_I_CONTINUE_NEEDED)
		a.have_ctx = true;
	out.resize(out_buf.cbBuffer);
	if (s == SEC_E_OK) {
		a.done = true;
		if (g_table->QueryContextAttributesA(&a.ctx, SECPKG_ATTR_SIZES, &a.sizes) != SEC_E_OK)
			return SEC_E_INTERNAL_ERROR;
	}
	return s;
}

// Runs the exchange to the end; returns the first failing status (SEC_E_OK if both finished).
SECURITY_STATUS run_login(Auth& client, Auth& server)
{
	Bytes to_server, to_client;
	SECURITY_STATUS s = authenticate(client, {}, to_server);
	if (s != SEC_E_OK && s != SEC_I_CONTINUE_NEEDED)
		return s;
	for (int round = 0; round < 8; ++round) {
		if (!to_server.empty()) {
			s = authenticate(server, to_server, to_client);
			to_server.clear();
			if (s != SEC_E_OK && s != SEC_I_CONTINUE_NEEDED)
				return s;
		}
		if (!to_client.empty()) {
			if (client.done)
				return SEC_E_OUT_OF_SEQUENCE;
			s = authenticate(client, to_client, to_server);
			to_client.clear();
			if (s != SEC_E_OK && s != SEC_I_CONTINUE_NEEDED)
				return s;
		}
		if (to_server.empty() && to_client.empty())
			return (client.done && server.done) ? SEC_E_OK : SEC_E_INCOMPLETE_MESSAGE;
	}
	return SEC_E_INCOMPLETE_MESSAGE;
}

// credssp_auth_encrypt / credssp_auth_decrypt.
bool seal(Auth& from, Auth& to, const std::string& text)
{
	const ULONG trailer = from.sizes.cbSecurityTrailer;
	if (trailer == 0)
		return failed("cbSecurityTrailer is 0");
	Bytes wire(trailer + text.size());
	std::memcpy(wire.data() + trailer, text.data(), text.size());
	SecBuffer bufs[2] = {{trailer, SECBUFFER_TOKEN, wire.data()},
	                     {static_cast<ULONG>(text.size()), SECBUFFER_DATA, wire.data() + trailer}};
	SecBufferDesc desc{SECBUFFER_VERSION, 2, bufs};
	if (!expect("EncryptMessage", g_table->EncryptMessage(&from.ctx, 0, &desc, 0), SEC_E_OK))
		return false;
	// A shorter token: FreeRDP closes the gap.
	if (bufs[0].cbBuffer < trailer) {
		std::memmove(wire.data() + bufs[0].cbBuffer, wire.data() + trailer, text.size());
		wire.resize(bufs[0].cbBuffer + text.size());
	}
	const ULONG tok = bufs[0].cbBuffer;
	if (std::memcmp(wire.data() + tok, text.data(), text.size()) == 0)
		return failed("EncryptMessage left the data in clear");

	SecBuffer dbufs[2] = {{tok, SECBUFFER_TOKEN, wire.data()},
	                      {static_cast<ULONG>(wire.size() - tok), SECBUFFER_DATA, wire.data() + tok}};
	SecBufferDesc ddesc{SECBUFFER_VERSION, 2, dbufs};
	ULONG qop = 0;
	if (!expect("DecryptMessage", g_table->DecryptMessage(&to.ctx, &ddesc, 0, &qop), SEC_E_OK))
		return false;
	if (dbufs[1].cbBuffer != text.size() || std::memcmp(dbufs[1].pvBuffer, text.data(), text.size()) != 0)
		return failed("DecryptMessage plaintext");
	// The same message again is a replay.
	return true;
}

bool check_server_view(Auth& server, const char* want_package)
{
	SecPkgContext_PackageInfo pi{};
	bool ok = expect("PACKAGE_INFO", g_table->QueryContextAttributesA(&server.ctx, SECPKG_ATTR_PACKAGE_INFO, &pi),
	                 SEC_E_OK) &&
	          std::strcmp(pi.PackageInfo->Name, want_package) == 0;
	if (pi.PackageInfo)
		(void)g_table->FreeContextBuffer(pi.PackageInfo);
	SecPkgContext_AuthIdentity ai{};
	ok = ok && expect("AUTH_IDENTITY", g_table->QueryContextAttributesA(&server.ctx, SECPKG_ATTR_AUTH_IDENTITY, &ai),
	                  SEC_E_OK) &&
	     std::strcmp(ai.User, "User") == 0 && std::strcmp(ai.Domain, "Domain") == 0;
	ok = ok && expect("Impersonate", g_table->ImpersonateSecurityContext(&server.ctx), SEC_E_OK) &&
	     expect("Revert", g_table->RevertSecurityContext(&server.ctx), SEC_E_OK);
	if (!ok)
		std::fprintf(stderr, "server view: package %s user %s domain %s\n",
		             pi.PackageInfo ? "?" : "(none)", ai.User, ai.Domain);
	return ok;
}

bool check_login(const char* package, const char16_t* package_list = nullptr)
{
	Auth client, server;
	bool ok = setup_auth(client, package, false, "Password", package_list) && setup_auth(server, package, true);
	ok = ok && expect("login", run_login(client, server), SEC_E_OK);
	ok = ok && (client.flags & ISC_RET_CONFIDENTIALITY) && (server.flags & ASC_RET_CONFIDENTIALITY);
	ok = ok && check_server_view(server, "NTLM");
	ok = ok && seal(client, server, "public key of the server") && seal(server, client, "public key + 1") &&
	     seal(client, server, "TSCredentials");
	free_auth(client);
	free_auth(server);
	return ok;
}

// A FreeRDP server's peer->SspiNtlmHashCallback: hands out NTOWFv2 (MS-NLMP 4.2.4.1.1 for
// User/Domain/"Password") instead of a SAM file.
struct HashCallbackLog {
	int calls = 0;
	ULONG proof_len = 0;
	ULONG mic_len = 0;
};

SECURITY_STATUS ntowfv2_callback(void* client, const SEC_WINNT_AUTH_IDENTITY* id, const SecBuffer* proof,
                                 const BYTE*, const BYTE*, const SecBuffer* micvalue, BYTE* hash)
{
	static const uint8_t kNtowfV2[16] = {0x0c, 0x86, 0x8a, 0x40, 0x3b, 0xfd, 0x7a, 0x93,
	                                     0xa3, 0x00, 0x1e, 0xf2, 0x2e, 0xf0, 0x2e, 0x3f};
	auto* log = static_cast<HashCallbackLog*>(client);
	log->calls++;
	log->proof_len = proof ? proof->cbBuffer : 0;
	log->mic_len = micvalue ? micvalue->cbBuffer : 0;
	const std::u16string user(reinterpret_cast<const char16_t*>(id->User), id->UserLength);
	if (user != u"User")
		return SEC_E_LOGON_DENIED;
	std::memcpy(hash, kNtowfV2, sizeof(kNtowfV2));
	return SEC_E_OK;
}

bool check_hash_callback_login(const char* package)
{
	Auth client, server;
	HashCallbackLog log;
	bool ok = setup_auth(client, package, false);
	if (ok) {
		server.ntlm.hashCallback = ntowfv2_callback;
		server.ntlm.hashCallbackArg = &log;
		ok = setup_auth(server, package, true);
	}
	ok = ok && expect("login with hash callback", run_login(client, server), SEC_E_OK) && log.calls == 1 &&
	     log.proof_len > 8 && log.mic_len > 0;
	ok = ok && seal(client, server, "sealed with the callback's key");
	free_auth(client);
	free_auth(server);
	return ok || failed("hash callback login");
}

void test_ntlm_hash_callback(void**)
{
	assert_true(check_hash_callback_login("NTLM"));
	assert_true(check_hash_callback_login("Negotiate"));
}

bool check_wrong_password(const char* package)
{
	Auth client, server;
	bool ok = setup_auth(client, package, false, "Wrong") && setup_auth(server, package, true);
	ok = ok && expect("wrong password", run_login(client, server), SEC_E_LOGON_DENIED);
	free_auth(client);
	free_auth(server);
	return ok;
}

void test_ntlm_login(void**)
{
	assert_true(check_login("NTLM"));
}

void test_negotiate_login(void**)
{
	assert_true(check_login("Negotiate"));
}

void test_negotiate_ntlm_only_login(void**)
{
	assert_true(check_login("Negotiate", u"!kerberos"));
}

void test_ntlm_wrong_password(void**)
{
	assert_true(check_wrong_password("NTLM"));
}

void test_negotiate_wrong_password(void**)
{
	assert_true(check_wrong_password("Negotiate"));
}

// The W table: SEC_WINNT_AUTH_IDENTITY_W credentials, a UTF-16 target name, W attributes.
struct WSide {
	CredHandle cred{};
	CtxtHandle ctx{};
	bool have_cred = false, have_ctx = false;
	ULONG flags = 0;
};

SECURITY_STATUS w_step(WSide& s, bool server, const Bytes& in, Bytes& out, ULONG max_token)
{
	SecBuffer in_buf{static_cast<ULONG>(in.size()), SECBUFFER_TOKEN,
	                 in.empty() ? nullptr : const_cast<uint8_t*>(in.data())};
	SecBufferDesc in_desc{SECBUFFER_VERSION, 1, &in_buf};
	out.assign(max_token, 0);
	SecBuffer out_buf{max_token, SECBUFFER_TOKEN, out.data()};
	SecBufferDesc out_desc{SECBUFFER_VERSION, 1, &out_buf};
	SECURITY_STATUS st;
	if (server) {
		st = g_wtable->AcceptSecurityContext(&s.cred, s.have_ctx ? &s.ctx : nullptr, &in_desc, s.flags, 0, &s.ctx,
		                                     &out_desc, &s.flags, nullptr);
	} else {
		char16_t spn[] = u"TERMSRV/server.example";
		st = g_wtable->InitializeSecurityContextW(&s.cred, s.have_ctx ? &s.ctx : nullptr,
		                                          reinterpret_cast<SEC_WCHAR*>(spn), s.flags, 0, 0, &in_desc, 0,
		                                          &s.ctx, &out_desc, &s.flags, nullptr);
	}
	if (st == SEC_E_OK || st == SEC_I_CONTINUE_NEEDED)
		s.have_ctx = true;
	out.resize(out_buf.cbBuffer);
	return st;
}

bool check_w_table_login()
{
	char16_t ntlm[] = u"ntlm";
	SecPkgInfoW* info = nullptr;
	if (!expect("QuerySecurityPackageInfoW", g_wtable->QuerySecurityPackageInfoW(reinterpret_cast<SEC_WCHAR*>(ntlm), &info),
	            SEC_E_OK))
		return false;
	const ULONG max_token = info->cbMaxToken;
	char16_t user[] = u"User", domain[] = u"Domain", password[] = u"Password";
	SEC_WINNT_AUTH_IDENTITY_W id{};
	id.User = reinterpret_cast<UINT16*>(user);
	id.UserLength = 4;
	id.Domain = reinterpret_cast<UINT16*>(domain);
	id.DomainLength = 6;
	id.Password = reinterpret_cast<UINT16*>(password);
	id.PasswordLength = 8;
	id.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
	SEC_WINPR_NTLM_SETTINGS settings{};
	settings.samFile = g_sam_path.data();
	SEC_WINNT_AUTH_IDENTITY_WINPR server_auth{};
	server_auth.identity.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
	server_auth.identity.Length = sizeof(SEC_WINNT_AUTH_IDENTITY_EXW);
	server_auth.identity.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE | SEC_WINNT_AUTH_IDENTITY_EXTENDED;
	server_auth.ntlmSettings = &settings;

	WSide c, sv;
	c.flags = kClientFlags;
	sv.flags = kServerFlags;
	bool ok = expect("AcquireCredentialsHandleW client",
	                 g_wtable->AcquireCredentialsHandleW(nullptr, info->Name, SECPKG_CRED_OUTBOUND, nullptr, &id, nullptr,
	                                                     nullptr, &c.cred, nullptr),
	                 SEC_E_OK);
	c.have_cred = ok;
	ok = ok && expect("AcquireCredentialsHandleW server",
	                  g_wtable->AcquireCredentialsHandleW(nullptr, info->Name, SECPKG_CRED_INBOUND, nullptr, &server_auth,
	                                                      nullptr, nullptr, &sv.cred, nullptr),
	                  SEC_E_OK);
	sv.have_cred = ok;
	Bytes t1, t2, t3, t4;
	ok = ok && expect("ISC W 1", w_step(c, false, {}, t1, max_token), SEC_I_CONTINUE_NEEDED) &&
	     expect("ASC W 1", w_step(sv, true, t1, t2, max_token), SEC_I_CONTINUE_NEEDED) &&
	     expect("ISC W 2", w_step(c, false, t2, t3, max_token), SEC_E_OK) &&
	     expect("ASC W 2", w_step(sv, true, t3, t4, max_token), SEC_E_OK);
	struct {
		SEC_WCHAR* sUserName;
	} names{};   // SecPkgContext_NamesW (WinPR only declares the A form)
	ok = ok && expect("NAMES W", g_wtable->QueryContextAttributesW(&sv.ctx, SECPKG_ATTR_NAMES, &names), SEC_E_OK) &&
	     std::u16string(reinterpret_cast<const char16_t*>(names.sUserName)) == u"Domain\\User";
	if (names.sUserName)
		(void)g_wtable->FreeContextBuffer(names.sUserName);
	if (c.have_ctx)
		(void)g_wtable->DeleteSecurityContext(&c.ctx);
	if (sv.have_ctx)
		(void)g_wtable->DeleteSecurityContext(&sv.ctx);
	if (c.have_cred)
		(void)g_wtable->FreeCredentialsHandle(&c.cred);
	if (sv.have_cred)
		(void)g_wtable->FreeCredentialsHandle(&sv.cred);
	(void)g_wtable->FreeContextBuffer(info);
	return ok;
}

void test_w_table_login(void**)
{
	assert_true(check_w_table_login());
}

bool check_packages()
{
	ULONG n = 0;
	SecPkgInfoA* infos = nullptr;
	if (!expect("EnumerateSecurityPackagesA", g_table->EnumerateSecurityPackagesA(&n, &infos), SEC_E_OK))
		return false;
	bool has_negotiate = false, has_ntlm = false;
	for (ULONG i = 0; i < n; ++i) {
		has_negotiate |= std::strcmp(infos[i].Name, "Negotiate") == 0;
		has_ntlm |= std::strcmp(infos[i].Name, "NTLM") == 0;
	}
	(void)g_table->FreeContextBuffer(infos);
	return (has_negotiate && has_ntlm) || failed("Negotiate and NTLM are offered");
}

void test_packages(void**)
{
	assert_true(check_packages());
}

} // namespace

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_packages),
	    cmocka_unit_test(test_ntlm_login),
	    cmocka_unit_test(test_ntlm_wrong_password),
	    cmocka_unit_test(test_negotiate_ntlm_only_login),
	    cmocka_unit_test(test_negotiate_login),
	    cmocka_unit_test(test_negotiate_wrong_password),
	    cmocka_unit_test(test_w_table_login),
	    cmocka_unit_test(test_ntlm_hash_callback),
	};
	return cmocka_run_group_tests(tests, load_module, unload_module);
}
