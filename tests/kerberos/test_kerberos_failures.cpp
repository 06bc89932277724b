// What the Kerberos package reports when a logon cannot work, against a real MIT KDC
// (kerberos_lab.h): the krb5/GSS error mapping, wrong passwords, unknown users and services, clock
// skew, expired passwords, a dead KDC in krb5.conf (and the per-logon KDC URL that gets past it),
// missing credential caches, realms without a KDC, and, last, the KDC stopped.
//
// Test bodies only call helpers and assert: a failing CMocka assertion longjmps past C++
// destructors, so everything with a destructor lives in the global fixture or inside helpers.
#include "kerberos_lab.h"

#include "kerberos/gss.h"

#include <cstdlib>
#include <fstream>
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

// One kadmin.local query against the lab realm (through kdc.sh, which finds the sbin tools).
bool kdc_admin(const std::string& query)
{
	return run("bash -c '. \"" NLASSP_KDC_SH "\" && KDC_DIR=\"" + g->lab.dir + "\" && kdc_kadmin \"" + query +
	           "\"' >/dev/null 2>&1") == 0;
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
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_wrong_password_is_logon_denied),
		cmocka_unit_test(test_unknown_user_is_logon_denied),
		cmocka_unit_test(test_unknown_service_is_target_unknown),
		cmocka_unit_test(test_clock_skew_is_time_skew),
		cmocka_unit_test(test_expired_password_is_password_expired),
		cmocka_unit_test(test_kdc_url_is_honoured_per_context),
		cmocka_unit_test(test_no_ccache_is_no_credentials),
		cmocka_unit_test(test_realm_without_kdc_is_no_authority),
		cmocka_unit_test(test_no_default_realm_is_no_authority),
		cmocka_unit_test(test_unconfigured_kerberos_fails_without_dns),
		cmocka_unit_test(test_kdc_stopped_is_no_authority),
	};
	return cmocka_run_group_tests_name("kerberos", tests, group_setup, group_teardown);
}
