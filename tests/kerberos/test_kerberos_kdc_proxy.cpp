// The Kerberos package through a real KDC proxy (MS-KKDCP: python3-kdcproxy behind TLS with a
// throwaway private CA, tests/lab/kdcproxy.sh) in front of a real MIT KDC, the client's realm
// stanza listing no KDC at all:
//   - /kerberos:kdc-url (kerberosSettings.kdcUrl) and SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS: the
//     login works because the private profile keeps the stanza's http_anchors; the proxy relays
//     the AS and the TGS exchange; every other relation of the stanza is kept, its KDCs are not;
//   - without http_anchors: SEC_E_NO_AUTHENTICATING_AUTHORITY and one line naming the untrusted
//     certificate and http_anchors; without MIT's TLS plugin: one line naming krb5-k5tls;
//   - FreeRDP 3.10's workaround (kdc = https://proxy/KdcProxy in the stanza, no KDC URL) the same;
//   - a smartcard logon (PKINIT, tests/lab/pkinit.sh: carol's certificate in files) through the
//     proxy, and the same diagnosis when the proxy's certificate is not trusted - for its AS
//     exchange and for the service ticket fetched after it.
// Our log is read through WLog's FILE appender (set up in main before WinPR starts).
#include "kerberos/kerberos.h"

#include "interop/kdc_lab.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
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

#ifndef NLASSP_KDC_SH
#error "NLASSP_KDC_SH must name tests/lab/kdc.sh"
#endif

using namespace nlassp;
using nlassp::interop::KdcLab;

namespace {

struct Fixture {
	KdcLab lab;
	std::string url;        // https://localhost:PORT/KdcProxy
	std::string proxy_dir;
	int proxy_pid = -1;
	std::string log;        // our WLog file
	size_t log_mark = 0;
	ContextPtr ini;
	ContextPtr acc;
	std::string private_conf;   // the private profile seen while a context was alive
};
Fixture* g = nullptr;
std::string g_log_dir;

std::string read_file(const std::string& path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

bool shell(const std::string& script)
{
	return interop::kdc_lab_run(g->lab, "_KDCPROXY_TRAP_SET=1; . \"$(dirname \"$1\")/kdcproxy.sh\" && " + script);
}

int proxy_count(const char* kind)
{
	std::istringstream in(read_file(g->proxy_dir + "/kdcproxy.log"));
	std::string line;
	int n = 0;
	while (std::getline(in, line))
		n += line.find(std::string("kdcproxy: ") + kind + " ") != std::string::npos &&
		             line.find("-> 200") != std::string::npos
		         ? 1
		         : 0;
	return n;
}

// Our log lines since the last mark that contain every needle.
int log_lines(std::initializer_list<const char*> needles)
{
	const std::string text = read_file(g->log);
	std::istringstream in(text.size() > g->log_mark ? text.substr(g->log_mark) : std::string());
	std::string line;
	int n = 0;
	while (std::getline(in, line)) {
		bool all = line.find("[com.nlassp.") != std::string::npos;
		for (const char* needle : needles)
			all = all && line.find(needle) != std::string::npos;
		n += all ? 1 : 0;
	}
	return n;
}

void print_log()
{
	const std::string text = read_file(g->log);
	std::fprintf(stderr, "%s", text.size() > g->log_mark ? text.substr(g->log_mark).c_str() : "");
}

int group_setup(void** state)
{
	g = new Fixture;
	*state = g;
	std::string why;
	const char* sh = std::getenv("NLASSP_KDC_SH");
	// carol logs on with PKINIT only (a random key; tests/lab/pkinit.sh), alice with her password.
	const std::string pkinit = ". \"$(dirname \"$1\")/pkinit.sh\" && kdc_kadmin \"addprinc -randkey carol\" && pkinit_setup carol";
	if (!interop::kdc_lab_start_with(g->lab, sh && *sh ? sh : NLASSP_KDC_SH, pkinit, &why)) {
		std::fprintf(stderr, "KDC: %s\n", why.c_str());
		return -1;
	}
	g->proxy_dir = g->lab.dir + "/kdcproxy";
	setenv("KDCPROXY_WATCH_PID", std::to_string(getpid()).c_str(), 1);
	// The KDC's port for kdcproxy.conf, then the proxy; client configurations: the realm's stanza
	// without a KDC, with and without the lab CA as http_anchors, and the 3.10 workaround forms.
	const std::string script =
	    "KDC_PORT=$(sed -n 's/.*kdc = 127.0.0.1:\\([0-9]*\\).*/\\1/p' \"$KRB5_CONFIG\" | head -n1) && "
	    "kdcproxy_setup && kdcproxy_start && echo \"$KDCPROXY_URL\" >\"$KDC_DIR/proxy.url\" && "
	    "echo \"$KDCPROXY_PID\" >\"$KDC_DIR/proxy.pid\" && "
	    "kdcproxy_client_conf \"$KDC_DIR/anchors.conf\" anchors && "
	    "kdcproxy_client_conf \"$KDC_DIR/no-anchors.conf\" no-anchors && "
	    "kdcproxy_client_conf \"$KDC_DIR/workaround.conf\" anchors kdc && "
	    "kdcproxy_client_conf \"$KDC_DIR/workaround-no-anchors.conf\" no-anchors kdc";
	if (!shell(script)) {
		std::fprintf(stderr, "kdcproxy: %s%s\n", read_file(g->lab.dir + "/run.out").c_str(),
		             read_file(g->proxy_dir + "/kdcproxy.log").c_str());
		return -1;
	}
	g->url = read_file(g->lab.dir + "/proxy.url");
	while (!g->url.empty() && (g->url.back() == '\n' || g->url.back() == '\r'))
		g->url.pop_back();
	g->proxy_pid = std::atoi(read_file(g->lab.dir + "/proxy.pid").c_str());
	// Relations a user may have in the realm's stanza, next to http_anchors: all must survive.
	std::string conf = read_file(g->lab.dir + "/anchors.conf");
	const std::string anchor = "\t\thttp_anchors = ";
	const size_t at = conf.find(anchor);
	if (at == std::string::npos || g->url.empty() || g->proxy_pid <= 0)
		return -1;
	conf.insert(at, "\t\tpkinit_anchors = FILE:/etc/nlassp-test/ca.pem\n"
	                "\t\tauth_to_local = RULE:[1:$1@$0](.*@LAB\\.TEST)s/@.*//\n"
	                "\t\tadmin_server = 127.0.0.1:1\n"
	                "\t\tmaster_kdc = 127.0.0.1:1\n"
	                "\t\tauth_to_local_names = {\n\t\t\tadmin = alice\n\t\t}\n");
	std::ofstream(g->lab.dir + "/rich.conf") << conf;
	// MIT's plugins looked for in an empty directory: no k5tls, as without krb5-k5tls.
	const std::string plugins_dir = g->lab.dir + "/no-plugins";
	std::filesystem::create_directories(plugins_dir);
	std::string no_tls = read_file(g->lab.dir + "/anchors.conf");
	no_tls.replace(no_tls.find("[libdefaults]"), 13, "[libdefaults]\n\tplugin_base_dir = " + plugins_dir);
	std::ofstream(g->lab.dir + "/no-k5tls.conf") << no_tls;
	return 0;
}

int group_teardown(void**)
{
	if (g) {
		g->ini.reset();
		g->acc.reset();
		if (g->proxy_pid > 0)
			(void)kill(g->proxy_pid, SIGTERM);
		interop::kdc_lab_teardown(g->lab);
		delete g;
		g = nullptr;
	}
	return 0;
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

enum class Url { None, KdcUrl, ProxySettings };

// carol's smartcard logon: her certificate and key in files, the PIN as the password.
CredentialPtr card_cred()
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Kerberos;
	c->use = CredentialUse::Outbound;
	Identity id;
	id.user = u"carol";
	id.domain = u"LAB.TEST";
	id.password = utf16le(interop::kdc_lab_env(g->lab, "PKINIT_PIN").c_str());
	id.has_password = true;
	c->identity = std::move(id);
	c->kerberos.pkinit_identity = "FILE:" + interop::kdc_lab_env(g->lab, "PKINIT_USER_CERT") + "," +
	                              interop::kdc_lab_env(g->lab, "PKINIT_USER_KEY");
	c->kerberos.pkinit_anchors = interop::kdc_lab_env(g->lab, "PKINIT_ANCHORS");
	c->kerberos.kdc_url = g->url;
	return c;
}

CredentialPtr cred(Url how)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Kerberos;
	c->use = CredentialUse::Outbound;
	Identity id;
	id.user = u"alice";
	id.domain = u"LAB.TEST";
	id.password = utf16le("Passw0rd!");
	id.has_password = true;
	c->identity = std::move(id);
	if (how == Url::KdcUrl)
		c->kerberos.kdc_url = g->url;
	else if (how == Url::ProxySettings)
		c->kdc_proxy_server = g->url;
	return c;
}

// The private krb5 profile file of a live context (in TMPDIR), or "".
std::string private_profile(const std::string& dir)
{
	DIR* d = opendir(dir.c_str());
	if (!d)
		return "";
	std::string found;
	while (const dirent* e = readdir(d))
		if (std::string(e->d_name).rfind("nlassp-krb5-", 0) == 0)
			found = read_file(dir + "/" + e->d_name);
	closedir(d);
	return found;
}

// Logs alice (or `who`) in to TERMSRV/localhost with the client configuration `conf` (a file in
// the lab); `between` runs after the credentials are acquired (the AS exchange) and before the
// first step (the service ticket).
Error login(const char* conf, Url how, CredentialPtr who = nullptr, const std::function<void()>& between = {})
{
	g->ini.reset();
	g->acc.reset();
	g->log_mark = read_file(g->log).size();
	const std::string tmp = g->lab.dir + "/tmp";
	std::filesystem::create_directories(tmp);
	setenv("TMPDIR", tmp.c_str(), 1);
	setenv("KRB5_CONFIG", (g->lab.dir + "/" + conf).c_str(), 1);
	Error err = Error::None;
	g->ini = kerberos::create_context(Role::Initiator, who ? who : cred(how), err);
	g->private_conf = private_profile(tmp);
	if (err == Error::None && between)
		between();
	if (err == Error::None) {
		auto acc_cred = std::make_shared<Credential>();
		acc_cred->package = PackageId::Kerberos;
		acc_cred->use = CredentialUse::Inbound;
		acc_cred->kerberos.keytab = g->lab.keytab();
		g->acc = kerberos::create_context(Role::Acceptor, acc_cred, err);
	}
	StepInput in;
	in.target = u"TERMSRV/localhost";
	in.requested = ctx::MutualAuth | ctx::Confidentiality;
	StepOutput out;
	if (err == Error::None)
		err = g->ini->step(in, out);
	StepInput ain;
	ain.token = out.token;
	StepOutput aout;
	if (err == Error::None)
		err = g->acc->step(ain, aout);
	StepInput in2;
	in2.token = aout.token;
	in2.target = u"TERMSRV/localhost";
	StepOutput out2;
	if (err == Error::None)
		err = g->ini->step(in2, out2);
	g->ini.reset();
	setenv("KRB5_CONFIG", g->lab.krb5_conf().c_str(), 1);
	unsetenv("TMPDIR");
	if (err == Error::None && !private_profile(tmp).empty())
		return Error::Internal;   // the private profile outlived its context
	return err;
}

void test_kdc_url_through_proxy(void**)
{
	for (Url how : {Url::KdcUrl, Url::ProxySettings}) {
		const int as = proxy_count("AS-REQ"), tgs = proxy_count("TGS-REQ");
		const Error e = login("anchors.conf", how);
		if (e != Error::None)
			print_log();
		assert_int_equal(e, Error::None);
		assert_true(proxy_count("AS-REQ") > as);
		assert_int_equal(proxy_count("TGS-REQ"), tgs + 1);
	}
}

void test_private_profile_keeps_the_realm_stanza(void**)
{
	assert_int_equal(login("rich.conf", Url::KdcUrl), Error::None);
	const std::string& p = g->private_conf;
	if (p.find("http_anchors") == std::string::npos)
		std::fprintf(stderr, "private profile:\n%s\n", p.c_str());
	// The URL is the one KDC; every other relation (and subsection) of the stanza is there.
	assert_true(p.find("kdc = " + g->url + "\n") != std::string::npos);
	assert_true(p.find("http_anchors = \"FILE:" + g->proxy_dir + "/ca.pem\"") != std::string::npos);
	assert_true(p.find("pkinit_anchors = \"FILE:/etc/nlassp-test/ca.pem\"") != std::string::npos);
	assert_true(p.find("auth_to_local = \"RULE:[1:$1@$0](.*@LAB\\\\.TEST)s/@.*//\"") != std::string::npos);
	assert_true(p.find("admin_server = \"127.0.0.1:1\"") != std::string::npos);
	assert_true(p.find("auth_to_local_names = {") != std::string::npos && p.find("admin = \"alice\"") != std::string::npos);
	assert_true(p.find("master_kdc") == std::string::npos);
	assert_true(p.find("}*") != std::string::npos);
}

void test_untrusted_proxy_certificate_is_named(void**)
{
	for (Url how : {Url::KdcUrl, Url::ProxySettings}) {
		assert_int_equal(login("no-anchors.conf", how), Error::NoAuthority);
		const int lines = log_lines({"TLS to the KDC proxy ", "not trusted", "unable to get local issuer certificate",
		                             "http_anchors = FILE:", "[realms] LAB.TEST"});
		if (lines != 1)
			print_log();
		assert_int_equal(lines, 1);
	}
}

void test_missing_k5tls_is_named(void**)
{
	assert_int_equal(login("no-k5tls.conf", Url::KdcUrl), Error::NoAuthority);
	const int lines = log_lines({"TLS plugin", "install krb5-k5tls"});
	if (lines != 1)
		print_log();
	assert_int_equal(lines, 1);
}

void test_freerdp_310_workaround(void**)
{
	// kdc = https://proxy/KdcProxy in the realm's stanza, no KDC URL from the caller.
	const int tgs = proxy_count("TGS-REQ");
	assert_int_equal(login("workaround.conf", Url::None), Error::None);
	assert_int_equal(proxy_count("TGS-REQ"), tgs + 1);
	assert_int_equal(login("workaround-no-anchors.conf", Url::None), Error::NoAuthority);
	assert_int_equal(log_lines({"not trusted", "http_anchors = FILE:"}), 1);
}

// A realm name krb5.conf cannot hold as a tag (a blank or '=' would split it, '*' would mark the
// stanza final, '#' starts a comment): refused with a line naming it, before any KDC is asked.
void test_realm_with_profile_syntax_is_refused(void**)
{
	const int as = proxy_count("AS-REQ");
	for (const char16_t* realm : {u"LAB TEST", u"LAB=TEST", u"LAB.TEST*", u"LAB#TEST"}) {
		g->log_mark = read_file(g->log).size();
		CredentialPtr c = cred(Url::KdcUrl);
		std::const_pointer_cast<Credential>(c)->identity->domain = realm;
		Error err = Error::None;
		ContextPtr ctx = kerberos::create_context(Role::Initiator, c, err);
		if (ctx) {
			StepInput in;
			in.target = u"TERMSRV/localhost";
			StepOutput out;
			err = ctx->step(in, out);
		}
		const int lines = log_lines({"has a character a krb5.conf realm name cannot hold", "give the realm as the KDC knows it"});
		if (err != Error::InvalidParameter || lines != 1)
			print_log();
		assert_int_equal(err, Error::InvalidParameter);
		assert_int_equal(lines, 1);
	}
	assert_int_equal(proxy_count("AS-REQ"), as);
}

// The proxy on its port with another certificate and key (files in the lab), or with its own
// again (empty arguments).
bool restart_proxy(const std::string& cert = {}, const std::string& key = {})
{
	const std::string d = g->proxy_dir;
	const std::string port = g->url.substr(g->url.rfind(':') + 1, g->url.find('/', 8) - g->url.rfind(':') - 1);
	std::string script = "KDCPROXY_DIR=\"" + d + "\" KDCPROXY_PORT=" + port + " KDCPROXY_LOG=\"" + d +
	                     "/kdcproxy.log\" KDCPROXY_CA=\"" + d + "/ca.pem\" KDCPROXY_PID=" + std::to_string(g->proxy_pid) +
	                     " && kdcproxy_stop && ";
	if (!cert.empty())
		script += "cp -p \"$KDCPROXY_DIR/proxy.pem\" \"$KDCPROXY_DIR/own.pem\" && cp -p \"$KDCPROXY_DIR/proxy.key\" "
		          "\"$KDCPROXY_DIR/own.key\" && cp \"" + cert + "\" \"$KDCPROXY_DIR/proxy.pem\" && cp \"" + key +
		          "\" \"$KDCPROXY_DIR/proxy.key\" && ";
	else
		script += "cp -p \"$KDCPROXY_DIR/own.pem\" \"$KDCPROXY_DIR/proxy.pem\" && cp -p \"$KDCPROXY_DIR/own.key\" "
		          "\"$KDCPROXY_DIR/proxy.key\" && ";
	script += "kdcproxy_start && echo \"$KDCPROXY_PID\" >\"$KDC_DIR/proxy.pid\"";
	if (!shell(script)) {
		std::fprintf(stderr, "restarting the proxy: %s\n", read_file(g->lab.dir + "/run.out").c_str());
		return false;
	}
	g->proxy_pid = std::atoi(read_file(g->lab.dir + "/proxy.pid").c_str());
	return g->proxy_pid > 0;
}

void test_pkinit_through_proxy(void**)
{
	const int as = proxy_count("AS-REQ"), tgs = proxy_count("TGS-REQ");
	const Error e = login("anchors.conf", Url::KdcUrl, card_cred());
	if (e != Error::None)
		print_log();
	assert_int_equal(e, Error::None);
	assert_true(proxy_count("AS-REQ") > as);
	assert_int_equal(proxy_count("TGS-REQ"), tgs + 1);
}

// The smartcard logon's AS exchange cannot reach the KDC through the proxy: the proxy's
// certificate is named, not MIT's PKINIT plugin.
void test_pkinit_untrusted_proxy_is_named(void**)
{
	assert_int_equal(login("no-anchors.conf", Url::KdcUrl, card_cred()), Error::NoAuthority);
	const int lines = log_lines({"TLS to the KDC proxy ", "not trusted", "http_anchors = FILE:"});
	const int plugin = log_lines({"plugin"});
	if (lines != 1 || plugin != 0)
		print_log();
	assert_int_equal(lines, 1);
	assert_int_equal(plugin, 0);
}

// After the smartcard logon, the service ticket's exchange through the proxy is still watched:
// the proxy presents a certificate nobody here trusts (the KDC's PKINIT certificate) by then.
void test_pkinit_then_untrusted_proxy_for_the_service_ticket(void**)
{
	bool swapped = false;
	const Error e = login("anchors.conf", Url::KdcUrl, card_cred(), [&] {
		swapped = restart_proxy(interop::kdc_lab_env(g->lab, "PKINIT_KDC_CERT"), interop::kdc_lab_env(g->lab, "PKINIT_KDC_KEY"));
	});
	const bool restored = restart_proxy();
	assert_true(swapped && restored);
	assert_int_equal(e, Error::NoAuthority);
	const int lines = log_lines({"logon to TERMSRV/localhost", "TLS to the KDC proxy "});
	if (lines != 1)
		print_log();
	assert_int_equal(lines, 1);
}

} // namespace

int main()
{
	char tmpl[] = "/tmp/nlassp-kdcproxy-log.XXXXXX";
	if (!mkdtemp(tmpl))
		return 1;
	g_log_dir = tmpl;
	setenv("WLOG_APPENDER", "FILE", 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_PATH", g_log_dir.c_str(), 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_NAME", "wlog.txt", 1);
	// NLASSP_TEST_WLOG_LEVEL=TRACE (for the check that no secret is logged) keeps the log too.
	const char* level = std::getenv("NLASSP_TEST_WLOG_LEVEL");
	setenv("WLOG_LEVEL", level && *level ? level : "INFO", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kdc_url_through_proxy),
		cmocka_unit_test(test_private_profile_keeps_the_realm_stanza),
		cmocka_unit_test(test_realm_with_profile_syntax_is_refused),
		cmocka_unit_test(test_untrusted_proxy_certificate_is_named),
		cmocka_unit_test(test_missing_k5tls_is_named),
		cmocka_unit_test(test_freerdp_310_workaround),
		cmocka_unit_test(test_pkinit_through_proxy),
		cmocka_unit_test(test_pkinit_untrusted_proxy_is_named),
		cmocka_unit_test(test_pkinit_then_untrusted_proxy_for_the_service_ticket),
	};
	struct Setup {
		static int run(void** state)
		{
			const int rc = group_setup(state);
			if (g)
				g->log = g_log_dir + "/wlog.txt";
			return rc;
		}
	};
	const int rc = cmocka_run_group_tests_name("kerberos through a KDC proxy", tests, Setup::run, group_teardown);
	std::error_code ec;
	if (level && *level)
		std::fprintf(stderr, "log kept in %s\n", g_log_dir.c_str());
	else
		std::filesystem::remove_all(g_log_dir, ec);
	return rc;
}
