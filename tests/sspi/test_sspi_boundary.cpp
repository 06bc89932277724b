// The SSPI boundary on its own, with fake packages: the A and W tables, package info and
// enumeration, handle validation (forged, stale, wrong kind), and concurrency (many logins at once,
// one context shared by threads). Identities and credentials are in test_sspi_credentials.cpp,
// buffers, bindings and context attributes in test_sspi_buffers.cpp.
//
// Test bodies only call bool helpers and assert: a failing CMocka assertion longjmps past C++
// destructors, so anything with a destructor lives inside the helpers.
#include "sspi_pair.h"

#include "sspi/buffers.h"
#include "sspi/handles.h"
#include "sspi/identity.h"
#include "sspi/packages.h"
#include "sspi/table.h"

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
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
using namespace nlassp::test;

namespace {

bool check_package_info(const char* query, const char* name, ULONG caps, USHORT rpc, ULONG max_token)
{
	const size_t before = sspi::live_context_buffers();
	SecPkgInfoA* info = nullptr;
	if (!expect(query, A()->QuerySecurityPackageInfoA(const_cast<char*>(query), &info), SEC_E_OK))
		return false;
	const bool ok = std::strcmp(info->Name, name) == 0 && info->fCapabilities == caps && info->wRPCID == rpc &&
	                info->cbMaxToken == max_token && info->wVersion == 1 && info->Comment && info->Comment[0];
	if (!expect("FreeContextBuffer", A()->FreeContextBuffer(info), SEC_E_OK))
		return false;
	if (sspi::live_context_buffers() != before)
		return failed("package info leaked");
	return ok || failed(query);
}

bool check_package_info_w()
{
	SecPkgInfoW* info = nullptr;
	SEC_WCHAR name[] = {'n', 't', 'l', 'm', 0};
	if (!expect("QuerySecurityPackageInfoW", W()->QuerySecurityPackageInfoW(name, &info), SEC_E_OK))
		return false;
	const std::u16string got(reinterpret_cast<const char16_t*>(info->Name));
	const bool ok = got == u"NTLM" && info->cbMaxToken == 2888 && info->wRPCID == 10;
	(void)W()->FreeContextBuffer(info);
	return ok || failed("W package info");
}

void test_package_info(void**)
{
	assert_true(check_package_info("Negotiate", "Negotiate", 0x00083BB3, 9, 48256));
	assert_true(check_package_info("negotiate", "Negotiate", 0x00083BB3, 9, 48256));
	assert_true(check_package_info("NTLM", "NTLM", 0x00082B37, 10, 2888));
	assert_true(check_package_info("ntlm", "NTLM", 0x00082B37, 10, 2888));
	assert_true(check_package_info("Kerberos", "Kerberos", 0x000F3BBF, 16, 48000));
	assert_true(check_package_info_w());
	SecPkgInfoA* info = nullptr;
	char unknown[] = "Schannel";
	assert_int_equal(A()->QuerySecurityPackageInfoA(unknown, &info), SEC_E_SECPKG_NOT_FOUND);
	char credssp[] = "CREDSSP";   // not registered: not offered
	assert_int_equal(A()->QuerySecurityPackageInfoA(credssp, &info), SEC_E_SECPKG_NOT_FOUND);
	assert_int_equal(A()->QuerySecurityPackageInfoA(nullptr, &info), SEC_E_SECPKG_NOT_FOUND);
}

bool check_enumerate()
{
	ULONG n = 0;
	SecPkgInfoA* infos = nullptr;
	if (!expect("EnumerateSecurityPackagesA", A()->EnumerateSecurityPackagesA(&n, &infos), SEC_E_OK))
		return false;
	const bool ok = n == 3 && std::strcmp(infos[0].Name, "Negotiate") == 0 && std::strcmp(infos[1].Name, "NTLM") == 0 &&
	                std::strcmp(infos[2].Name, "Kerberos") == 0;
	(void)A()->FreeContextBuffer(infos);
	SecPkgInfoW* winfos = nullptr;
	if (!expect("EnumerateSecurityPackagesW", W()->EnumerateSecurityPackagesW(&n, &winfos), SEC_E_OK))
		return false;
	const bool wok = n == 3 && std::u16string(reinterpret_cast<const char16_t*>(winfos[2].Name)) == u"Kerberos";
	(void)W()->FreeContextBuffer(winfos);
	return (ok && wok) || failed("enumerate");
}

void test_enumerate(void**)
{
	assert_true(check_enumerate());
}

void test_tables_complete(void**)
{
	const auto* a = A();
	const auto* w = W();
	// Every entry set; the Reserved slots NULL.
	const void* const* pa = reinterpret_cast<const void* const*>(&a->EnumerateSecurityPackagesA);
	const void* const* pw = reinterpret_cast<const void* const*>(&w->EnumerateSecurityPackagesW);
	const size_t n = (sizeof(SecurityFunctionTableA) - offsetof(SecurityFunctionTableA, EnumerateSecurityPackagesA)) /
	                 sizeof(void*);
	for (size_t i = 0; i < n; ++i) {
		const bool reserved = i == 4 || i == 17 || i == 18 || i == 22;   // Reserved2/3/4/8
		assert_true(reserved ? pa[i] == nullptr : pa[i] != nullptr);
		assert_true(reserved ? pw[i] == nullptr : pw[i] != nullptr);
	}
	assert_null(a->Reserved2);
	assert_null(a->Reserved8);
	assert_int_equal(a->CompleteAuthToken(nullptr, nullptr), SEC_E_UNSUPPORTED_FUNCTION);
	assert_int_equal(a->ApplyControlToken(nullptr, nullptr), SEC_E_UNSUPPORTED_FUNCTION);
	assert_int_equal(a->ExportSecurityContext(nullptr, 0, nullptr, nullptr), SEC_E_UNSUPPORTED_FUNCTION);
	assert_int_equal(a->ImportSecurityContextA(nullptr, nullptr, nullptr, nullptr), SEC_E_UNSUPPORTED_FUNCTION);
	assert_int_equal(w->ImportSecurityContextW(nullptr, nullptr, nullptr, nullptr), SEC_E_UNSUPPORTED_FUNCTION);
	assert_int_equal(a->AddCredentialsA(nullptr, nullptr, nullptr, 0, nullptr, nullptr, nullptr, nullptr),
	                 SEC_E_UNSUPPORTED_FUNCTION);
	assert_int_equal(a->QuerySecurityContextToken(nullptr, nullptr), SEC_E_UNSUPPORTED_FUNCTION);
}

bool check_handles()
{
	Side c, sv;
	if (!open_pair(c, sv) || !login(c, sv))
		return false;
	CredHandle forged{c.cred.dwLower + 1000, c.cred.dwUpper};
	CredHandle garbage{0x1234, 0x5678};
	CredHandle invalid;
	SecInvalidateHandle(&invalid);
	bool ok = expect("forged cred", A()->FreeCredentialsHandle(&forged), SEC_E_INVALID_HANDLE) &&
	          expect("garbage cred", A()->FreeCredentialsHandle(&garbage), SEC_E_INVALID_HANDLE) &&
	          expect("invalid cred", A()->FreeCredentialsHandle(&invalid), SEC_E_INVALID_HANDLE) &&
	          expect("NULL cred", A()->FreeCredentialsHandle(nullptr), SEC_E_INVALID_HANDLE) &&
	          // wrong kind: a context handle where a credential is expected, and back
	          expect("ctx as cred", A()->FreeCredentialsHandle(&c.ctx), SEC_E_INVALID_HANDLE) &&
	          expect("cred as ctx", A()->DeleteSecurityContext(&c.cred), SEC_E_INVALID_HANDLE);
	SecPkgContext_Sizes sizes{};
	ok = ok && expect("query via cred", A()->QueryContextAttributesA(&c.cred, SECPKG_ATTR_SIZES, &sizes),
	                  SEC_E_INVALID_HANDLE);
	// An acceptor context handed to InitializeSecurityContext is the wrong kind of context.
	Bytes out;
	Side wrong = c;
	wrong.ctx = sv.ctx;
	ok = ok && expect("acceptor ctx in ISC", client_step(wrong, Bytes{'C', 'H', 'A', 'L'}, out), SEC_E_INVALID_HANDLE);
	// Stale: deleted, then used, then deleted again.
	CtxtHandle stale = c.ctx;
	ok = ok && expect("delete", A()->DeleteSecurityContext(&c.ctx), SEC_E_OK) &&
	     expect("stale query", A()->QueryContextAttributesA(&stale, SECPKG_ATTR_SIZES, &sizes), SEC_E_INVALID_HANDLE) &&
	     expect("double delete", A()->DeleteSecurityContext(&stale), SEC_E_INVALID_HANDLE);
	c.have_ctx = false;
	CredHandle cred = c.cred;
	ok = ok && expect("free cred", A()->FreeCredentialsHandle(&c.cred), SEC_E_OK) &&
	     expect("double free cred", A()->FreeCredentialsHandle(&cred), SEC_E_INVALID_HANDLE);
	// A context outlives the credential it was made with.
	ok = ok && expect("query after cred freed", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_SIZES, &sizes),
	                  SEC_E_OK);
	(void)A()->DeleteSecurityContext(&sv.ctx);
	(void)A()->FreeCredentialsHandle(&sv.cred);
	return ok;
}

void test_handles(void**)
{
	const size_t before = sspi::handles().size();
	assert_true(check_handles());
	assert_int_equal(sspi::handles().size(), before);
}

// ---- concurrency ---------------------------------------------------------------------------

void login_worker(int rounds, std::atomic<int>& ok_count)
{
	for (int i = 0; i < rounds; ++i) {
		Side c, sv;
		if (open_pair(c, sv, (i & 1) ? "NTLM" : "Negotiate") && login(c, sv) && seal_roundtrip(c.ctx, sv.ctx) &&
		    seal_roundtrip(sv.ctx, c.ctx))
			++ok_count;
		close_pair(c, sv);
	}
}

bool check_concurrent()
{
	constexpr int kThreads = 8, kRounds = 40;
	std::atomic<int> ok_count{0};
	const size_t handles_before = sspi::handles().size();
	const size_t buffers_before = sspi::live_context_buffers();
	const int contexts_before = g_fake.contexts_alive.load();
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; ++t)
		threads.emplace_back(login_worker, kRounds, std::ref(ok_count));
	for (auto& t : threads)
		t.join();
	if (ok_count.load() != kThreads * kRounds)
		return failed("some concurrent logins failed");
	if (sspi::handles().size() != handles_before || sspi::live_context_buffers() != buffers_before ||
	    g_fake.contexts_alive.load() != contexts_before) {
		std::fprintf(stderr, "handles %zu/%zu buffers %zu/%zu contexts %d/%d\n", sspi::handles().size(), handles_before,
		             sspi::live_context_buffers(), buffers_before, g_fake.contexts_alive.load(), contexts_before);
		return failed("handles, buffers or contexts leaked");
	}
	return true;
}

void test_concurrent(void**)
{
	assert_true(check_concurrent());
}

// One context used from several threads at once: calls serialize on the context's lock.
bool check_shared_context()
{
	Side c, sv;
	if (!open_pair(c, sv) || !login(c, sv))
		return false;
	std::atomic<int> bad{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < 4; ++t)
		threads.emplace_back([&] {
			for (int i = 0; i < 200; ++i) {
				SecPkgContext_Sizes s{};
				if (A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_SIZES, &s) != SEC_E_OK)
					++bad;
				uint8_t tok[16], data[3] = {1, 2, 3};
				SecBuffer b[2] = {{16, SECBUFFER_TOKEN, tok}, {3, SECBUFFER_DATA, data}};
				SecBufferDesc d{SECBUFFER_VERSION, 2, b};
				if (A()->MakeSignature(&c.ctx, 0, &d, 0) != SEC_E_OK)
					++bad;
			}
		});
	for (auto& t : threads)
		t.join();
	close_pair(c, sv);
	return bad.load() == 0 || failed("shared context calls failed");
}

void test_shared_context(void**)
{
	assert_true(check_shared_context());
}

// Every test above closes what it opened: no handle, context or context buffer is left.
void test_nothing_left(void**)
{
	assert_int_equal(sspi::handles().size(), 0);
	assert_int_equal(g_fake.contexts_alive.load(), 0);
	assert_int_equal(sspi::live_context_buffers(), 0);
}

} // namespace

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_package_info, setup),
	    cmocka_unit_test_setup(test_enumerate, setup),
	    cmocka_unit_test_setup(test_tables_complete, setup),
	    cmocka_unit_test_setup(test_handles, setup),
	    cmocka_unit_test_setup(test_concurrent, setup),
	    cmocka_unit_test_setup(test_shared_context, setup),
	    cmocka_unit_test(test_nothing_left),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
