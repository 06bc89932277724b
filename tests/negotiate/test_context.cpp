// The Negotiate context driven with fake mechanisms (fake_mech.h): optimistic success,
// fallback, mechanism switch, package lists, mechListMIC rules, reject, raw NTLMSSP, and
// malformed tokens at every position of a real exchange.
#include "negotiate/context.h"
#include "negotiate/messages.h"

#include "check.h"
#include "fake_mech.h"

#include <memory>
#include <random>
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
using nlassp::test::FakeConfig;
using nlassp::test::FakeContext;
using nlassp::test::FakeStats;

namespace {

FakeConfig krb_config(int legs = 2)
{
	FakeConfig c;
	c.id = PackageId::Kerberos;
	c.magic = "FAKEKRB";
	c.legs = legs;
	return c;
}

FakeConfig ntlm_config()
{
	FakeConfig c;
	c.id = PackageId::Ntlm;
	c.magic = "NTLMSSP";   // tokens start "NTLMSSP\0", as real NTLM messages do
	c.legs = 3;
	c.require_mic = true;  // like an AUTHENTICATE with MsvAvFlags MIC
	return c;
}

CredentialPtr make_cred(CredentialUse use, const std::string& package_list = "")
{
	auto c = std::make_shared<Credential>();
	c->use = use;
	Identity id;
	id.user = u"user";
	id.domain = u"DOM";
	id.package_list = package_list;
	c->identity = id;
	return c;
}

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

StepInput input(ByteView token)
{
	StepInput in;
	in.token = token;
	in.requested = ctx::MutualAuth | ctx::Confidentiality;
	in.target = u"TERMSRV/host.example";
	return in;
}

// Runs the loop FreeRDP's credssp_auth.c runs, until both sides are done or one fails.
// With `replace_at`/`replacement`, the token at that position is swapped before delivery.
bool exchange(Fixture& f, long replace_at = -1, const Bytes* replacement = nullptr)
{
	if (!f.init.ctx && !f.init.create(Role::Initiator))
		return false;
	if (!f.acc.ctx && !f.acc.create(Role::Acceptor))
		return false;
	StepOutput o;
	f.init_error = f.init.ctx->step(input({}), o);
	if (f.init_error != Error::None)
		return false;
	f.init_complete = o.complete;
	Bytes to_acc = std::move(o.token);
	f.last_init_output = to_acc;
	for (int round = 0; round < 8 && !to_acc.empty(); ++round) {
		if (static_cast<long>(f.tokens.size()) == replace_at)
			to_acc = *replacement;
		f.tokens.push_back(to_acc);
		o = StepOutput{};
		f.acc_error = f.acc.ctx->step(input(to_acc), o);
		f.last_acc_output = o.token;
		if (f.acc_error != Error::None)
			return false;
		f.acc_complete = o.complete;
		Bytes to_init = std::move(o.token);
		if (to_init.empty())
			break;
		if (static_cast<long>(f.tokens.size()) == replace_at)
			to_init = *replacement;
		f.tokens.push_back(to_init);
		if (f.init_complete)
			return false; // the acceptor talks to a finished initiator
		o = StepOutput{};
		f.init_error = f.init.ctx->step(input(to_init), o);
		f.last_init_output = o.token;
		if (f.init_error != Error::None)
			return false;
		f.init_complete = o.complete;
		to_acc = std::move(o.token);
	}
	return f.init_complete && f.acc_complete && f.init.ctx->established() && f.acc.ctx->established();
}

bool decode_resp(const Bytes& token, SpnegoNegTokenResp& resp)
{
	NegotiationToken t;
	CHECK(decode_negotiation_token(token, t));
	CHECK(t.kind == NegotiationToken::Kind::Resp);
	resp = t.resp;
	return true;
}

bool decode_init(const Bytes& token, SpnegoNegTokenInit& init)
{
	NegotiationToken t;
	CHECK(decode_negotiation_token(token, t));
	CHECK(t.kind == NegotiationToken::Kind::Init);
	init = t.init;
	return true;
}

// Encrypts a message each way and decrypts it on the other side.
bool protection_works(SecurityContext& a, SecurityContext& b)
{
	for (int dir = 0; dir < 2; ++dir) {
		SecurityContext& from = dir == 0 ? a : b;
		SecurityContext& to = dir == 0 ? b : a;
		Bytes data = {'h', 'e', 'l', 'l', 'o'};
		MessageBuffer buf{MessageBufferKind::Data, data};
		Bytes token;
		CHECK(from.encrypt(std::span<MessageBuffer>(&buf, 1), token) == Error::None);
		CHECK(data != Bytes({'h', 'e', 'l', 'l', 'o'}));
		MessageBuffer in{MessageBufferKind::Data, data};
		CHECK(to.decrypt(std::span<MessageBuffer>(&in, 1), token) == Error::None);
		CHECK(data == Bytes({'h', 'e', 'l', 'l', 'o'}));
	}
	return true;
}

bool mech_types_are(const Bytes& token, std::vector<ByteView> oids)
{
	SpnegoNegTokenInit init;
	CHECK(decode_init(token, init));
	CHECK(init.mech_types.size() == oids.size());
	for (size_t i = 0; i < oids.size(); ++i)
		CHECK(oid::equal(init.mech_types[i], oids[i]));
	return true;
}

// ---- scenarios ------------------------------------------------------------------------------

// Kerberos-like two-leg mechanism accepted optimistically: two tokens, no MIC needed.
bool optimistic_two_leg(Fixture& f)
{
	CHECK(exchange(f));
	CHECK(f.tokens.size() == 2);
	CHECK(mech_types_are(f.tokens[0], {oid::kerberos(), oid::ntlmssp()}));
	SpnegoNegTokenInit init;
	CHECK(decode_init(f.tokens[0], init));
	CHECK(init.mech_token && !init.mech_token->empty());
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.tokens[1], r));
	CHECK(r.neg_state == NegState::AcceptCompleted);
	CHECK(r.supported_mech && oid::equal(*r.supported_mech, oid::kerberos()));
	CHECK(r.response_token && !r.response_token->empty());
	CHECK(!r.mech_list_mic);
	CHECK(f.last_init_output.empty());
	CHECK(f.init.ctx->package() == PackageId::Kerberos);
	CHECK(f.acc.ctx->package() == PackageId::Kerberos);
	CHECK(f.init.krb_stats->mic_made == 0 && f.acc.krb_stats->mic_made == 0);
	CHECK(f.init.krb_stats->mic_complete == 0);
	CHECK(f.acc.ntlm_stats->created == 0); // the acceptor never touched NTLM
	CHECK(f.init.ctx->flags() & ctx::MutualAuth);
	CHECK(f.init.ctx->sizes().max_token >= kNegotiateMaxToken);
	CHECK(f.init.ctx->sizes().security_trailer == 16);
	ContextNames names;
	CHECK(f.acc.ctx->names(names) == Error::None && names.user == u"fakeuser");
	SecretBytes key;
	CHECK(f.init.ctx->session_key(key) == Error::None && key.size() == 7);
	CHECK(protection_works(*f.init.ctx, *f.acc.ctx));
	// A token after completion is refused.
	StepOutput o;
	CHECK(f.acc.ctx->step(input(f.tokens[0]), o) == Error::InvalidToken);
	return true;
}

// A one-leg mechanism completes at once on the initiator; the acceptor's final accept-completed
// NegTokenResp without a mechanism token ends it.
bool one_leg_final_empty_resp(Fixture& f)
{
	f.init.krb = krb_config(1);
	f.acc.krb = krb_config(1);
	CHECK(exchange(f));
	CHECK(f.tokens.size() == 2);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.tokens[1], r));
	CHECK(r.neg_state == NegState::AcceptCompleted);
	CHECK(!r.response_token && !r.mech_list_mic);
	return true;
}

// NTLM-like three legs with a MIC demanded by the mechanism: the spnego.json shape.
bool three_leg_with_mic(Fixture& f)
{
	f.init.offer_krb = false;
	f.acc.offer_krb = false;
	CHECK(exchange(f));
	CHECK(f.tokens.size() == 4);
	CHECK(mech_types_are(f.tokens[0], {oid::ntlmssp()}));
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.tokens[1], r));
	CHECK(r.neg_state == NegState::AcceptIncomplete);
	CHECK(r.supported_mech && oid::equal(*r.supported_mech, oid::ntlmssp()));
	CHECK(r.response_token && !r.mech_list_mic);
	CHECK(decode_resp(f.tokens[2], r));
	CHECK(r.neg_state == NegState::AcceptIncomplete);
	CHECK(!r.supported_mech && r.response_token && r.mech_list_mic);
	CHECK(decode_resp(f.tokens[3], r));
	CHECK(r.neg_state == NegState::AcceptCompleted);
	CHECK(!r.response_token && r.mech_list_mic);
	// Both MICs over the exact mechTypes DER the initiator sent.
	SpnegoNegTokenInit init;
	CHECK(decode_init(f.tokens[0], init));
	CHECK(f.init.ntlm_stats->last_mic_input == init.mech_types_der);
	CHECK(f.acc.ntlm_stats->last_mic_input == init.mech_types_der);
	CHECK(f.init.ntlm_stats->mic_made == 1 && f.init.ntlm_stats->mic_verified == 1);
	CHECK(f.acc.ntlm_stats->mic_made == 1 && f.acc.ntlm_stats->mic_verified == 1);
	CHECK(f.init.ntlm_stats->mic_complete == 1 && f.acc.ntlm_stats->mic_complete == 1);
	CHECK(f.init.ctx->package() == PackageId::Ntlm);
	CHECK(protection_works(*f.init.ctx, *f.acc.ctx));
	return true;
}

// No mechanism demand: the initiator still volunteers a MIC with its final token, and the
// acceptor answers it.
bool three_leg_volunteered_mic(Fixture& f)
{
	f.init.offer_krb = false;
	f.acc.offer_krb = false;
	f.init.ntlm.require_mic = false;
	f.acc.ntlm.require_mic = false;
	CHECK(exchange(f));
	CHECK(f.tokens.size() == 4);
	CHECK(f.init.ntlm_stats->mic_made == 1 && f.acc.ntlm_stats->mic_verified == 1);
	CHECK(f.acc.ntlm_stats->mic_made == 1 && f.init.ntlm_stats->mic_verified == 1);
	CHECK(f.init.ntlm_stats->mic_complete == 1 && f.acc.ntlm_stats->mic_complete == 1);
	return true;
}

// A mechanism without MIC support and no MIC demanded: four tokens, none with a MIC.
bool three_leg_without_mic_support(Fixture& f)
{
	f.init.offer_krb = false;
	f.acc.offer_krb = false;
	for (Side* s : {&f.init, &f.acc}) {
		s->ntlm.require_mic = false;
		s->ntlm.supports_mic = false;
	}
	CHECK(exchange(f));
	CHECK(f.tokens.size() == 4);
	for (const Bytes& t : f.tokens) {
		NegotiationToken d;
		CHECK(decode_negotiation_token(t, d));
		CHECK(!(d.kind == NegotiationToken::Kind::Resp && d.resp.mech_list_mic));
	}
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.tokens[3], r));
	CHECK(r.neg_state == NegState::AcceptCompleted && !r.response_token);
	CHECK(f.init.ntlm_stats->mic_complete == 0 && f.acc.ntlm_stats->mic_complete == 0);
	return true;
}

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

// The acceptor has only NTLM: it answers request-mic with supportedMech NTLM and no token;
// the initiator restarts with NTLM; both MICs are exchanged.
bool supported_mech_switch(Fixture& f)
{
	f.acc.offer_krb = false;
	f.init.ntlm.require_mic = false;
	f.acc.ntlm.require_mic = false;
	CHECK(exchange(f));
	CHECK(f.tokens.size() == 6);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.tokens[1], r));
	CHECK(r.neg_state == NegState::RequestMic);
	CHECK(r.supported_mech && oid::equal(*r.supported_mech, oid::ntlmssp()));
	CHECK(!r.response_token && !r.mech_list_mic);
	CHECK(f.init.ctx->package() == PackageId::Ntlm);
	CHECK(f.init.krb_stats->steps == 1);  // only the optimistic token
	CHECK(f.init.ntlm_stats->mic_made == 1 && f.init.ntlm_stats->mic_verified == 1);
	CHECK(f.acc.ntlm_stats->mic_made == 1 && f.acc.ntlm_stats->mic_verified == 1);
	CHECK(protection_works(*f.init.ctx, *f.acc.ctx));
	return true;
}

// Switch to a two-leg mechanism: the acceptor finishes with its token and MIC, the initiator
// completes and still has its MIC to send (SEC_E_OK with a final token).
bool switch_to_two_leg_final_token(Fixture& f)
{
	f.init.ntlm_first = true;
	f.acc.offer_ntlm = false;
	CHECK(exchange(f));
	CHECK(mech_types_are(f.tokens[0], {oid::ntlmssp(), oid::kerberos()}));
	CHECK(f.tokens.size() == 5);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.tokens[3], r));
	CHECK(r.neg_state == NegState::AcceptIncomplete && r.response_token && r.mech_list_mic);
	CHECK(decode_resp(f.tokens[4], r));
	CHECK(r.neg_state == NegState::AcceptCompleted && !r.response_token && r.mech_list_mic);
	CHECK(!f.last_init_output.empty());  // complete, and a last token to send
	CHECK(f.init.krb_stats->mic_complete == 1 && f.acc.krb_stats->mic_complete == 1);
	CHECK(f.init.ctx->package() == PackageId::Kerberos);
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

// The acceptor mechanism's MIC is wrong: the initiator reports MessageAltered.
bool mic_mismatch_on_initiator(Fixture& f)
{
	f.init.offer_krb = false;
	f.acc.offer_krb = false;
	f.acc.ntlm.bad_mic = true;
	CHECK(!exchange(f));
	CHECK(f.acc_error == Error::None);
	CHECK(f.init_error == Error::MessageAltered);
	CHECK(!f.init.ctx->established());
	return true;
}

// The initiator's MIC is wrong: the acceptor reports MessageAltered and sends reject.
bool mic_mismatch_on_acceptor(Fixture& f)
{
	f.init.offer_krb = false;
	f.acc.offer_krb = false;
	f.init.ntlm.bad_mic = true;
	CHECK(!exchange(f));
	CHECK(f.acc_error == Error::MessageAltered);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(f.last_acc_output, r));
	CHECK(r.neg_state == NegState::Reject);
	CHECK(f.acc.ntlm_stats->mic_complete == 0);
	return true;
}

// The acceptor asked for a MIC (request-mic) and the initiator's final token lacks it.
bool mic_missing_on_acceptor(Fixture& f)
{
	f.acc.offer_krb = false;
	CHECK(f.acc.create(Role::Acceptor));
	// Initiator offers Kerberos first; the acceptor picks NTLM and demands the MIC.
	SpnegoNegTokenInit init;
	init.mech_types = {Bytes(oid::kerberos().begin(), oid::kerberos().end()),
	                   Bytes(oid::ntlmssp().begin(), oid::ntlmssp().end())};
	init.mech_token = Bytes{'x'};
	Bytes t1;
	CHECK(encode_neg_token_init(init, t1));
	StepOutput o;
	CHECK(f.acc.ctx->step(input(t1), o) == Error::None);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(o.token, r));
	CHECK(r.neg_state == NegState::RequestMic && !r.response_token);
	CHECK(f.acc.ntlm_stats->steps == 0);  // the optimistic Kerberos token was dropped
	// A raw NTLM initiator context plays the client, without ever sending a MIC.
	FakeConfig c = ntlm_config();
	c.require_mic = false;
	FakeContext client(Role::Initiator, c, std::make_shared<FakeStats>());
	StepOutput co;
	CHECK(client.step(input({}), co) == Error::None);
	SpnegoNegTokenResp m;
	m.response_token = co.token;
	Bytes t;
	CHECK(encode_neg_token_resp(m, t));
	CHECK(f.acc.ctx->step(input(t), o) == Error::None);
	CHECK(decode_resp(o.token, r));
	CHECK(r.neg_state == NegState::AcceptIncomplete && r.response_token);
	CHECK(client.step(input(*r.response_token), co) == Error::None && co.complete);
	m.response_token = co.token;
	CHECK(encode_neg_token_resp(m, t));
	CHECK(f.acc.ctx->step(input(t), o) == Error::DowngradeDetected);
	CHECK(decode_resp(o.token, r));
	CHECK(r.neg_state == NegState::Reject);
	CHECK(!f.acc.ctx->established());
	return true;
}

// The acceptor switched mechanisms (so a MIC is required) but finishes without one.
bool mic_missing_on_initiator(Fixture& f)
{
	f.init.ntlm_first = true;
	CHECK(f.init.create(Role::Initiator));
	StepOutput o;
	CHECK(f.init.ctx->step(input({}), o) == Error::None);
	// A hand-made acceptor: picks Kerberos (not the initiator's first) and completes it.
	FakeContext server(Role::Acceptor, krb_config(), std::make_shared<FakeStats>());
	SpnegoNegTokenResp r;
	r.neg_state = NegState::RequestMic;
	r.supported_mech = Bytes(oid::kerberos().begin(), oid::kerberos().end());
	Bytes t;
	CHECK(encode_neg_token_resp(r, t));
	CHECK(f.init.ctx->step(input(t), o) == Error::None);
	SpnegoNegTokenResp fromc;
	CHECK(decode_resp(o.token, fromc));
	CHECK(fromc.response_token);
	StepOutput so;
	CHECK(server.step(input(*fromc.response_token), so) == Error::None && so.complete);
	SpnegoNegTokenResp fin;
	fin.neg_state = NegState::AcceptCompleted;
	fin.response_token = so.token;
	CHECK(encode_neg_token_resp(fin, t));
	CHECK(f.init.ctx->step(input(t), o) == Error::DowngradeDetected);
	CHECK(!f.init.ctx->established());
	return true;
}

// An accept-completed without a MIC after our AUTHENTICATE+MIC demanded by the mechanism.
bool mic_missing_after_mechanism_demand(Fixture& f)
{
	f.init.offer_krb = false;
	f.acc.offer_krb = false;
	CHECK(f.init.create(Role::Initiator));
	CHECK(f.acc.create(Role::Acceptor));
	StepOutput io, ao;
	CHECK(f.init.ctx->step(input({}), io) == Error::None);
	CHECK(f.acc.ctx->step(input(io.token), ao) == Error::None);
	CHECK(f.init.ctx->step(input(ao.token), io) == Error::None);
	SpnegoNegTokenResp r;
	CHECK(decode_resp(io.token, r));
	CHECK(r.mech_list_mic.has_value());
	SpnegoNegTokenResp done;
	done.neg_state = NegState::AcceptCompleted;
	Bytes t;
	CHECK(encode_neg_token_resp(done, t));
	CHECK(f.init.ctx->step(input(t), io) == Error::DowngradeDetected);
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

// The workstation name set after the first call reaches NTLM even after a switch.
bool workstation_follows_switch(Fixture& f)
{
	f.acc.offer_krb = false;
	CHECK(f.init.create(Role::Initiator));
	CHECK(f.init.ctx->package() == PackageId::Negotiate);
	CHECK(f.init.ctx->sizes().max_token >= kNegotiateMaxToken);
	Bytes data = {1, 2, 3};
	MessageBuffer buf{MessageBufferKind::Data, data};
	Bytes tok;
	CHECK(f.init.ctx->encrypt(std::span<MessageBuffer>(&buf, 1), tok) == Error::NotEstablished);
	ContextNames n;
	CHECK(f.init.ctx->names(n) == Error::NotEstablished);
	StepOutput o;
	CHECK(f.init.ctx->step(input({}), o) == Error::None);
	CHECK(f.init.ctx->package() == PackageId::Kerberos);
	CHECK(f.init.ctx->set_workstation(u"WS1") == Error::Unsupported);
	CHECK(f.init.ntlm_stats->workstation == u"WS1");
	f.tokens.clear();
	CHECK(f.acc.create(Role::Acceptor));
	StepOutput ao;
	CHECK(f.acc.ctx->step(input(o.token), ao) == Error::None);
	CHECK(f.init.ctx->step(input(ao.token), o) == Error::None);
	CHECK(f.init.ctx->package() == PackageId::Ntlm);
	CHECK(f.init.ctx->set_workstation(u"WS2") == Error::None);
	CHECK(f.init.ntlm_stats->workstation == u"WS2");
	return true;
}

// A NegTokenInit2 (hints) given to the initiator's first call is ignored; garbage is not.
bool initiator_first_input(Fixture& f)
{
	CHECK(f.init.create(Role::Initiator));
	SpnegoNegTokenInit hints;
	hints.mech_types = {Bytes(oid::kerberos().begin(), oid::kerberos().end())};
	const std::string name = "not_defined_in_RFC4178@please_ignore";
	hints.neg_hints = NegHints{Bytes(name.begin(), name.end()), std::nullopt};
	Bytes t;
	CHECK(encode_neg_token_init(hints, t));
	StepOutput o;
	CHECK(f.init.ctx->step(input(t), o) == Error::None);
	CHECK(mech_types_are(o.token, {oid::kerberos(), oid::ntlmssp()}));
	Side other;
	CHECK(other.create(Role::Initiator));
	CHECK(other.ctx->step(input(Bytes{1, 2, 3}), o) == Error::InvalidToken);
	return true;
}

// The acceptor's last token must say accept-completed when the initiator stops there and sends
// nothing; otherwise the two ends would disagree about whether the exchange is over.
bool final_token_must_say_completed(Fixture&)
{
	const std::vector<std::function<void(Fixture&)>> flows = {
	    [](Fixture&) {},                                                   // Kerberos-like, 2 tokens
	    [](Fixture& f) { f.init.offer_krb = f.acc.offer_krb = false; },  // NTLM-like with MICs
	};
	for (const auto& configure : flows) {
		Fixture clean;
		configure(clean);
		CHECK(exchange(clean));
		const long last = static_cast<long>(clean.tokens.size()) - 1;
		CHECK(last % 2 == 1);  // the acceptor's
		for (NegState s : {NegState::AcceptIncomplete, NegState::RequestMic}) {
			SpnegoNegTokenResp r;
			CHECK(decode_resp(clean.tokens[static_cast<size_t>(last)], r));
			CHECK(r.neg_state == NegState::AcceptCompleted);
			r.neg_state = s;
			Bytes changed;
			CHECK(encode_neg_token_resp(r, changed));
			Fixture f;
			configure(f);
			CHECK(!exchange(f, last, &changed));
			// request-mic in a reply that brings no MIC is also a missing MIC.
			CHECK(f.init_error == Error::InvalidToken ||
			      (s == NegState::RequestMic && f.init_error == Error::DowngradeDetected));
			CHECK(!f.init.ctx->established());
		}
	}
	return true;
}

// ---- malformed tokens -------------------------------------------------------------------

// Replays a clean exchange with the token at `pos` replaced; the receiving side must fail
// (with `expect` if given), and nothing may crash.
bool replay_with(const std::function<void(Fixture&)>& configure, long pos, const Bytes& bad, Error* got)
{
	Fixture f;
	configure(f);
	const bool ok = exchange(f, pos, &bad);
	*got = (pos % 2 == 0) ? f.acc_error : f.init_error;
	return ok;
}

bool malformed_tokens_everywhere(Fixture&)
{
	const std::vector<std::function<void(Fixture&)>> flows = {
	    [](Fixture& f) { f.init.offer_krb = f.acc.offer_krb = false; },  // NTLM-like, 4 tokens
	    [](Fixture&) {},                                                   // optimistic Kerberos
	    [](Fixture& f) { f.acc.offer_krb = false; },                       // switch, 5 tokens
	};
	std::mt19937 rng(1234);
	size_t flips = 0, flips_refused = 0;
	for (const auto& configure : flows) {
		Fixture clean;
		configure(clean);
		CHECK(exchange(clean));
		for (size_t pos = 0; pos < clean.tokens.size(); ++pos) {
			const Bytes& good = clean.tokens[pos];
			Error got = Error::None;
			// Every truncation, including the empty token.
			for (size_t n = 0; n < good.size(); ++n) {
				Bytes bad(good.begin(), good.begin() + static_cast<long>(n));
				CHECK(!replay_with(configure, static_cast<long>(pos), bad, &got));
				if (got != Error::InvalidToken) {
					std::fprintf(stderr, "token %zu cut to %zu bytes: %s\n", pos, n, error_name(got));
					return false;
				}
			}
			// Garbage of several sizes.
			for (size_t len : {1u, 7u, 16u, 64u, 300u}) {
				Bytes bad(len);
				for (uint8_t& b : bad)
					b = static_cast<uint8_t>(rng());
				NegotiationToken t;
				if (decode_negotiation_token(bad, t) || is_raw_ntlmssp(bad))
					continue;
				CHECK(!replay_with(configure, static_cast<long>(pos), bad, &got));
				CHECK(got == Error::InvalidToken);
			}
			// Every single-bit flip: either refused, or (rarely) still well-formed and then a
			// clean error or a consistent success; never a crash.
			for (size_t bit = 0; bit < good.size() * 8; ++bit) {
				Bytes bad = good;
				bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
				++flips;
				const bool ok = replay_with(configure, static_cast<long>(pos), bad, &got);
				NegotiationToken t;
				if (!decode_negotiation_token(bad, t) && (ok || got != Error::InvalidToken)) {
					std::fprintf(stderr, "token %zu bit %zu: ok=%d %s %s\n", pos, bit, ok, error_name(got),
					             to_hex(bad).c_str());
					return false;
				}
				if (!ok)
					++flips_refused;
			}
		}
	}
	std::fprintf(stderr, "bit flips: %zu, refused: %zu\n", flips, flips_refused);
	CHECK(flips_refused * 10 > flips * 9);
	return true;
}

// ---- CMocka glue --------------------------------------------------------------------------

int setup(void** state)
{
	*state = new Fixture();
	return 0;
}
int teardown(void** state)
{
	delete static_cast<Fixture*>(*state);
	return 0;
}
Fixture& fx(void** state)
{
	return *static_cast<Fixture*>(*state);
}

} // namespace

#define SCENARIO(name) \
	static void test_##name(void** state) { assert_true(name(fx(state))); }

SCENARIO(optimistic_two_leg)
SCENARIO(one_leg_final_empty_resp)
SCENARIO(three_leg_with_mic)
SCENARIO(three_leg_volunteered_mic)
SCENARIO(three_leg_without_mic_support)
SCENARIO(fallback_when_first_fails_at_step0)
SCENARIO(fallback_when_first_cannot_be_created)
SCENARIO(claimed_credential_goes_to_its_mechanism_only)
SCENARIO(claimed_credential_never_falls_back)
SCENARIO(claimed_credential_excluded_by_package_list)
SCENARIO(no_fallback_when_credentials_refused_at_step0)
SCENARIO(no_fallback_when_credentials_refused_at_create)
SCENARIO(all_mechanisms_fail)
SCENARIO(supported_mech_switch)
SCENARIO(switch_to_two_leg_final_token)
SCENARIO(package_list_filtering)
SCENARIO(package_list_in_exchange)
SCENARIO(package_list_orders)
SCENARIO(package_list_empty_result)
SCENARIO(mic_mismatch_on_initiator)
SCENARIO(mic_mismatch_on_acceptor)
SCENARIO(mic_missing_on_acceptor)
SCENARIO(mic_missing_on_initiator)
SCENARIO(mic_missing_after_mechanism_demand)
SCENARIO(reject_on_wrong_password)
SCENARIO(reject_with_mechanism_error)
SCENARIO(raw_ntlmssp_on_acceptor)
SCENARIO(raw_ntlmssp_refused_when_excluded)
SCENARIO(u2u_first_is_skipped)
SCENARIO(ms_kerberos_oid_is_kerberos)
SCENARIO(acceptor_skips_mechanism_it_cannot_create)
SCENARIO(no_common_mechanism)
SCENARIO(workstation_follows_switch)
SCENARIO(initiator_first_input)
SCENARIO(final_token_must_say_completed)
SCENARIO(malformed_tokens_everywhere)

#define ENTRY(name) cmocka_unit_test_setup_teardown(test_##name, setup, teardown)

int main()
{
	const struct CMUnitTest tests[] = {
	    ENTRY(optimistic_two_leg),
	    ENTRY(one_leg_final_empty_resp),
	    ENTRY(three_leg_with_mic),
	    ENTRY(three_leg_volunteered_mic),
	    ENTRY(three_leg_without_mic_support),
	    ENTRY(fallback_when_first_fails_at_step0),
	    ENTRY(fallback_when_first_cannot_be_created),
	    ENTRY(claimed_credential_goes_to_its_mechanism_only),
	    ENTRY(claimed_credential_never_falls_back),
	    ENTRY(claimed_credential_excluded_by_package_list),
	    ENTRY(no_fallback_when_credentials_refused_at_step0),
	    ENTRY(no_fallback_when_credentials_refused_at_create),
	    ENTRY(all_mechanisms_fail),
	    ENTRY(supported_mech_switch),
	    ENTRY(switch_to_two_leg_final_token),
	    ENTRY(package_list_filtering),
	    ENTRY(package_list_in_exchange),
	    ENTRY(package_list_orders),
	    ENTRY(package_list_empty_result),
	    ENTRY(mic_mismatch_on_initiator),
	    ENTRY(mic_mismatch_on_acceptor),
	    ENTRY(mic_missing_on_acceptor),
	    ENTRY(mic_missing_on_initiator),
	    ENTRY(mic_missing_after_mechanism_demand),
	    ENTRY(reject_on_wrong_password),
	    ENTRY(reject_with_mechanism_error),
	    ENTRY(raw_ntlmssp_on_acceptor),
	    ENTRY(raw_ntlmssp_refused_when_excluded),
	    ENTRY(u2u_first_is_skipped),
	    ENTRY(ms_kerberos_oid_is_kerberos),
	    ENTRY(acceptor_skips_mechanism_it_cannot_create),
	    ENTRY(no_common_mechanism),
	    ENTRY(workstation_follows_switch),
	    ENTRY(initiator_first_input),
	    ENTRY(final_token_must_say_completed),
	    ENTRY(malformed_tokens_everywhere),
	};
	return cmocka_run_group_tests_name("negotiate_context", tests, nullptr, nullptr);
}
