// What the Kerberos package says about a broken krb5 configuration (no KDC needed):
//  - a krb5.conf with a syntax error: one ERROR line with MIT's own message, the text kinit
//    prints for the same file ("Improper format of Kerberos configuration file"), and which file
//    the profile library cannot parse, and why;
//  - KRB5_CONFIG naming a file that does not exist (MIT skips it without a word): one WARN line
//    saying so, also when another file in the list exists; nothing when every file exists.
// The log is read back through WLog's FILE appender, set up in main() before WinPR's WLog starts.
#include "kerberos/config.h"
#include "kerberos/kerberos.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
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

using namespace nlassp;

namespace {

std::string g_dir;
size_t g_mark = 0;

std::string read_text(const std::string& path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

void write_text(const std::string& path, const std::string& text)
{
	std::ofstream(path, std::ios::binary) << text;
}

// The log lines from com.nlassp.kerberos since the last call.
std::vector<std::string> new_lines()
{
	const std::string text = read_text(g_dir + "/wlog.txt");
	std::vector<std::string> out;
	std::istringstream in(text.size() > g_mark ? text.substr(g_mark) : std::string());
	g_mark = text.size();
	std::string line;
	while (std::getline(in, line))
		if (line.find("[com.nlassp.kerberos]") != std::string::npos) {
			std::printf("log: %s\n", line.c_str());
			out.push_back(line);
		}
	return out;
}

// A password logon of alice@LAB.TEST with KRB5_CONFIG as given; the Error of create_context.
Error logon(const std::string& krb5_config)
{
	setenv("KRB5_CONFIG", krb5_config.c_str(), 1);
	(void)new_lines();
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Kerberos;
	c->use = CredentialUse::Outbound;
	Identity id;
	id.user = u"alice";
	id.domain = u"LAB.TEST";
	for (char ch : std::string("Passw0rd!")) {
		const uint8_t le[2] = {static_cast<uint8_t>(ch), 0};
		id.password.append(ByteView(le, 2));
	}
	id.has_password = true;
	c->identity = std::move(id);
	Error err = Error::None;
	ContextPtr ctx = kerberos::create_context(Role::Initiator, c, err);
	return err;
}

bool contains(const std::string& s, const std::string& part)
{
	return s.find(part) != std::string::npos;
}

// What kinit prints for the same configuration: "kinit: <message> while initializing ...".
std::string kinit_message(const std::string& krb5_config)
{
	if (system("command -v kinit >/dev/null 2>&1") != 0)
		return {};
	const std::string out = g_dir + "/kinit.out";
	const std::string cmd = "KRB5_CONFIG='" + krb5_config + "' kinit alice@LAB.TEST </dev/null >'" + out + "' 2>&1";
	(void)system(cmd.c_str());
	const std::string text = read_text(out);
	const size_t start = text.find("kinit: ");
	const size_t end = text.find(" while initializing");
	if (start == std::string::npos || end == std::string::npos || end < start)
		return {};
	return text.substr(start + 7, end - start - 7);
}

bool syntax_error_shows_mits_message()
{
	const std::string conf = g_dir + "/syntax-error.conf";
	write_text(conf, "[libdefaults]\n\tdefault_realm = LAB.TEST\n[realms\n\tLAB.TEST = {\n\t\tkdc = 127.0.0.1:1\n\t}\n");
	if (logon(conf) != Error::PackageUnavailable)
		return false;
	const std::vector<std::string> lines = new_lines();
	if (lines.size() != 1 || !contains(lines[0], "[ERROR]"))
		return false;
	const std::string& l = lines[0];
	if (!contains(l, "Kerberos is not usable: Improper format of Kerberos configuration file (" + conf +
	                     ": Syntax error in profile section header)") ||
	    contains(l, "krb5_init_context failed ("))
		return false;
	const std::string kinit = kinit_message(conf);
	if (kinit.empty()) {
		std::printf("note: kinit not available, its message not compared\n");
		return true;
	}
	std::printf("kinit says: %s\n", kinit.c_str());
	return contains(l, "Kerberos is not usable: " + kinit);
}

bool missing_krb5_config_said_in_one_line()
{
	const std::string missing = g_dir + "/does-not-exist/krb5.conf";
	// No configuration at all: the logon fails later ("not configured"), but the cause is named.
	(void)logon(missing);
	std::vector<std::string> lines = new_lines();
	int said = 0;
	for (const std::string& l : lines)
		if (contains(l, "KRB5_CONFIG names " + missing + ", which does not exist")) {
			++said;
			if (!contains(l, "[WARN]") || !contains(l, "runs without any configuration"))
				return false;
		}
	if (said != 1)
		return false;

	// One of two files missing: said too, with the file that is read.
	const std::string good = g_dir + "/good.conf";
	write_text(good, "[libdefaults]\n\tdns_lookup_kdc = false\n");
	(void)logon(missing + ":" + good);
	lines = new_lines();
	said = 0;
	for (const std::string& l : lines)
		if (contains(l, "KRB5_CONFIG names " + missing + ", which does not exist") && contains(l, "reads only " + good))
			++said;
	if (said != 1)
		return false;

	// Every file there: nothing about KRB5_CONFIG.
	(void)logon(good);
	for (const std::string& l : new_lines())
		if (contains(l, "KRB5_CONFIG names"))
			return false;
	return true;
}

bool files_follow_krb5_config()
{
	setenv("KRB5_CONFIG", "/a/krb5.conf::/b/krb5.conf", 1);
	const std::vector<std::string> f = kerberos::config::files();
	unsetenv("KRB5_CONFIG");
	const std::vector<std::string> d = kerberos::config::files();
	return f == std::vector<std::string>{"/a/krb5.conf", "/b/krb5.conf"} &&
	       d == std::vector<std::string>{"/etc/krb5.conf"} && kerberos::config::skipped_files_note().empty();
}

} // namespace

static void test_syntax_error_shows_mits_message(void**) { assert_true(syntax_error_shows_mits_message()); }
static void test_missing_krb5_config_said_in_one_line(void**) { assert_true(missing_krb5_config_said_in_one_line()); }
static void test_files_follow_krb5_config(void**) { assert_true(files_follow_krb5_config()); }

int main()
{
	char tmpl[] = "/tmp/nlassp-krb5conf.XXXXXX";
	if (!mkdtemp(tmpl))
		return 1;
	g_dir = tmpl;
	setenv("KRB5CCNAME", ("FILE:" + g_dir + "/no.ccache").c_str(), 1);
	setenv("WLOG_APPENDER", "FILE", 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_PATH", g_dir.c_str(), 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_NAME", "wlog.txt", 1);
	setenv("WLOG_LEVEL", "INFO", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_syntax_error_shows_mits_message),
	    cmocka_unit_test(test_missing_krb5_config_said_in_one_line),
	    cmocka_unit_test(test_files_follow_krb5_config),
	};
	const int rc = cmocka_run_group_tests_name("krb5 configuration messages", tests, nullptr, nullptr);
	const std::string cleanup = "rm -rf '" + g_dir + "'";
	(void)system(cleanup.c_str());
	return rc;
}
