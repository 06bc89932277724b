// The Negotiate context driven with fake mechanisms (context_fixture.h): which mechanism is used —
// fallback when the first cannot work here and none when the credentials were refused, credentials
// a mechanism claims, package lists, reject tokens, raw NTLMSSP, Kerberos user-to-user and
// Microsoft's Kerberos OID, and an acceptor without a common or usable mechanism.
#include "context_fixture.h"

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
using namespace nlassp::negotiate;
using namespace nlassp::test;

namespace {

// Kerberos fails before its first token (no KDC): dropped from mechTypes, NTLM goes at once.
bool fallback_when_first_fails_at_step0(Fixture& f)
{
	f.init.krb.fail_step = 0;
	f.init.krb.fail_error = Error::NoAuthority;
	CHECK(exchange(f));
	CHECK(mech_types_are(f.tokens[0], {oid::ntlmssp()}));
	CHECK(f.init.krb_stats->steps == 1);
	CHECK(f.init.ctx->package() == PackageId::Ntlm && f.acc.ctx->package() == PackageId::Ntlm);
	CHECK(f.tokens.size() == 4);
	CHECK(f.acc.krb_stats->created == 0);
	return true;
}

// A credential a mechanism claims (a smartcard logon, for Kerberos) is offered with that
// mechanism alone; the acceptor, which offers both, still agrees on it.
bool claimed_credential_goes_to_its_mechanism_only(Fixture& f)
{
	f.init.krb_claims = true;
	CHECK(exchange(f));
	CHECK(mech_types_are(f.tokens[0], {oid::kerberos()}));
	CHECK(f.init.ntlm_stats->created == 0);
	CHECK(f.init.ctx->package() == PackageId::Kerberos && f.acc.ctx->package() == PackageId::Kerberos);
	return true;
}

// ... and when it cannot work here, nothing else is tried: the PIN goes nowhere else.
bool claimed_credential_never_falls_back(Fixture& f)
{
	f.init.krb_claims = true;
	f.init.krb.fail_step = 0;
	f.init.krb.fail_error = Error::NoAuthority;
	CHECK(!exchange(f));
	CHECK(f.init_error == Error::NoAuthority);
	CHECK(f.tokens.empty());
	CHECK(f.init.ntlm_stats->created == 0);
	f.init = Side{};
	f.init.krb_claims = true;
	f.init.krb.fail_create = Error::SmartcardWrongPin;
	CHECK(!exchange(f));
	CHECK(f.init_error == Error::SmartcardWrongPin);
	CHECK(f.init.ntlm_stats->created == 0);
	return true;
}

// A package list that excludes the claiming mechanism leaves nothing to use.
bool claimed_credential_excluded_by_package_list(Fixture& f)
{
	f.init.krb_claims = true;
	f.init.package_list = "!kerberos";
	CHECK(!f.init.create(Role::Initiator));
	CHECK(f.init.create_error == Error::NoCredentials);
	CHECK(f.init.ntlm_stats->created == 0);
	// The acceptor side ignores claims: it accepts whatever the client chose.
	f.acc.krb_claims = true;
	CHECK(f.acc.create(Role::Acceptor));
	return true;
}

// A mechanism whose context cannot even be created is not offered either.
bool fallback_when_first_cannot_be_created(Fixture& f)
{
	f.init.krb.fail_create = Error::NoCredentials;
	CHECK(exchange(f));
	CHECK(mech_types_are(f.tokens[0], {oid::ntlmssp()}));
	CHECK(f.init.krb_stats->created == 0);
	return true;
}

// The fallback rule (context.cpp, may_fall_back): a first mechanism that fails at step 0
// because it cannot work here (NoAuthority) is passed over for the next one, but one whose
// authority refused the credentials (LogonDenied, PasswordExpired) ends the login with that
// error: the next mechanism is not even created, and nothing is sent to the acceptor.
bool no_fallback_when_credentials_refused_at_step0(Fixture& f)
{
	const Error refusals[] = {Error::LogonDenied,      Error::PasswordExpired,   Error::AccountRevoked,
	                          Error::AccountDisabled,  Error::AccountLockedOut,  Error::AccountExpired,
	                          Error::InvalidLogonHours, Error::InvalidWorkstation};
	for (Error refusal : refusals) {
		Fixture g;
		g.init.krb.fail_step = 0;
		g.init.krb.fail_error = refusal;
		CHECK(!exchange(g));
		CHECK(g.init_error == refusal);
		CHECK(g.tokens.empty());
		CHECK(g.init.krb_stats->steps == 1);
		CHECK(g.init.ntlm_stats->created == 0 && g.init.ntlm_stats->steps == 0);
		CHECK(g.acc.krb_stats->created == 0 && g.acc.ntlm_stats->created == 0);
	}
	// The same position with "no authenticating authority": NTLM carries the login.
	f.init.krb.fail_step = 0;
	f.init.krb.fail_error = Error::NoAuthority;
	CHECK(exchange(f));
	CHECK(f.init.krb_stats->steps == 1);
	CHECK(f.init.ntlm_stats->created == 1);
	CHECK(mech_types_are(f.tokens[0], {oid::ntlmssp()}));
	CHECK(f.init.ctx->package() == PackageId::Ntlm && f.acc.ctx->package() == PackageId::Ntlm);
	return true;
}

// The same rule when the refusal comes from creating the context (Kerberos acquires its ticket
// there): no fallback on LogonDenied, fallback on TargetUnknown / NoAuthority.
bool no_fallback_when_credentials_refused_at_create(Fixture& f)
{
	for (Error refusal : {Error::LogonDenied, Error::AccountRevoked, Error::AccountLockedOut}) {
		Fixture g;
		g.init.krb.fail_create = refusal;
		CHECK(!exchange(g));
		CHECK(g.init_error == refusal);
		CHECK(g.tokens.empty());
		CHECK(g.init.ntlm_stats->created == 0);
	}
	f.init.krb.fail_create = Error::TargetUnknown;
	CHECK(exchange(f));
	CHECK(mech_types_are(f.tokens[0], {oid::ntlmssp()}));
	CHECK(f.init.ctx->package() == PackageId::Ntlm);
	return true;
}

// Every mechanism fails on the initiator: the first one's error comes back.
bool all_mechanisms_fail(Fixture& f)
{
	f.init.krb.fail_step = 0;
	f.init.krb.fail_error = Error::NoAuthority;
	f.init.ntlm.fail_create = Error::PackageUnavailable;
	CHECK(!exchange(f));
	CHECK(f.init_error == Error::NoAuthority);
	CHECK(f.tokens.empty());
	return true;
}

bool package_list_filtering(Fixture&)
{
	Side s;
	auto ids = [](const std::vector<Mechanism>& m) {
		std::vector<PackageId> v;
		for (const Mechanism& x : m)
			v.push_back(x.id);
		return v;
	};
	using V = std::vector<PackageId>;
	const V both = {PackageId::Kerberos, PackageId::Ntlm};
	CHECK(ids(apply_package_list(s.mechanisms(), "")) == both);
	CHECK(ids(apply_package_list(s.mechanisms(), "!kerberos")) == V{PackageId::Ntlm});
	CHECK(ids(apply_package_list(s.mechanisms(), "!ntlm")) == V{PackageId::Kerberos});
	CHECK(ids(apply_package_list(s.mechanisms(), "!ntlm,kerberos")) == V{PackageId::Kerberos});
	CHECK(ids(apply_package_list(s.mechanisms(), "ntlm,kerberos")) == (V{PackageId::Ntlm, PackageId::Kerberos}));
	CHECK(ids(apply_package_list(s.mechanisms(), " NTLM , Kerberos ")) == (V{PackageId::Ntlm, PackageId::Kerberos}));
	CHECK(ids(apply_package_list(s.mechanisms(), "kerberos")) == V{PackageId::Kerberos});
	CHECK(ids(apply_package_list(s.mechanisms(), "ntlm,ntlm")) == V{PackageId::Ntlm});
	CHECK(ids(apply_package_list(s.mechanisms(), "pku2u")) == both);
	CHECK(ids(apply_package_list(s.mechanisms(), "!KERBEROS,,")) == V{PackageId::Ntlm});
	CHECK(apply_package_list(s.mechanisms(), "!ntlm,!kerberos").empty());
	CHECK(apply_package_list(s.mechanisms(), "ntlm,!ntlm").empty());
	return true;
}

bool package_list_in_exchange(Fixture& f)
{
	f.init.package_list = "!kerberos";
	CHECK(exchange(f));
	CHECK(mech_types_are(f.tokens[0], {oid::ntlmssp()}));
	CHECK(f.init.krb_stats->created == 0);
	return true;
}

bool package_list_orders(Fixture& f)
{
	f.init.package_list = "ntlm,kerberos";
	CHECK(exchange(f));
	CHECK(mech_types_are(f.tokens[0], {oid::ntlmssp(), oid::kerberos()}));
	CHECK(f.acc.ctx->package() == PackageId::Ntlm);
	return true;
}

bool package_list_empty_result(Fixture& f)
{
	f.init.package_list = "!ntlm,!kerberos";
	CHECK(!f.init.create(Role::Initiator));
	CHECK(f.init.create_error == Error::NoCredentials);
	f.acc.package_list = "!ntlm,kerberos";
	f.acc.offer_krb = false;
	CHECK(!f.acc.create(Role::Acceptor));
	CHECK(f.acc.create_error == Error::NoCredentials);
	Error err = Error::None;
	CHECK(create_context(Role::Initiator, nullptr, f.init.mechanisms(), err) == nullptr);
	CHECK(err == Error::NoCredentials);
	return true;
}

// The acceptor's mechanism refuses the credentials: the mechanism's error (LogonDenied) comes
// back unchanged, with a reject token; the initiator turns that reject into LogonDenied.
bool reject_on_wrong_password(Fixture& f)
{
	f.init.offer_krb = false;
	f.acc.offer_krb = false;
	f.acc.ntlm.fail_step = 1;
	f.acc.ntlm.fail_error = Error::LogonDenied;
	CHECK(!exchange(f));
	CHECK(f.acc_error == Error::LogonDenied);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.last_acc_output, r));
	CHECK(r.neg_state == NegState::Reject && !r.response_token);
	StepOutput o;
	CHECK(f.init.ctx->step(input(f.last_acc_output), o) == Error::LogonDenied);
	CHECK(!f.init.ctx->established());
	return true;
}

// A reject carrying a mechanism error token: the initiator's mechanism reads it and its
// error (here TimeSkew) passes through unchanged; other mechanism errors do too.
bool reject_with_mechanism_error(Fixture& f)
{
	f.acc.krb.fail_step = 0;
	f.acc.krb.fail_error = Error::TimeSkew;
	f.acc.krb.fail_token = Bytes{'K', 'R', 'B', '-', 'E', 'R', 'R'};
	f.init.krb.fail_step = 1;
	f.init.krb.fail_error = Error::TimeSkew;
	CHECK(!exchange(f));
	CHECK(f.acc_error == Error::TimeSkew);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.last_acc_output, r));
	CHECK(r.neg_state == NegState::Reject && r.response_token == f.acc.krb.fail_token);
	StepOutput o;
	CHECK(f.init.ctx->step(input(f.last_acc_output), o) == Error::TimeSkew);
	return true;
}

// A Windows peer skips SPNEGO and sends NTLMSSP directly: plain NTLM, no SPNEGO framing.
bool raw_ntlmssp_on_acceptor(Fixture& f)
{
	CHECK(f.acc.create(Role::Acceptor));
	CHECK(f.acc.ctx->package() == PackageId::Negotiate);
	FakeContext client(Role::Initiator, ntlm_config(), std::make_shared<FakeStats>());
	StepOutput co, ao;
	CHECK(client.step(input({}), co) == Error::None);
	CHECK(is_raw_ntlmssp(co.token));
	CHECK(f.acc.ctx->step(input(co.token), ao) == Error::None);
	CHECK(!ao.complete);
	CHECK(is_raw_ntlmssp(ao.token));  // raw reply, no NegTokenResp around it
	CHECK(f.acc.ctx->package() == PackageId::Ntlm);
	CHECK(client.step(input(ao.token), co) == Error::None && co.complete);
	CHECK(f.acc.ctx->step(input(co.token), ao) == Error::None);
	CHECK(ao.complete && ao.token.empty());
	CHECK(f.acc.ctx->established());
	CHECK(f.acc.ntlm_stats->mic_made == 0);
	CHECK(protection_works(client, *f.acc.ctx));
	return true;
}

bool raw_ntlmssp_refused_when_excluded(Fixture& f)
{
	f.acc.package_list = "!ntlm";
	CHECK(f.acc.create(Role::Acceptor));
	FakeContext client(Role::Initiator, ntlm_config(), std::make_shared<FakeStats>());
	StepOutput co, ao;
	CHECK(client.step(input({}), co) == Error::None);
	CHECK(f.acc.ctx->step(input(co.token), ao) == Error::LogonDenied);
	CHECK(f.acc.ntlm_stats->created == 0);
	return true;
}

// A stock FreeRDP client offers Kerberos user-to-user first with a TGT-REQ: the acceptor skips
// it, picks Kerberos with request-mic, drops the token, and the exchange completes with MICs.
bool u2u_first_is_skipped(Fixture& f)
{
	CHECK(f.acc.create(Role::Acceptor));
	SpnegoNegTokenInit init;
	init.mech_types = {Bytes(oid::kerberos_u2u().begin(), oid::kerberos_u2u().end()),
	                   Bytes(oid::kerberos().begin(), oid::kerberos().end()),
	                   Bytes(oid::ntlmssp().begin(), oid::ntlmssp().end())};
	init.mech_token = Bytes(61, 0x30);  // stands in for the KERB-TGT-REQUEST
	Bytes t;
	CHECK(encode_neg_token_init(init, t));
	StepOutput ao;
	CHECK(f.acc.ctx->step(input(t), ao) == Error::None);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(ao.token, r));
	CHECK(r.neg_state == NegState::RequestMic);
	CHECK(r.supported_mech && oid::equal(*r.supported_mech, oid::kerberos()));
	CHECK(!r.response_token);
	CHECK(f.acc.krb_stats->steps == 0);
	// The client (as WinPR's Negotiate does) restarts with Kerberos: AP-REQ without negState.
	FakeContext client(Role::Initiator, krb_config(), std::make_shared<FakeStats>());
	StepOutput co;
	CHECK(client.step(input({}), co) == Error::None);
	SpnegoNegTokenResp m;
	m.response_token = co.token;
	CHECK(encode_neg_token_resp(m, t));
	CHECK(f.acc.ctx->step(input(t), ao) == Error::None);
	CHECK(!ao.complete);
	CHECK(decode_resp(ao.token, r));
	CHECK(r.neg_state == NegState::AcceptIncomplete && r.response_token && r.mech_list_mic);
	CHECK(client.step(input(*r.response_token), co) == Error::None && co.complete);
	Bytes mech_types_der;
	CHECK(encode_mech_type_list(init.mech_types, mech_types_der));
	CHECK(client.verify_negotiation_mic(mech_types_der, *r.mech_list_mic) == Error::None);
	Bytes mic;
	CHECK(client.make_negotiation_mic(mech_types_der, mic) == Error::None);
	SpnegoNegTokenResp fin;
	fin.neg_state = NegState::AcceptCompleted;
	fin.mech_list_mic = mic;
	CHECK(encode_neg_token_resp(fin, t));
	CHECK(f.acc.ctx->step(input(t), ao) == Error::None);
	CHECK(ao.complete && ao.token.empty());
	CHECK(f.acc.ctx->established() && f.acc.ctx->package() == PackageId::Kerberos);
	CHECK(f.acc.krb_stats->mic_complete == 1);
	return true;
}

// Windows lists Microsoft's Kerberos OID first; it is Kerberos, the optimistic token is used
// and supportedMech echoes the OID the client sent.
bool ms_kerberos_oid_is_kerberos(Fixture& f)
{
	CHECK(f.acc.create(Role::Acceptor));
	FakeContext client(Role::Initiator, krb_config(), std::make_shared<FakeStats>());
	StepOutput co, ao;
	CHECK(client.step(input({}), co) == Error::None);
	SpnegoNegTokenInit init;
	init.mech_types = {Bytes(oid::ms_kerberos().begin(), oid::ms_kerberos().end()),
	                   Bytes(oid::kerberos().begin(), oid::kerberos().end()),
	                   Bytes(oid::negoex().begin(), oid::negoex().end()),
	                   Bytes(oid::ntlmssp().begin(), oid::ntlmssp().end())};
	init.mech_token = co.token;
	Bytes t;
	CHECK(encode_neg_token_init(init, t));
	CHECK(f.acc.ctx->step(input(t), ao) == Error::None);
	CHECK(ao.complete);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(ao.token, r));
	CHECK(r.neg_state == NegState::AcceptCompleted);
	CHECK(r.supported_mech && oid::equal(*r.supported_mech, oid::ms_kerberos()));
	CHECK(r.response_token && !r.mech_list_mic);
	CHECK(client.step(input(*r.response_token), co) == Error::None && co.complete);
	return true;
}

// The acceptor cannot set up its first choice (no keytab): it picks the next one.
bool acceptor_skips_mechanism_it_cannot_create(Fixture& f)
{
	f.acc.krb.fail_create = Error::NoCredentials;
	CHECK(exchange(f));
	CHECK(f.acc.ctx->package() == PackageId::Ntlm && f.init.ctx->package() == PackageId::Ntlm);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.tokens[1], r));
	CHECK(r.neg_state == NegState::RequestMic);
	return true;
}

bool no_common_mechanism(Fixture& f)
{
	f.init.package_list = "kerberos";
	f.acc.package_list = "ntlm";
	CHECK(!exchange(f));
	CHECK(f.acc_error == Error::LogonDenied);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.last_acc_output, r));
	CHECK(r.neg_state == NegState::Reject);
	StepOutput o;
	CHECK(f.init.ctx->step(input(f.last_acc_output), o) == Error::LogonDenied);
	return true;
}

} // namespace

SCENARIO(fallback_when_first_fails_at_step0)
SCENARIO(fallback_when_first_cannot_be_created)
SCENARIO(claimed_credential_goes_to_its_mechanism_only)
SCENARIO(claimed_credential_never_falls_back)
SCENARIO(claimed_credential_excluded_by_package_list)
SCENARIO(no_fallback_when_credentials_refused_at_step0)
SCENARIO(no_fallback_when_credentials_refused_at_create)
SCENARIO(all_mechanisms_fail)
SCENARIO(package_list_filtering)
SCENARIO(package_list_in_exchange)
SCENARIO(package_list_orders)
SCENARIO(package_list_empty_result)
SCENARIO(reject_on_wrong_password)
SCENARIO(reject_with_mechanism_error)
SCENARIO(raw_ntlmssp_on_acceptor)
SCENARIO(raw_ntlmssp_refused_when_excluded)
SCENARIO(u2u_first_is_skipped)
SCENARIO(ms_kerberos_oid_is_kerberos)
SCENARIO(acceptor_skips_mechanism_it_cannot_create)
SCENARIO(no_common_mechanism)

int main()
{
	const struct CMUnitTest tests[] = {
	    ENTRY(fallback_when_first_fails_at_step0),
	    ENTRY(fallback_when_first_cannot_be_created),
	    ENTRY(claimed_credential_goes_to_its_mechanism_only),
	    ENTRY(claimed_credential_never_falls_back),
	    ENTRY(claimed_credential_excluded_by_package_list),
	    ENTRY(no_fallback_when_credentials_refused_at_step0),
	    ENTRY(no_fallback_when_credentials_refused_at_create),
	    ENTRY(all_mechanisms_fail),
	    ENTRY(package_list_filtering),
	    ENTRY(package_list_in_exchange),
	    ENTRY(package_list_orders),
	    ENTRY(package_list_empty_result),
	    ENTRY(reject_on_wrong_password),
	    ENTRY(reject_with_mechanism_error),
	    ENTRY(raw_ntlmssp_on_acceptor),
	    ENTRY(raw_ntlmssp_refused_when_excluded),
	    ENTRY(u2u_first_is_skipped),
	    ENTRY(ms_kerberos_oid_is_kerberos),
	    ENTRY(acceptor_skips_mechanism_it_cannot_create),
	    ENTRY(no_common_mechanism),
	};
	return cmocka_run_group_tests_name("negotiate_context_selection", tests, nullptr, nullptr);
}
