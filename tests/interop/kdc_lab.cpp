#include "interop/kdc_lab.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace nlassp::interop {

namespace {

std::string read_text(const std::string& path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

std::string trim(std::string s)
{
	while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
		s.pop_back();
	return s;
}

// Runs argv (no shell of ours in between) with stdout+stderr into `log`; its exit code or -1.
int run_logged(const std::vector<std::string>& args, const std::string& log)
{
	std::vector<char*> argv;
	for (const std::string& a : args)
		argv.push_back(const_cast<char*>(a.c_str()));
	argv.push_back(nullptr);
	const pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			(void)dup2(fd, 1);
			(void)dup2(fd, 2);
			(void)close(fd);
		}
		execvp(argv[0], argv.data());
		_exit(127);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool port_answers(int port)
{
	const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return false;
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_port = htons(static_cast<uint16_t>(port));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	const bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
	(void)close(s);
	return ok;
}

void export_environment(const KdcLab& lab)
{
	setenv("KRB5_CONFIG", lab.krb5_conf().c_str(), 1);
	setenv("KRB5_KDC_PROFILE", (lab.dir + "/kdc.conf").c_str(), 1);
	setenv("KRB5CCNAME", lab.default_ccache().c_str(), 1);
	// No default keytab and no client keytab: nothing may silently come from the machine's.
	setenv("KRB5_KTNAME", ("FILE:" + lab.dir + "/no-default.keytab").c_str(), 1);
	setenv("KRB5_CLIENT_KTNAME", ("FILE:" + lab.dir + "/no-client.keytab").c_str(), 1);
}

// The KDC port from the lab's krb5.conf ("kdc = 127.0.0.1:PORT").
int port_from_config(const std::string& conf)
{
	const std::string text = read_text(conf);
	const std::string key = "kdc = 127.0.0.1:";
	const size_t at = text.find(key);
	return at == std::string::npos ? 0 : std::atoi(text.c_str() + at + key.size());
}

} // namespace

bool kdc_lab_start(KdcLab& lab, const std::string& kdc_sh, std::string* why)
{
	return kdc_lab_start_with(lab, kdc_sh, "", why);
}

std::string kdc_lab_env(const KdcLab& lab, const std::string& name)
{
	std::ifstream f(lab.dir + "/lab.env");
	std::string line;
	const std::string key = name + "=";
	while (std::getline(f, line))
		if (line.compare(0, key.size(), key) == 0)
			return line.substr(key.size());
	return {};
}

bool kdc_lab_start_with(KdcLab& lab, const std::string& kdc_sh, const std::string& extra, std::string* why)
{
	auto fail = [&](const std::string& what) {
		if (why)
			*why = what;
		return false;
	};
	lab = KdcLab{};
	lab.kdc_sh = kdc_sh;
	// krb5kdc is re-parented to us if anything in between exits; lets us reap it.
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	char tmpl[] = "/tmp/nlassp-krbinterop.XXXXXX";
	if (!mkdtemp(tmpl))
		return fail(std::string("mkdtemp: ") + std::strerror(errno));
	lab.dir = tmpl;
	// kdc_setup (no EXIT trap: the dir is ours to remove), and where krb5kdc is.
	const std::string script =
	    "_KDC_TRAP_SET=1; . \"$1\" && kdc_setup \"$2\" && " + (extra.empty() ? std::string() : "{ " + extra + "; } && ") +
	    "echo \"$KDC_PORT\" >\"$2/port\" && env >\"$2/lab.env\" && _kdc_sbin krb5kdc >\"$2/krb5kdc.path\"";
	const std::string out = lab.dir + "/lab.out";
	if (run_logged({ "bash", "-c", script, "kdc-lab", kdc_sh, lab.dir }, out) != 0)
		return fail("kdc_setup failed:\n" + read_text(out));
	lab.port = std::atoi(read_text(lab.dir + "/port").c_str());
	lab.krb5kdc = trim(read_text(lab.dir + "/krb5kdc.path"));
	if (lab.port <= 0 || lab.krb5kdc.empty())
		return fail("kdc_setup gave no port or no krb5kdc:\n" + read_text(out));
	export_environment(lab);
	return kdc_lab_start_kdc(lab, why);
}

bool kdc_lab_attach(KdcLab& lab, const std::string& dir, std::string* why)
{
	lab = KdcLab{};
	lab.dir = dir;
	lab.owns_dir = false;
	lab.port = port_from_config(lab.krb5_conf());
	if (lab.port <= 0) {
		if (why)
			*why = "no KDC port in " + lab.krb5_conf();
		return false;
	}
	export_environment(lab);
	if (!port_answers(lab.port)) {
		if (why)
			*why = "no KDC answers on 127.0.0.1:" + std::to_string(lab.port);
		return false;
	}
	return true;
}

bool kdc_lab_start_kdc(KdcLab& lab, std::string* why)
{
	auto fail = [&](const std::string& what) {
		if (why)
			*why = what;
		return false;
	};
	if (lab.running())
		return true;
	if (!lab.owns_dir || lab.krb5kdc.empty())
		return fail("not our KDC to start");
	const std::string pidfile = lab.dir + "/kdc.pid";
	const std::string out = lab.dir + "/krb5kdc.out";
	std::vector<std::string> args = { lab.krb5kdc, "-n", "-r", "LAB.TEST", "-P", pidfile };
	std::vector<char*> argv;
	for (std::string& a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	const pid_t parent = getpid();
	const pid_t pid = fork();
	if (pid < 0)
		return fail(std::string("fork: ") + std::strerror(errno));
	if (pid == 0) {
		// Dies with us, whatever happens to us.
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		const int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			(void)dup2(fd, 1);
			(void)dup2(fd, 2);
			(void)close(fd);
		}
		execv(argv[0], argv.data());
		_exit(127);
	}
	lab.pid = pid;
	for (int i = 0; i < 200; i++) {
		int status = 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			lab.pid = -1;
			return fail("krb5kdc exited:\n" + read_text(out) + read_text(lab.log()));
		}
		if (port_answers(lab.port))
			return true;
		std::this_thread::sleep_for(std::chrono::milliseconds(25));
	}
	kdc_lab_stop_kdc(lab);
	return fail("krb5kdc did not listen on 127.0.0.1:" + std::to_string(lab.port));
}

void kdc_lab_stop_kdc(KdcLab& lab)
{
	if (!lab.running())
		return;
	(void)kill(lab.pid, SIGTERM);
	bool gone = false;
	for (int i = 0; i < 200 && !gone; i++) {
		const pid_t r = waitpid(lab.pid, nullptr, WNOHANG);
		gone = r == lab.pid || (r < 0 && errno == ECHILD);
		if (!gone)
			std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	if (!gone) {
		(void)kill(lab.pid, SIGKILL);
		(void)waitpid(lab.pid, nullptr, 0);
	}
	lab.pid = -1;
}

void kdc_lab_teardown(KdcLab& lab)
{
	kdc_lab_stop_kdc(lab);
	if (lab.owns_dir && !lab.dir.empty()) {
		// LAB_KEEP=1 keeps the realm's files (kdc.log, krb5.conf) to read after the run, as lab.sh does.
		const char* keep = std::getenv("LAB_KEEP");
		std::error_code ec;
		if (keep && std::strcmp(keep, "1") == 0)
			std::fprintf(stderr, "kdc_lab: keeping %s (LAB_KEEP=1)\n", lab.dir.c_str());
		else
			std::filesystem::remove_all(lab.dir, ec);
	}
	lab.dir.clear();
}

int kdc_lab_count_tgs(const KdcLab& lab, const std::string& service)
{
	std::ifstream f(lab.log());
	if (!f)
		return -1;
	std::string line;
	int n = 0;
	const std::string needle = "for " + service;
	while (std::getline(f, line))
		if (line.find("TGS_REQ") != std::string::npos && line.find(needle) != std::string::npos)
			n++;
	return n;
}

int kdc_lab_count_requests(const KdcLab& lab)
{
	std::ifstream f(lab.log());
	if (!f)
		return -1;
	std::string line;
	int n = 0;
	while (std::getline(f, line))
		if (line.find("AS_REQ") != std::string::npos || line.find("TGS_REQ") != std::string::npos)
			n++;
	return n;
}

bool kdc_lab_kinit(const KdcLab& lab, const std::string& ccache, const std::string& user,
                   const std::string& password)
{
	// kinit reads the password from stdin when it is not a terminal.
	const std::string script = "printf '%s\\n' \"$3\" | KRB5CCNAME=\"$1\" kinit \"$2\"";
	return run_logged({ "bash", "-c", script, "kinit", ccache, user + "@LAB.TEST", password },
	                  lab.dir + "/kinit.out") == 0;
}

bool kdc_lab_kadmin(const KdcLab& lab, const std::string& query)
{
	const std::string script = ". \"$1\" && KDC_DIR=\"$2\" && kdc_kadmin \"$3\"";
	return run_logged({ "bash", "-c", script, "kadmin", lab.kdc_sh, lab.dir, query }, lab.dir + "/kadmin.out") == 0;
}

bool kdc_lab_run(const KdcLab& lab, const std::string& script)
{
	const std::string wrapper = ". \"$1\" && KDC_DIR=\"$2\" && KDC_KEYTAB=\"$2/termsrv.keytab\" && KDC_LOG=\"$2/kdc.log\" && eval \"$3\"";
	return run_logged({ "bash", "-c", wrapper, "kdc-lab", lab.kdc_sh, lab.dir, script }, lab.dir + "/run.out") == 0;
}

int kdc_lab_count_lines(const KdcLab& lab, std::initializer_list<const char*> needles)
{
	std::ifstream f(lab.log());
	if (!f)
		return -1;
	std::string line;
	int n = 0;
	while (std::getline(f, line)) {
		bool all = true;
		for (const char* needle : needles)
			all = all && line.find(needle) != std::string::npos;
		n += all ? 1 : 0;
	}
	return n;
}

void kdc_lab_remove_ccache(const std::string& ccache)
{
	if (ccache.rfind("FILE:", 0) == 0)
		(void)unlink(ccache.c_str() + 5);
}

} // namespace nlassp::interop
