// The module's version where a user can see it: one DEBUG line under com.nlassp.sspi when it is
// loaded ("nlassp VERSION loaded from PATH", once however often InitSecurityInterfaceA/W are
// called), and the Comment of QuerySecurityPackageInfo / EnumerateSecurityPackages (A and W),
// which ends with "; nlassp VERSION". VERSION is the generated nlassp_version.h's
// NLASSP_VERSION_STRING: project(VERSION) plus the git revision when built from git.
//
// The built libnlassp.so is dlopen'ed as FreeRDP loads it; the log is read back through WLog's
// FILE appender, set up in main() before WinPR initialises WLog.
#include "nlassp_version.h"

#include <winpr/sspi.h>

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
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

namespace {

std::string g_dir;
std::string g_module;
SecurityFunctionTableA* g_table = nullptr;
SecurityFunctionTableW* g_wtable = nullptr;

const std::string kSuffix = std::string("; nlassp ") + NLASSP_VERSION_STRING;

bool ends_with(const std::string& s, const std::string& tail)
{
	return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string narrow(const SEC_WCHAR* w)
{
	std::string out;
	for (; w && *w; ++w)
		out.push_back(*w < 0x80 ? static_cast<char>(*w) : '?');
	return out;
}

int load(void**)
{
	void* lib = dlopen(g_module.c_str(), RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		std::fprintf(stderr, "dlopen(%s): %s\n", g_module.c_str(), dlerror());
		return -1;
	}
	auto init_a = reinterpret_cast<INIT_SECURITY_INTERFACE_A>(dlsym(lib, "InitSecurityInterfaceA"));
	auto init_w = reinterpret_cast<INIT_SECURITY_INTERFACE_W>(dlsym(lib, "InitSecurityInterfaceW"));
	if (!init_a || !init_w)
		return -1;
	// As FreeRDP does: once per authentication, so several times in one process.
	g_table = init_a();
	g_wtable = init_w();
	(void)init_a();
	return g_table && g_wtable ? 0 : -1;
}

// The DEBUG line, exactly once, with the version and the path the module was loaded from.
bool logged_once()
{
	std::ifstream f(g_dir + "/wlog.txt");
	std::string line;
	int version_lines = 0;
	bool right = false;
	while (std::getline(f, line)) {
		if (line.find("[com.nlassp.sspi]") == std::string::npos || line.find(" loaded from ") == std::string::npos)
			continue;
		++version_lines;
		const std::string want = std::string("nlassp ") + NLASSP_VERSION_STRING + " loaded from ";
		right = line.find("[DEBUG]") != std::string::npos && line.find(want) != std::string::npos &&
		        line.find(g_module.substr(g_module.rfind('/'))) != std::string::npos;
		std::printf("log: %s\n", line.c_str());
	}
	if (version_lines != 1 || !right) {
		std::fprintf(stderr, "want one DEBUG line 'nlassp %s loaded from ...%s', got %d\n", NLASSP_VERSION_STRING,
		             g_module.c_str(), version_lines);
		return false;
	}
	return true;
}

bool comments_carry_the_version()
{
	for (const char* name : {"Negotiate", "NTLM", "Kerberos", "CREDSSP"}) {
		SecPkgInfoA* a = nullptr;
		char pkg[16];
		std::snprintf(pkg, sizeof(pkg), "%s", name);
		if (g_table->QuerySecurityPackageInfoA(pkg, &a) != SEC_E_OK || !a) {
			std::fprintf(stderr, "QuerySecurityPackageInfoA(%s) failed\n", name);
			return false;
		}
		const std::string comment = a->Comment ? a->Comment : "";
		(void)g_table->FreeContextBuffer(a);
		if (!ends_with(comment, kSuffix)) {
			std::fprintf(stderr, "%s: Comment \"%s\" does not end with \"%s\"\n", name, comment.c_str(), kSuffix.c_str());
			return false;
		}
		std::printf("%s: %s\n", name, comment.c_str());
	}
	ULONG n = 0;
	SecPkgInfoW* w = nullptr;
	if (g_wtable->EnumerateSecurityPackagesW(&n, &w) != SEC_E_OK || !w || n == 0)
		return false;
	bool ok = true;
	for (ULONG i = 0; i < n; ++i)
		if (!ends_with(narrow(w[i].Comment), kSuffix)) {
			std::fprintf(stderr, "EnumerateSecurityPackagesW[%lu]: \"%s\"\n", static_cast<unsigned long>(i),
			             narrow(w[i].Comment).c_str());
			ok = false;
		}
	(void)g_wtable->FreeContextBuffer(w);
	return ok;
}

// project(VERSION) is what the header says; a git checkout adds its revision, a tarball none.
bool version_string_is_well_formed()
{
	const std::string full = NLASSP_VERSION_STRING;
	const std::string revision = NLASSP_GIT_REVISION;
	if (std::string(NLASSP_VERSION) != NLASSP_PROJECT_VERSION || full.rfind(NLASSP_PROJECT_VERSION, 0) != 0)
		return false;
#if NLASSP_BUILT_FROM_GIT
	return !revision.empty() && full == std::string(NLASSP_PROJECT_VERSION) + " (git " + revision + ")";
#else
	return revision.empty() && full == NLASSP_PROJECT_VERSION;
#endif
}

} // namespace

static void test_logged_once(void**) { assert_true(logged_once()); }
static void test_comments_carry_the_version(void**) { assert_true(comments_carry_the_version()); }
static void test_version_string_is_well_formed(void**) { assert_true(version_string_is_well_formed()); }

int main()
{
	const char* module = std::getenv("NLASSP_MODULE_PATH");
	g_module = module && *module ? module : NLASSP_MODULE_PATH_DEFAULT;
	char tmpl[] = "/tmp/nlassp-version.XXXXXX";
	if (!mkdtemp(tmpl))
		return 1;
	g_dir = tmpl;
	setenv("WLOG_APPENDER", "FILE", 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_PATH", g_dir.c_str(), 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_NAME", "wlog.txt", 1);
	setenv("WLOG_LEVEL", "DEBUG", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_logged_once),
	    cmocka_unit_test(test_comments_carry_the_version),
	    cmocka_unit_test(test_version_string_is_well_formed),
	};
	const int rc = cmocka_run_group_tests_name("the module's version", tests, load, nullptr);
	unlink((g_dir + "/wlog.txt").c_str());
	rmdir(g_dir.c_str());
	return rc;
}
