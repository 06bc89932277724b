// nlassp-bench: how our module compares with WinPR's built-in SSPI on the same machine, in the
// same run, through the same code path FreeRDP uses (tests/interop/harness: client and server
// in one process, FreeRDP's flags, buffers and call order).
//
// For each scenario (NTLM; Negotiate with "!kerberos") it times N full logins — package info,
// credentials on both sides, the ISC/ASC loop, SECPKG_ATTR_SIZES — through our module's table
// and through WinPR's, interleaved so drift hits both alike, and reports mean / median per
// login and the ratio ours/WinPR (below 1: we are faster). Then it seals and unseals 1 KiB
// messages (in 9 interleaved rounds, each on a fresh context) and reports the median round's
// EncryptMessage / DecryptMessage throughput and the ratio ours/WinPR (above 1: we are faster).
// Build with -DCMAKE_BUILD_TYPE=Release for numbers worth comparing: WinPR is Debian's -O2.
//
// Kerberos scenarios (a throwaway MIT KDC on 127.0.0.1 from tests/lab/kdc.sh: started by the
// bench with --kdc, or by tools/bench/run-bench.sh which passes --kdc-dir): Kerberos with a
// password, Kerberos from a kinit ccache with a NULL identity, Negotiate preferring Kerberos
// with a password; each prints the KDC requests (AS_REQ + TGS_REQ lines of the KDC's log) per
// login for ours and WinPR's. "Negotiate (no KDC)" needs no KDC: a krb5.conf with no realm and
// the user in the single-label domain LAB, as an NTLM-only user runs FreeRDP.
//
// Not a test: it asserts nothing about speed. It exits non-zero if any login or message
// fails.
#include "interop/harness.h"
#include "interop/kdc_lab.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <vector>

using namespace nlassp::interop;

namespace {

struct Options {
	int iterations = 200;
	int messages = 4000;
	size_t message_size = 1024;
	std::vector<std::string> packages;  // scenario keys; empty: the defaults
	bool json = false;
	bool start_kdc = false;             // --kdc
	std::string kdc_dir;                // --kdc-dir (a running kdc.sh realm)
};

// One way to log in.
struct Scenario {
	std::string name;
	std::string package;
	std::string package_list;
	std::function<long()> kdc_requests;  // total so far; empty: not applicable
	std::string domain = "LAB";
	std::string keytab;                  // server kerberosSettings->keytab
	bool ccache = false;                 // NULL identity: the default ccache (kinit before)
	std::string krb5_config;             // KRB5_CONFIG during this scenario; empty: unchanged
};

// Scenario keys for --package.
const char* const kScenarioKeys[] = { "ntlm", "negotiate", "kerberos", "kerberos-ccache",
	                                  "negotiate-kerberos", "negotiate-nokdc" };

struct Implementation {
	const char* name;  // "ours" / "winpr"
	SecurityFunctionTableA* table;
};

struct LoginStats {
	int logins = 0;
	int failures = 0;
	double mean_ms = 0, median_ms = 0, min_ms = 0, p95_ms = 0;
	std::optional<double> kdc_requests_per_login;
	std::string first_failure;
};

struct MessageStats {
	int messages = 0;
	bool ok = false;
	double encrypt_mib_s = 0, decrypt_mib_s = 0;
	std::string failure;
};

struct ScenarioReport {
	Scenario scenario;
	LoginStats login[2];
	MessageStats messages[2];
};

void usage(const char* argv0)
{
	std::fprintf(stderr,
	             "usage: %s [--iterations N] [--package P] [--messages N] [--kdc | --kdc-dir DIR] [--json]\n"
	             "  --iterations N   logins per implementation and scenario (default 200)\n"
	             "  --package P      only this scenario (repeatable): ntlm, negotiate (!kerberos),\n"
	             "                   kerberos, kerberos-ccache, negotiate-kerberos, negotiate-nokdc\n"
	             "                   (default: all; the Kerberos ones only with a KDC)\n"
	             "  --messages N     1 KiB messages sealed+unsealed per implementation (default 4000)\n"
	             "  --kdc            start a throwaway KDC on 127.0.0.1 (tests/lab/kdc.sh)\n"
	             "  --kdc-dir DIR    use the running KDC of a kdc.sh realm in DIR (run-bench.sh)\n"
	             "  --json           machine-readable output\n"
	             "The module is $NLASSP_MODULE_PATH, else the built libnlassp.so.\n",
	             argv0);
}

bool parse(int argc, char** argv, Options& o)
{
	bool packages_given = false;
	for (int i = 1; i < argc; i++) {
		const std::string a = argv[i];
		auto value = [&](const char* what) -> const char* {
			if (i + 1 >= argc) {
				std::fprintf(stderr, "%s needs a value\n", what);
				return nullptr;
			}
			return argv[++i];
		};
		if (a == "--iterations" || a == "-n") {
			const char* v = value("--iterations");
			if (!v || (o.iterations = std::atoi(v)) <= 0)
				return false;
		} else if (a == "--messages") {
			const char* v = value("--messages");
			if (!v || (o.messages = std::atoi(v)) < 0)
				return false;
		} else if (a == "--package") {
			const char* v = value("--package");
			if (!v)
				return false;
			std::string p;
			for (const char* k : kScenarioKeys)
				if (strcasecmp(v, k) == 0)
					p = k;
			if (p.empty()) {
				std::fprintf(stderr, "unknown scenario %s\n", v);
				return false;
			}
			if (!packages_given)
				o.packages.clear();
			packages_given = true;
			o.packages.push_back(p);
		} else if (a == "--json") {
			o.json = true;
		} else if (a == "--kdc") {
			o.start_kdc = true;
		} else if (a == "--kdc-dir") {
			const char* v = value("--kdc-dir");
			if (!v)
				return false;
			o.kdc_dir = v;
		} else {
			return false;
		}
	}
	return true;
}

KdcLab g_lab;
bool g_have_kdc = false;

Scenario scenario_for(const std::string& key, const std::string& nokdc_conf)
{
	Scenario s;
	std::function<long()> kdc = [] { return static_cast<long>(kdc_lab_count_requests(g_lab)); };
	if (key == "negotiate") {
		s.name = "Negotiate (!kerberos)";
		s.package = "Negotiate";
		s.package_list = "!kerberos";
	} else if (key == "kerberos" || key == "kerberos-ccache" || key == "negotiate-kerberos") {
		s.package = key == "negotiate-kerberos" ? "Negotiate" : "Kerberos";
		s.ccache = key == "kerberos-ccache";
		s.name = key == "kerberos"          ? "Kerberos (password)"
		         : key == "kerberos-ccache" ? "Kerberos (kinit ccache, NULL identity)"
		                                    : "Negotiate (Kerberos preferred, password)";
		s.domain = "LAB.TEST";
		s.keytab = g_lab.keytab();
		s.kdc_requests = kdc;
	} else if (key == "negotiate-nokdc") {
		s.name = "Negotiate (no KDC: no realm configured, domain LAB)";
		s.package = "Negotiate";
		s.krb5_config = nokdc_conf;
	} else {
		s.name = "NTLM";
		s.package = "NTLM";
	}
	return s;
}

Config config_for(const Scenario& s, SecurityFunctionTableA* table, const std::string& sam)
{
	Config c;
	c.client_table = table;
	c.server_table = table;
	c.package = s.package;
	c.client.package_list = s.package_list;
	c.client.domain = s.domain;
	if (s.ccache)
		c.client.form = IdentityForm::None;
	c.server.keytab = s.keytab;
	c.server.sam_file = sam;
	c.messages = 0;          // logins only; messages are measured apart
	c.query_server = false;
	return c;
}

void summarize(std::vector<double>& ms, LoginStats& st)
{
	if (ms.empty())
		return;
	std::sort(ms.begin(), ms.end());
	double sum = 0;
	for (double v : ms)
		sum += v;
	st.mean_ms = sum / static_cast<double>(ms.size());
	const size_t n = ms.size();
	st.median_ms = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
	st.min_ms = ms.front();
	st.p95_ms = ms[std::min(n - 1, (n * 95) / 100)];
}

void run_scenario(const Options& o, const Implementation (&impls)[2], const std::string& sam,
                  ScenarioReport& rep)
{
	std::vector<double> times[2];
	long kdc_total[2] = { 0, 0 };
	Result r;
	// Warm-up: first-use costs (OpenSSL provider loading, SAM parsing caches) off the clock.
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 3; i++)
			run_login(config_for(rep.scenario, impls[k].table, sam), r);
	for (int i = 0; i < o.iterations; i++) {
		for (int k0 = 0; k0 < 2; k0++) {
			const int k = (i + k0) % 2;  // alternate which goes first
			const Config c = config_for(rep.scenario, impls[k].table, sam);
			// KDC requests of this login alone (the log is read off the clock).
			const long kdc_before = rep.scenario.kdc_requests ? rep.scenario.kdc_requests() : 0;
			const auto t0 = std::chrono::steady_clock::now();
			run_login(c, r);
			const auto t1 = std::chrono::steady_clock::now();
			if (rep.scenario.kdc_requests)
				kdc_total[k] += rep.scenario.kdc_requests() - kdc_before;
			LoginStats& st = rep.login[k];
			st.logins++;
			if (!r.established) {
				st.failures++;
				if (st.first_failure.empty())
					st.first_failure = r.describe();
				continue;
			}
			times[k].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
		}
	}
	for (int k = 0; k < 2; k++) {
		summarize(times[k], rep.login[k]);
		if (rep.scenario.kdc_requests)
			rep.login[k].kdc_requests_per_login =
			    static_cast<double>(kdc_total[k]) / o.iterations;
	}

	if (o.messages == 0)
		return;
	// Throughput in rounds, ours and WinPR interleaved; the median round counts, so a burst of
	// other load on the machine does not decide the ratio.
	constexpr int kRounds = 9;
	const int per_round = std::max(1, o.messages / kRounds);
	std::vector<double> enc[2], dec[2];
	for (int round = 0; round < kRounds; round++) {
		for (int k0 = 0; k0 < 2; k0++) {
			const int k = (round + k0) % 2;
			Throughput t;
			measure_throughput(config_for(rep.scenario, impls[k].table, sam), o.message_size,
			                   per_round, t);
			MessageStats& m = rep.messages[k];
			m.messages += t.messages;
			if (!t.ok) {
				if (m.failure.empty())
					m.failure = t.login.established ? status_string(t.failure) : t.login.describe();
				continue;
			}
			const double mib = static_cast<double>(t.messages) *
			                   static_cast<double>(o.message_size) / (1024.0 * 1024.0);
			if (t.encrypt_seconds > 0)
				enc[k].push_back(mib / t.encrypt_seconds);
			if (t.decrypt_seconds > 0)
				dec[k].push_back(mib / t.decrypt_seconds);
		}
	}
	auto median = [](std::vector<double>& v) {
		if (v.empty())
			return 0.0;
		std::sort(v.begin(), v.end());
		return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
	};
	for (int k = 0; k < 2; k++) {
		MessageStats& m = rep.messages[k];
		m.ok = m.failure.empty();
		m.encrypt_mib_s = median(enc[k]);
		m.decrypt_mib_s = median(dec[k]);
	}
}

double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

void print_text(const Options& o, const std::string& module, const std::vector<ScenarioReport>& reps)
{
	std::printf("nlassp-bench: %d logins per implementation and scenario, %d x %zu-byte messages\n",
	            o.iterations, o.messages, o.message_size);
	const char* build = NLASSP_BENCH_BUILD_TYPE;
	std::printf("module: %s (this build: %s)\n", module.c_str(),
	            *build ? build : "no CMAKE_BUILD_TYPE, unoptimised: use Release to compare");
	for (const ScenarioReport& r : reps) {
		std::printf("\n%s\n", r.scenario.name.c_str());
		for (int k = 0; k < 2; k++) {
			const LoginStats& s = r.login[k];
			std::printf("  login %-5s  mean %8.3f ms  median %8.3f ms  min %8.3f ms  p95 %8.3f ms  (%d logins, %d failed)",
			            k == 0 ? "ours" : "WinPR", s.mean_ms, s.median_ms, s.min_ms, s.p95_ms,
			            s.logins, s.failures);
			if (s.kdc_requests_per_login)
				std::printf("  KDC requests/login %.2f", *s.kdc_requests_per_login);
			std::printf("\n");
		}
		std::printf("  login ratio ours/WinPR: mean %.3f  median %.3f  (< 1: ours faster)\n",
		            ratio(r.login[0].mean_ms, r.login[1].mean_ms),
		            ratio(r.login[0].median_ms, r.login[1].median_ms));
		if (o.messages) {
			for (int k = 0; k < 2; k++) {
				const MessageStats& m = r.messages[k];
				std::printf("  %zu B msgs %-5s  EncryptMessage %9.1f MiB/s  DecryptMessage %9.1f MiB/s  (%d messages%s)\n",
				            o.message_size, k == 0 ? "ours" : "WinPR", m.encrypt_mib_s,
				            m.decrypt_mib_s, m.messages, m.ok ? "" : ", FAILED");
			}
			std::printf("  throughput ratio ours/WinPR: encrypt %.3f  decrypt %.3f  (> 1: ours faster)\n",
			            ratio(r.messages[0].encrypt_mib_s, r.messages[1].encrypt_mib_s),
			            ratio(r.messages[0].decrypt_mib_s, r.messages[1].decrypt_mib_s));
		}
		for (int k = 0; k < 2; k++) {
			if (!r.login[k].first_failure.empty())
				std::printf("  first failed login (%s):\n%s", k == 0 ? "ours" : "WinPR",
				            r.login[k].first_failure.c_str());
			if (!r.messages[k].failure.empty())
				std::printf("  message failure (%s): %s\n", k == 0 ? "ours" : "WinPR",
				            r.messages[k].failure.c_str());
		}
	}
}

std::string json_string(const std::string& s)
{
	std::string out = "\"";
	for (char ch : s) {
		const auto c = static_cast<unsigned char>(ch);
		if (c == '"' || c == '\\') {
			out += '\\';
			out += ch;
		} else if (c < 0x20) {
			char buf[8];
			std::snprintf(buf, sizeof(buf), "\\u%04x", c);
			out += buf;
		} else {
			out += ch;
		}
	}
	return out + "\"";
}

void print_json(const Options& o, const std::string& module, const std::vector<ScenarioReport>& reps)
{
	std::printf("{\"iterations\":%d,\"message_size\":%zu,\"messages\":%d,\"module\":%s,"
	            "\"build_type\":%s,\"scenarios\":[",
	            o.iterations, o.message_size, o.messages, json_string(module).c_str(),
	            json_string(NLASSP_BENCH_BUILD_TYPE).c_str());
	for (size_t i = 0; i < reps.size(); i++) {
		const ScenarioReport& r = reps[i];
		std::printf("%s{\"name\":%s,\"package\":%s,\"package_list\":%s,\"login\":{", i ? "," : "",
		            json_string(r.scenario.name).c_str(), json_string(r.scenario.package).c_str(),
		            json_string(r.scenario.package_list).c_str());
		for (int k = 0; k < 2; k++) {
			const LoginStats& s = r.login[k];
			std::printf("\"%s\":{\"logins\":%d,\"failures\":%d,\"mean_ms\":%.6f,\"median_ms\":%.6f,"
			            "\"min_ms\":%.6f,\"p95_ms\":%.6f,\"kdc_requests_per_login\":",
			            k == 0 ? "ours" : "winpr", s.logins, s.failures, s.mean_ms, s.median_ms,
			            s.min_ms, s.p95_ms);
			if (s.kdc_requests_per_login)
				std::printf("%.3f},", *s.kdc_requests_per_login);
			else
				std::printf("null},");
		}
		std::printf("\"ratio_mean\":%.6f,\"ratio_median\":%.6f}",
		            ratio(r.login[0].mean_ms, r.login[1].mean_ms),
		            ratio(r.login[0].median_ms, r.login[1].median_ms));
		if (o.messages) {
			std::printf(",\"messages\":{");
			for (int k = 0; k < 2; k++) {
				const MessageStats& m = r.messages[k];
				std::printf("\"%s\":{\"ok\":%s,\"messages\":%d,\"encrypt_mib_s\":%.3f,\"decrypt_mib_s\":%.3f},",
				            k == 0 ? "ours" : "winpr", m.ok ? "true" : "false", m.messages,
				            m.encrypt_mib_s, m.decrypt_mib_s);
			}
			std::printf("\"ratio_encrypt\":%.6f,\"ratio_decrypt\":%.6f}",
			            ratio(r.messages[0].encrypt_mib_s, r.messages[1].encrypt_mib_s),
			            ratio(r.messages[0].decrypt_mib_s, r.messages[1].decrypt_mib_s));
		}
		std::printf("}");
	}
	std::printf("]}\n");
}

// The KDC (when asked for) and the scenario list; 0 when the run can go on, else main's exit
// status. KRB5_CONFIG / KRB5CCNAME are set here, before anything uses krb5.
int set_up_kdc(Options& o)
{
	std::string why;
	if (!o.kdc_dir.empty()) {
		g_have_kdc = kdc_lab_attach(g_lab, o.kdc_dir, &why);
	} else if (o.start_kdc) {
		const char* env = std::getenv("NLASSP_KDC_SH");
		g_have_kdc = kdc_lab_start(g_lab, env && *env ? env : NLASSP_KDC_SH, &why);
	}
	if ((o.start_kdc || !o.kdc_dir.empty()) && !g_have_kdc) {
		std::fprintf(stderr, "nlassp-bench: no KDC: %s\n", why.c_str());
		kdc_lab_teardown(g_lab);
		return 1;
	}
	if (o.packages.empty()) {
		o.packages = { "ntlm", "negotiate", "negotiate-nokdc" };
		if (g_have_kdc)
			o.packages.insert(o.packages.end(), { "kerberos", "kerberos-ccache", "negotiate-kerberos" });
	}
	for (const std::string& p : o.packages)
		if (!g_have_kdc && (p == "kerberos" || p == "kerberos-ccache" || p == "negotiate-kerberos")) {
			std::fprintf(stderr, "nlassp-bench: scenario %s needs a KDC (--kdc, or run-bench.sh)\n",
			             p.c_str());
			return 2;
		}
	return 0;
}

// Every scenario of `o`, each with its own KRB5_CONFIG (restored after it) and ccache; false
// when kinit failed.
bool run_scenarios(const Options& o, const Implementation (&impls)[2], const std::string& sam,
                   const std::string& nokdc_conf, std::vector<ScenarioReport>& reports)
{
	for (const std::string& p : o.packages) {
		ScenarioReport rep;
		rep.scenario = scenario_for(p, nokdc_conf);
		const char* saved = std::getenv("KRB5_CONFIG");
		const std::string saved_conf = saved ? saved : "";
		if (!rep.scenario.krb5_config.empty())
			setenv("KRB5_CONFIG", rep.scenario.krb5_config.c_str(), 1);
		if (rep.scenario.ccache && !kdc_lab_kinit(g_lab, g_lab.default_ccache())) {
			std::fprintf(stderr, "nlassp-bench: kinit failed\n");
			return false;
		}
		run_scenario(o, impls, sam, rep);
		if (rep.scenario.ccache)
			kdc_lab_remove_ccache(g_lab.default_ccache());
		if (!rep.scenario.krb5_config.empty()) {
			if (saved)
				setenv("KRB5_CONFIG", saved_conf.c_str(), 1);
			else
				unsetenv("KRB5_CONFIG");
		}
		reports.push_back(rep);
	}
	return true;
}

} // namespace

int main(int argc, char** argv)
{
	Options o;
	if (!parse(argc, argv, o)) {
		usage(argv[0]);
		return 2;
	}
	// WinPR logs every refused or odd step at WARN/ERROR; a benchmark wants none of it.
	setenv("WLOG_LEVEL", "OFF", 0);
	if (const int rc = set_up_kdc(o); rc != 0)
		return rc;

	char dir[] = "/tmp/nlassp-bench-XXXXXX";
	if (!mkdtemp(dir)) {
		std::perror("mkdtemp");
		kdc_lab_teardown(g_lab);
		return 1;
	}
	auto cleanup = [&] {
		std::error_code ec;
		std::filesystem::remove_all(dir, ec);
		kdc_lab_teardown(g_lab);
	};
	const std::string sam = std::string(dir) + "/SAM";
	const std::string nokdc_conf = std::string(dir) + "/krb5-no-realm.conf";
	{
		std::ofstream conf(nokdc_conf);
		conf << "[libdefaults]\n";
	}

	std::string why;
	SecurityFunctionTableA* ours = module_table(&why);
	if (!ours) {
		std::fprintf(stderr, "nlassp-bench: cannot load the module: %s\n", why.c_str());
		cleanup();
		return 1;
	}
	SecurityFunctionTableA* winpr = winpr_table();
	if (!winpr) {
		std::fprintf(stderr, "nlassp-bench: WinPR has no SSPI table\n");
		cleanup();
		return 1;
	}
	const Implementation impls[2] = { { "ours", ours }, { "winpr", winpr } };

	if (!write_sam_file(sam, { { "alice", "LAB", "Passw0rd!" }, { "alice", "LAB.TEST", "Passw0rd!" } })) {
		std::fprintf(stderr, "nlassp-bench: cannot write %s\n", sam.c_str());
		cleanup();
		return 1;
	}

	std::vector<ScenarioReport> reports;
	const bool ran = run_scenarios(o, impls, sam, nokdc_conf, reports);
	cleanup();
	if (!ran)
		return 1;

	if (o.json)
		print_json(o, module_path(), reports);
	else
		print_text(o, module_path(), reports);

	for (const ScenarioReport& r : reports)
		for (int k = 0; k < 2; k++)
			if (r.login[k].failures || (o.messages && !r.messages[k].ok))
				return 1;
	return 0;
}
