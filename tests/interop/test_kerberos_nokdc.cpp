// Negotiate on a machine with no Kerberos configured at all (a krb5.conf with no realm, the
// user in the single-label domain LAB, as NTLM-only users run FreeRDP): our initiator must pick
// NTLM at once, say in exactly one INFO line (from com.nlassp.negotiate) that NTLM is used and
// why Kerberos cannot work, and log nothing at WARN or ERROR under com.nlassp.*.
// WinPR's built-in Negotiate client is run the same way for comparison (printed only).
//
// The log is WinPR's WLog with the FILE appender (WLOG_APPENDER=FILE,
// WLOG_FILEAPPENDER_OUTPUT_FILE_PATH / _NAME), set in main() before WinPR initialises WLog.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include <unistd.h>

#include "interop/fixture.h"

using namespace nlassp::interop;

namespace {

constexpr Impl M = Impl::Module;
constexpr Impl W = Impl::WinPR;

std::string g_dir;       // temp dir: krb5.conf, the WLog file
std::string g_log;       // the WLog file
size_t g_log_mark = 0;   // where the current login's lines start
double g_elapsed_ms = 0;

std::string read_text(const std::string& path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

// Lines logged since g_log_mark.
std::vector<std::string> new_lines()
{
	const std::string text = read_text(g_log);
	std::vector<std::string> out;
	std::istringstream in(text.size() > g_log_mark ? text.substr(g_log_mark) : std::string());
	std::string line;
	while (std::getline(in, line))
		out.push_back(line);
	return out;
}

// "[INFO][com.nlassp." and friends: the FILE appender's default prefix is
// "[hh:mm:ss:ms] [pid:tid] [LEVEL][tag] - [function]: message".
bool is(const std::string& line, const char* level, const char* tag_prefix)
{
	return line.find(std::string("[") + level + "][" + tag_prefix) != std::string::npos;
}

int count(const std::vector<std::string>& lines, const char* level, const char* tag_prefix)
{
	int n = 0;
	for (const std::string& l : lines)
		n += is(l, level, tag_prefix) ? 1 : 0;
	return n;
}

void timed_run(Fixture* fx)
{
	g_log_mark = read_text(g_log).size();
	const auto t0 = std::chrono::steady_clock::now();
	run(fx);
	g_elapsed_ms =
	    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void print_lines(const std::vector<std::string>& lines, const char* tag_prefix)
{
	for (const std::string& l : lines)
		if (l.find(tag_prefix) != std::string::npos)
			print_message("  log: %s\n", l.c_str());
}

// Our Negotiate initiator, no package list, no realm: NTLM at once.
void module_client(void** state, Impl server)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure(fx, M, server, "Negotiate", false);
	fx->config.client.package_list = "";  // Kerberos is allowed: it just cannot work here
	fx->config.query_packages = true;
	timed_run(fx);
	expect_full_success(fx, server);
	const std::vector<std::string> lines = new_lines();
	print_message("module -> %s Negotiate, no realm: %.1f ms, %d calls\n",
	              server == M ? "module" : "WinPR", g_elapsed_ms, fx->result.calls);
	print_lines(lines, "[com.nlassp.");

	// NTLM, as our side(s) report it.
	EXPECT_TRUE(fx, fx->result.client_query.package_info_name == "NTLM");
	EXPECT_TRUE(fx, fx->result.client_query.negotiation_name == "NTLM");
	if (server == M)
		EXPECT_TRUE(fx, fx->result.server_query.negotiation_name == "NTLM");
	EXPECT_TRUE(fx, find_ntlmssp(fx->result.tokens.empty() ? Bytes() : fx->result.tokens[0]) > 0);

	// Nothing at ERROR from us, on either side.
	EXPECT_TRUE(fx, count(lines, "ERROR", "com.nlassp.") == 0);
	EXPECT_TRUE(fx, count(lines, "FATAL", "com.nlassp.") == 0);
	// Exactly one INFO line from com.nlassp.* is about the fallback: from Negotiate, naming NTLM
	// as the mechanism used, Kerberos as the one passed over, and the reason with its fix.
	int fallback_lines = 0;
	int negotiate_fallback_lines = 0;
	for (const std::string& l : lines) {
		if (!is(l, "INFO", "com.nlassp."))
			continue;
		const bool about_fallback = l.find("Kerberos") != std::string::npos &&
		                            (l.find("no KDC") != std::string::npos ||
		                             l.find("cannot") != std::string::npos ||
		                             l.find("not offered") != std::string::npos ||
		                             l.find("failed") != std::string::npos);
		if (!about_fallback)
			continue;
		fallback_lines++;
		if (is(l, "INFO", "com.nlassp.negotiate]") && l.find("using NTLM") != std::string::npos &&
		    l.find("Kerberos cannot work here") != std::string::npos &&
		    l.find("no KDC for realm LAB") != std::string::npos &&
		    l.find("kdc-url") != std::string::npos)
			negotiate_fallback_lines++;
	}
	EXPECT_TRUE(fx, fallback_lines == 1);
	EXPECT_TRUE(fx, negotiate_fallback_lines == 1);
	// The reason is logged once in all, at any level from INFO up (not also by Kerberos).
	int reason_lines = 0;
	for (const std::string& l : lines)
		if (l.find("[com.nlassp.") != std::string::npos && l.find("no KDC for realm LAB") != std::string::npos)
			reason_lines++;
	EXPECT_TRUE(fx, reason_lines == 1);
	// And nothing from us at WARN either: this is a normal path.
	EXPECT_TRUE(fx, count(lines, "WARN", "com.nlassp.") == 0);
	// No KDC look-up, no DNS wait: the choice costs milliseconds, not the seconds a DNS time-out
	// takes (a loose bound that still holds under sanitizers).
	EXPECT_TRUE(fx, g_elapsed_ms < 2000.0);
}

} // namespace

static void module_client_to_module(void** s) { module_client(s, M); }
static void module_client_to_winpr(void** s) { module_client(s, W); }

// WinPR's Negotiate client in the same place (printed for comparison, not asserted beyond the
// login itself working).
static void winpr_client_to_module(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure(fx, W, M, "Negotiate", false);
	fx->config.client.package_list = "";
	timed_run(fx);
	const std::vector<std::string> lines = new_lines();
	print_message("WinPR -> module Negotiate, no realm: %.1f ms, %d calls, established %d; "
	              "WinPR logged %d ERROR, %d WARN line(s)\n",
	              g_elapsed_ms, fx->result.calls, fx->result.established,
	              count(lines, "ERROR", "com.winpr."), count(lines, "WARN", "com.winpr."));
	print_lines(lines, "[ERROR][com.winpr.");
	EXPECT_TRUE(fx, fx->result.established);
	// Our acceptor has nothing to complain about either.
	EXPECT_TRUE(fx, count(lines, "ERROR", "com.nlassp.") == 0);
}

int main()
{
	char tmpl[] = "/tmp/nlassp-nokdc.XXXXXX";
	if (!mkdtemp(tmpl)) {
		std::perror("mkdtemp");
		return 1;
	}
	g_dir = tmpl;
	{
		// No realm, no KDC, nothing: what a machine without Kerberos has.
		std::ofstream conf(g_dir + "/krb5.conf");
		conf << "[libdefaults]\n";
	}
	setenv("KRB5_CONFIG", (g_dir + "/krb5.conf").c_str(), 1);
	setenv("KRB5CCNAME", ("FILE:" + g_dir + "/no.ccache").c_str(), 1);
	setenv("KRB5_KTNAME", ("FILE:" + g_dir + "/no.keytab").c_str(), 1);
	setenv("KRB5_CLIENT_KTNAME", ("FILE:" + g_dir + "/no-client.keytab").c_str(), 1);
	g_log = g_dir + "/wlog.txt";
	setenv("WLOG_APPENDER", "FILE", 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_PATH", g_dir.c_str(), 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_NAME", "wlog.txt", 1);
	setenv("WLOG_LEVEL", "INFO", 1);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(module_client_to_module, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(module_client_to_winpr, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(winpr_client_to_module, fixture_setup, fixture_teardown),
	};
	const int rc = cmocka_run_group_tests_name("negotiate without a KDC", tests, nullptr, nullptr);
	if (std::getenv("NLASSP_KEEP_LOG"))
		std::fprintf(stderr, "log kept in %s\n", g_log.c_str());
	else {
		std::error_code ec;
		std::filesystem::remove_all(g_dir, ec);
	}
	return rc;
}
