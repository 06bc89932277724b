// Shared by the Negotiate context tests (test_context, test_context_selection): two sides with
// fake mechanisms (fake_mech.h), the token loop FreeRDP runs between them, and token decoding.
// Scenarios are plain functions of a Fixture that return bool (check.h); SCENARIO() and ENTRY()
// wrap them for CMocka with a fresh Fixture per test (setup/teardown own it).
#pragma once

#include "negotiate/context.h"
#include "negotiate/messages.h"

#include "check.h"
#include "fake_mech.h"

#include <memory>
#include <string>
#include <vector>

namespace nlassp::test {

using namespace nlassp::negotiate;

FakeConfig krb_config(int legs = 2);
FakeConfig ntlm_config();
CredentialPtr make_cred(CredentialUse use, const std::string& package_list = "");

// One side of a test: its mechanisms' configurations and statistics, and the context.
struct Side {
	FakeConfig krb = krb_config();
	FakeConfig ntlm = ntlm_config();
	std::shared_ptr<FakeStats> krb_stats = std::make_shared<FakeStats>();
	std::shared_ptr<FakeStats> ntlm_stats = std::make_shared<FakeStats>();
	bool offer_krb = true;
	bool offer_ntlm = true;
	bool ntlm_first = false;
	bool krb_claims = false;     // Kerberos claims every credential (as it does a smartcard logon)
	std::string package_list;
	ContextPtr ctx;
	Error create_error = Error::None;

	std::vector<Mechanism> mechanisms() const
	{
		std::vector<Mechanism> m;
		if (offer_krb) {
			m.push_back(test::fake_mechanism(krb, krb_stats, oid::kerberos()));
			if (krb_claims)
				m.back().claims = [](const Credential&) { return true; };
		}
		if (offer_ntlm) {
			auto n = test::fake_mechanism(ntlm, ntlm_stats, oid::ntlmssp());
			m.insert(ntlm_first ? m.begin() : m.end(), n);
		}
		return m;
	}
	bool create(Role role)
	{
		ctx = create_context(role, make_cred(role == Role::Initiator ? CredentialUse::Outbound : CredentialUse::Inbound,
		                                     package_list),
		                     mechanisms(), create_error);
		return ctx != nullptr && create_error == Error::None;
	}
};

struct Fixture {
	Side init;
	Side acc;
	std::vector<Bytes> tokens;   // every token exchanged, in order (first = initiator's)
	Error init_error = Error::None;
	Error acc_error = Error::None;
	bool init_complete = false;
	bool acc_complete = false;
	Bytes last_acc_output;       // the acceptor's output on its last call (e.g. a reject token)
	Bytes last_init_output;
};

StepInput input(ByteView token);
// Runs the loop FreeRDP's credssp_auth.c runs, until both sides are done or one fails.
// With `replace_at`/`replacement`, the token at that position is swapped before delivery.
bool exchange(Fixture& f, long replace_at = -1, const Bytes* replacement = nullptr);
bool decode_resp(const Bytes& token, SpnegoNegTokenResp& resp);
bool decode_init(const Bytes& token, SpnegoNegTokenInit& init);
// Encrypts a message each way and decrypts it on the other side.
bool protection_works(SecurityContext& a, SecurityContext& b);
bool mech_types_are(const Bytes& token, std::vector<ByteView> oids);

// CMocka glue: a fresh Fixture in *state for every test.
int setup(void** state);
int teardown(void** state);
Fixture& fx(void** state);

} // namespace nlassp::test

#define SCENARIO(name) \
	static void test_##name(void** state) { assert_true(name(::nlassp::test::fx(state))); }

#define ENTRY(name) cmocka_unit_test_setup_teardown(test_##name, ::nlassp::test::setup, ::nlassp::test::teardown)
