// The SSPI boundary's credentials, with fake packages: identity parsing of every pAuthData layout
// (SEC_WINNT_AUTH_IDENTITY_A/W, EXA/EXW, WinPR's with NTLM and Kerberos settings), WinPR hash
// callbacks of both conventions, the default SAM file, AcquireCredentialsHandle's refusals,
// credential names, and the KDC proxy settings set on a credential.
//
// Test bodies only call bool helpers and assert: a failing CMocka assertion longjmps past C++
// destructors, so anything with a destructor lives inside the helpers.
#include "sspi_pair.h"

#include "sspi/buffers.h"
#include "sspi/handles.h"
#include "sspi/identity.h"
#include "sspi/packages.h"
#include "sspi/table.h"

#include <cstdio>
#include <cstring>
#include <string>

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
using namespace nlassp::test;

namespace {

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

} // namespace

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_identity_a_w, setup),
	    cmocka_unit_test_setup(test_identity_ex, setup),
	    cmocka_unit_test_setup(test_identity_winpr, setup),
	    cmocka_unit_test_setup(test_hash_callback_conventions, setup),
	    cmocka_unit_test_setup(test_default_sam, setup),
	    cmocka_unit_test_setup(test_acquire_errors, setup),
	    cmocka_unit_test_setup(test_credential_names, setup),
	    cmocka_unit_test_setup(test_kdc_proxy, setup),
	};
	const int failures = cmocka_run_group_tests(tests, nullptr, nullptr);
	// As test_nothing_left does in test_sspi_boundary: every test closed what it opened.
	return failures != 0 ? failures : (nothing_left() ? 0 : 1);
}
