// Logins between our module and WinPR's built-in packages, both ways and module ↔ module,
// for NTLM and Negotiate, with and without channel bindings, then sealed messages both ways.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include "interop/fixture.h"

using namespace nlassp::interop;

namespace {

constexpr Impl M = Impl::Module;
constexpr Impl W = Impl::WinPR;

void login(void** state, Impl client, Impl server, const char* package, bool bindings)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure(fx, client, server, package, bindings);
	run(fx);
	expect_full_success(fx, server);
}

// The acceptor's status for a refused login, and that the initiator saw nothing wrong
// before that (NTLM cannot tell the initiator about a wrong password).
void refused(void** state, Impl client, Impl server, const char* package, const char* user,
             const char* password, SECURITY_STATUS expected)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure(fx, client, server, package, false);
	fx->config.client.user = user;
	fx->config.client.password = password;
	run(fx);
	EXPECT_TRUE(fx, fx->result.failed);
	EXPECT_TRUE(fx, !fx->result.hang);
	EXPECT_TRUE(fx, fx->result.failed_side == Side::Server);
	EXPECT_STATUS(fx, fx->result.failure_status, expected);
	for (const Step& s : fx->result.steps)
		if (s.side == Side::Client)
			EXPECT_TRUE(fx, s.status == SEC_I_CONTINUE_NEEDED || s.status == SEC_E_OK);
}

} // namespace

// NTLM
static void ntlm_module_to_winpr(void** s) { login(s, M, W, "NTLM", false); }
static void ntlm_module_to_winpr_cb(void** s) { login(s, M, W, "NTLM", true); }
static void ntlm_winpr_to_module(void** s) { login(s, W, M, "NTLM", false); }
static void ntlm_winpr_to_module_cb(void** s) { login(s, W, M, "NTLM", true); }
static void ntlm_module_to_module(void** s) { login(s, M, M, "NTLM", false); }
static void ntlm_module_to_module_cb(void** s) { login(s, M, M, "NTLM", true); }
// Negotiate ("!kerberos" package list on the client)
static void nego_module_to_winpr(void** s) { login(s, M, W, "Negotiate", false); }
static void nego_module_to_winpr_cb(void** s) { login(s, M, W, "Negotiate", true); }
static void nego_winpr_to_module(void** s) { login(s, W, M, "Negotiate", false); }
static void nego_winpr_to_module_cb(void** s) { login(s, W, M, "Negotiate", true); }
static void nego_module_to_module(void** s) { login(s, M, M, "Negotiate", false); }
static void nego_module_to_module_cb(void** s) { login(s, M, M, "Negotiate", true); }

// Our Negotiate initiator speaks SPNEGO (a GSS InitialContextToken, tag 0x60, NTLM inside).
static void nego_module_client_sends_spnego(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure(fx, M, W, "Negotiate", false);
	run(fx);
	expect_full_success(fx, W);
	EXPECT_TRUE(fx, !fx->result.tokens.empty() && !fx->result.tokens[0].empty());
	EXPECT_TRUE(fx, fx->result.tokens[0][0] == 0x60);
	EXPECT_TRUE(fx, find_ntlmssp(fx->result.tokens[0]) > 0);
}

// Every identity form FreeRDP and other callers may pass, on our initiator.
static void identity_forms_module_client(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	static const IdentityForm forms[] = { IdentityForm::Winpr, IdentityForm::WinntA,
		                                  IdentityForm::WinntW, IdentityForm::ExA,
		                                  IdentityForm::ExW };
	static const char* const packages[] = { "NTLM", "Negotiate" };
	for (const char* pkg : packages) {
		for (IdentityForm f : forms) {
			configure(fx, M, W, pkg, false);
			fx->config.client.form = f;
			// The plain A/W forms carry no package list.
			if (f == IdentityForm::WinntA || f == IdentityForm::WinntW)
				fx->config.client.package_list.clear();
			print_message("%s with %s\n", pkg, identity_form_name(f));
			run(fx);
			expect_full_success(fx, W);
		}
	}
}

// A non-ASCII user name and password (UTF-16 conversion on both sides).
static void unicode_credentials(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	const std::string sam = fx->dir + "/SAM.utf8";
	assert_true(write_sam_file(sam, { { "J\xc3\xb6rg", "LAB", "p\xc3\xa4ss\xe2\x82\xac" } }));
	static const Impl pairs[][2] = { { M, W }, { W, M }, { M, M } };
	for (const auto& p : pairs) {
		configure(fx, p[0], p[1], "NTLM", false);
		fx->config.server.sam_file = sam;
		fx->config.client.user = "J\xc3\xb6rg";
		fx->config.client.password = "p\xc3\xa4ss\xe2\x82\xac";
		fx->config.query_server = false;
		run(fx);
		expect_full_success(fx, p[1]);
	}
}

// Wrong password / unknown user: which side says what.
static void wrong_password_module_server_ntlm(void** s)
{
	refused(s, W, M, "NTLM", "alice", "wrong", SEC_E_LOGON_DENIED);
}
static void wrong_password_module_server_nego(void** s)
{
	refused(s, W, M, "Negotiate", "alice", "wrong", SEC_E_LOGON_DENIED);
}
static void wrong_password_module_both_ntlm(void** s)
{
	refused(s, M, M, "NTLM", "alice", "wrong", SEC_E_LOGON_DENIED);
}
static void wrong_password_module_both_nego(void** s)
{
	refused(s, M, M, "Negotiate", "alice", "wrong", SEC_E_LOGON_DENIED);
}
static void unknown_user_module_server_ntlm(void** s)
{
	refused(s, W, M, "NTLM", "mallory", "Passw0rd!", SEC_E_LOGON_DENIED);
}
static void unknown_user_module_both_nego(void** s)
{
	refused(s, M, M, "Negotiate", "mallory", "Passw0rd!", SEC_E_LOGON_DENIED);
}
// Against WinPR's acceptor our initiator gets WinPR's statuses (see test_winpr_sanity).
static void wrong_password_winpr_server_ntlm(void** s)
{
	refused(s, M, W, "NTLM", "alice", "wrong", SEC_E_MESSAGE_ALTERED);
}
static void unknown_user_winpr_server_ntlm(void** s)
{
	refused(s, M, W, "NTLM", "mallory", "Passw0rd!", SEC_E_NO_CREDENTIALS);
}

// Bindings that differ between the two ends: our acceptor refuses.
static void bindings_mismatch_module_server(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	static const Impl clients[] = { W, M };
	static const char* const packages[] = { "NTLM", "Negotiate" };
	for (Impl c : clients) {
		for (const char* pkg : packages) {
			configure(fx, c, M, pkg, true);
			fx->config.server_bindings = default_channel_bindings(true);
			run(fx);
			EXPECT_TRUE(fx, fx->result.failed);
			EXPECT_TRUE(fx, fx->result.failed_side == Side::Server);
			EXPECT_STATUS(fx, fx->result.failure_status, SEC_E_BAD_BINDINGS);
		}
	}
}

// A SECBUFFER_CHANNEL_BINDINGS buffer whose header points outside it. (WinPR's own NTLM
// crashes on these; they are only given to our module.)
namespace {
Bytes malformed_bindings(int kind)
{
	Bytes cb = default_channel_bindings();
	SEC_CHANNEL_BINDINGS h{};
	std::memcpy(&h, cb.data(), sizeof(h));
	switch (kind) {
		case 0: // application data offset past the end
			h.dwApplicationDataOffset = static_cast<UINT32>(cb.size() + 100);
			break;
		case 1: // length runs past the end
			h.cbApplicationDataLength = static_cast<UINT32>(cb.size());
			break;
		case 2: // offset + length wraps around 2^32
			h.cbApplicationDataLength = 0xfffffff0u;
			break;
		case 3: // initiator address past the end
			h.cbInitiatorLength = 16;
			h.dwInitiatorOffset = 0x7fffffffu;
			break;
		case 4: // acceptor address overlapping the end
			h.cbAcceptorLength = 8;
			h.dwAcceptorOffset = static_cast<UINT32>(cb.size() - 4);
			break;
		default: // shorter than the header itself
			cb.resize(sizeof(SEC_CHANNEL_BINDINGS) - 4);
			return cb;
	}
	std::memcpy(cb.data(), &h, sizeof(h));
	return cb;
}
constexpr int kMalformedKinds = 6;

bool is_error(SECURITY_STATUS s)
{
	return s != SEC_E_OK && s != SEC_I_CONTINUE_NEEDED && (static_cast<uint32_t>(s) & 0x80000000u);
}
} // namespace

static void malformed_bindings_module_client(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	static const char* const packages[] = { "NTLM", "Negotiate" };
	for (const char* pkg : packages) {
		for (int k = 0; k < kMalformedKinds; k++) {
			configure(fx, M, W, pkg, false);
			fx->config.client_bindings = malformed_bindings(k);
			run(fx);
			print_message("%s client, malformed bindings %d: call %d %s\n", pkg, k,
			              fx->result.failed_call,
			              status_string(fx->result.failure_status).c_str());
			EXPECT_TRUE(fx, fx->result.failed);
			EXPECT_TRUE(fx, fx->result.failed_side == Side::Client);
			EXPECT_TRUE(fx, fx->result.failed_call == 0);
			EXPECT_TRUE(fx, is_error(fx->result.failure_status));
		}
	}
}

static void malformed_bindings_module_server(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	static const char* const packages[] = { "NTLM", "Negotiate" };
	static const Impl clients[] = { W, M };
	for (Impl c : clients) {
		for (const char* pkg : packages) {
			for (int k = 0; k < kMalformedKinds; k++) {
				configure(fx, c, M, pkg, false);
				fx->config.server_bindings = malformed_bindings(k);
				run(fx);
				print_message("%s server, malformed bindings %d: call %d %s\n", pkg, k,
				              fx->result.failed_call,
				              status_string(fx->result.failure_status).c_str());
				EXPECT_TRUE(fx, fx->result.failed);
				EXPECT_TRUE(fx, fx->result.failed_side == Side::Server);
				EXPECT_TRUE(fx, is_error(fx->result.failure_status));
			}
		}
	}
}

// FreeRDP reads back what it asked for: the flags variable after the login has confidentiality
// (and our acceptor reports the attributes nla.c asked for that it really provides).
static void context_attributes(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	static const char* const packages[] = { "NTLM", "Negotiate" };
	for (const char* pkg : packages) {
		configure(fx, M, M, pkg, false);
		run(fx);
		expect_full_success(fx, M);
		EXPECT_TRUE(fx, (fx->result.client_attributes & ISC_RET_CONFIDENTIALITY) != 0);
		EXPECT_TRUE(fx, (fx->result.server_attributes & ASC_RET_CONFIDENTIALITY) != 0);
		// PACKAGE_INFO names a real package.
		EXPECT_TRUE(fx, fx->result.package_info_name == "NTLM" ||
		                    fx->result.package_info_name == "Negotiate");
		print_message("%s: client attrs 0x%08lx server attrs 0x%08lx NAMES '%s' PACKAGE_INFO '%s'\n",
		              pkg, static_cast<unsigned long>(fx->result.client_attributes),
		              static_cast<unsigned long>(fx->result.server_attributes),
		              fx->result.names_user.c_str(), fx->result.package_info_name.c_str());
	}
}

// No package list at all (FreeRDP without /auth-pkg-list) and no KDC for the realm: Negotiate
// must fall back to NTLM by itself, quickly. A private krb5.conf without DNS look-ups keeps the
// machine's own Kerberos configuration out of it.
static void nego_no_package_list_falls_back_to_ntlm(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	const std::string conf = fx->dir + "/krb5.conf";
	FILE* f = std::fopen(conf.c_str(), "w");
	assert_non_null(f);
	std::fprintf(f, "[libdefaults]\n\tdefault_realm = LAB\n\tdns_lookup_kdc = false\n"
	                "\tdns_lookup_realm = false\n\trdns = false\n");
	assert_int_equal(std::fclose(f), 0);
	const char* old = std::getenv("KRB5_CONFIG");
	const std::string saved = old ? old : "";
	setenv("KRB5_CONFIG", conf.c_str(), 1);

	static const Impl pairs[][2] = { { M, W }, { W, M }, { M, M } };
	double worst_ms = 0;
	int failures = 0;
	for (const auto& p : pairs) {
		configure(fx, p[0], p[1], "Negotiate", false);
		fx->config.client.package_list.clear();
		const auto t0 = std::chrono::steady_clock::now();
		run(fx);
		const double ms =
		    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
		print_message("Negotiate, no package list, %s -> %s: %s in %.1f ms\n",
		              p[0] == M ? "module" : "WinPR", p[1] == M ? "module" : "WinPR",
		              fx->result.established ? "established" : "FAILED", ms);
		if (!fx->result.established || !fx->result.messages_ok) {
			failures++;
			print_trace(fx->result);
		}
		if (p[0] == M && ms > worst_ms)
			worst_ms = ms;
	}
	if (saved.empty())
		unsetenv("KRB5_CONFIG");
	else
		setenv("KRB5_CONFIG", saved.c_str(), 1);
	assert_int_equal(failures, 0);
	// Our initiator gives up on Kerberos without waiting on the network.
	assert_true(worst_ms < 2000.0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(ntlm_module_to_winpr),
		T(ntlm_module_to_winpr_cb),
		T(ntlm_winpr_to_module),
		T(ntlm_winpr_to_module_cb),
		T(ntlm_module_to_module),
		T(ntlm_module_to_module_cb),
		T(nego_module_to_winpr),
		T(nego_module_to_winpr_cb),
		T(nego_winpr_to_module),
		T(nego_winpr_to_module_cb),
		T(nego_module_to_module),
		T(nego_module_to_module_cb),
		T(nego_module_client_sends_spnego),
		T(identity_forms_module_client),
		T(unicode_credentials),
		T(wrong_password_module_server_ntlm),
		T(wrong_password_module_server_nego),
		T(wrong_password_module_both_ntlm),
		T(wrong_password_module_both_nego),
		T(unknown_user_module_server_ntlm),
		T(unknown_user_module_both_nego),
		T(wrong_password_winpr_server_ntlm),
		T(unknown_user_winpr_server_ntlm),
		T(bindings_mismatch_module_server),
		T(malformed_bindings_module_client),
		T(malformed_bindings_module_server),
		T(context_attributes),
		T(nego_no_package_list_falls_back_to_ntlm),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
