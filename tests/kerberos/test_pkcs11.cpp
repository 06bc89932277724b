// The smartcard logon's look at a PKCS#11 module (kerberos/pkcs11.h) against a real one: SoftHSM2
// in a private SOFTHSM2_CONF with more tokens than one C_GetSlotList guess holds (66, beyond the
// 64 certificate objects looked at per token), so that the slot list must be asked for at its
// real size: every token is found, none twice. Needs softhsm2 (softhsm2-util and the module).
#include "kerberos/pkcs11.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
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
using namespace nlassp::kerberos;

namespace {

constexpr int kTokens = 66;
std::string g_dir;
std::string g_module;

int group_setup(void**)
{
	for (const char* m : {"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	                      "/usr/lib64/pkcs11/libsofthsm2.so"})
		if (access(m, R_OK) == 0) {
			g_module = m;
			break;
		}
	if (g_module.empty()) {
		std::fprintf(stderr, "libsofthsm2.so not found (install softhsm2)\n");
		return -1;
	}
	char tmpl[] = "/tmp/nlassp-pkcs11.XXXXXX";
	if (!mkdtemp(tmpl))
		return -1;
	g_dir = tmpl;
	std::filesystem::create_directories(g_dir + "/tokens");
	std::ofstream(g_dir + "/softhsm2.conf") << "directories.tokendir = " << g_dir
	                                        << "/tokens\nobjectstore.backend = file\nlog.level = ERROR\n";
	setenv("SOFTHSM2_CONF", (g_dir + "/softhsm2.conf").c_str(), 1);
	const std::string cmd = "for i in $(seq 1 " + std::to_string(kTokens) +
	                        "); do softhsm2-util --init-token --free --label \"t$i\" --pin 1234 --so-pin 5678 "
	                        ">/dev/null || exit 1; done";
	if (std::system(cmd.c_str()) != 0) {
		std::fprintf(stderr, "softhsm2-util could not make the tokens\n");
		return -1;
	}
	return 0;
}

int group_teardown(void**)
{
	std::error_code ec;
	if (!g_dir.empty())
		std::filesystem::remove_all(g_dir, ec);
	return 0;
}

void test_every_token_of_a_long_slot_list(void**)
{
	pkcs11::Module m;
	std::string why;
	assert_true(m.load(g_module, why));
	std::vector<pkcs11::TokenInfo> tokens;
	if (!m.tokens(tokens, why))
		std::fprintf(stderr, "%s\n", why.c_str());
	std::set<std::string> labels;
	std::set<uint64_t> slots;
	for (const pkcs11::TokenInfo& t : tokens) {
		labels.insert(t.label);
		slots.insert(t.slot);
	}
	// SoftHSM2 also lists one empty slot for the next token.
	assert_int_equal(tokens.size(), kTokens + 1);
	assert_int_equal(slots.size(), tokens.size());
	for (int i = 1; i <= kTokens; ++i)
		assert_true(labels.count("t" + std::to_string(i)) == 1);
}

} // namespace

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_token_of_a_long_slot_list),
	};
	return cmocka_run_group_tests_name("pkcs11 module", tests, group_setup, group_teardown);
}
