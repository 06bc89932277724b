// The Kerberos package against a real MIT KDC (kerberos_lab.h): logons with a password, with a
// ticket from a credential cache and with no identity at all, the user name forms, lifetimes,
// delegation and channel bindings. Initiator and acceptor talk through the SecurityContext
// interface only. Message protection is in test_kerberos_protect.cpp, failures in
// test_kerberos_failures.cpp.
//
// Test bodies only call helpers and assert: a failing CMocka assertion longjmps past C++
// destructors, so everything with a destructor lives in the global fixture or inside helpers.
#include "kerberos_lab.h"

#include "kerberos/gss.h"

#include <cstring>
#include <filesystem>
#include <string>

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

using namespace nlassp;
using namespace nlassp::test;

namespace {

bool session_keys_match()
{
	SecretBytes a, b;
	return g->pair.ini->session_key(a) == Error::None && g->pair.acc->session_key(b) == Error::None && a.size() >= 16 &&
	       constant_time_equal(a.view(), b.view());
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

} // namespace

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_principal_names),
		cmocka_unit_test(test_password_login),
		cmocka_unit_test(test_password_into_named_cache_with_lifetime),
		cmocka_unit_test(test_user_name_forms),
		cmocka_unit_test(test_delegation_flag_passes_through),
		cmocka_unit_test(test_channel_bindings),
		cmocka_unit_test(test_user_without_password_uses_ccache),
		cmocka_unit_test(test_user_ccache_untouched_by_password_login),
		cmocka_unit_test(test_ccache_login_without_identity),
	};
	return cmocka_run_group_tests_name("kerberos", tests, group_setup, group_teardown);
}
