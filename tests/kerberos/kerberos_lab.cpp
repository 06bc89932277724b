// The Kerberos tests' KDC lab and login: see kerberos_lab.h.
#include "kerberos_lab.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <signal.h>
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

#ifndef NLASSP_KDC_SH
#error "NLASSP_KDC_SH must name tests/lab/kdc.sh"
#endif

namespace nlassp::test {

Fixture* g = nullptr;

std::string read_file(const std::string& path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

int run(const std::string& cmd)
{
	int rc = std::system(cmd.c_str());
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool lab_start(Lab& lab)
{
	// Orphans of the shell (krb5kdc) become our children, so we can stop and reap them by pid.
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	char tmpl[] = "/tmp/nlassp-krbtest.XXXXXX";
	if (!mkdtemp(tmpl))
		return false;
	lab.dir = tmpl;
	std::string cmd = "bash -c '_KDC_TRAP_SET=1; . \"" NLASSP_KDC_SH "\" && kdc_setup \"" + lab.dir +
	                  "\" && kdc_start && echo $KDC_PID > \"" + lab.dir + "/pid.txt\"' >\"" + lab.dir +
	                  "/lab.out\" 2>&1";
	if (run(cmd) != 0) {
		std::fprintf(stderr, "KDC setup failed:\n%s\n", read_file(lab.dir + "/lab.out").c_str());
		return false;
	}
	lab.kdc = static_cast<pid_t>(std::atoi(read_file(lab.dir + "/pid.txt").c_str()));
	lab.running = lab.kdc > 0;
	setenv("KRB5_CONFIG", (lab.dir + "/krb5.conf").c_str(), 1);
	setenv("KRB5_KDC_PROFILE", (lab.dir + "/kdc.conf").c_str(), 1);
	setenv("KRB5CCNAME", ("FILE:" + lab.dir + "/user.ccache").c_str(), 1);
	setenv("KRB5_KTNAME", ("FILE:" + lab.dir + "/no-default.keytab").c_str(), 1);
	setenv("KRB5_CLIENT_KTNAME", ("FILE:" + lab.dir + "/no-client.keytab").c_str(), 1);
	return lab.running;
}

void lab_stop_kdc(Lab& lab)
{
	if (!lab.running)
		return;
	(void)kill(lab.kdc, SIGTERM);
	for (int i = 0; i < 200; ++i) {
		if (waitpid(lab.kdc, nullptr, WNOHANG) == lab.kdc || (kill(lab.kdc, 0) != 0 && errno == ESRCH))
			break;
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	if (kill(lab.kdc, 0) == 0) {
		(void)kill(lab.kdc, SIGKILL);
		(void)waitpid(lab.kdc, nullptr, 0);
	}
	lab.running = false;
}

void lab_teardown(Lab& lab)
{
	lab_stop_kdc(lab);
	if (!lab.dir.empty()) {
		// LAB_KEEP=1 keeps the realm's files (kdc.log, krb5.conf) to read after the run, as lab.sh does.
		const char* keep = std::getenv("LAB_KEEP");
		std::error_code ec;
		if (keep && std::strcmp(keep, "1") == 0)
			std::fprintf(stderr, "kerberos_lab: keeping %s (LAB_KEEP=1)\n", lab.dir.c_str());
		else
			std::filesystem::remove_all(lab.dir, ec);
	}
}

// TGS_REQ lines in the KDC log that issued a ticket for `service`.
int count_tgs(const std::string& service)
{
	std::istringstream log(read_file(g->lab.dir + "/kdc.log"));
	std::string line;
	int n = 0;
	while (std::getline(log, line))
		if (line.find("TGS_REQ") != std::string::npos && line.find("for " + service) != std::string::npos)
			++n;
	return n;
}

int count_kdc_requests()
{
	std::istringstream log(read_file(g->lab.dir + "/kdc.log"));
	std::string line;
	int n = 0;
	while (std::getline(log, line))
		if (line.find("AS_REQ") != std::string::npos || line.find("TGS_REQ") != std::string::npos)
			++n;
	return n;
}

bool kinit(const std::string& ccache, const char* user)
{
	return run("echo 'Passw0rd!' | KRB5CCNAME='" + ccache + "' kinit " + user + " >/dev/null 2>&1") == 0;
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

CredentialPtr password_cred(const char16_t* user, const char16_t* domain, const char* password)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Kerberos;
	c->use = CredentialUse::Outbound;
	Identity id;
	id.user = user;
	id.domain = domain;
	id.password = utf16le(password);
	id.has_password = true;
	c->identity = std::move(id);
	return c;
}

CredentialPtr default_cred(const std::string& cache)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Kerberos;
	c->use = CredentialUse::Outbound;
	c->kerberos.cache = cache;
	return c;
}

CredentialPtr acceptor_cred()
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Kerberos;
	c->use = CredentialUse::Inbound;
	c->kerberos.keytab = g->lab.dir + "/termsrv.keytab";
	return c;
}
Error login(const CredentialPtr& ic, const char16_t* target, ContextFlags req, const ChannelBindings* ini_cb,
            const ChannelBindings* acc_cb)
{
	Pair& p = g->pair;
	p = Pair{};
	Error err = Error::None;
	p.ini = kerberos::create_context(Role::Initiator, ic, err);
	if (err != Error::None)
		return err;
	p.acc = kerberos::create_context(Role::Acceptor, acceptor_cred(), err);
	if (err != Error::None)
		return err;
	Bytes to_acceptor;
	Bytes to_initiator;
	bool ini_done = false;
	bool acc_done = false;
	int accept_requests = 0;
	for (int round = 0; round < 4 && !(ini_done && acc_done); ++round) {
		if (!ini_done) {
			StepInput in;
			in.token = to_initiator;
			in.requested = req;
			in.target = target;
			in.bindings = ini_cb;
			StepOutput out;
			if ((err = p.ini->step(in, out)) != Error::None)
				return err;
			ini_done = out.complete;
			to_acceptor = std::move(out.token);
		}
		if (!acc_done && !to_acceptor.empty()) {
			StepInput in;
			in.token = to_acceptor;
			in.bindings = acc_cb;
			in.requested = ctx::MutualAuth | ctx::Confidentiality | ctx::Connection | ctx::UseSessionKey |
			               ctx::SequenceDetect | ctx::ExtendedError;
			StepOutput out;
			const int before = count_kdc_requests();
			err = p.acc->step(in, out);
			accept_requests += count_kdc_requests() - before;
			if (err != Error::None)
				return err;
			acc_done = out.complete;
			to_initiator = std::move(out.token);
			to_acceptor.clear();
		}
	}
	p.tgs_during_accept = accept_requests;
	if (!(ini_done && acc_done && p.ini->established() && p.acc->established()))
		return Error::Internal;
	return Error::None;
}

bool names_are(const SecurityContext& c, const char16_t* user, const char16_t* domain)
{
	ContextNames n;
	return c.names(n) == Error::None && n.user == user && n.domain == domain;
}

int group_setup(void** state)
{
	g = new Fixture;
	*state = g;
	return lab_start(g->lab) ? 0 : -1;
}

int group_teardown(void**)
{
	if (g) {
		g->pair = Pair{};
		lab_teardown(g->lab);
		delete g;
		g = nullptr;
	}
	return 0;
}

} // namespace nlassp::test
