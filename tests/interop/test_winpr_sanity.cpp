// WinPR ↔ WinPR through the harness: proves the harness drives a real SSPI table the way
// FreeRDP does before our module is involved at all.
#include "interop/fixture.h"

using namespace nlassp::interop;

static void winpr_ntlm(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure(fx, Impl::WinPR, Impl::WinPR, "NTLM", false);
	run(fx);
	expect_full_success(fx, Impl::WinPR);
	// NTLM: NEGOTIATE, CHALLENGE, AUTHENTICATE.
	EXPECT_TRUE(fx, fx->result.tokens.size() == 3);
	EXPECT_TRUE(fx, find_ntlmssp(fx->result.tokens[0]) == 0);
}

static void winpr_ntlm_bindings(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure(fx, Impl::WinPR, Impl::WinPR, "NTLM", true);
	run(fx);
	expect_full_success(fx, Impl::WinPR);
}

static void winpr_negotiate(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure(fx, Impl::WinPR, Impl::WinPR, "Negotiate", false);
	run(fx);
	expect_full_success(fx, Impl::WinPR);
	// WinPR's Negotiate initiator, left with NTLM only ("!kerberos", or no KDC), sends bare
	// NTLMSSP messages without SPNEGO (negotiate.c "Using direct NTLM"): an acceptor for
	// "Negotiate" must take a raw NTLM NEGOTIATE_MESSAGE as the first token.
	EXPECT_TRUE(fx, fx->result.tokens.size() == 3);
	EXPECT_TRUE(fx, find_ntlmssp(fx->result.tokens[0]) == 0);
}

static void winpr_negotiate_bindings(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure(fx, Impl::WinPR, Impl::WinPR, "Negotiate", true);
	run(fx);
	expect_full_success(fx, Impl::WinPR);
}

static void winpr_ntlm_wrong_password(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure(fx, Impl::WinPR, Impl::WinPR, "NTLM", false);
	fx->config.client.password = "wrong";
	run(fx);
	EXPECT_TRUE(fx, fx->result.failed);
	EXPECT_TRUE(fx, fx->result.failed_side == Side::Server);
	// WinPR's acceptor checks the MIC before the NTProofStr, so a wrong password surfaces as
	// SEC_E_MESSAGE_ALTERED, not SEC_E_LOGON_DENIED (which FreeRDP would map to a logon failure).
	EXPECT_STATUS(fx, fx->result.failure_status, SEC_E_MESSAGE_ALTERED);
	EXPECT_TRUE(fx, fx->result.failed_call == 3);
}

static void winpr_ntlm_unknown_user(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure(fx, Impl::WinPR, Impl::WinPR, "NTLM", false);
	fx->config.client.user = "mallory";
	run(fx);
	EXPECT_TRUE(fx, fx->result.failed);
	EXPECT_TRUE(fx, fx->result.failed_side == Side::Server);
	// WinPR: a user missing from the SAM file is SEC_E_NO_CREDENTIALS (FreeRDP maps both that
	// and SEC_E_LOGON_DENIED to FREERDP_ERROR_CONNECT_LOGON_FAILURE).
	EXPECT_STATUS(fx, fx->result.failure_status, SEC_E_NO_CREDENTIALS);
}

static void winpr_identity_forms(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	static const IdentityForm forms[] = { IdentityForm::WinntA, IdentityForm::WinntW,
		                                  IdentityForm::ExA, IdentityForm::ExW };
	for (IdentityForm f : forms) {
		configure(fx, Impl::WinPR, Impl::WinPR, "NTLM", false);
		fx->config.client.form = f;
		run(fx);
		expect_full_success(fx, Impl::WinPR);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(winpr_ntlm, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(winpr_ntlm_bindings, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(winpr_negotiate, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(winpr_negotiate_bindings, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(winpr_ntlm_wrong_password, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(winpr_ntlm_unknown_user, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(winpr_identity_forms, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
