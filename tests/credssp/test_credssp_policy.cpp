// CREDSSP policy under attack (issue 14), in process over the real Negotiate + NTLM:
// - re-authentication keeps the policy the context was created with (finding 3): MinVersion 5,
//   NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION and DelegateTargets survive a second handshake on an
//   established initiator, MinVersion 5 on an established acceptor; a later parameters buffer may
//   tighten the policy, one that would loosen it is refused, and what it leaves unset stays;
// - a pubKeyAuth sent back to the client (finding 4) is a failed mutual authentication, except in
//   the shapes FreeRDP's server gives a refused logon with no errorCode (our pubKeyAuth sent with a
//   negoToken; the reply's negoToken absent or all zero at versions 2 and 5, present and all zero
//   at 3, 4 and 6 where its provider left no error code);
// - version 5 is the default minimum (finding 5): a man in the middle rewriting either side's
//   version to 2 is refused at once, MaxVersion below 5 needs an explicit MinVersion;
// - TSPasswordCreds names with a NUL or an unpaired surrogate are refused by the acceptor
//   (finding 6); a client authenticated as alice may delegate another name, which the acceptor
//   reports as received (its caller compares it with SECPKG_ATTR_NAMES); passwords are opaque.
#include "credssp/credssp_fixture.h"
#include "nlassp/credssp.h"
#include "wire/utf16.h"

#include <cstring>

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
using namespace nlassp::credssp;
using namespace nlassp::credssp::test;

namespace {

bool established_at(const Pair& p, uint32_t version)
{
	if (p.client.error != Error::None || p.server.error != Error::None)
		std::fprintf(stderr, "client %s, server %s\n", error_name(p.client.error), error_name(p.server.error));
	CHECK(p.client.error == Error::None && p.server.error == Error::None);
	CHECK(p.client.complete && p.server.complete);
	CHECK(query_info(*p.client.ctx)->version == version && query_info(*p.server.ctx)->version == version);
	return true;
}

// The client failed with `want` and sent nothing more.
bool client_refused(const Pair& p, Error want)
{
	if (p.client.error != want)
		std::fprintf(stderr, "client %s (want %s), server %s\n", error_name(p.client.error), error_name(want),
		             error_name(p.server.error));
	CHECK(p.client.error == want);
	CHECK(!p.client.ctx->established() && !p.server.complete);
	CHECK(p.client.last_token.empty());
	CHECK(!query_info(*p.client.ctx)->delegated);
	return true;
}

bool server_received_nothing(const Pair& p)
{
	DelegatedCredentials d;
	CHECK(query_delegated_credentials(*p.server.ctx, d) == Error::NotEstablished);
	return true;
}

ContextPtr new_acceptor()
{
	Error e = Error::Internal;
	return create_context(Role::Acceptor, server_cred(), make_negotiate, e);
}

ContextPtr new_initiator()
{
	Error e = Error::Internal;
	return create_context(Role::Initiator, client_cred(), make_negotiate, e);
}

// ---- finding 3: re-authentication keeps the policy --------------------------------------------------

bool reauth_keeps_min_version()
{
	Pair p;
	CHECK(make_pair(p, 6, 6, ctx::Delegate));
	p.client.params = rsa_params(5, 6);
	run(p);
	CHECK(established_at(p, 6));
	// The second handshake meets a version-2 server; the caller passes no parameters again.
	p.server.ctx = new_acceptor();
	p.server.params = rsa_params(2, 2);
	p.client.params.clear();
	run(p);
	CHECK(client_refused(p, Error::Unsupported) && server_received_nothing(p));
	CHECK(query_info(*p.client.ctx)->peer_version == 2);
	return true;
}

bool reauth_keeps_no_ntlm_only_delegation()
{
	Pair p;
	CHECK(make_pair(p, 6, 6, 0));
	p.client.params = rsa_params(2, 6, NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION);
	run(p);
	CHECK(established_at(p, 6));
	CHECK(!query_info(*p.client.ctx)->delegated);
	p.client.requested |= ctx::Delegate;
	p.client.params.clear();
	p.server.params.clear();
	run(p);
	CHECK(client_refused(p, Error::PolicyNtlmOnly) && server_received_nothing(p));
	return true;
}

bool reauth_keeps_delegate_targets()
{
	Pair p;
	CHECK(make_pair(p, 6, 6, 0));
	p.client.target = u"TERMSRV/other.lab";
	p.client.params = rsa_params(2, 6, 0, "TERMSRV/server.lab");
	run(p);
	CHECK(established_at(p, 6));
	p.client.requested |= ctx::Delegate;
	p.client.params.clear();
	p.server.params.clear();
	run(p);
	CHECK(client_refused(p, Error::DelegationPolicy));
	// The refusal came before anything was sent: the acceptor still holds the first login's
	// empty credentials.
	DelegatedCredentials d;
	CHECK(p.server.ctx->established());
	CHECK(query_delegated_credentials(*p.server.ctx, d) == Error::None && d.empty);
	return true;
}

bool reauth_keeps_acceptor_min_version()
{
	Pair p;
	CHECK(make_pair(p, 6, 6, 0));
	p.server.params = rsa_params(5, 6);
	run(p);
	CHECK(established_at(p, 6));
	// A version-2 client re-authenticates on the established acceptor.
	p.client.ctx = new_initiator();
	p.client.params = rsa_params(2, 2);
	p.server.params.clear();
	run(p);
	if (p.server.error != Error::Unsupported)
		std::fprintf(stderr, "server %s, client %s\n", error_name(p.server.error), error_name(p.client.error));
	CHECK(p.server.error == Error::Unsupported);
	CHECK(!p.server.ctx->established() && !p.client.complete);
	DelegatedCredentials d;
	CHECK(query_delegated_credentials(*p.server.ctx, d) == Error::NotEstablished);
	return true;
}

// Re-authenticates p's established client with a new parameters buffer; the client's result.
Error reauth_with(Pair& p, const Bytes& prm)
{
	p.client.params = prm;
	p.server.params.clear();
	run(p);
	return p.client.error;
}

// Dropping NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT in a later buffer is a tightening: applied.
// Passing it again keeps it.
bool echo_defect_tolerance_can_be_withdrawn()
{
	Params first;
	CHECK(parse_params(rsa_params(2, 6, NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT), first) == Error::None);
	Policy pol(Options{});
	CHECK(pol.set_first(first) == Error::None && pol.options().tolerate_freerdp_echo_defect);
	CHECK(pol.tighten(first) == Error::None && pol.options().tolerate_freerdp_echo_defect);
	Params without;
	CHECK(parse_params(rsa_params(2, 6), without) == Error::None);
	CHECK(pol.tighten(without) == Error::None);
	CHECK(!pol.options().tolerate_freerdp_echo_defect);
	// ... and once withdrawn it cannot come back.
	CHECK(pol.tighten(first) == Error::InvalidParameter && !pol.options().tolerate_freerdp_echo_defect);
	return true;
}

bool later_parameters_tighten_never_loosen()
{
	// Tighter: MinVersion 6 against a version-5 server.
	{
		Pair p;
		CHECK(make_pair(p, 6, 5, 0));
		run(p);
		CHECK(established_at(p, 5));
		CHECK(reauth_with(p, rsa_params(6, 6)) == Error::Unsupported);
	}
	// A lower MinVersion, a higher MaxVersion, the echo-defect tolerance: refused before anything
	// is sent, and the context keeps its policy.
	for (const Bytes& looser : {rsa_params(2, 6), rsa_params(5, 6, NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT)}) {
		Pair p;
		CHECK(make_pair(p, 6, 6, 0));
		p.client.params = rsa_params(5, 6, NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION);
		run(p);
		CHECK(established_at(p, 6));
		p.server.ctx = new_acceptor();
		p.server.params = rsa_params(2, 2);
		const Error e = reauth_with(p, looser);
		if (e != Error::InvalidParameter)
			std::fprintf(stderr, "looser parameters: %s\n", error_name(e));
		CHECK(e == Error::InvalidParameter);
		CHECK(p.client.last_token.empty() && !p.client.ctx->established());
	}
	{
		Pair p;
		CHECK(make_pair(p, 4, 6, 0));
		p.client.params = rsa_params(2, 4);
		run(p);
		CHECK(established_at(p, 4));
		CHECK(reauth_with(p, rsa_params(0, 6)) == Error::InvalidParameter);
	}
	// What a later buffer leaves unset changes nothing: a buffer without
	// NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION does not allow NTLM-only delegation again.
	{
		Pair p;
		CHECK(make_pair(p, 6, 6, 0));
		p.client.params = rsa_params(5, 6, NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION);
		run(p);
		CHECK(established_at(p, 6));
		p.client.requested |= ctx::Delegate;
		CHECK(reauth_with(p, rsa_params()) == Error::PolicyNtlmOnly);
		// ... and a later buffer may forbid it where it was allowed.
		Pair q;
		CHECK(make_pair(q, 6, 6, 0));
		run(q);
		CHECK(established_at(q, 6));
		q.client.requested |= ctx::Delegate;
		CHECK(reauth_with(q, rsa_params(0, 0, NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION)) == Error::PolicyNtlmOnly);
	}
	// A second target list narrows the first: a target must match both.
	for (const char16_t* target : {u"TERMSRV/other.lab", u"TERMSRV/server.lab"}) {
		Pair p;
		CHECK(make_pair(p, 6, 6, 0));
		p.client.target = target;
		p.client.params = rsa_params(2, 6, 0, "TERMSRV/server.lab");
		run(p);
		CHECK(established_at(p, 6));
		p.client.requested |= ctx::Delegate;
		const Error e = reauth_with(p, rsa_params(2, 6, 0, "TERMSRV/*"));
		if (std::u16string_view(target) == u"TERMSRV/other.lab") {
			CHECK(e == Error::DelegationPolicy);
		} else {
			CHECK(e == Error::None && p.server.complete && query_info(*p.client.ctx)->delegated);
		}
	}
	// The same buffer again is not a change.
	{
		Pair p;
		CHECK(make_pair(p, 6, 6, ctx::Delegate));
		run(p);
		CHECK(established_at(p, 6));
		CHECK(reauth_with(p, rsa_params(2, 6)) == Error::None);
		CHECK(p.server.complete);
	}
	return true;
}

// ---- finding 4: a pubKeyAuth sent back ----------------------------------------------------------

bool scripted_is(ScriptRun r, Error want)
{
	CHECK(run_scripted(r));
	if (r.result != want)
		std::fprintf(stderr, "script %d version %u: got %s, want %s\n", static_cast<int>(r.script), r.version,
		             error_name(r.result), error_name(want));
	CHECK(r.result == want);
	CHECK(!r.sent_after_failure);
	return true;
}

bool reflected_pub_key_auth()
{
	// Our client sends pubKeyAuth alone, after the server's mechanism completed: a server that
	// then returns it did not authenticate — at any version.
	for (uint32_t v : {2u, 5u, 6u}) {
		ScriptRun r;
		r.script = Script::OwnPubKeyAuthBack;
		r.version = v;
		CHECK(scripted_is(r, Error::MutualAuthFailed));
	}
	// With raw NTLM inside, pubKeyAuth travels with AUTHENTICATE: FreeRDP's server, refusing the
	// password, returns it with its empty output buffer and (at 2 and 5) no errorCode.
	for (uint32_t v : {2u, 3u, 5u, 6u}) {
		ScriptRun r;
		r.script = Script::FreeRdpFailure;
		r.version = v;
		r.client_inner = r.server_inner = make_raw_ntlm;
		r.password = u"wrong";
		CHECK(scripted_is(r, Error::LogonDenied));
	}
	// FreeRDP's server sends no errorCode at 3, 4 and 6 either when its SSPI provider left
	// GetLastError() at 0 (nla.c: NTSTATUS_FROM_WIN32(0) is 0, and 0 is not sent): its untouched,
	// zero-filled output buffer still comes back as negoToken - a refused logon, not a MITM.
	for (uint32_t v : {3u, 4u, 6u}) {
		ScriptRun r;
		r.script = Script::FreeRdpFailureNoCode;
		r.version = v;
		r.client_inner = r.server_inner = make_raw_ntlm;
		r.password = u"wrong";
		CHECK(scripted_is(r, Error::LogonDenied));
	}
	// The right password and the pubKeyAuth still comes back, with no negoToken: at version 6 (where
	// a FreeRDP server refusing would have sent an errorCode or its zero-filled output buffer) that
	// is no refusal but a failed mutual authentication; at 2 and 5 it looks exactly like FreeRDP's
	// refusal (nothing is sent either way).
	ScriptRun r;
	r.script = Script::OwnPubKeyAuthBack;
	r.client_inner = r.server_inner = make_raw_ntlm;
	r.version = 6;
	CHECK(scripted_is(r, Error::MutualAuthFailed));
	r.version = 5;
	CHECK(scripted_is(r, Error::LogonDenied));
	return true;
}

// ---- finding 5: version 5 by default --------------------------------------------------------------

Filter rewrite_version(bool to_server_side, uint32_t version)
{
	return [to_server_side, version](bool to_server, size_t, const Bytes& token) {
		TsRequest r;
		if (to_server != to_server_side || !decode_ts_request(token, r))
			return token;
		r.version = version;
		Bytes out;
		return encode_ts_request(r, out) ? out : token;
	};
}

bool version_rewritten_to_2()
{
	// The server's answer says 2; both sides use the defaults (no MinVersion).
	Pair p;
	CHECK(make_pair(p, 6, 6, ctx::Delegate));
	p.client.params = rsa_params();
	p.server.params = rsa_params();
	run(p, rewrite_version(false, 2));
	CHECK(client_refused(p, Error::Unsupported) && server_received_nothing(p));
	CHECK(query_info(*p.client.ctx)->peer_version == 2);
	// The client's request says 2: the acceptor refuses.
	Pair q;
	CHECK(make_pair(q, 6, 6, ctx::Delegate));
	q.client.params = rsa_params();
	q.server.params = rsa_params();
	run(q, rewrite_version(true, 2));
	CHECK(q.server.error == Error::Unsupported && !q.server.ctx->established());
	// Lowered explicitly, version 2 works.
	Pair r;
	CHECK(make_pair(r, 6, 2, ctx::Delegate));
	run(r);
	CHECK(established_at(r, 2));
	return true;
}

bool max_version_below_default_minimum()
{
	Pair p;
	CHECK(make_pair(p, 4, 6, 0));
	p.client.params = rsa_params(0, 4);
	run(p);
	CHECK(p.client.error == Error::InvalidParameter);
	p.client.ctx = new_initiator();
	p.client.params = rsa_params(3, 4);
	run(p);
	CHECK(established_at(p, 4));
	return true;
}

// ---- finding 6: names in TSPasswordCreds ---------------------------------------------------------

// alice authenticates (the inner Negotiate has her clean credential) and the CredSSP credential,
// which supplies TSPasswordCreds, says `user`/`domain`/`password`.
bool delegate_as(const std::u16string& user, const std::u16string& domain, const std::u16string& password, Pair& p)
{
	CHECK(make_pair(p, 6, 6, ctx::Delegate));
	const CredentialPtr clean = client_cred();
	Error e = Error::Internal;
	p.client.ctx = create_context(
	    Role::Initiator, client_cred(password, user, domain),
	    [clean](Role r, const CredentialPtr&, Error& err) { return make_negotiate(r, clean, err); }, e);
	CHECK(p.client.ctx);
	run(p);
	return true;
}

bool names_in_ts_password_creds()
{
	const std::u16string nul = std::u16string(u"alice") + u'\0' + u"x";
	const std::u16string lone(1, char16_t(0xd800));
	for (const auto& [user, domain] : {std::pair{nul, std::u16string(u"LAB")},
	                                   std::pair{std::u16string(u"alice"), u"LAB" + lone},
	                                   std::pair{lone + u"alice", std::u16string(u"LAB")},
	                                   std::pair{std::u16string(u"alice"), std::u16string(u"LAB") + u'\0'}}) {
		Pair p;
		CHECK(delegate_as(user, domain, kPassword, p));
		if (p.server.error != Error::InvalidToken)
			std::fprintf(stderr, "server %s\n", error_name(p.server.error));
		CHECK(p.client.complete && p.server.error == Error::InvalidToken);
		CHECK(!p.server.ctx->established());
		DelegatedCredentials d;
		CHECK(query_delegated_credentials(*p.server.ctx, d) == Error::NotEstablished);
	}
	// Another user's well-formed name is delivered as received: the acceptor's caller must
	// compare it with the authenticated name.
	Pair p;
	CHECK(delegate_as(u"bob", u"OTHER", u"bobs-password", p));
	CHECK(established_at(p, 6));
	ContextNames n;
	CHECK(p.server.ctx->names(n) == Error::None && n.user == u"alice" && n.domain == u"LAB");
	DelegatedCredentials d;
	CHECK(query_delegated_credentials(*p.server.ctx, d) == Error::None && d.user == u"bob" && d.domain == u"OTHER");
	// A password is opaque UTF-16: NULs and unpaired surrogates are passed on unchanged.
	const std::u16string odd = std::u16string(u"p") + u'\0' + lone + u"w";
	Pair q;
	CHECK(delegate_as(u"alice", u"LAB", odd, q));
	CHECK(established_at(q, 6));
	CHECK(query_delegated_credentials(*q.server.ctx, d) == Error::None);
	const Bytes want = wire::utf16le_bytes(odd);
	CHECK(d.password.size() == want.size() && std::memcmp(d.password.data(), want.data(), want.size()) == 0);
	return true;
}

} // namespace

static void test_reauthentication_keeps_min_version(void**) { assert_true(reauth_keeps_min_version()); }
static void test_reauthentication_keeps_no_ntlm_only_delegation(void**) { assert_true(reauth_keeps_no_ntlm_only_delegation()); }
static void test_reauthentication_keeps_delegate_targets(void**) { assert_true(reauth_keeps_delegate_targets()); }
static void test_reauthentication_keeps_acceptor_min_version(void**) { assert_true(reauth_keeps_acceptor_min_version()); }
static void test_later_parameters_tighten_never_loosen(void**) { assert_true(later_parameters_tighten_never_loosen()); }
static void test_echo_defect_tolerance_can_be_withdrawn(void**) { assert_true(echo_defect_tolerance_can_be_withdrawn()); }
static void test_reflected_pub_key_auth_is_mutual_auth_failed(void**) { assert_true(reflected_pub_key_auth()); }
static void test_version_rewritten_to_2_is_refused_by_default(void**) { assert_true(version_rewritten_to_2()); }
static void test_max_version_below_5_needs_explicit_min_version(void**) { assert_true(max_version_below_default_minimum()); }
static void test_nul_and_lone_surrogate_in_ts_password_creds(void**) { assert_true(names_in_ts_password_creds()); }

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reauthentication_keeps_min_version),
		cmocka_unit_test(test_reauthentication_keeps_no_ntlm_only_delegation),
		cmocka_unit_test(test_reauthentication_keeps_delegate_targets),
		cmocka_unit_test(test_reauthentication_keeps_acceptor_min_version),
		cmocka_unit_test(test_later_parameters_tighten_never_loosen),
		cmocka_unit_test(test_echo_defect_tolerance_can_be_withdrawn),
		cmocka_unit_test(test_reflected_pub_key_auth_is_mutual_auth_failed),
		cmocka_unit_test(test_version_rewritten_to_2_is_refused_by_default),
		cmocka_unit_test(test_max_version_below_5_needs_explicit_min_version),
		cmocka_unit_test(test_nul_and_lone_surrogate_in_ts_password_creds),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
