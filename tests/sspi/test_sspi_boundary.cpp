// The SSPI boundary on its own, with fake packages: handle validation, identity parsing of every
// pAuthData layout, channel-bindings validation, output buffers (too small, guard bytes,
// ALLOCATE_MEMORY), package info, context attributes, message buffers, concurrency.
//
// Test bodies only call bool helpers and assert: a failing CMocka assertion longjmps past C++
// destructors, so anything with a destructor lives inside the helpers.
#include "sspi/buffers.h"
#include "sspi/fake_package.h"
#include "sspi/handles.h"
#include "sspi/identity.h"
#include "sspi/packages.h"
#include "sspi/table.h"

#include <winpr/sspi.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
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

using namespace nlassp;
using nlassp::test::g_fake;

namespace {

SecurityFunctionTableA* A() { return sspi::table_a(); }
SecurityFunctionTableW* W() { return sspi::table_w(); }

constexpr ULONG kClientFlags = ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY;   // nla.c
constexpr ULONG kServerFlags = ASC_REQ_MUTUAL_AUTH | ASC_REQ_CONFIDENTIALITY | ASC_REQ_CONNECTION |
                               ASC_REQ_USE_SESSION_KEY | ASC_REQ_SEQUENCE_DETECT | ASC_REQ_EXTENDED_ERROR;

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

// ---- a FreeRDP-style login through the A table ------------------------------------------------

struct Side {
	CredHandle cred{};
	CtxtHandle ctx{};
	bool have_ctx = false;
	ULONG flags = 0;
};

SEC_WINNT_AUTH_IDENTITY_A ansi_identity()
{
	static char user[] = "alice", domain[] = "LAB", password[] = "Passw0rd!";
	SEC_WINNT_AUTH_IDENTITY_A id{};
	id.User = reinterpret_cast<BYTE*>(user);
	id.UserLength = 5;
	id.Domain = reinterpret_cast<BYTE*>(domain);
	id.DomainLength = 3;
	id.Password = reinterpret_cast<BYTE*>(password);
	id.PasswordLength = 9;
	id.Flags = SEC_WINNT_AUTH_IDENTITY_ANSI;
	return id;
}

bool acquire(const char* package, ULONG use, void* auth, CredHandle& h)
{
	TimeStamp expiry{};
	return expect("AcquireCredentialsHandleA",
	              A()->AcquireCredentialsHandleA(nullptr, const_cast<char*>(package), use, nullptr, auth, nullptr,
	                                             nullptr, &h, &expiry),
	              SEC_E_OK);
}

SECURITY_STATUS client_step(Side& c, const Bytes& in, Bytes& out, ULONG cap = 2888, SecBuffer* bindings = nullptr)
{
	SecBuffer in_bufs[2] = {{static_cast<ULONG>(in.size()), SECBUFFER_TOKEN,
	                         in.empty() ? nullptr : const_cast<uint8_t*>(in.data())},
	                        {}};
	SecBufferDesc in_desc{SECBUFFER_VERSION, 1, in_bufs};
	if (bindings) {
		in_bufs[1] = *bindings;
		in_desc.cBuffers = 2;
	}
	out.assign(cap, 0);
	SecBuffer out_buf{cap, SECBUFFER_TOKEN, out.data()};
	SecBufferDesc out_desc{SECBUFFER_VERSION, 1, &out_buf};
	char target[] = "TERMSRV/host.lab";
	const SECURITY_STATUS s = A()->InitializeSecurityContextA(
	    &c.cred, c.have_ctx ? &c.ctx : nullptr, target, c.flags, 0, SECURITY_NATIVE_DREP, &in_desc, 0, &c.ctx,
	    &out_desc, &c.flags, nullptr);
	if (s == SEC_E_OK || s == SEC_I_CONTINUE_NEEDED)
		c.have_ctx = true;
	out.resize(out_buf.cbBuffer);
	return s;
}

SECURITY_STATUS server_step(Side& sv, const Bytes& in, Bytes& out, SecBuffer* bindings = nullptr)
{
	SecBuffer in_bufs[2] = {{static_cast<ULONG>(in.size()), SECBUFFER_TOKEN,
	                         in.empty() ? nullptr : const_cast<uint8_t*>(in.data())},
	                        {}};
	SecBufferDesc in_desc{SECBUFFER_VERSION, 1, in_bufs};
	if (bindings) {
		in_bufs[1] = *bindings;
		in_desc.cBuffers = 2;
	}
	out.assign(2888, 0);
	SecBuffer out_buf{2888, SECBUFFER_TOKEN, out.data()};
	SecBufferDesc out_desc{SECBUFFER_VERSION, 1, &out_buf};
	const SECURITY_STATUS s =
	    A()->AcceptSecurityContext(&sv.cred, sv.have_ctx ? &sv.ctx : nullptr, &in_desc, sv.flags,
	                               SECURITY_NATIVE_DREP, &sv.ctx, &out_desc, &sv.flags, nullptr);
	if (s == SEC_E_OK || s == SEC_I_CONTINUE_NEEDED)
		sv.have_ctx = true;
	out.resize(out_buf.cbBuffer);
	return s;
}

bool open_pair(Side& c, Side& sv, const char* package = "Negotiate")
{
	auto id = ansi_identity();
	c = Side{};
	sv = Side{};
	c.flags = kClientFlags;
	sv.flags = kServerFlags;
	return acquire(package, SECPKG_CRED_OUTBOUND, &id, c.cred) && acquire(package, SECPKG_CRED_INBOUND, nullptr, sv.cred);
}

bool login(Side& c, Side& sv, SecBuffer* bindings = nullptr)
{
	Bytes t1, t2, t3, t4;
	if (!expect("ISC 1", client_step(c, {}, t1, 2888, bindings), SEC_I_CONTINUE_NEEDED) ||
	    !expect("ASC 1", server_step(sv, t1, t2, bindings), SEC_I_CONTINUE_NEEDED) ||
	    !expect("ISC 2", client_step(c, t2, t3, 2888, bindings), SEC_E_OK) ||
	    !expect("ASC 2", server_step(sv, t3, t4, bindings), SEC_E_OK))
		return false;
	if (!t4.empty())
		return failed("final server token should be empty");
	return true;
}

void close_pair(Side& c, Side& sv)
{
	if (c.have_ctx)
		(void)A()->DeleteSecurityContext(&c.ctx);
	if (sv.have_ctx)
		(void)A()->DeleteSecurityContext(&sv.ctx);
	(void)A()->FreeCredentialsHandle(&c.cred);
	(void)A()->FreeCredentialsHandle(&sv.cred);
}

// encrypt on one side, decrypt on the other, as credssp_auth.c does.
bool seal_roundtrip(CtxtHandle& from, CtxtHandle& to, ULONG data_attrs = 0)
{
	SecPkgContext_Sizes sizes{};
	if (!expect("SIZES", A()->QueryContextAttributesA(&from, SECPKG_ATTR_SIZES, &sizes), SEC_E_OK))
		return false;
	const std::string plain = "the public key echo";
	Bytes wire(sizes.cbSecurityTrailer + plain.size());
	std::memcpy(wire.data() + sizes.cbSecurityTrailer, plain.data(), plain.size());
	SecBuffer bufs[2] = {{sizes.cbSecurityTrailer, SECBUFFER_TOKEN, wire.data()},
	                     {static_cast<ULONG>(plain.size()), SECBUFFER_DATA | data_attrs,
	                      wire.data() + sizes.cbSecurityTrailer}};
	SecBufferDesc desc{SECBUFFER_VERSION, 2, bufs};
	if (!expect("EncryptMessage", A()->EncryptMessage(&from, 0, &desc, 0), SEC_E_OK))
		return false;
	if (bufs[0].cbBuffer != 16)
		return failed("signature size");
	const bool sealed = std::memcmp(wire.data() + 16, plain.data(), plain.size()) != 0;
	if (sealed != (data_attrs == 0))
		return failed("sealing does not match the buffer attributes");
	SecBuffer dbufs[2] = {{16, SECBUFFER_TOKEN, wire.data()},
	                      {static_cast<ULONG>(plain.size()), SECBUFFER_DATA, wire.data() + 16}};
	SecBufferDesc ddesc{SECBUFFER_VERSION, 2, dbufs};
	if (data_attrs != 0)
		return true;
	ULONG qop = 0xdead;
	if (!expect("DecryptMessage", A()->DecryptMessage(&to, &ddesc, 0, &qop), SEC_E_OK))
		return false;
	if (qop != 0 || std::memcmp(wire.data() + 16, plain.data(), plain.size()) != 0)
		return failed("plaintext after decrypt");
	return true;
}

// ---- tests ----------------------------------------------------------------------------------

int setup(void**)
{
	test::register_fake_packages();
	g_fake.first_token_size = 0;
	g_fake.fail_error = Error::LogonDenied;
	return 0;
}

bool check_package_info(const char* query, const char* name, ULONG caps, USHORT rpc, ULONG max_token)
{
	const size_t before = sspi::live_context_buffers();
	SecPkgInfoA* info = nullptr;
	if (!expect(query, A()->QuerySecurityPackageInfoA(const_cast<char*>(query), &info), SEC_E_OK))
		return false;
	const bool ok = std::strcmp(info->Name, name) == 0 && info->fCapabilities == caps && info->wRPCID == rpc &&
	                info->cbMaxToken == max_token && info->wVersion == 1 && info->Comment && info->Comment[0];
	if (!expect("FreeContextBuffer", A()->FreeContextBuffer(info), SEC_E_OK))
		return false;
	if (sspi::live_context_buffers() != before)
		return failed("package info leaked");
	return ok || failed(query);
}

bool check_package_info_w()
{
	SecPkgInfoW* info = nullptr;
	SEC_WCHAR name[] = {'n', 't', 'l', 'm', 0};
	if (!expect("QuerySecurityPackageInfoW", W()->QuerySecurityPackageInfoW(name, &info), SEC_E_OK))
		return false;
	const std::u16string got(reinterpret_cast<const char16_t*>(info->Name));
	const bool ok = got == u"NTLM" && info->cbMaxToken == 2888 && info->wRPCID == 10;
	(void)W()->FreeContextBuffer(info);
	return ok || failed("W package info");
}

void test_package_info(void**)
{
	assert_true(check_package_info("Negotiate", "Negotiate", 0x00083BB3, 9, 48256));
	assert_true(check_package_info("negotiate", "Negotiate", 0x00083BB3, 9, 48256));
	assert_true(check_package_info("NTLM", "NTLM", 0x00082B37, 10, 2888));
	assert_true(check_package_info("ntlm", "NTLM", 0x00082B37, 10, 2888));
	assert_true(check_package_info("Kerberos", "Kerberos", 0x000F3BBF, 16, 48000));
	assert_true(check_package_info_w());
	SecPkgInfoA* info = nullptr;
	char unknown[] = "Schannel";
	assert_int_equal(A()->QuerySecurityPackageInfoA(unknown, &info), SEC_E_SECPKG_NOT_FOUND);
	char credssp[] = "CREDSSP";   // not registered: not offered
	assert_int_equal(A()->QuerySecurityPackageInfoA(credssp, &info), SEC_E_SECPKG_NOT_FOUND);
	assert_int_equal(A()->QuerySecurityPackageInfoA(nullptr, &info), SEC_E_SECPKG_NOT_FOUND);
}

bool check_enumerate()
{
	ULONG n = 0;
	SecPkgInfoA* infos = nullptr;
	if (!expect("EnumerateSecurityPackagesA", A()->EnumerateSecurityPackagesA(&n, &infos), SEC_E_OK))
		return false;
	const bool ok = n == 3 && std::strcmp(infos[0].Name, "Negotiate") == 0 && std::strcmp(infos[1].Name, "NTLM") == 0 &&
	                std::strcmp(infos[2].Name, "Kerberos") == 0;
	(void)A()->FreeContextBuffer(infos);
	SecPkgInfoW* winfos = nullptr;
	if (!expect("EnumerateSecurityPackagesW", W()->EnumerateSecurityPackagesW(&n, &winfos), SEC_E_OK))
		return false;
	const bool wok = n == 3 && std::u16string(reinterpret_cast<const char16_t*>(winfos[2].Name)) == u"Kerberos";
	(void)W()->FreeContextBuffer(winfos);
	return (ok && wok) || failed("enumerate");
}

void test_enumerate(void**)
{
	assert_true(check_enumerate());
}

void test_tables_complete(void**)
{
	const auto* a = A();
	const auto* w = W();
	// Every entry set; the Reserved slots NULL.
	const void* const* pa = reinterpret_cast<const void* const*>(&a->EnumerateSecurityPackagesA);
	const void* const* pw = reinterpret_cast<const void* const*>(&w->EnumerateSecurityPackagesW);
	const size_t n = (sizeof(SecurityFunctionTableA) - offsetof(SecurityFunctionTableA, EnumerateSecurityPackagesA)) /
	                 sizeof(void*);
	for (size_t i = 0; i < n; ++i) {
		const bool reserved = i == 4 || i == 17 || i == 18 || i == 22;   // Reserved2/3/4/8
		assert_true(reserved ? pa[i] == nullptr : pa[i] != nullptr);
		assert_true(reserved ? pw[i] == nullptr : pw[i] != nullptr);
	}
	assert_null(a->Reserved2);
	assert_null(a->Reserved8);
	assert_int_equal(a->CompleteAuthToken(nullptr, nullptr), SEC_E_UNSUPPORTED_FUNCTION);
	assert_int_equal(a->ApplyControlToken(nullptr, nullptr), SEC_E_UNSUPPORTED_FUNCTION);
	assert_int_equal(a->ExportSecurityContext(nullptr, 0, nullptr, nullptr), SEC_E_UNSUPPORTED_FUNCTION);
	assert_int_equal(a->ImportSecurityContextA(nullptr, nullptr, nullptr, nullptr), SEC_E_UNSUPPORTED_FUNCTION);
	assert_int_equal(w->ImportSecurityContextW(nullptr, nullptr, nullptr, nullptr), SEC_E_UNSUPPORTED_FUNCTION);
	assert_int_equal(a->AddCredentialsA(nullptr, nullptr, nullptr, 0, nullptr, nullptr, nullptr, nullptr),
	                 SEC_E_UNSUPPORTED_FUNCTION);
	assert_int_equal(a->QuerySecurityContextToken(nullptr, nullptr), SEC_E_UNSUPPORTED_FUNCTION);
}

bool check_handles()
{
	Side c, sv;
	if (!open_pair(c, sv) || !login(c, sv))
		return false;
	CredHandle forged{c.cred.dwLower + 1000, c.cred.dwUpper};
	CredHandle garbage{0x1234, 0x5678};
	CredHandle invalid;
	SecInvalidateHandle(&invalid);
	bool ok = expect("forged cred", A()->FreeCredentialsHandle(&forged), SEC_E_INVALID_HANDLE) &&
	          expect("garbage cred", A()->FreeCredentialsHandle(&garbage), SEC_E_INVALID_HANDLE) &&
	          expect("invalid cred", A()->FreeCredentialsHandle(&invalid), SEC_E_INVALID_HANDLE) &&
	          expect("NULL cred", A()->FreeCredentialsHandle(nullptr), SEC_E_INVALID_HANDLE) &&
	          // wrong kind: a context handle where a credential is expected, and back
	          expect("ctx as cred", A()->FreeCredentialsHandle(&c.ctx), SEC_E_INVALID_HANDLE) &&
	          expect("cred as ctx", A()->DeleteSecurityContext(&c.cred), SEC_E_INVALID_HANDLE);
	SecPkgContext_Sizes sizes{};
	ok = ok && expect("query via cred", A()->QueryContextAttributesA(&c.cred, SECPKG_ATTR_SIZES, &sizes),
	                  SEC_E_INVALID_HANDLE);
	// An acceptor context handed to InitializeSecurityContext is the wrong kind of context.
	Bytes out;
	Side wrong = c;
	wrong.ctx = sv.ctx;
	ok = ok && expect("acceptor ctx in ISC", client_step(wrong, Bytes{'C', 'H', 'A', 'L'}, out), SEC_E_INVALID_HANDLE);
	// Stale: deleted, then used, then deleted again.
	CtxtHandle stale = c.ctx;
	ok = ok && expect("delete", A()->DeleteSecurityContext(&c.ctx), SEC_E_OK) &&
	     expect("stale query", A()->QueryContextAttributesA(&stale, SECPKG_ATTR_SIZES, &sizes), SEC_E_INVALID_HANDLE) &&
	     expect("double delete", A()->DeleteSecurityContext(&stale), SEC_E_INVALID_HANDLE);
	c.have_ctx = false;
	CredHandle cred = c.cred;
	ok = ok && expect("free cred", A()->FreeCredentialsHandle(&c.cred), SEC_E_OK) &&
	     expect("double free cred", A()->FreeCredentialsHandle(&cred), SEC_E_INVALID_HANDLE);
	// A context outlives the credential it was made with.
	ok = ok && expect("query after cred freed", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_SIZES, &sizes),
	                  SEC_E_OK);
	(void)A()->DeleteSecurityContext(&sv.ctx);
	(void)A()->FreeCredentialsHandle(&sv.cred);
	return ok;
}

void test_handles(void**)
{
	const size_t before = sspi::handles().size();
	assert_true(check_handles());
	assert_int_equal(sspi::handles().size(), before);
}

// ---- identity parsing ------------------------------------------------------------------------

bool parse(const void* auth, Credential& cred, Error want)
{
	cred = Credential{};
	const Error got = sspi::parse_auth_data(auth, cred);
	if (got != want) {
		std::fprintf(stderr, "parse_auth_data: got %s, want %s\n", error_name(got), error_name(want));
		return false;
	}
	return true;
}

bool password_is(const Credential& c, std::u16string_view pw)
{
	if (!c.identity || !c.identity->has_password || c.identity->password.size() != pw.size() * 2)
		return false;
	for (size_t i = 0; i < pw.size(); ++i)
		if (c.identity->password[2 * i] != (pw[i] & 0xff) || c.identity->password[2 * i + 1] != (pw[i] >> 8))
			return false;
	return true;
}

bool check_identity_a_w()
{
	Credential c;
	auto a = ansi_identity();
	if (!parse(&a, c, Error::None) || c.identity->user != u"alice" || c.identity->domain != u"LAB" ||
	    !password_is(c, u"Passw0rd!"))
		return failed("SEC_WINNT_AUTH_IDENTITY_A");

	// UTF-8 in the ANSI form becomes UTF-16.
	char user8[] = "j\xc3\xbcrgen";
	a.User = reinterpret_cast<BYTE*>(user8);
	a.UserLength = 7;
	if (!parse(&a, c, Error::None) || c.identity->user != u"j\u00fcrgen")
		return failed("UTF-8 user");
	char bad8[] = "\xff\xfe";
	a.User = reinterpret_cast<BYTE*>(bad8);
	a.UserLength = 2;
	if (!parse(&a, c, Error::InvalidParameter))
		return failed("invalid UTF-8");

	char16_t user[] = u"bob", domain[] = u"DOM", pw[] = u"p\u00e4ss";
	SEC_WINNT_AUTH_IDENTITY_W w{};
	w.User = reinterpret_cast<UINT16*>(user);
	w.UserLength = 3;
	w.Domain = reinterpret_cast<UINT16*>(domain);
	w.DomainLength = 3;
	w.Password = reinterpret_cast<UINT16*>(pw);
	w.PasswordLength = 4;
	w.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
	if (!parse(&w, c, Error::None) || c.identity->user != u"bob" || c.identity->domain != u"DOM" ||
	    !password_is(c, u"p\u00e4ss"))
		return failed("SEC_WINNT_AUTH_IDENTITY_W");

	// Lengths are in characters: a shorter length takes a prefix.
	w.UserLength = 2;
	if (!parse(&w, c, Error::None) || c.identity->user != u"bo")
		return failed("length in characters");
	// Empty password is a password.
	w.PasswordLength = 0;
	if (!parse(&w, c, Error::None) || !c.identity->has_password || !c.identity->password.empty())
		return failed("empty password");
	w.Password = nullptr;
	if (!parse(&w, c, Error::None) || c.identity->has_password)
		return failed("no password");

	// Bad pointers, lengths and flags.
	SEC_WINNT_AUTH_IDENTITY_W bad = w;
	bad.User = nullptr;
	bad.UserLength = 3;
	if (!parse(&bad, c, Error::InvalidParameter))
		return failed("NULL user with length");
	bad = w;
	bad.Password = nullptr;
	bad.PasswordLength = 5;
	if (!parse(&bad, c, Error::InvalidParameter))
		return failed("NULL password with length");
	bad = w;
	bad.DomainLength = 40000;
	if (!parse(&bad, c, Error::InvalidParameter))
		return failed("huge length");
	bad = w;
	bad.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE | SEC_WINNT_AUTH_IDENTITY_ANSI;
	if (!parse(&bad, c, Error::InvalidParameter))
		return failed("both charsets");
	bad.Flags = 0;
	if (!parse(&bad, c, Error::InvalidParameter))
		return failed("no charset");
	if (!parse(nullptr, c, Error::None) || c.identity)
		return failed("NULL auth data");
	return true;
}

void test_identity_a_w(void**)
{
	assert_true(check_identity_a_w());
}

bool check_identity_ex()
{
	Credential c;
	char16_t user[] = u"carol", pw[] = u"pw", list[] = u"!kerberos,ntlm";
	SEC_WINNT_AUTH_IDENTITY_EXW ex{};
	ex.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
	ex.Length = sizeof(ex);
	ex.User = reinterpret_cast<UINT16*>(user);
	ex.UserLength = 5;
	ex.Password = reinterpret_cast<UINT16*>(pw);
	ex.PasswordLength = 2;
	ex.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
	ex.PackageList = reinterpret_cast<UINT16*>(list);
	ex.PackageListLength = 14;
	if (!parse(&ex, c, Error::None) || c.identity->user != u"carol" || !c.identity->domain.empty() ||
	    c.identity->package_list != "!kerberos,ntlm" || !password_is(c, u"pw") || c.ntlm_users)
		return failed("SEC_WINNT_AUTH_IDENTITY_EXW");

	char auser[] = "dave", alist[] = "ntlm";
	SEC_WINNT_AUTH_IDENTITY_EXA exa{};
	exa.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
	exa.Length = sizeof(exa);
	exa.User = reinterpret_cast<BYTE*>(auser);
	exa.UserLength = 4;
	exa.Flags = SEC_WINNT_AUTH_IDENTITY_ANSI;
	exa.PackageList = reinterpret_cast<BYTE*>(alist);
	exa.PackageListLength = 4;
	if (!parse(&exa, c, Error::None) || c.identity->user != u"dave" || c.identity->package_list != "ntlm" ||
	    c.identity->has_password)
		return failed("SEC_WINNT_AUTH_IDENTITY_EXA");

	auto bad = ex;
	bad.Length = 8;
	if (!parse(&bad, c, Error::InvalidParameter))
		return failed("EX with a short Length");
	bad = ex;
	bad.PackageList = nullptr;
	if (!parse(&bad, c, Error::InvalidParameter))
		return failed("EX NULL package list with length");

	SEC_WINNT_AUTH_IDENTITY_EX2 ex2{};
	ex2.Version = SEC_WINNT_AUTH_IDENTITY_VERSION_2;
	if (!parse(&ex2, c, Error::Unsupported))
		return failed("EX2");
	return true;
}

void test_identity_ex(void**)
{
	assert_true(check_identity_ex());
}

struct CallbackRecord {
	int calls = 0;
	std::u16string user;
	size_t proof_len = 0;
};

SECURITY_STATUS hash_callback(void* client, const SEC_WINNT_AUTH_IDENTITY* id, const SecBuffer* proof,
                              const BYTE* randkey, const BYTE* mic, const SecBuffer* micvalue, BYTE* hash)
{
	auto* rec = static_cast<CallbackRecord*>(client);
	rec->calls++;
	rec->user.assign(reinterpret_cast<const char16_t*>(id->User), id->UserLength);
	rec->proof_len = proof->cbBuffer;
	if (!randkey || !mic || !micvalue)
		return SEC_E_INTERNAL_ERROR;
	if (rec->user == u"nobody")
		return SEC_E_LOGON_DENIED;
	std::memset(hash, 0x42, 16);
	return SEC_E_OK;
}

bool check_identity_winpr()
{
	Credential c;
	char16_t user[] = u"erin";
	char sam[] = "/tmp/nlassp-test-SAM";
	char kdc[] = "https://kdc.lab/KdcProxy", keytab[] = "/etc/krb5.keytab";
	SEC_WINPR_NTLM_SETTINGS ntlm{};
	ntlm.samFile = sam;
	SEC_WINPR_KERBEROS_SETTINGS krb{};
	krb.kdcUrl = kdc;
	krb.keytab = keytab;
	krb.withPac = TRUE;
	krb.lifeTime = 3600;
	SEC_WINNT_AUTH_IDENTITY_WINPR w{};
	w.identity.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
	w.identity.Length = sizeof(SEC_WINNT_AUTH_IDENTITY_EXW);   // as credssp_auth.c sets it
	w.identity.User = reinterpret_cast<UINT16*>(user);
	w.identity.UserLength = 4;
	w.identity.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE | SEC_WINNT_AUTH_IDENTITY_EXTENDED;
	w.ntlmSettings = &ntlm;
	w.kerberosSettings = &krb;
	const int before = g_fake.sam_requests.load();
	if (!parse(&w, c, Error::None) || c.identity->user != u"erin" || !c.ntlm_users ||
	    g_fake.sam_requests.load() != before + 1 || g_fake.sam_path != sam || c.kerberos.kdc_url != kdc ||
	    c.kerberos.keytab != keytab || !c.kerberos.with_pac || c.kerberos.life_time != 3600)
		return failed("SEC_WINNT_AUTH_IDENTITY_WINPR with SAM file");

	// The same bytes without EXTENDED are a plain EXW: the settings are not read.
	w.identity.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
	if (!parse(&w, c, Error::None) || c.ntlm_users || !c.kerberos.kdc_url.empty())
		return failed("EXW without EXTENDED");

	// Hash callback: the store calls it with the user, and says it returns NTOWFv2.
	CallbackRecord rec;
	ntlm.samFile = nullptr;
	ntlm.hashCallback = hash_callback;
	ntlm.hashCallbackArg = &rec;
	w.identity.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE | SEC_WINNT_AUTH_IDENTITY_EXTENDED;
	w.kerberosSettings = nullptr;
	if (!parse(&w, c, Error::None) || !c.ntlm_users ||
	    c.ntlm_users->hash_kind() != NtlmUserStore::HashKind::NtowfV2)
		return failed("hash callback store");
	const uint8_t proof[24] = {1, 2, 3};
	NtlmLookup who{u"frank", u"LAB", {}, {}, {}, ByteView(proof, sizeof(proof)), {}};
	NtlmAccount account;
	if (c.ntlm_users->lookup(who, account) != Error::None || account.key.size() != 16 || account.key[0] != 0x42 ||
	    rec.calls != 1 || rec.user != u"frank" || rec.proof_len != 24)
		return failed("hash callback lookup");
	// The callback confirms the name it was asked about: that is the name reported.
	if (account.user != u"frank" || account.domain != u"LAB")
		return failed("hash callback account name");
	who.user = u"nobody";
	if (c.ntlm_users->lookup(who, account) != Error::LogonDenied)
		return failed("hash callback refusal");

	// A server's all-empty identity next to its settings is no identity at all.
	w.identity.User = nullptr;
	w.identity.UserLength = 0;
	if (!parse(&w, c, Error::None) || c.identity || !c.ntlm_users)
		return failed("empty WINPR identity");
	// NULL settings pointers are fine.
	w.ntlmSettings = nullptr;
	if (!parse(&w, c, Error::None) || c.ntlm_users)
		return failed("NULL ntlmSettings");
	return true;
}

void test_identity_winpr(void**)
{
	assert_true(check_identity_winpr());
}

// WinPR 3.10 callbacks return TRUE/FALSE, 3.30 callbacks SEC_E_OK / an error: both successes
// count, and no refusal ever passes as a success with an unwritten (or all-zero) hash.
enum class CallbackKind { True310, False310, Ok330, Denied330, OkNotWritten, TrueZeroHash };

SECURITY_STATUS convention_callback(void* client, const SEC_WINNT_AUTH_IDENTITY*, const SecBuffer*, const BYTE*,
                                    const BYTE*, const SecBuffer*, BYTE* hash)
{
	switch (*static_cast<CallbackKind*>(client)) {
	case CallbackKind::True310: std::memset(hash, 0x42, 16); return TRUE;
	case CallbackKind::False310: return FALSE;
	case CallbackKind::Ok330: std::memset(hash, 0x42, 16); return SEC_E_OK;
	case CallbackKind::Denied330: return SEC_E_LOGON_DENIED;
	case CallbackKind::OkNotWritten: return SEC_E_OK;
	case CallbackKind::TrueZeroHash: std::memset(hash, 0, 16); return TRUE;
	}
	return SEC_E_INTERNAL_ERROR;
}

bool callback_result(CallbackKind kind, Error want)
{
	auto store = sspi::make_hash_callback_store(convention_callback, &kind);
	NtlmLookup who{u"alice", u"LAB", {}, {}, {}, {}, {}};
	NtlmAccount account;
	const Error got = store->lookup(who, account);
	if (got != want)
		return failed("hash callback convention");
	return want != Error::None || (account.key.size() == 16 && account.key[0] == 0x42 && account.user == u"alice");
}

void test_hash_callback_conventions(void**)
{
	assert_true(callback_result(CallbackKind::True310, Error::None));
	assert_true(callback_result(CallbackKind::Ok330, Error::None));
	assert_true(callback_result(CallbackKind::False310, Error::LogonDenied));
	assert_true(callback_result(CallbackKind::Denied330, Error::LogonDenied));
	assert_true(callback_result(CallbackKind::OkNotWritten, Error::LogonDenied));
	assert_true(callback_result(CallbackKind::TrueZeroHash, Error::LogonDenied));
}

bool check_default_sam()
{
	CredHandle h{};
	const int before = g_fake.sam_requests.load();
	if (!acquire("NTLM", SECPKG_CRED_INBOUND, nullptr, h))
		return false;
	(void)A()->FreeCredentialsHandle(&h);
	const std::string path = g_fake.sam_path;
	if (g_fake.sam_requests.load() != before + 1 || path.size() < 4 || path.compare(path.size() - 4, 4, "/SAM") != 0)
		return failed("inbound NTLM without a store uses WinPR's default SAM file");
	// Outbound needs no store; Kerberos never does.
	if (!acquire("NTLM", SECPKG_CRED_OUTBOUND, nullptr, h))
		return false;
	(void)A()->FreeCredentialsHandle(&h);
	if (!acquire("Kerberos", SECPKG_CRED_INBOUND, nullptr, h))
		return false;
	(void)A()->FreeCredentialsHandle(&h);
	return g_fake.sam_requests.load() == before + 1 || failed("unexpected SAM lookups");
}

void test_default_sam(void**)
{
	assert_true(check_default_sam());
}

void test_acquire_errors(void**)
{
	CredHandle h{};
	char ntlm[] = "NTLM", bogus[] = "Bogus";
	assert_int_equal(A()->AcquireCredentialsHandleA(nullptr, bogus, SECPKG_CRED_OUTBOUND, nullptr, nullptr, nullptr,
	                                                nullptr, &h, nullptr),
	                 SEC_E_SECPKG_NOT_FOUND);
	assert_int_equal(A()->AcquireCredentialsHandleA(nullptr, ntlm, 0, nullptr, nullptr, nullptr, nullptr, &h, nullptr),
	                 SEC_E_INVALID_PARAMETER);
	assert_int_equal(A()->AcquireCredentialsHandleA(nullptr, ntlm, SECPKG_CRED_OUTBOUND, nullptr, nullptr, nullptr,
	                                                nullptr, nullptr, nullptr),
	                 SEC_E_INVALID_PARAMETER);
	SEC_WINNT_AUTH_IDENTITY_EX2 ex2{};
	ex2.Version = SEC_WINNT_AUTH_IDENTITY_VERSION_2;
	assert_int_equal(A()->AcquireCredentialsHandleA(nullptr, ntlm, SECPKG_CRED_OUTBOUND, nullptr, &ex2, nullptr,
	                                                nullptr, &h, nullptr),
	                 SEC_E_UNSUPPORTED_FUNCTION);
}

bool check_credential_names()
{
	auto id = ansi_identity();
	CredHandle h{};
	if (!acquire("NTLM", SECPKG_CRED_OUTBOUND, &id, h))
		return false;
	SecPkgCredentials_NamesA names{};
	SecPkgCredentials_NamesW wnames{};
	bool ok = expect("NAMES", A()->QueryCredentialsAttributesA(&h, SECPKG_CRED_ATTR_NAMES, &names), SEC_E_OK) &&
	          std::strcmp(names.sUserName, "LAB\\alice") == 0 &&
	          expect("NAMES W", W()->QueryCredentialsAttributesW(&h, SECPKG_CRED_ATTR_NAMES, &wnames), SEC_E_OK) &&
	          std::u16string(reinterpret_cast<const char16_t*>(wnames.sUserName)) == u"LAB\\alice";
	(void)A()->FreeContextBuffer(names.sUserName);
	(void)A()->FreeContextBuffer(wnames.sUserName);
	ok = ok && expect("other attr", A()->QueryCredentialsAttributesA(&h, 42, &names), SEC_E_UNSUPPORTED_FUNCTION);
	(void)A()->FreeCredentialsHandle(&h);
	return ok;
}

void test_credential_names(void**)
{
	assert_true(check_credential_names());
}

// ---- KDC proxy settings --------------------------------------------------------------------

Bytes kdc_proxy_blob(std::u16string_view server, uint32_t version = KDC_PROXY_SETTINGS_V1, int off_delta = 0,
                     int len_delta = 0)
{
	Bytes b(sizeof(SecPkgCredentials_KdcProxySettingsW) + (server.size() + 1) * 2);
	SecPkgCredentials_KdcProxySettingsW h{};
	h.Version = version;
	h.ProxyServerOffset = static_cast<USHORT>(sizeof(h) + off_delta);
	h.ProxyServerLength = static_cast<USHORT>((server.size() + 1) * 2 + len_delta);
	std::memcpy(b.data(), &h, sizeof(h));
	std::memcpy(b.data() + sizeof(h), server.data(), server.size() * 2);
	return b;
}

bool check_kdc_proxy()
{
	auto id = ansi_identity();
	CredHandle h{};
	if (!acquire("Kerberos", SECPKG_CRED_OUTBOUND, &id, h))
		return false;
	// A context started before the change keeps the credential it started with.
	Side before;
	before.cred = h;
	before.flags = kClientFlags;
	Bytes out;
	bool ok = expect("ISC before", client_step(before, {}, out), SEC_I_CONTINUE_NEEDED) &&
	          g_fake.kdc_proxy_server.empty();

	Bytes good = kdc_proxy_blob(u"https://proxy.lab/KdcProxy");
	ok = ok && expect("set W", W()->SetCredentialsAttributesW(&h, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, good.data(),
	                                                        static_cast<ULONG>(good.size())),
	                  SEC_E_OK);
	Side after;
	after.cred = h;
	after.flags = kClientFlags;
	ok = ok && expect("ISC after", client_step(after, {}, out), SEC_I_CONTINUE_NEEDED) &&
	     g_fake.kdc_proxy_server == "https://proxy.lab/KdcProxy";
	// FreeRDP passes the same W layout through SetCredentialsAttributesA.
	Bytes other = kdc_proxy_blob(u"tcp://kdc.lab:88");
	ok = ok && expect("set A", A()->SetCredentialsAttributesA(&h, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, other.data(),
	                                                        static_cast<ULONG>(other.size())),
	                  SEC_E_OK);

	const auto bad = [&](const char* what, Bytes b, ULONG cb) {
		return expect(what, A()->SetCredentialsAttributesA(&h, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, b.data(), cb),
		              SEC_E_INVALID_PARAMETER);
	};
	Bytes g = kdc_proxy_blob(u"x");
	ok = ok && bad("short header", g, 8) && bad("length past the end", kdc_proxy_blob(u"x", 1, 0, 2), 20) &&
	     bad("offset past the end", kdc_proxy_blob(u"x", 1, 100, 0), 20) &&
	     bad("odd length", kdc_proxy_blob(u"x", 1, 0, -1), 20) && bad("version", kdc_proxy_blob(u"x", 7), 20) &&
	     bad("truncated buffer", g, static_cast<ULONG>(g.size() - 1)) &&
	     expect("NULL buffer", A()->SetCredentialsAttributesA(&h, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, nullptr, 0),
	            SEC_E_INVALID_PARAMETER) &&
	     expect("NAMES refused", A()->SetCredentialsAttributesA(&h, SECPKG_CRED_ATTR_NAMES, g.data(), 20),
	            SEC_E_UNSUPPORTED_FUNCTION) &&
	     expect("other attr", A()->SetCredentialsAttributesA(&h, 99, g.data(), 20), SEC_E_UNSUPPORTED_FUNCTION);
	CredHandle forged{h.dwLower + 77, h.dwUpper};
	ok = ok && expect("forged", A()->SetCredentialsAttributesA(&forged, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, good.data(),
	                                                         static_cast<ULONG>(good.size())),
	                  SEC_E_INVALID_HANDLE);
	(void)A()->DeleteSecurityContext(&before.ctx);
	(void)A()->DeleteSecurityContext(&after.ctx);
	(void)A()->FreeCredentialsHandle(&h);
	return ok;
}

void test_kdc_proxy(void**)
{
	assert_true(check_kdc_proxy());
}

// ---- channel bindings ----------------------------------------------------------------------

Bytes bindings_blob(uint32_t app_off, uint32_t app_len, size_t total, uint32_t init_off = 0, uint32_t init_len = 0)
{
	Bytes b(total, 0xcb);
	SEC_CHANNEL_BINDINGS h{};
	h.dwInitiatorAddrType = 2;
	h.cbInitiatorLength = init_len;
	h.dwInitiatorOffset = init_off;
	h.cbApplicationDataLength = app_len;
	h.dwApplicationDataOffset = app_off;
	std::memcpy(b.data(), &h, std::min(sizeof(h), total));
	return b;
}

bool check_bindings_parse()
{
	ChannelBindings cb;
	const Bytes good = bindings_blob(32, 10, 42);
	if (sspi::parse_channel_bindings(good, cb) != Error::None || cb.application_data.size() != 10 ||
	    cb.application_data[0] != 0xcb || cb.initiator_addr_type != 2 || !cb.initiator_addr.empty())
		return failed("valid bindings");
	const struct {
		const char* what;
		Bytes blob;
	} bad[] = {
	    {"empty", {}},
	    {"short header", Bytes(31, 0)},
	    {"application data past the end", bindings_blob(32, 11, 42)},
	    {"offset past the end", bindings_blob(43, 1, 42)},
	    {"offset + length overflows 32 bits", bindings_blob(0xFFFFFFF0u, 0x20, 42)},
	    {"length overflows", bindings_blob(32, 0xFFFFFFFFu, 42)},
	    {"initiator address past the end", bindings_blob(32, 10, 42, 40, 8)},
	};
	for (const auto& b : bad)
		if (sspi::parse_channel_bindings(b.blob, cb) != Error::InvalidToken)
			return failed(b.what);
	return true;
}

void test_bindings_parse(void**)
{
	assert_true(check_bindings_parse());
}

bool check_bindings_through_accept()
{
	Side c, sv;
	if (!open_pair(c, sv))
		return false;
	Bytes good = bindings_blob(32, 10, 42);
	SecBuffer cb{static_cast<ULONG>(good.size()), SECBUFFER_CHANNEL_BINDINGS, good.data()};
	bool ok = login(c, sv, &cb) && g_fake.saw_bindings && g_fake.bindings.application_data.size() == 10;
	close_pair(c, sv);

	// A malformed header fails the step with SEC_E_INVALID_TOKEN, before the package sees it.
	if (!open_pair(c, sv))
		return false;
	Bytes t1, t2;
	Bytes bad = bindings_blob(0xFFFFFFF0u, 0x20, 42);
	SecBuffer badcb{static_cast<ULONG>(bad.size()), SECBUFFER_CHANNEL_BINDINGS, bad.data()};
	ok = ok && expect("ISC", client_step(c, {}, t1), SEC_I_CONTINUE_NEEDED) &&
	     expect("ASC bad bindings", server_step(sv, t1, t2, &badcb), SEC_E_INVALID_TOKEN) && t2.empty() &&
	     !sv.have_ctx;
	SecBuffer nullcb{40, SECBUFFER_CHANNEL_BINDINGS, nullptr};
	ok = ok && expect("ASC NULL bindings", server_step(sv, t1, t2, &nullcb), SEC_E_INVALID_TOKEN);
	close_pair(c, sv);
	return ok;
}

void test_bindings_through_accept(void**)
{
	assert_true(check_bindings_through_accept());
}

// ---- output buffers ------------------------------------------------------------------------

bool check_output_too_small()
{
	Side c, sv;
	if (!open_pair(c, sv))
		return false;
	g_fake.first_token_size = 100;
	// A 64-byte area: 50 bytes offered as the output buffer, 14 guard bytes behind it.
	uint8_t area[64];
	std::memset(area, 0xee, sizeof(area));
	SecBuffer in{0, SECBUFFER_TOKEN, nullptr};
	SecBufferDesc in_desc{SECBUFFER_VERSION, 1, &in};
	SecBuffer out{50, SECBUFFER_TOKEN, area};
	SecBufferDesc out_desc{SECBUFFER_VERSION, 1, &out};
	CtxtHandle ctx{0xabc, 0xdef};
	ULONG attrs = kClientFlags;
	char target[] = "TERMSRV/host";
	const size_t handles_before = sspi::handles().size();
	const SECURITY_STATUS s = A()->InitializeSecurityContextA(&c.cred, nullptr, target, attrs, 0, SECURITY_NATIVE_DREP,
	                                                          &in_desc, 0, &ctx, &out_desc, &attrs, nullptr);
	g_fake.first_token_size = 0;
	bool ok = expect("too small", s, SEC_E_INSUFFICIENT_MEMORY) && out.cbBuffer == 0 && ctx.dwLower == 0xabc &&
	          ctx.dwUpper == 0xdef && sspi::handles().size() == handles_before;
	for (size_t i = 0; i < sizeof(area); ++i)
		if (area[i] != 0xee)
			ok = failed("wrote into the too-small buffer or past it");
	// Exactly fitting works.
	g_fake.first_token_size = 50;
	Bytes t;
	ok = ok && expect("fits", client_step(c, {}, t, 50), SEC_I_CONTINUE_NEEDED) && t.size() == 50;
	g_fake.first_token_size = 0;
	// No output token buffer at all.
	SecBufferDesc empty{SECBUFFER_VERSION, 0, nullptr};
	ok = ok && expect("no output", A()->InitializeSecurityContextA(&c.cred, nullptr, target, attrs, 0, 0, &in_desc, 0,
	                                                             &ctx, &empty, &attrs, nullptr),
	                  SEC_E_INVALID_PARAMETER);
	close_pair(c, sv);
	return ok;
}

void test_output_too_small(void**)
{
	assert_true(check_output_too_small());
}

bool check_allocate_memory()
{
	Side c, sv;
	if (!open_pair(c, sv))
		return false;
	const size_t before = sspi::live_context_buffers();
	SecBuffer in{0, SECBUFFER_TOKEN, nullptr};
	SecBufferDesc in_desc{SECBUFFER_VERSION, 1, &in};
	SecBuffer out{0, SECBUFFER_TOKEN, nullptr};
	SecBufferDesc out_desc{SECBUFFER_VERSION, 1, &out};
	ULONG attrs = 0;
	const SECURITY_STATUS s =
	    A()->InitializeSecurityContextA(&c.cred, nullptr, nullptr, kClientFlags | ISC_REQ_ALLOCATE_MEMORY, 0, 0,
	                                    &in_desc, 0, &c.ctx, &out_desc, &attrs, nullptr);
	c.have_ctx = s == SEC_I_CONTINUE_NEEDED;
	bool ok = expect("ISC allocate", s, SEC_I_CONTINUE_NEEDED) && out.pvBuffer && out.cbBuffer == 3 &&
	          std::memcmp(out.pvBuffer, "NEG", 3) == 0 && (attrs & ISC_RET_ALLOCATED_MEMORY) &&
	          (attrs & ISC_RET_MUTUAL_AUTH) && (attrs & ISC_RET_CONFIDENTIALITY) &&
	          sspi::live_context_buffers() == before + 1;
	// The acceptor allocates too.
	SecBuffer sin{out.cbBuffer, SECBUFFER_TOKEN, out.pvBuffer};
	SecBufferDesc sin_desc{SECBUFFER_VERSION, 1, &sin};
	SecBuffer sout{0, SECBUFFER_TOKEN, nullptr};
	SecBufferDesc sout_desc{SECBUFFER_VERSION, 1, &sout};
	ULONG sattrs = 0;
	const SECURITY_STATUS ss = A()->AcceptSecurityContext(&sv.cred, nullptr, &sin_desc, kServerFlags | ASC_REQ_ALLOCATE_MEMORY,
	                                                      0, &sv.ctx, &sout_desc, &sattrs, nullptr);
	sv.have_ctx = ss == SEC_I_CONTINUE_NEEDED;
	ok = ok && expect("ASC allocate", ss, SEC_I_CONTINUE_NEEDED) && sout.pvBuffer && sout.cbBuffer == 4 &&
	     (sattrs & ASC_RET_ALLOCATED_MEMORY) && (sattrs & ASC_RET_CONNECTION);
	ok = ok && expect("free", A()->FreeContextBuffer(out.pvBuffer), SEC_E_OK) &&
	     expect("free 2", A()->FreeContextBuffer(sout.pvBuffer), SEC_E_OK) &&
	     expect("double free", A()->FreeContextBuffer(out.pvBuffer), SEC_E_INVALID_HANDLE) &&
	     sspi::live_context_buffers() == before;
	int not_ours = 0;
	ok = ok && expect("foreign pointer", A()->FreeContextBuffer(&not_ours), SEC_E_INVALID_HANDLE) &&
	     expect("NULL", A()->FreeContextBuffer(nullptr), SEC_E_OK);
	close_pair(c, sv);
	return ok;
}

void test_allocate_memory(void**)
{
	assert_true(check_allocate_memory());
}

// ---- a whole login and the attributes ------------------------------------------------------

bool check_login_and_attributes()
{
	Side c, sv;
	if (!open_pair(c, sv) || !login(c, sv))
		return false;
	bool ok = g_fake.target == u"TERMSRV/host.lab" && (c.flags & ISC_RET_MUTUAL_AUTH) &&
	          (c.flags & ISC_RET_CONFIDENTIALITY) && (sv.flags & ASC_RET_SEQUENCE_DETECT) &&
	          (sv.flags & ASC_RET_CONNECTION);
	if (!ok)
		return failed("target or flags");

	SecPkgContext_Sizes sizes{};
	ok = expect("SIZES", A()->QueryContextAttributesA(&c.ctx, SECPKG_ATTR_SIZES, &sizes), SEC_E_OK) &&
	     sizes.cbSecurityTrailer == 16 && sizes.cbMaxSignature == 16;

	SecPkgContext_PackageInfo pi{};
	ok = ok && expect("PACKAGE_INFO", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_PACKAGE_INFO, &pi), SEC_E_OK) &&
	     std::strcmp(pi.PackageInfo->Name, "NTLM") == 0;
	(void)A()->FreeContextBuffer(pi.PackageInfo);

	SecPkgContext_NegotiationInfo ni{};
	ok = ok && expect("NEGOTIATION_INFO", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_NEGOTIATION_INFO, &ni),
	                  SEC_E_OK) &&
	     std::strcmp(ni.PackageInfo->Name, "NTLM") == 0 && ni.NegotiationState == SECPKG_NEGOTIATION_COMPLETE;
	(void)A()->FreeContextBuffer(ni.PackageInfo);

	SecPkgContext_Names names{};
	ok = ok && expect("NAMES", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_NAMES, &names), SEC_E_OK) &&
	     std::strcmp(names.sUserName, "LAB\\alice") == 0;
	(void)A()->FreeContextBuffer(names.sUserName);

	SecPkgContext_AuthIdentity ai{};
	ok = ok && expect("AUTH_IDENTITY", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_AUTH_IDENTITY, &ai), SEC_E_OK) &&
	     std::strcmp(ai.User, "alice") == 0 && std::strcmp(ai.Domain, "LAB") == 0;

	SecPkgContext_SessionKey sk{};
	ok = ok && expect("SESSION_KEY", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_SESSION_KEY, &sk), SEC_E_OK) &&
	     sk.SessionKeyLength == 16 && sk.SessionKey[0] == 0x11;
	(void)A()->FreeContextBuffer(sk.SessionKey);

	SecPkgContext_Flags fl{};
	ok = ok && expect("FLAGS", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_FLAGS, &fl), SEC_E_OK) &&
	     fl.Flags == sv.flags;

	// The workstation name (FreeRDP 3.27+): set on the client, read on the server.
	char ws[] = "CLIENT-PC";
	ok = ok && expect("set HOSTNAME", A()->SetContextAttributesA(&c.ctx, SECPKG_ATTR_AUTH_NTLM_HOSTNAME, ws, 9),
	                  SEC_E_OK) &&
	     g_fake.workstation == u"CLIENT-PC";
	ok = ok && expect("set empty HOSTNAME", A()->SetContextAttributesA(&c.ctx, SECPKG_ATTR_AUTH_NTLM_HOSTNAME, ws, 0),
	                  SEC_E_INVALID_PARAMETER);
	ULONG len = 0;
	ok = ok && expect("HOSTNAME_LEN", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_AUTH_NTLM_HOSTNAME_LEN, &len),
	                  SEC_E_OK) &&
	     len == 3;
	char host[8] = {};
	ok = ok && expect("HOSTNAME", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_AUTH_NTLM_HOSTNAME, host),
	                  SEC_E_OK) &&
	     std::strcmp(host, "WS1") == 0;
	ULONG wlen = 0;
	SEC_WCHAR whost[8] = {};
	ok = ok && expect("W HOSTNAME_LEN", W()->QueryContextAttributesW(&sv.ctx, SECPKG_ATTR_AUTH_NTLM_HOSTNAME_LEN, &wlen),
	                  SEC_E_OK) &&
	     wlen == 3 &&
	     expect("W HOSTNAME", W()->QueryContextAttributesW(&sv.ctx, SECPKG_ATTR_AUTH_NTLM_HOSTNAME, whost), SEC_E_OK) &&
	     std::u16string(reinterpret_cast<const char16_t*>(whost)) == u"WS1";

	ok = ok && expect("unsupported attr", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_LIFESPAN, &sizes),
	                  SEC_E_UNSUPPORTED_FUNCTION) &&
	     expect("NULL buffer", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_SIZES, nullptr),
	            SEC_E_INVALID_PARAMETER) &&
	     expect("set other attr", A()->SetContextAttributesA(&c.ctx, SECPKG_ATTR_SIZES, ws, 9),
	            SEC_E_UNSUPPORTED_FUNCTION);

	// FreeRDP's server impersonates then reverts on the acceptor context.
	ok = ok && expect("impersonate", A()->ImpersonateSecurityContext(&sv.ctx), SEC_E_OK) &&
	     expect("revert", A()->RevertSecurityContext(&sv.ctx), SEC_E_OK) &&
	     expect("impersonate initiator", A()->ImpersonateSecurityContext(&c.ctx), SEC_E_NO_IMPERSONATION) &&
	     expect("impersonate forged", A()->ImpersonateSecurityContext(&c.cred), SEC_E_INVALID_HANDLE);

	ok = ok && seal_roundtrip(c.ctx, sv.ctx) && seal_roundtrip(sv.ctx, c.ctx);
	close_pair(c, sv);
	return ok;
}

void test_login_and_attributes(void**)
{
	assert_true(check_login_and_attributes());
}

bool check_in_progress_attributes()
{
	Side c, sv;
	if (!open_pair(c, sv))
		return false;
	Bytes t1;
	bool ok = expect("ISC 1", client_step(c, {}, t1), SEC_I_CONTINUE_NEEDED);
	SecPkgContext_NegotiationInfo ni{};
	ok = ok && expect("NEGOTIATION_INFO", A()->QueryContextAttributesA(&c.ctx, SECPKG_ATTR_NEGOTIATION_INFO, &ni),
	                  SEC_E_OK) &&
	     std::strcmp(ni.PackageInfo->Name, "Negotiate") == 0 && ni.NegotiationState == SECPKG_NEGOTIATION_IN_PROGRESS;
	(void)A()->FreeContextBuffer(ni.PackageInfo);
	// Message protection and impersonation need a complete context.
	uint8_t sig[16], data[4] = {1, 2, 3, 4};
	SecBuffer bufs[2] = {{16, SECBUFFER_TOKEN, sig}, {4, SECBUFFER_DATA, data}};
	SecBufferDesc desc{SECBUFFER_VERSION, 2, bufs};
	ok = ok && expect("encrypt early", A()->EncryptMessage(&c.ctx, 0, &desc, 0), SEC_E_INVALID_HANDLE) &&
	     expect("sign early", A()->MakeSignature(&c.ctx, 0, &desc, 0), SEC_E_INVALID_HANDLE) &&
	     expect("names early", A()->QueryContextAttributesA(&c.ctx, SECPKG_ATTR_NAMES, &ni), SEC_E_INVALID_HANDLE);
	close_pair(c, sv);
	return ok;
}

void test_in_progress_attributes(void**)
{
	assert_true(check_in_progress_attributes());
}

bool check_failed_step()
{
	Side c, sv;
	if (!open_pair(c, sv))
		return false;
	Bytes t1, t2, out;
	bool ok = expect("ISC 1", client_step(c, {}, t1), SEC_I_CONTINUE_NEEDED) &&
	          expect("ASC 1", server_step(sv, t1, t2), SEC_I_CONTINUE_NEEDED);
	g_fake.fail_error = Error::PasswordExpired;
	ok = ok && expect("ASC fails", server_step(sv, Bytes{'F', 'A', 'I', 'L'}, out), SEC_E_LOGON_DENIED) && out.empty();
	ok = ok && expect("ASC after failure", server_step(sv, Bytes{'A', 'U', 'T', 'H'}, out), SEC_E_OUT_OF_SEQUENCE);
	g_fake.fail_error = Error::LogonDenied;
	// A failed first step creates no handle.
	Side fresh;
	fresh.cred = sv.cred;
	const size_t before = sspi::handles().size();
	ok = ok && expect("ASC fails first", server_step(fresh, Bytes{'F', 'A', 'I', 'L'}, out), SEC_E_LOGON_DENIED) &&
	     !fresh.have_ctx && sspi::handles().size() == before;
	// Wrong direction.
	Side wrong;
	wrong.cred = sv.cred;
	ok = ok && expect("ISC with inbound credential", client_step(wrong, {}, out), SEC_E_UNKNOWN_CREDENTIALS);
	close_pair(c, sv);
	return ok;
}

void test_failed_step(void**)
{
	assert_true(check_failed_step());
}

bool check_message_buffers()
{
	Side c, sv;
	if (!open_pair(c, sv) || !login(c, sv))
		return false;
	// READONLY_WITH_CHECKSUM is signed but not sealed; plain READONLY is neither.
	bool ok = seal_roundtrip(c.ctx, sv.ctx, SECBUFFER_READONLY_WITH_CHECKSUM) &&
	          seal_roundtrip(c.ctx, sv.ctx, SECBUFFER_READONLY);

	// SECQOP_WRAP_NO_ENCRYPT signs only.
	uint8_t tok[16], data[5] = {'h', 'e', 'l', 'l', 'o'};
	SecBuffer bufs[2] = {{16, SECBUFFER_TOKEN, tok}, {5, SECBUFFER_DATA, data}};
	SecBufferDesc desc{SECBUFFER_VERSION, 2, bufs};
	ok = ok && expect("wrap no encrypt", A()->EncryptMessage(&c.ctx, SECQOP_WRAP_NO_ENCRYPT, &desc, 0), SEC_E_OK) &&
	     std::memcmp(data, "hello", 5) == 0 &&
	     expect("bad QOP", A()->EncryptMessage(&c.ctx, 7, &desc, 0), SEC_E_QOP_NOT_SUPPORTED);

	// Signature buffer too small: refused, nothing written.
	uint8_t small[8];
	std::memset(small, 0xee, sizeof(small));
	SecBuffer sbufs[2] = {{8, SECBUFFER_TOKEN, small}, {5, SECBUFFER_DATA, data}};
	SecBufferDesc sdesc{SECBUFFER_VERSION, 2, sbufs};
	ok = ok && expect("small token", A()->EncryptMessage(&c.ctx, 0, &sdesc, 0), SEC_E_BUFFER_TOO_SMALL) &&
	     expect("small signature", A()->MakeSignature(&c.ctx, 0, &sdesc, 0), SEC_E_BUFFER_TOO_SMALL) &&
	     small[0] == 0xee && small[7] == 0xee;

	// No TOKEN buffer; NULL descriptor; NULL data pointer with a length.
	SecBuffer only_data{5, SECBUFFER_DATA, data};
	SecBufferDesc no_token{SECBUFFER_VERSION, 1, &only_data};
	SecBuffer null_data[2] = {{16, SECBUFFER_TOKEN, tok}, {5, SECBUFFER_DATA, nullptr}};
	SecBufferDesc nd{SECBUFFER_VERSION, 2, null_data};
	SecBufferDesc null_bufs{SECBUFFER_VERSION, 2, nullptr};
	ok = ok && expect("no token", A()->EncryptMessage(&c.ctx, 0, &no_token, 0), SEC_E_INVALID_TOKEN) &&
	     expect("NULL desc", A()->EncryptMessage(&c.ctx, 0, nullptr, 0), SEC_E_INVALID_PARAMETER) &&
	     expect("NULL data", A()->EncryptMessage(&c.ctx, 0, &nd, 0), SEC_E_INVALID_PARAMETER) &&
	     expect("NULL pBuffers", A()->DecryptMessage(&sv.ctx, &null_bufs, 0, nullptr), SEC_E_INVALID_PARAMETER);

	// Sign / verify, and a tampered message.
	uint8_t msg[6] = {'s', 'i', 'g', 'n', 'e', 'd'};
	SecBuffer mbufs[2] = {{16, SECBUFFER_TOKEN, tok}, {6, SECBUFFER_DATA, msg}};
	SecBufferDesc mdesc{SECBUFFER_VERSION, 2, mbufs};
	ULONG qop = 99;
	ok = ok && expect("MakeSignature", A()->MakeSignature(&c.ctx, 0, &mdesc, 0), SEC_E_OK) && mbufs[0].cbBuffer == 16 &&
	     expect("VerifySignature", A()->VerifySignature(&sv.ctx, &mdesc, 0, &qop), SEC_E_OK) && qop == 0;
	msg[0] ^= 1;
	ok = ok && expect("tampered", A()->VerifySignature(&sv.ctx, &mdesc, 0, &qop), SEC_E_MESSAGE_ALTERED);
	close_pair(c, sv);
	return ok;
}

void test_message_buffers(void**)
{
	assert_true(check_message_buffers());
}

// ---- concurrency ---------------------------------------------------------------------------

void login_worker(int rounds, std::atomic<int>& ok_count)
{
	for (int i = 0; i < rounds; ++i) {
		Side c, sv;
		if (open_pair(c, sv, (i & 1) ? "NTLM" : "Negotiate") && login(c, sv) && seal_roundtrip(c.ctx, sv.ctx) &&
		    seal_roundtrip(sv.ctx, c.ctx))
			++ok_count;
		close_pair(c, sv);
	}
}

bool check_concurrent()
{
	constexpr int kThreads = 8, kRounds = 40;
	std::atomic<int> ok_count{0};
	const size_t handles_before = sspi::handles().size();
	const size_t buffers_before = sspi::live_context_buffers();
	const int contexts_before = g_fake.contexts_alive.load();
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; ++t)
		threads.emplace_back(login_worker, kRounds, std::ref(ok_count));
	for (auto& t : threads)
		t.join();
	if (ok_count.load() != kThreads * kRounds)
		return failed("some concurrent logins failed");
	if (sspi::handles().size() != handles_before || sspi::live_context_buffers() != buffers_before ||
	    g_fake.contexts_alive.load() != contexts_before) {
		std::fprintf(stderr, "handles %zu/%zu buffers %zu/%zu contexts %d/%d\n", sspi::handles().size(), handles_before,
		             sspi::live_context_buffers(), buffers_before, g_fake.contexts_alive.load(), contexts_before);
		return failed("handles, buffers or contexts leaked");
	}
	return true;
}

void test_concurrent(void**)
{
	assert_true(check_concurrent());
}

// One context used from several threads at once: calls serialize on the context's lock.
bool check_shared_context()
{
	Side c, sv;
	if (!open_pair(c, sv) || !login(c, sv))
		return false;
	std::atomic<int> bad{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < 4; ++t)
		threads.emplace_back([&] {
			for (int i = 0; i < 200; ++i) {
				SecPkgContext_Sizes s{};
				if (A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_SIZES, &s) != SEC_E_OK)
					++bad;
				uint8_t tok[16], data[3] = {1, 2, 3};
				SecBuffer b[2] = {{16, SECBUFFER_TOKEN, tok}, {3, SECBUFFER_DATA, data}};
				SecBufferDesc d{SECBUFFER_VERSION, 2, b};
				if (A()->MakeSignature(&c.ctx, 0, &d, 0) != SEC_E_OK)
					++bad;
			}
		});
	for (auto& t : threads)
		t.join();
	close_pair(c, sv);
	return bad.load() == 0 || failed("shared context calls failed");
}

void test_shared_context(void**)
{
	assert_true(check_shared_context());
}

// Every test above closes what it opened: no handle, context or context buffer is left.
void test_nothing_left(void**)
{
	assert_int_equal(sspi::handles().size(), 0);
	assert_int_equal(g_fake.contexts_alive.load(), 0);
	assert_int_equal(sspi::live_context_buffers(), 0);
}

} // namespace

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_package_info, setup),
	    cmocka_unit_test_setup(test_enumerate, setup),
	    cmocka_unit_test_setup(test_tables_complete, setup),
	    cmocka_unit_test_setup(test_handles, setup),
	    cmocka_unit_test_setup(test_identity_a_w, setup),
	    cmocka_unit_test_setup(test_identity_ex, setup),
	    cmocka_unit_test_setup(test_identity_winpr, setup),
	    cmocka_unit_test_setup(test_hash_callback_conventions, setup),
	    cmocka_unit_test_setup(test_default_sam, setup),
	    cmocka_unit_test_setup(test_acquire_errors, setup),
	    cmocka_unit_test_setup(test_credential_names, setup),
	    cmocka_unit_test_setup(test_kdc_proxy, setup),
	    cmocka_unit_test_setup(test_bindings_parse, setup),
	    cmocka_unit_test_setup(test_bindings_through_accept, setup),
	    cmocka_unit_test_setup(test_output_too_small, setup),
	    cmocka_unit_test_setup(test_allocate_memory, setup),
	    cmocka_unit_test_setup(test_login_and_attributes, setup),
	    cmocka_unit_test_setup(test_in_progress_attributes, setup),
	    cmocka_unit_test_setup(test_failed_step, setup),
	    cmocka_unit_test_setup(test_message_buffers, setup),
	    cmocka_unit_test_setup(test_concurrent, setup),
	    cmocka_unit_test_setup(test_shared_context, setup),
	    cmocka_unit_test(test_nothing_left),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
