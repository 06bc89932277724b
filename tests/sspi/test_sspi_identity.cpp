// Identity strings at the SSPI boundary (issue 14, findings 1 and 6), with fake packages:
// - SEC_WINNT_AUTH_IDENTITY_A/W/EXA/EXW user and domain names with a NUL (other than one terminator
//   at the very end, counted in the length by some WinPR callers, which is dropped) or an unpaired surrogate
//   are refused (Error::InvalidParameter -> SEC_E_INVALID_PARAMETER at AcquireCredentialsHandle);
//   passwords are opaque UTF-16 and kept as given;
// - a W target name with an unpaired surrogate is SEC_E_TARGET_UNKNOWN, as invalid UTF-8 is on A;
// - SECPKG_ATTR_NAMES never hands out a name it cannot represent faithfully as a C string and a
//   "DOMAIN\user" split at the first backslash: a package name with a NUL (either part) or a
//   backslash in the domain is refused, and SECPKG_ATTR_AUTH_IDENTITY refuses a NUL.
//
// Test bodies only call bool helpers and assert.
#include "sspi/fake_package.h"
#include "sspi/identity.h"
#include "sspi/table.h"

#include <winpr/sspi.h>

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
using nlassp::test::g_fake;

#define CHECK(expr)                                                                       \
	do {                                                                                  \
		if (!(expr)) {                                                                    \
			std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
			return false;                                                                 \
		}                                                                                 \
	} while (0)

namespace {

SecurityFunctionTableA* A() { return sspi::table_a(); }
SecurityFunctionTableW* W() { return sspi::table_w(); }

Error parse(const void* auth, Credential& cred)
{
	cred = Credential{};
	return sspi::parse_auth_data(auth, cred);
}

SEC_WINNT_AUTH_IDENTITY_W wide(std::u16string& user, std::u16string& domain, std::u16string& password)
{
	SEC_WINNT_AUTH_IDENTITY_W w{};
	w.User = reinterpret_cast<UINT16*>(user.data());
	w.UserLength = static_cast<ULONG>(user.size());
	w.Domain = reinterpret_cast<UINT16*>(domain.data());
	w.DomainLength = static_cast<ULONG>(domain.size());
	w.Password = reinterpret_cast<UINT16*>(password.data());
	w.PasswordLength = static_cast<ULONG>(password.size());
	w.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
	return w;
}

const std::u16string kHigh(1, char16_t(0xd800)), kLow(1, char16_t(0xdc00));

bool wide_names()
{
	Credential c;
	const std::u16string nul = std::u16string(u"alice") + u'\0' + u"x";
	for (const auto& [u, d] : {std::pair{nul, std::u16string(u"LAB")}, std::pair{std::u16string(u"alice"), u"LAB" + kHigh},
	                           std::pair{kLow + u"alice", std::u16string(u"LAB")},
	                           std::pair{std::u16string(u"alice"), std::u16string(u"LAB") + u'\0' + u'\0'},
	                           std::pair{std::u16string(u"alice") + u'\0' + u'\0', std::u16string(u"LAB")},
	                           std::pair{u"al" + kHigh + kHigh + kLow, std::u16string(u"LAB")}}) {
		std::u16string user = u, domain = d, password = u"pw";
		auto w = wide(user, domain, password);
		CHECK(parse(&w, c) == Error::InvalidParameter);
		// The EX layout reads the same fields.
		SEC_WINNT_AUTH_IDENTITY_EXW ex{};
		ex.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
		ex.Length = sizeof(ex);
		ex.User = w.User;
		ex.UserLength = w.UserLength;
		ex.Domain = w.Domain;
		ex.DomainLength = w.DomainLength;
		ex.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
		CHECK(parse(&ex, c) == Error::InvalidParameter);
	}
	// One NUL at the very end is a terminator a WinPR caller counted in the length: dropped.
	{
		std::u16string u1 = std::u16string(u"alice") + u'\0', d1 = std::u16string(u"LAB") + u'\0', p1 = u"pw";
		auto w1 = wide(u1, d1, p1);
		CHECK(parse(&w1, c) == Error::None && c.identity->user == u"alice" && c.identity->domain == u"LAB");
	}
	// A surrogate pair is a character; a backslash in the user is "DOMAIN\user" (split later).
	std::u16string user = u"al\U0001F600ce", domain = u"LAB", password = u"pw";
	auto w = wide(user, domain, password);
	CHECK(parse(&w, c) == Error::None && c.identity->user == user);
	std::u16string qualified = u"LAB\\alice", none;
	w = wide(qualified, none, password);
	CHECK(parse(&w, c) == Error::None && c.identity->user == u"LAB\\alice");
	return true;
}

bool ansi_names()
{
	Credential c;
	char user[] = "alice\0x", domain[] = "LAB", password[] = "pw";
	SEC_WINNT_AUTH_IDENTITY_A a{};
	a.User = reinterpret_cast<BYTE*>(user);
	a.UserLength = 7;
	a.Domain = reinterpret_cast<BYTE*>(domain);
	a.DomainLength = 3;
	a.Password = reinterpret_cast<BYTE*>(password);
	a.PasswordLength = 2;
	a.Flags = SEC_WINNT_AUTH_IDENTITY_ANSI;
	CHECK(parse(&a, c) == Error::InvalidParameter);
	a.UserLength = 5;   // "alice"
	CHECK(parse(&a, c) == Error::None && c.identity->user == u"alice");
	// The terminator counted in the length is dropped; a second NUL is refused.
	char nul_domain[] = "LAB\0";
	a.Domain = reinterpret_cast<BYTE*>(nul_domain);
	a.DomainLength = 4;
	CHECK(parse(&a, c) == Error::None && c.identity->domain == u"LAB");
	char two_nuls[] = "LAB\0\0";
	a.Domain = reinterpret_cast<BYTE*>(two_nuls);
	a.DomainLength = 5;
	CHECK(parse(&a, c) == Error::InvalidParameter);
	// Encoded surrogates (CESU-8, "\xed\xa0\x80") are invalid UTF-8: refused as before.
	char cesu[] = "\xed\xa0\x80";
	a.Domain = reinterpret_cast<BYTE*>(cesu);
	a.DomainLength = 3;
	CHECK(parse(&a, c) == Error::InvalidParameter);
	return true;
}

bool passwords_are_opaque()
{
	Credential c;
	std::u16string user = u"alice", domain = u"LAB";
	std::u16string password = std::u16string(u"p") + u'\0' + kHigh + u"w" + kLow;
	auto w = wide(user, domain, password);
	CHECK(parse(&w, c) == Error::None && c.identity->has_password);
	CHECK(c.identity->password.size() == 2 * password.size());
	for (size_t i = 0; i < password.size(); ++i)
		CHECK(c.identity->password[2 * i] == (password[i] & 0xff) && c.identity->password[2 * i + 1] == (password[i] >> 8));
	return true;
}

bool wide_target_with_lone_surrogate()
{
	test::register_fake_packages();
	char16_t user[] = u"alice", pw[] = u"pw";
	SEC_WINNT_AUTH_IDENTITY_W id{};
	id.User = reinterpret_cast<UINT16*>(user);
	id.UserLength = 5;
	id.Password = reinterpret_cast<UINT16*>(pw);
	id.PasswordLength = 2;
	id.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
	CredHandle cred{};
	TimeStamp expiry{};
	char16_t pkg[] = u"NTLM";
	CHECK(W()->AcquireCredentialsHandleW(nullptr, reinterpret_cast<SEC_WCHAR*>(pkg), SECPKG_CRED_OUTBOUND, nullptr,
	                                     &id, nullptr, nullptr, &cred, &expiry) == SEC_E_OK);
	auto isc = [&](char16_t* target) {
		uint8_t out[64];
		SecBuffer ob{sizeof(out), SECBUFFER_TOKEN, out};
		SecBufferDesc od{SECBUFFER_VERSION, 1, &ob};
		CtxtHandle ctx{};
		ULONG attrs = 0;
		const SECURITY_STATUS s =
		    W()->InitializeSecurityContextW(&cred, nullptr, reinterpret_cast<SEC_WCHAR*>(target), ISC_REQ_CONFIDENTIALITY,
		                                    0, SECURITY_NATIVE_DREP, nullptr, 0, &ctx, &od, &attrs, nullptr);
		if (s == SEC_I_CONTINUE_NEEDED || s == SEC_E_OK)
			(void)W()->DeleteSecurityContext(&ctx);
		return s;
	};
	char16_t bad[] = {u'T', u'E', u'R', u'M', u'S', u'R', u'V', u'/', char16_t(0xdc00), u'h', 0};
	char16_t good[] = u"TERMSRV/h\U0001F600";
	const SECURITY_STATUS b = isc(bad), g = isc(good);
	(void)W()->FreeCredentialsHandle(&cred);
	CHECK(b == SEC_E_TARGET_UNKNOWN);
	CHECK(g == SEC_I_CONTINUE_NEEDED);
	return true;
}

// A fake login through the A table, then NAMES and AUTH_IDENTITY with the names the fake reports.
bool query_names(const std::u16string& user, const std::u16string& domain, SECURITY_STATUS& names,
                 SECURITY_STATUS& identity, std::string& names_out)
{
	test::register_fake_packages();
	{
		std::lock_guard lock(g_fake.mu);
		g_fake.names_user = user;
		g_fake.names_domain = domain;
	}
	char u[] = "alice", d[] = "LAB", p[] = "pw";
	SEC_WINNT_AUTH_IDENTITY_A id{};
	id.User = reinterpret_cast<BYTE*>(u);
	id.UserLength = 5;
	id.Domain = reinterpret_cast<BYTE*>(d);
	id.DomainLength = 3;
	id.Password = reinterpret_cast<BYTE*>(p);
	id.PasswordLength = 2;
	id.Flags = SEC_WINNT_AUTH_IDENTITY_ANSI;
	CredHandle cc{}, sc{};
	TimeStamp expiry{};
	char pkg[] = "NTLM";
	CHECK(A()->AcquireCredentialsHandleA(nullptr, pkg, SECPKG_CRED_OUTBOUND, nullptr, &id, nullptr, nullptr, &cc,
	                                     &expiry) == SEC_E_OK);
	CHECK(A()->AcquireCredentialsHandleA(nullptr, pkg, SECPKG_CRED_INBOUND, nullptr, nullptr, nullptr, nullptr, &sc,
	                                     &expiry) == SEC_E_OK);
	CtxtHandle c{}, s{};
	bool have_c = false, have_s = false;
	uint8_t in[64] = {}, out[64] = {};
	ULONG in_len = 0, ca = 0, sa = 0;
	SECURITY_STATUS cs = SEC_I_CONTINUE_NEEDED, ss = SEC_I_CONTINUE_NEEDED;
	char target[] = "TERMSRV/h";
	// The fake's three legs: ISC -> ASC -> ISC (SEC_E_OK) -> ASC (SEC_E_OK).
	for (int i = 0; i < 4 && ss != SEC_E_OK; ++i) {
		if (i % 2 == 0) {
			SecBuffer ib{in_len, SECBUFFER_TOKEN, in};
			SecBufferDesc idd{SECBUFFER_VERSION, 1, &ib};
			SecBuffer ob{sizeof(out), SECBUFFER_TOKEN, out};
			SecBufferDesc od{SECBUFFER_VERSION, 1, &ob};
			cs = A()->InitializeSecurityContextA(&cc, have_c ? &c : nullptr, target, 0, 0, SECURITY_NATIVE_DREP,
			                                     in_len ? &idd : nullptr, 0, &c, &od, &ca, nullptr);
			have_c = true;
			std::memcpy(in, out, ob.cbBuffer);
			in_len = ob.cbBuffer;
		} else {
			SecBuffer ib{in_len, SECBUFFER_TOKEN, in};
			SecBufferDesc idd{SECBUFFER_VERSION, 1, &ib};
			SecBuffer ob{sizeof(out), SECBUFFER_TOKEN, out};
			SecBufferDesc od{SECBUFFER_VERSION, 1, &ob};
			ss = A()->AcceptSecurityContext(&sc, have_s ? &s : nullptr, &idd, 0, SECURITY_NATIVE_DREP, &s, &od, &sa,
			                                nullptr);
			have_s = true;
			std::memcpy(in, out, ob.cbBuffer);
			in_len = ob.cbBuffer;
		}
	}
	SecPkgContext_Names n{};
	names = A()->QueryContextAttributesA(&s, SECPKG_ATTR_NAMES, &n);
	if (names == SEC_E_OK) {
		names_out = n.sUserName;
		(void)A()->FreeContextBuffer(n.sUserName);
	}
	SecPkgContext_AuthIdentity ai{};
	identity = A()->QueryContextAttributesA(&s, SECPKG_ATTR_AUTH_IDENTITY, &ai);
	(void)A()->DeleteSecurityContext(&c);
	(void)A()->DeleteSecurityContext(&s);
	(void)A()->FreeCredentialsHandle(&cc);
	(void)A()->FreeCredentialsHandle(&sc);
	{
		std::lock_guard lock(g_fake.mu);
		g_fake.names_user = u"alice";
		g_fake.names_domain = u"LAB";
	}
	CHECK(cs == SEC_E_OK && ss == SEC_E_OK);
	return true;
}

bool names_the_boundary_refuses()
{
	SECURITY_STATUS n = 0, i = 0;
	std::string s;
	CHECK(query_names(u"alice", u"LAB", n, i, s));
	CHECK(n == SEC_E_OK && i == SEC_E_OK && s == "LAB\\alice");
	CHECK(query_names(u"bob", u"", n, i, s));
	CHECK(n == SEC_E_OK && i == SEC_E_OK && s == "bob");
	const std::u16string nul = std::u16string(u"alice") + u'\0' + u"x";
	CHECK(query_names(u"bob", std::u16string(u"LAB\\alice") + u'\0', n, i, s));
	CHECK(n == SEC_E_INTERNAL_ERROR && i == SEC_E_INTERNAL_ERROR);
	CHECK(query_names(nul, u"LAB", n, i, s));
	CHECK(n == SEC_E_INTERNAL_ERROR && i == SEC_E_INTERNAL_ERROR);
	CHECK(query_names(u"bob", u"LAB\\alice", n, i, s));
	CHECK(n == SEC_E_INTERNAL_ERROR && i == SEC_E_OK);
	// A backslash after the first one belongs to the user (Kerberos escapes, e.g. an enterprise
	// name "alice\@corp.example"): the first backslash still separates the domain.
	CHECK(query_names(u"alice\\@corp.example", u"LAB.TEST", n, i, s));
	CHECK(n == SEC_E_OK && i == SEC_E_OK && s == "LAB.TEST\\alice\\@corp.example");
	return true;
}

} // namespace

static void test_wide_names_with_nul_or_lone_surrogate_refused(void**) { assert_true(wide_names()); }
static void test_ansi_names_with_nul_refused(void**) { assert_true(ansi_names()); }
static void test_passwords_are_opaque(void**) { assert_true(passwords_are_opaque()); }
static void test_wide_target_with_lone_surrogate_is_target_unknown(void**) { assert_true(wide_target_with_lone_surrogate()); }
static void test_names_with_nul_or_backslash_not_handed_out(void**) { assert_true(names_the_boundary_refuses()); }

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wide_names_with_nul_or_lone_surrogate_refused),
		cmocka_unit_test(test_ansi_names_with_nul_refused),
		cmocka_unit_test(test_passwords_are_opaque),
		cmocka_unit_test(test_wide_target_with_lone_surrogate_is_target_unknown),
		cmocka_unit_test(test_names_with_nul_or_backslash_not_handed_out),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
