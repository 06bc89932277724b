// Concurrency: 8 threads each run 20 full module ↔ module logins (NTLM and Negotiate
// alternating by thread) at the same time, with sealed messages and server queries. All must
// succeed: the module's handle registry, OpenSSL context and SAM store are shared.
// Standard headers before cmocka.h, whose fail() macro breaks <ios>.
#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "interop/fixture.h"

using namespace nlassp::interop;

namespace {

constexpr int kThreads = 8;
constexpr int kLoginsPerThread = 20;

struct Outcome {
	std::atomic<int> ok{ 0 };
	std::atomic<int> failed{ 0 };
	std::mutex mutex;
	std::string first_failure;
};

bool login_ok(const Result& r)
{
	return r.established && r.messages_ok && r.impersonate_status == SEC_E_OK &&
	       r.revert_status == SEC_E_OK && r.names_status == SEC_E_OK &&
	       r.auth_identity_status == SEC_E_OK && r.auth_identity_user == "alice";
}

void worker(const Config& base, int thread, Outcome& out)
{
	Config c = base;
	c.package = thread % 2 ? "Negotiate" : "NTLM";
	if (thread % 2)
		c.client.package_list = "!kerberos";
	if (thread % 4 == 3)
		c.client_bindings = c.server_bindings = default_channel_bindings();
	c.messages = 2;
	Result r;
	for (int i = 0; i < kLoginsPerThread; i++) {
		run_login(c, r);
		if (login_ok(r)) {
			out.ok++;
		} else {
			out.failed++;
			std::lock_guard<std::mutex> lock(out.mutex);
			if (out.first_failure.empty())
				out.first_failure = "thread " + std::to_string(thread) + " login " +
				                    std::to_string(i) + " (" + c.package + "):\n" + r.describe();
		}
	}
}

// Returns the number of successful logins; prints the first failure.
int run_threads(Fixture* fx)
{
	Outcome out;
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; t++)
		threads.emplace_back(worker, std::cref(fx->config), t, std::ref(out));
	for (auto& th : threads)
		th.join();
	if (!out.first_failure.empty())
		std::fprintf(stdout, "%s\n", out.first_failure.c_str());
	return out.ok.load();
}

} // namespace

static void module_logins_in_parallel(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure(fx, Impl::Module, Impl::Module, "NTLM", false);
	const int ok = run_threads(fx);
	assert_int_equal(ok, kThreads * kLoginsPerThread);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(module_logins_in_parallel, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
