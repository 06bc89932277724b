// Shared CMocka fixture for the interop tests. A failing CMocka assertion longjmps out of the
// test, so everything with a destructor lives in the Fixture that setup/teardown own, and the
// test bodies are plain calls and assertions.
#pragma once

#include "interop/harness.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
extern "C" {
#include <cmocka.h>
}

#include <string>

namespace nlassp::interop {

enum class Impl { WinPR, Module };

struct Fixture {
	std::string dir;       // temp dir holding the SAM file
	std::string sam;       // SAM path: alice / LAB / Passw0rd!, bob / LAB / S3cret-bob
	Config config;
	Result result;
	Result second;         // for tests that need two runs
	std::string why;       // module load error
	std::string expected_domain = "LAB";  // AUTH_IDENTITY domain expect_full_success wants
	                                      // from our server ("LAB.TEST" for Kerberos)
};

// Per-test setup / teardown: a fresh Fixture with a SAM file and a default NTLM config.
int fixture_setup(void** state);
int fixture_teardown(void** state);

// The table for an implementation; fails the test if the module cannot be loaded.
SecurityFunctionTableA* table_for(Impl impl);

// Fills config: tables, package ("NTLM" / "Negotiate"), client alice with the package list
// "!kerberos" for Negotiate, server SAM; with_bindings gives both sides the same bindings.
void configure(Fixture* fx, Impl client, Impl server, const char* package, bool with_bindings);

// Runs the configured login into fx->result.
void run(Fixture* fx);

// Asserts a complete login, SIZES on both sides, every sealed message decrypting to the
// original both ways, and (for our module as server) NAMES / AUTH_IDENTITY / PACKAGE_INFO and
// Impersonate / Revert = SEC_E_OK.
void expect_full_success(Fixture* fx, Impl server);

// Prints a run's trace line by line (CMocka truncates long messages).
void print_trace(const Result& r);

// Prints the run's trace when a == e is false, then asserts a == e.
#define EXPECT_STATUS(fx, actual, expected)                                                    \
	do {                                                                                       \
		const SECURITY_STATUS a_ = (actual);                                                   \
		const SECURITY_STATUS e_ = (expected);                                                 \
		if (a_ != e_)                                                                          \
		{                                                                                      \
			print_message("%s: expected %s, got %s\n", #actual,                                \
			              nlassp::interop::status_string(e_).c_str(),                          \
			              nlassp::interop::status_string(a_).c_str());                         \
			nlassp::interop::print_trace((fx)->result);                                        \
		}                                                                                      \
		assert_int_equal(static_cast<uint32_t>(a_), static_cast<uint32_t>(e_));                \
	} while (0)

#define EXPECT_TRUE(fx, cond)                                                                  \
	do {                                                                                       \
		if (!(cond)) {                                                                         \
			print_message("failed: %s\n", #cond);                                              \
			nlassp::interop::print_trace((fx)->result);                                        \
		}                                                                                      \
		assert_true(cond);                                                                     \
	} while (0)

} // namespace nlassp::interop
