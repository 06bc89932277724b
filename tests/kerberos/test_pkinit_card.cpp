// The look at a file-emulated card (pkinit::inspect_card with FILE:cert,key): files that are not
// regular files or are too large are refused with SCARD_E_NO_SUCH_CERTIFICATE's Error and a line
// saying why, before a byte is read - a FIFO would block the logon forever and /dev/zero would
// eat the process's memory. A throwaway certificate and key are made with the openssl command.
// A hang is caught by alarm() (the process dies with SIGALRM and the test fails), not timed.
#include "kerberos/pkinit.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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

using namespace nlassp;
using namespace nlassp::kerberos::pkinit;

namespace {

std::string g_dir;

std::string path(const char* name)
{
	return g_dir + "/" + name;
}

int group_setup(void**)
{
	char tmpl[] = "/tmp/nlassp-pkinit-card.XXXXXX";
	if (!mkdtemp(tmpl))
		return -1;
	g_dir = tmpl;
	const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=alice "
	                        "-keyout '" + path("key.pem") + "' -out '" + path("cert.pem") + "' >/dev/null 2>&1";
	if (std::system(cmd.c_str()) != 0) {
		std::fprintf(stderr, "openssl could not make a certificate\n");
		return -1;
	}
	if (mkfifo(path("fifo").c_str(), 0600) != 0)
		return -1;
	// 2 MiB, sparse: larger than any certificate or key file is allowed to be.
	std::ofstream(path("huge.pem")).close();
	std::filesystem::resize_file(path("huge.pem"), 2 * 1024 * 1024);
	return 0;
}

int group_teardown(void**)
{
	std::error_code ec;
	std::filesystem::remove_all(g_dir, ec);
	return 0;
}

Failure inspect(const std::string& identity)
{
	CardRequest req;
	std::string why;
	if (!parse_x509_identity(identity, req.identity, why))
		return {Error::InvalidParameter, why};
	Card card;
	return inspect_card(req, card);
}

void expect_refused(const std::string& identity, const char* needle)
{
	const Failure f = inspect(identity);
	if (f.error != Error::SmartcardNoCertificate || f.detail.find(needle) == std::string::npos)
		std::fprintf(stderr, "%s: %s: %s\n", identity.c_str(), error_name(f.error), f.detail.c_str());
	assert_int_equal(f.error, Error::SmartcardNoCertificate);
	assert_true(f.detail.find(needle) != std::string::npos);
}

void test_good_files(void**)
{
	const Failure f = inspect("FILE:" + path("cert.pem") + "," + path("key.pem"));
	if (f)
		std::fprintf(stderr, "%s\n", f.detail.c_str());
	assert_int_equal(f.error, Error::None);
}

void test_certificate_is_a_fifo(void**)
{
	expect_refused("FILE:" + path("fifo") + "," + path("key.pem"), "not a regular file");
}

void test_key_is_a_fifo(void**)
{
	expect_refused("FILE:" + path("cert.pem") + "," + path("fifo"), "cannot read the private key file");
	expect_refused("FILE:" + path("cert.pem") + "," + path("fifo"), "not a regular file");
}

void test_devices_and_directories(void**)
{
	expect_refused("FILE:/dev/zero," + path("key.pem"), "not a regular file");
	expect_refused("FILE:" + path("cert.pem") + ",/dev/zero", "not a regular file");
	expect_refused("FILE:" + g_dir + "," + path("key.pem"), "not a regular file");
}

void test_huge_files(void**)
{
	expect_refused("FILE:" + path("huge.pem") + "," + path("key.pem"), "larger than 1 MiB");
	expect_refused("FILE:" + path("cert.pem") + "," + path("huge.pem"), "larger than 1 MiB");
}

void test_missing_file(void**)
{
	expect_refused("FILE:" + path("nothing.pem") + "," + path("key.pem"), "No such file");
}

} // namespace

int main()
{
	// A FIFO or a device read whole would block or never end: die (and fail) instead of hanging.
	alarm(120);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_files),           cmocka_unit_test(test_certificate_is_a_fifo),
	    cmocka_unit_test(test_key_is_a_fifo),        cmocka_unit_test(test_devices_and_directories),
	    cmocka_unit_test(test_huge_files),           cmocka_unit_test(test_missing_file),
	};
	return cmocka_run_group_tests_name("pkinit card files", tests, group_setup, group_teardown);
}
