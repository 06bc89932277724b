// Who the server is told logged on (issue 14, findings 1 and 6), through the SSPI table as
// FreeRDP's server reads it (SECPKG_ATTR_NAMES, SECPKG_ATTR_AUTH_IDENTITY), with WinPR's own
// NTLM client as the attacker: our module as the NTLM (and Negotiate) acceptor with a SAM file
// holding alice@LAB and bob on a line without a domain.
// - WinPR's client as "ALICE"/"lab": the server is told LAB\alice (the SAM line's spelling);
// - bob claiming the domain "LAB\alice\0": SEC_E_INVALID_TOKEN, and nothing to query;
// - bob with any other domain: the server is told "bob" with an empty domain.
#include "interop/fixture.h"

#include <string>

using namespace nlassp::interop;

namespace {

constexpr Impl M = Impl::Module;
constexpr Impl W = Impl::WinPR;

int setup(void** state)
{
	const int rc = fixture_setup(state);
	if (rc != 0)
		return rc;
	auto* fx = static_cast<Fixture*>(*state);
	// A domainless line, as `winpr-hash3 -u bob -p ... -f sam` (no -d) writes it.
	return write_sam_file(fx->sam, {{"alice", "LAB", "Passw0rd!"}, {"bob", "", "S3cret-bob"}}) ? 0 : -1;
}

void login_as(Fixture* fx, const char* package, const std::string& user, const std::string& domain,
              const std::string& password)
{
	configure(fx, W, M, package, false);
	fx->config.client.user = user;
	fx->config.client.domain = domain;
	fx->config.client.password = password;
	run(fx);
}

void reported(Fixture* fx, const char* names, const char* user, const char* domain)
{
	const Result& r = fx->result;
	EXPECT_TRUE(fx, r.established && !r.failed);
	EXPECT_STATUS(fx, r.names_status, SEC_E_OK);
	EXPECT_STATUS(fx, r.auth_identity_status, SEC_E_OK);
	if (r.names_user != names || r.auth_identity_user != user || r.auth_identity_domain != domain)
		print_message("NAMES '%s', AUTH_IDENTITY '%s' '%s'; want '%s', '%s' '%s'\n", r.names_user.c_str(),
		              r.auth_identity_domain.c_str(), r.auth_identity_user.c_str(), names, domain, user);
	EXPECT_TRUE(fx, r.names_user == names);
	EXPECT_TRUE(fx, r.auth_identity_user == user);
	EXPECT_TRUE(fx, r.auth_identity_domain == domain);
}

void refused_at_authenticate(Fixture* fx, SECURITY_STATUS want)
{
	const Result& r = fx->result;
	EXPECT_TRUE(fx, r.failed && !r.established && !r.hang);
	EXPECT_TRUE(fx, r.failed_side == Side::Server);
	EXPECT_STATUS(fx, r.failure_status, want);
	// The server got nothing to ask about.
	EXPECT_TRUE(fx, r.names_user.empty() && r.auth_identity_user.empty());
}

void client_spelling_ntlm(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	login_as(fx, "NTLM", "ALICE", "lab", "Passw0rd!");
	reported(fx, "LAB\\alice", "alice", "LAB");
}

void client_spelling_negotiate(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	login_as(fx, "Negotiate", "Alice", "Lab", "Passw0rd!");
	reported(fx, "LAB\\alice", "alice", "LAB");
}

void domainless_user_claims_lab_alice(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	login_as(fx, "NTLM", "bob", std::string("LAB\\alice") + '\0', "S3cret-bob");
	refused_at_authenticate(fx, SEC_E_INVALID_TOKEN);
}

void domainless_user_with_backslash_domain(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	login_as(fx, "NTLM", "bob", "LAB\\alice", "S3cret-bob");
	refused_at_authenticate(fx, SEC_E_INVALID_TOKEN);
}

void domainless_line_reports_empty_domain(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	login_as(fx, "NTLM", "bob", "OTHER", "S3cret-bob");
	reported(fx, "bob", "bob", "");
}

void nul_in_user(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	login_as(fx, "NTLM", std::string("alice") + '\0' + "x", "LAB", "Passw0rd!");
	refused_at_authenticate(fx, SEC_E_INVALID_TOKEN);
}

} // namespace

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(client_spelling_ntlm, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(client_spelling_negotiate, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(domainless_user_claims_lab_alice, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(domainless_user_with_backslash_domain, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(domainless_line_reports_empty_domain, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(nul_in_user, setup, fixture_teardown),
	};
	return cmocka_run_group_tests_name("NTLM acceptor: the reported name", tests, nullptr, nullptr);
}
