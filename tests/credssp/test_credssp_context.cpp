// plugin/credssp/context: a CREDSSP initiator and acceptor over the real Negotiate + NTLM, in
// process: every version pair 2..6 x 2..6 with and without delegation; a man in the middle (the
// two sides see different TLS keys), tampered pubKeyAuth and clientNonce caught on both sides; a
// scripted server standing in for FreeRDP's (the v2-4 echo defect, strict and tolerated; an
// all-zero negoToken or errorCode as a refusal) and for a lying server (wrong echo, wrong hash);
// a TSRequest split at every byte -> IncompleteMessage with the missing count, state unchanged;
// the statuses the package produces itself (delegation policy, NTLM-only policy, incomplete
// credentials, unknown target, unsupported flags, no key, logon denied with errorCode).
//
// Checks run in bool helpers (destructors run); CMocka bodies only assert.
#include "credssp/credssp_fixture.h"
#include "credssp/crypto.h"
#include "nlassp/credssp.h"
#include "ntlm/crypto.h"
#include "ntlm/ntlm.h"
#include "sspi/status.h"
#include "support/vectors.h"
#include "wire/utf16.h"

#include <winpr/error.h>

#include <cstdio>
#include <cstring>
#include <functional>
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
using namespace nlassp::credssp;
using namespace nlassp::credssp::test;

namespace {

bool versions_and_delegation(uint32_t cmax, uint32_t smax, bool delegate)
{
	Pair p;
	CHECK(make_pair(p, cmax, smax, delegate ? ContextFlags{ctx::Delegate} : ContextFlags{0}));
	run(p);
	if (p.client.error != Error::None || p.server.error != Error::None)
		std::fprintf(stderr, "client %u server %u delegate %d: client %s, server %s\n", cmax, smax, delegate,
		             error_name(p.client.error), error_name(p.server.error));
	CHECK(p.client.error == Error::None && p.server.error == Error::None);
	CHECK(p.client.complete && p.server.complete);
	CHECK(p.client.ctx->established() && p.server.ctx->established());
	const uint32_t want = std::min(cmax, smax);
	auto ci = query_info(*p.client.ctx), si = query_info(*p.server.ctx);
	CHECK(ci && si);
	CHECK(ci->version == want && si->version == want);
	CHECK(ci->peer_version == smax && si->peer_version == cmax);
	CHECK(ci->mechanism == PackageId::Ntlm && si->mechanism == PackageId::Ntlm);
	CHECK(ci->delegated == delegate && si->delegated == delegate);
	CHECK(((p.client.ctx->flags() & ctx::Delegate) != 0) == delegate);
	CHECK(p.client.ctx->flags() & ctx::ManualCredValidation);
	CHECK(p.client.ctx->flags() & ctx::MutualAuth);
	DelegatedCredentials d;
	CHECK(query_delegated_credentials(*p.server.ctx, d) == Error::None);
	CHECK(d.cred_type == 1);
	if (delegate) {
		CHECK(!d.empty && d.user == u"alice" && d.domain == u"LAB");
		const Bytes pw = wire::utf16le_bytes(kPassword);
		CHECK(d.password.size() == pw.size() && std::memcmp(d.password.data(), pw.data(), pw.size()) == 0);
	} else {
		CHECK(d.empty && d.user.empty() && d.password.empty());
	}
	CHECK(query_delegated_credentials(*p.client.ctx, d) == Error::Unsupported);
	ContextNames names;
	CHECK(p.server.ctx->names(names) == Error::None && names.user == u"alice");
	return true;
}

bool every_version_pair()
{
	for (uint32_t c = 2; c <= 6; ++c)
		for (uint32_t s = 2; s <= 6; ++s)
			for (bool d : {false, true})
				CHECK(versions_and_delegation(c, s, d));
	return true;
}

// ---- men in the middle ----------------------------------------------------------------------

bool different_keys_caught(uint32_t version)
{
	Pair p;
	CHECK(make_pair(p, version, version, ctx::Delegate, "p256", "rsa2048"));
	run(p);
	CHECK(p.client.error == Error::None);
	CHECK(p.server.error == Error::MessageAltered);
	CHECK(!p.server.ctx->established() && !p.client.complete);
	// The acceptor tells the client why, where the version has an errorCode.
	if (version == 3 || version == 4 || version == 6) {
		TsRequest r;
		CHECK(decode_ts_request(p.last_server_error_token, r) && r.error_code);
		CHECK(*r.error_code == 0xC000006Du);
	}
	return true;
}

// Flips one byte inside a field of the TSRequest at `index`.
Filter tamper(size_t index, bool nonce)
{
	return [index, nonce](bool, size_t i, const Bytes& token) {
		if (i != index)
			return token;
		TsRequest r;
		if (!decode_ts_request(token, r))
			return token;
		if (nonce && r.client_nonce)
			(*r.client_nonce)[5] ^= 0x40;
		else if (!nonce && r.pub_key_auth)
			(*r.pub_key_auth)[r.pub_key_auth->size() - 3] ^= 0x01;
		else
			return token;
		Bytes out;
		return encode_ts_request(r, out) ? out : token;
	};
}

bool tampered_client_pub_key_auth(uint32_t version)
{
	// Message 2 (0-based) is the client's pubKeyAuth with our Negotiate (it completes a round late).
	Pair p;
	CHECK(make_pair(p, version, version, 0));
	run(p, tamper(4, false));
	CHECK(p.client.error == Error::None && p.server.error == Error::MessageAltered);
	return true;
}

bool tampered_server_pub_key_auth(uint32_t version)
{
	Pair p;
	CHECK(make_pair(p, version, version, ctx::Delegate));
	run(p, tamper(5, false));
	CHECK(p.server.error == Error::None);
	CHECK(p.client.error == Error::MessageAltered);
	CHECK(!p.client.complete);
	return true;
}

bool tampered_nonce()
{
	Pair p;
	CHECK(make_pair(p, 6, 6, 0));
	run(p, tamper(4, true));
	CHECK(p.server.error == Error::MessageAltered);
	return true;
}

// ---- a scripted server (FreeRDP's behaviours, and a lying one) --------------------------------

bool scripted(Script script, uint32_t version, uint32_t flags, Error want, bool& echo_defect_seen)
{
	ScriptRun r;
	r.script = script;
	r.version = version;
	r.flags = flags;
	CHECK(run_scripted(r));
	if (r.result != want)
		std::fprintf(stderr, "script %d version %u: got %s, want %s\n", static_cast<int>(script), version,
		             error_name(r.result), error_name(want));
	CHECK(r.result == want);
	if (want != Error::None)
		CHECK(!r.sent_after_failure); // nothing sent after a failure
	echo_defect_seen = r.echo_defect_seen;
	return true;
}

bool freerdp_echo_defect()
{
	bool seen = false;
	for (uint32_t v = 2; v <= 4; ++v) {
		CHECK(scripted(Script::FreeRdpEchoDefect, v, 0, Error::MutualAuthFailed, seen));
		CHECK(!seen);
		CHECK(scripted(Script::FreeRdpEchoDefect, v, NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT, Error::None, seen));
		CHECK(seen);
		CHECK(scripted(Script::Correct, v, 0, Error::None, seen));
		CHECK(!seen);
	}
	return true;
}

bool lying_server()
{
	bool seen = false;
	for (uint32_t v = 2; v <= 4; ++v) {
		// Tolerating the FreeRDP defect does not let any other wrong echo through.
		CHECK(scripted(Script::WrongEcho, v, NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT, Error::MutualAuthFailed, seen));
	}
	for (uint32_t v = 5; v <= 6; ++v) {
		CHECK(scripted(Script::WrongHash, v, NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT, Error::MutualAuthFailed, seen));
		CHECK(scripted(Script::Correct, v, 0, Error::None, seen));
	}
	return true;
}

bool refusals()
{
	bool seen = false;
	// (A pubKeyAuth sent back, FreeRDP's refusal at versions 2 and 5 when it came with the last
	// negoToken: test_credssp_policy.cpp.)
	// errorCode STATUS_LOGON_FAILURE -> LogonDenied.
	CHECK(scripted(Script::ErrorCode, 6, 0, Error::LogonDenied, seen));
	// Versions 2 and 5, our client sending pubKeyAuth a round later: an all-zero negoToken.
	CHECK(scripted(Script::ZeroNegoToken, 2, 0, Error::LogonDenied, seen));
	CHECK(scripted(Script::ZeroNegoToken, 5, 0, Error::LogonDenied, seen));
	return true;
}

bool freerdp_repeats_final_token()
{
	bool seen = false;
	CHECK(scripted(Script::FreeRdpRepeat, 6, 0, Error::None, seen));
	CHECK(scripted(Script::FreeRdpRepeat, 3, NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT, Error::None, seen));
	// Any other negoToken after the negotiation completed is refused.
	CHECK(scripted(Script::NewNegoToken, 6, 0, Error::InvalidToken, seen));
	return true;
}

// ---- the acceptor's own refusals ----------------------------------------------------------------

bool wrong_password(uint32_t version)
{
	Pair p;
	CHECK(make_pair(p, version, 6, ctx::Delegate, "rsa2048", "rsa2048", client_cred(u"wrong")));
	run(p);
	CHECK(p.server.error == Error::LogonDenied);
	TsRequest r;
	CHECK(decode_ts_request(p.last_server_error_token, r));
	if (version == 3 || version == 4 || version == 6) {
		CHECK(r.error_code && *r.error_code == 0xC000006Du);
	} else {
		CHECK(!r.error_code);
	}
	// The client reads it as a refused logon.
	StepInput in;
	in.token = p.last_server_error_token;
	StepOutput out;
	CHECK(p.client.ctx->step(in, out) == Error::LogonDenied);
	return true;
}

// ---- framing ------------------------------------------------------------------------------------

bool split_everywhere()
{
	Pair p;
	CHECK(make_pair(p, 6, 6, ctx::Delegate));
	StepOutput co;
	CHECK(step(p.client, {}, co, true) == Error::None);
	// The acceptor's first call, fed a growing prefix of the client's TSRequest.
	const Bytes& t = co.token;
	const size_t header = t[1] < 0x80 ? 2 : 2 + (t[1] & 0x7f);
	for (size_t cut = 0; cut < t.size(); ++cut) {
		StepOutput so;
		const Error e = step(p.server, ByteView(t).first(cut), so, true);
		size_t want = cut == 0 ? 2 : cut == 1 ? 1 : cut < header ? header - cut : t.size() - cut;
		CHECK(e == Error::IncompleteMessage);
		CHECK(so.missing == want);
		CHECK(so.token.empty());
	}
	StepOutput so;
	CHECK(step(p.server, t, so, true) == Error::None && !so.token.empty());
	// Mid-handshake too: the client gets the acceptor's reply in pieces.
	for (size_t cut = 0; cut < so.token.size(); ++cut) {
		StepOutput c2;
		const Error e = step(p.client, ByteView(so.token).first(cut), c2, false);
		CHECK(e == Error::IncompleteMessage && c2.missing > 0);
	}
	StepOutput c2;
	CHECK(step(p.client, so.token, c2, false) == Error::None && !c2.token.empty());
	// A token with bytes after the TSRequest is refused.
	Bytes extra = c2.token;
	extra.push_back(0);
	StepOutput s2;
	CHECK(step(p.server, extra, s2, false) == Error::InvalidToken);
	return true;
}

// ---- statuses the package produces itself -------------------------------------------------------

Error first_call(ContextFlags req, const std::u16string& target, const Bytes& prm, const CredentialPtr& cred,
                 const Identity* supplied = nullptr)
{
	Error e = Error::Internal;
	ContextPtr c = create_context(Role::Initiator, cred, make_negotiate, e);
	if (!c)
		return e;
	StepInput in;
	in.requested = supplied ? req | ctx::UseSuppliedCreds : req;
	in.target = target;
	in.package_params = prm;
	in.supplied_identity = supplied;
	StepOutput out;
	return c->step(in, out);
}

bool policy_statuses()
{
	Bytes spki;
	CHECK(key("rsa2048", spki));
	const Bytes prm = params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO);
	CHECK(first_call(ctx::Delegate, u"TERMSRV/host", prm, client_cred()) == Error::None);
	CHECK(first_call(ctx::Delegate, u"termsrv/HOST.lab", prm, client_cred()) == Error::None);
	CHECK(first_call(ctx::Delegate, u"HTTP/gw.lab", prm, client_cred()) == Error::DelegationPolicy);
	CHECK(first_call(0, u"HTTP/gw.lab", prm, client_cred()) == Error::None); // nothing delegated: no policy
	CHECK(first_call(ctx::Delegate, u"", prm, client_cred()) == Error::TargetUnknown);
	const Bytes gw = params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, 0, 0, 0, "HTTP/*.lab; TERMSRV/a");
	CHECK(first_call(ctx::Delegate, u"HTTP/gw.lab", gw, client_cred()) == Error::None);
	CHECK(first_call(ctx::Delegate, u"TERMSRV/b", gw, client_cred()) == Error::DelegationPolicy);
	// Nothing to delegate.
	auto nopw = std::make_shared<Credential>(*client_cred());
	nopw->identity->has_password = false;
	nopw->identity->password.clear();
	CHECK(first_call(ctx::Delegate, u"TERMSRV/host", prm, nopw) == Error::IncompleteCredentials);
	// A smartcard logon's PIN is never delegated as a password.
	auto card = std::make_shared<Credential>(*client_cred());
	card->kerberos.pkinit_identity = "FILE:/cert.pem,/key.pem";
	CHECK(first_call(ctx::Delegate, u"TERMSRV/host", prm, card) == Error::IncompleteCredentials);
	auto marshalled = std::make_shared<Credential>(*client_cred());
	marshalled->identity->user = u"@@BQ9eNR0KWVU-CT8sPCp8z37POZHJ";
	CHECK(first_call(ctx::Delegate, u"TERMSRV/host", prm, marshalled) == Error::IncompleteCredentials);
	// ... also when the identity comes with the call (ISC_REQ_USE_SUPPLIED_CREDS): the handle's
	// PKINIT settings stay, so the supplied "password" is the PIN.
	const Identity pin_as_password = *client_cred()->identity;
	CHECK(first_call(ctx::Delegate, u"TERMSRV/host", prm, card, &pin_as_password) == Error::IncompleteCredentials);
	Identity supplied_marshalled = *client_cred()->identity;
	supplied_marshalled.user = u"@@BQ9eNR0KWVU-CT8sPCp8z37POZHJ";
	CHECK(first_call(ctx::Delegate, u"TERMSRV/host", prm, client_cred(), &supplied_marshalled) ==
	      Error::IncompleteCredentials);
	// A supplied password identity on a password handle is delegated as before.
	CHECK(first_call(ctx::Delegate, u"TERMSRV/host", prm, client_cred(), &pin_as_password) == Error::None);
	// Remote Credential Guard delegates a ticket, not the PIN: a smartcard logon may use it.
	const Bytes rcg = params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, 0, 0, NLASSP_CREDSSP_REMOTE_GUARD);
	CHECK(first_call(ctx::Delegate, u"TERMSRV/host", rcg, card, &pin_as_password) != Error::IncompleteCredentials);
	CHECK(first_call(ctx::Delegate, u"TERMSRV/host", rcg, card) != Error::IncompleteCredentials);
	// Flags we cannot honour.
	CHECK(first_call(ctx::Datagram, u"TERMSRV/host", prm, client_cred()) == Error::Unsupported);
	// Malformed parameters.
	Bytes bad = prm;
	bad[4] = 9; // Version
	CHECK(first_call(0, u"TERMSRV/host", bad, client_cred()) == Error::InvalidParameter);
	const Bytes v9 = params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, 0, 9);
	CHECK(first_call(0, u"TERMSRV/host", v9, client_cred()) == Error::InvalidParameter);
	const Bytes notspki = params(ByteView(spki).subspan(2), NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO);
	CHECK(first_call(0, u"TERMSRV/host", notspki, client_cred()) == Error::InvalidParameter);
	Bytes outside = prm;
	outside[24] = 0xff; // PublicKeyOffset beyond the buffer
	CHECK(first_call(0, u"TERMSRV/host", outside, client_cred()) == Error::InvalidParameter);
	// No credentials at all.
	auto none = std::make_shared<Credential>();
	none->use = CredentialUse::Outbound;
	CHECK(first_call(0, u"TERMSRV/host", prm, none) == Error::NoCredentials);
	return true;
}

bool ntlm_only_policy()
{
	Pair p;
	CHECK(make_pair(p, 6, 6, ctx::Delegate));
	Bytes spki;
	CHECK(key("rsa2048", spki));
	p.client.params = params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, 0, 0, NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION);
	run(p);
	CHECK(p.client.error == Error::PolicyNtlmOnly);
	CHECK(!p.server.complete);
	return true;
}

bool min_version_refuses_downgrade()
{
	Pair p;
	CHECK(make_pair(p, 6, 3, 0));
	Bytes spki;
	CHECK(key("rsa2048", spki));
	p.client.params = params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO, 5, 6);
	run(p);
	CHECK(p.client.error == Error::Unsupported);
	return true;
}

bool no_key()
{
	Pair p;
	CHECK(make_pair(p, 6, 6, 0));
	p.client.params.clear();
	run(p);
	CHECK(p.client.error == Error::InvalidParameter);
	return true;
}

bool spk_format_and_reauth()
{
	// The key as SubjectPublicKey on the client, SPKI on the server; then re-authentication.
	Pair p;
	CHECK(make_pair(p, 6, 6, ctx::Delegate));
	Bytes spki;
	CHECK(key("rsa2048", spki));
	ByteView spk;
	CHECK(subject_public_key_from_spki(spki, spk));
	p.client.params = params(spk, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY);
	run(p);
	CHECK(p.client.complete && p.server.complete);
	// Calling again after success starts over (the key is kept).
	p.client.complete = p.server.complete = false;
	StepOutput co;
	CHECK(step(p.client, {}, co, false) == Error::None && !co.complete && !co.token.empty());
	CHECK(!p.client.ctx->established());
	StepOutput so;
	CHECK(step(p.server, co.token, so, false) == Error::None && !so.complete);
	return true;
}

// An inner mechanism that fails where it is told to (the Kerberos-only statuses pass through).
class FailingInner final : public SecurityContext {
public:
	explicit FailingInner(Error e) : e_(e) {}
	Error step(const StepInput&, StepOutput&) override { return e_; }
	[[nodiscard]] bool established() const noexcept override { return false; }
	[[nodiscard]] ContextFlags flags() const noexcept override { return 0; }
	[[nodiscard]] PackageId package() const noexcept override { return PackageId::Kerberos; }
	[[nodiscard]] Sizes sizes() const noexcept override { return {}; }

private:
	Error e_;
};

bool inner_errors_pass_through()
{
	Bytes spki;
	CHECK(key("rsa2048", spki));
	const Bytes prm = params(spki, NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO);
	for (Error want : {Error::NoAuthority, Error::WrongPrincipal, Error::TargetUnknown, Error::TimeSkew,
	                   Error::NoCredentials, Error::PackageUnavailable}) {
		for (bool at_create : {true, false}) {
			Error e = Error::Internal;
			ContextPtr c = create_context(
			    Role::Initiator, client_cred(),
			    [want, at_create](Role, const CredentialPtr&, Error& err) -> ContextPtr {
				    if (at_create) {
					    err = want;
					    return nullptr;
				    }
				    return std::make_unique<FailingInner>(want);
			    },
			    e);
			CHECK(c);
			StepInput in;
			in.target = u"TERMSRV/host";
			in.package_params = prm;
			StepOutput out;
			CHECK(c->step(in, out) == want);
			CHECK(out.token.empty());
		}
	}
	// A factory that fails without saying why is an internal error.
	Error e = Error::None;
	ContextPtr c = create_context(
	    Role::Initiator, client_cred(), [](Role, const CredentialPtr&, Error&) -> ContextPtr { return nullptr; }, e);
	CHECK(c);
	StepInput in;
	in.package_params = prm;
	StepOutput out;
	CHECK(c->step(in, out) == Error::Internal);
	return true;
}

bool ntstatus_mapping()
{
	CHECK(ntstatus_to_error(0xC000006Du) == Error::LogonDenied);
	CHECK(ntstatus_to_error(0xC00700EAu) == Error::LogonDenied);
	CHECK(ntstatus_to_error(0xC0000071u) == Error::PasswordExpired);
	CHECK(ntstatus_to_error(0xC0000224u) == Error::PasswordExpired);
	CHECK(ntstatus_to_error(0xC0000133u) == Error::TimeSkew);
	CHECK(ntstatus_to_error(0xC000005Eu) == Error::NoAuthority);
	CHECK(ntstatus_to_error(0x12345678u) == Error::LogonDenied);
	for (Error e : {Error::LogonDenied, Error::PasswordExpired, Error::TimeSkew, Error::NoAuthority,
	                Error::DowngradeDetected, Error::MutualAuthFailed})
		CHECK(ntstatus_to_error(error_to_ntstatus(e)) == e);
	CHECK(error_to_ntstatus(Error::MessageAltered) == 0xC000006Du);
	// An account that may not log on: each NTSTATUS (as Windows' CredSSP sends it) and each Win32
	// error a FreeRDP server with nlassp wraps (NTSTATUS_FROM_WIN32) is its own Error, both ways.
	const struct {
		uint32_t status, freerdp;
		Error error;
	} accounts[] = {
	    {0xC0000072u, 0xC0070533u, Error::AccountDisabled},  {0xC0000234u, 0xC0070775u, Error::AccountLockedOut},
	    {0xC0000193u, 0xC0070701u, Error::AccountExpired},   {0xC000006Eu, 0xC007052Fu, Error::AccountRevoked},
	    {0xC000006Fu, 0xC0070530u, Error::InvalidLogonHours}, {0xC0000070u, 0xC0070531u, Error::InvalidWorkstation},
	};
	for (const auto& a : accounts) {
		CHECK(ntstatus_to_error(a.status) == a.error);
		CHECK(ntstatus_to_error(a.freerdp) == a.error);
		CHECK(error_to_ntstatus(a.error) == a.status);
		CHECK(0xC0070000u + (sspi::to_win32_error(a.error) & 0xFFFFu) == a.freerdp);
	}
	return true;
}

// A FreeRDP server whose SspiModule is nlassp answers a failed AcceptSecurityContext with
// NTSTATUS_FROM_WIN32(GetLastError()) (nla.c), GetLastError() being sspi::to_win32_error of the
// failure: every such code has a name, and a wrong password reads as a refused logon.
bool freerdp_server_codes_are_named()
{
	CHECK(ntstatus_to_error(0xC007052Eu) == Error::LogonDenied);
	CHECK(std::string(ntstatus_name(0xC007052Eu)) == "FreeRDP server: ERROR_LOGON_FAILURE");
	const std::string unnamed = ntstatus_name(0x12345678u);
	for (uint32_t i = 1; i <= static_cast<uint32_t>(Error::NotEstablished); ++i) {
		const uint32_t win32 = sspi::to_win32_error(static_cast<Error>(i));
		if (win32 == ERROR_PASSWORD_EXPIRED)
			continue;   // nla.c sends STATUS_PASSWORD_EXPIRED for this one
		const uint32_t status = 0xC0070000u | (win32 & 0xFFFFu);
		if (ntstatus_name(status) == unnamed) {
			std::fprintf(stderr, "Error %u: 0x%08X has no name\n", i, status);
			return false;
		}
	}
	CHECK(ntstatus_to_error(0xC0070576u) == Error::TimeSkew);
	CHECK(ntstatus_to_error(0xC007051Fu) == Error::NoAuthority);
	return true;
}

} // namespace

static void test_every_version_pair_with_and_without_delegation(void**) { assert_true(every_version_pair()); }
static void test_man_in_the_middle_caught_v2(void**) { assert_true(different_keys_caught(2)); }
static void test_man_in_the_middle_caught_v4(void**) { assert_true(different_keys_caught(4)); }
static void test_man_in_the_middle_caught_v5(void**) { assert_true(different_keys_caught(5)); }
static void test_man_in_the_middle_caught_v6(void**) { assert_true(different_keys_caught(6)); }
static void test_tampered_client_pub_key_auth(void**)
{
	assert_true(tampered_client_pub_key_auth(3));
	assert_true(tampered_client_pub_key_auth(6));
}
static void test_tampered_server_pub_key_auth(void**)
{
	assert_true(tampered_server_pub_key_auth(3));
	assert_true(tampered_server_pub_key_auth(6));
}
static void test_tampered_client_nonce(void**) { assert_true(tampered_nonce()); }
static void test_freerdp_echo_defect_strict_and_tolerated(void**) { assert_true(freerdp_echo_defect()); }
static void test_wrong_echo_or_hash_is_a_man_in_the_middle(void**) { assert_true(lying_server()); }
static void test_refusals_without_and_with_error_code(void**) { assert_true(refusals()); }
static void test_freerdp_repeated_final_nego_token(void**) { assert_true(freerdp_repeats_final_token()); }
static void test_wrong_password_error_code_per_version(void**)
{
	for (uint32_t v = 2; v <= 6; ++v)
		assert_true(wrong_password(v));
}
static void test_split_ts_request_incomplete_until_whole(void**) { assert_true(split_everywhere()); }
static void test_policy_and_parameter_statuses(void**) { assert_true(policy_statuses()); }
static void test_ntlm_only_delegation_policy(void**) { assert_true(ntlm_only_policy()); }
static void test_min_version_refuses_downgrade(void**) { assert_true(min_version_refuses_downgrade()); }
static void test_no_key_is_invalid_parameter(void**) { assert_true(no_key()); }
static void test_subject_public_key_format_and_reauthentication(void**) { assert_true(spk_format_and_reauth()); }
static void test_ntstatus_mapping(void**) { assert_true(ntstatus_mapping()); }
static void test_freerdp_server_codes_are_named(void**) { assert_true(freerdp_server_codes_are_named()); }
static void test_inner_errors_pass_through(void**) { assert_true(inner_errors_pass_through()); }

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_version_pair_with_and_without_delegation),
		cmocka_unit_test(test_man_in_the_middle_caught_v2),
		cmocka_unit_test(test_man_in_the_middle_caught_v4),
		cmocka_unit_test(test_man_in_the_middle_caught_v5),
		cmocka_unit_test(test_man_in_the_middle_caught_v6),
		cmocka_unit_test(test_tampered_client_pub_key_auth),
		cmocka_unit_test(test_tampered_server_pub_key_auth),
		cmocka_unit_test(test_tampered_client_nonce),
		cmocka_unit_test(test_freerdp_echo_defect_strict_and_tolerated),
		cmocka_unit_test(test_wrong_echo_or_hash_is_a_man_in_the_middle),
		cmocka_unit_test(test_refusals_without_and_with_error_code),
		cmocka_unit_test(test_freerdp_repeated_final_nego_token),
		cmocka_unit_test(test_wrong_password_error_code_per_version),
		cmocka_unit_test(test_split_ts_request_incomplete_until_whole),
		cmocka_unit_test(test_policy_and_parameter_statuses),
		cmocka_unit_test(test_ntlm_only_delegation_policy),
		cmocka_unit_test(test_min_version_refuses_downgrade),
		cmocka_unit_test(test_no_key_is_invalid_parameter),
		cmocka_unit_test(test_subject_public_key_format_and_reauthentication),
		cmocka_unit_test(test_ntstatus_mapping),
		cmocka_unit_test(test_freerdp_server_codes_are_named),
		cmocka_unit_test(test_inner_errors_pass_through),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
