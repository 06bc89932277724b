// plugin/credssp, Remote Credential Guard (NLASSP_CREDSSP_REMOTE_GUARD): a CREDSSP initiator and
// acceptor in process. The inner mechanism is the real Negotiate + NTLM wrapped so that it reports
// Kerberos and hands out a scripted KERB_TICKET_LOGON (the real Kerberos ticket logon is checked
// against a KDC in tests/interop/test_remote_guard.cpp and end to end in tests/e2e/remote_guard.sh).
//   - the acceptor receives TSCredentials credType 6 whose logonCred ("Kerberos") decodes to the
//     very KERB_TICKET_LOGON the inner context gave; supplementalCreds is absent, or with
//     NLASSP_CREDSSP_REMOTE_GUARD_FREERDP_COMPAT one keyless NTLM credential; no password is in
//     the TSCredentials, and none is needed;
//   - a ticket-logon failure (a TGT that cannot be forwarded) passes through and nothing is sent;
//   - after an NTLM logon: Error::Unsupported, nothing sent.
//
// Checks run in bool helpers (destructors run); CMocka bodies only assert.
#include "credssp/context.h"
#include "credssp/credssp.h"
#include "credssp/messages.h"
#include "kerberos/ticket_logon.h"
#include "negotiate/messages.h"
#include "negotiate/negotiate.h"
#include "nlassp/credssp.h"
#include "ntlm/crypto.h"
#include "ntlm/ntlm.h"
#include "support/vectors.h"
#include "wire/utf16.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

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

#define CHECK(expr)                                                                       \
	do {                                                                                  \
		if (!(expr)) {                                                                    \
			std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
			return false;                                                                 \
		}                                                                                 \
	} while (0)

namespace {

constexpr char16_t kPassword[] = u"Passw0rd!";
const Bytes kTicket = {0x61, 0x05, 0x30, 0x03, 0x02, 0x01, 0x05};
const Bytes kKrbCred = {0x76, 0x06, 0x30, 0x04, 0x02, 0x02, 0x01, 0x00};

class MemoryStore final : public NtlmUserStore {
public:
	Error lookup(const NtlmLookup& who, NtlmAccount& account) const override
	{
		if (who.user != u"alice")
			return Error::LogonDenied;
		account.user = u"alice";
		account.domain = u"LAB";
		return ntlm::ntowf_v1(wire::utf16le_bytes(kPassword), account.key);
	}
};

ContextPtr ntlm_negotiate(Role role, const CredentialPtr& cred, Error& err)
{
	negotiate::Mechanism m;
	m.id = PackageId::Ntlm;
	m.oid.assign(negotiate::oid::ntlmssp().begin(), negotiate::oid::ntlmssp().end());
	m.create = [](Role r, const CredentialPtr& c, Error& e) { return ntlm::create_context(r, c, e); };
	return negotiate::create_context(role, cred, {m}, err);
}

// The real NTLM Negotiate, reporting Kerberos and answering ticket_logon() as scripted.
class KerberosLike final : public SecurityContext {
public:
	KerberosLike(ContextPtr inner, Error answer) : inner_(std::move(inner)), answer_(answer) {}
	Error step(const StepInput& in, StepOutput& out) override { return inner_->step(in, out); }
	[[nodiscard]] bool established() const noexcept override { return inner_->established(); }
	[[nodiscard]] ContextFlags flags() const noexcept override { return inner_->flags(); }
	[[nodiscard]] PackageId package() const noexcept override { return PackageId::Kerberos; }
	[[nodiscard]] Sizes sizes() const noexcept override { return inner_->sizes(); }
	Error encrypt(std::span<MessageBuffer> msg, Bytes& token) override { return inner_->encrypt(msg, token); }
	Error decrypt(std::span<MessageBuffer> msg, ByteView token) override { return inner_->decrypt(msg, token); }
	Error session_key(SecretBytes& key) const override { return inner_->session_key(key); }
	Error names(ContextNames& n) const override { return inner_->names(n); }
	Error ticket_logon(TicketLogon& out) override
	{
		if (answer_ != Error::None)
			return answer_;
		out.flags = kerberos::kLogonFlagRedirected;
		out.service_ticket = SecretBytes(ByteView(kTicket));
		out.ticket_granting_ticket = SecretBytes(ByteView(kKrbCred));
		return Error::None;
	}

private:
	ContextPtr inner_;
	Error answer_;
};

CredentialPtr client_cred(bool with_password)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::CredSsp;
	c->use = CredentialUse::Outbound;
	Identity id;
	id.user = u"alice";
	id.domain = u"LAB";
	// NTLM needs the password to authenticate here; Remote Credential Guard must not send it.
	if (with_password) {
		id.password.assign(wire::utf16le_bytes(kPassword));
		id.has_password = true;
	}
	c->identity = std::move(id);
	return c;
}

CredentialPtr server_cred()
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::CredSsp;
	c->use = CredentialUse::Inbound;
	c->ntlm_users = std::make_shared<MemoryStore>();
	return c;
}

Bytes params(ByteView spki, uint32_t flags)
{
	NLASSP_CREDSSP_PARAMS p{};
	p.cbSize = sizeof(p);
	p.Version = NLASSP_CREDSSP_PARAMS_VERSION;
	p.Flags = flags;
	p.KeyFormat = NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO;
	p.PublicKeyOffset = sizeof(p);
	p.PublicKeyLength = static_cast<uint32_t>(spki.size());
	Bytes b(sizeof(p) + spki.size());
	std::memcpy(b.data(), &p, sizeof(p));
	std::memcpy(b.data() + sizeof(p), spki.data(), spki.size());
	return b;
}

struct Outcome {
	Error client = Error::Internal;
	Error server = Error::Internal;
	bool server_done = false;
	Bytes last_client_token;      // what the client sent last (nothing on a refusal)
	DelegatedCredentials received;
	Info client_info, server_info;
};

// One CREDSSP login; the client's inner context is KerberosLike(answer) unless `plain_ntlm`.
bool login(uint32_t client_flags, Error answer, bool plain_ntlm, Outcome& o)
{
	Bytes spki;
	CHECK(test::vector_hex("ms-cssp.json", "binding_hash.keys.rsa2048.SubjectPublicKeyInfo", spki));
	Error e = Error::Internal;
	ContextPtr client = create_context(
	    Role::Initiator, client_cred(true),
	    [answer, plain_ntlm](Role r, const CredentialPtr& c, Error& err) -> ContextPtr {
		    ContextPtr n = ntlm_negotiate(r, c, err);
		    if (!n || plain_ntlm)
			    return n;
		    return std::make_unique<KerberosLike>(std::move(n), answer);
	    },
	    e);
	CHECK(client && e == Error::None);
	ContextPtr server = create_context(Role::Acceptor, server_cred(), ntlm_negotiate, e);
	CHECK(server && e == Error::None);
	const Bytes cp = params(spki, client_flags), sp = params(spki, 0);
	StepInput ci, si;
	ci.requested = ctx::MutualAuth | ctx::Confidentiality | ctx::Delegate;
	ci.target = u"TERMSRV/server.lab";
	ci.package_params = cp;
	si.requested = ctx::MutualAuth | ctx::Confidentiality | ctx::ExtendedError;
	si.package_params = sp;
	StepOutput co, so;
	o.client = client->step(ci, co);
	ci.package_params = {};
	for (int round = 0; round < 10 && o.client == Error::None; ++round) {
		o.last_client_token = co.token;
		if (co.token.empty())
			break;
		si.token = co.token;
		o.server = server->step(si, so);
		si.package_params = {};
		if (o.server != Error::None || so.complete) {
			o.server_done = so.complete;
			break;
		}
		ci.token = so.token;
		o.client = client->step(ci, co);
		if (o.client != Error::None)
			o.last_client_token.clear();
	}
	if (auto i = query_info(*client))
		o.client_info = *i;
	if (auto i = query_info(*server))
		o.server_info = *i;
	if (o.server_done)
		CHECK(query_delegated_credentials(*server, o.received) == Error::None);
	return true;
}

bool no_password_inside(ByteView raw)
{
	const Bytes pw = wire::utf16le_bytes(kPassword);
	return std::search(raw.begin(), raw.end(), pw.begin(), pw.end()) == raw.end();
}

bool ticket_logon_sent(bool compat)
{
	Outcome o;
	const uint32_t flags = NLASSP_CREDSSP_REMOTE_GUARD | (compat ? NLASSP_CREDSSP_REMOTE_GUARD_FREERDP_COMPAT : 0u);
	CHECK(login(flags, Error::None, false, o));
	CHECK(o.client == Error::None && o.server == Error::None && o.server_done);
	CHECK(o.client_info.remote_guard && o.client_info.delegated);
	CHECK(o.server_info.remote_guard && o.server_info.delegated);
	CHECK(o.received.cred_type == NLASSP_CREDSSP_CRED_REMOTE_GUARD && !o.received.empty);
	CHECK(no_password_inside(o.received.raw.view()));
	TsRemoteGuardCreds rg;
	CHECK(decode_ts_remote_guard_creds(o.received.raw.view(), rg));
	CHECK(rg.logon_cred.package_name == wire::utf16le_bytes(u"Kerberos"));
	TicketLogon t;
	CHECK(kerberos::decode_ticket_logon(rg.logon_cred.cred_buffer.view(), t) == Error::None);
	CHECK(t.flags == kerberos::kLogonFlagRedirected);
	CHECK(t.service_ticket.view().size() == kTicket.size() &&
	      std::equal(kTicket.begin(), kTicket.end(), t.service_ticket.data()));
	CHECK(t.ticket_granting_ticket.view().size() == kKrbCred.size() &&
	      std::equal(kKrbCred.begin(), kKrbCred.end(), t.ticket_granting_ticket.data()));
	if (!compat) {
		CHECK(!rg.has_supplemental && rg.supplemental_creds.empty());
		return true;
	}
	// One NTLM credential carrying no key: version 0xffff0002, InvalidCredKey, no EncryptedCreds.
	CHECK(rg.has_supplemental && rg.supplemental_creds.size() == 1);
	CHECK(rg.supplemental_creds[0].package_name == wire::utf16le_bytes(u"NTLM"));
	Bytes want;
	CHECK(from_hex("0200ffff00000000" "0000000000000000000000000000000000000000" "00000000" "00000000", want));
	const ByteView got = rg.supplemental_creds[0].cred_buffer.view();
	CHECK(got.size() == want.size() && std::equal(want.begin(), want.end(), got.begin()));
	return true;
}

bool ticket_logon_failure_sends_nothing()
{
	for (Error want : {Error::DelegationPolicy, Error::NoCredentials, Error::TargetUnknown}) {
		Outcome o;
		CHECK(login(NLASSP_CREDSSP_REMOTE_GUARD, want, false, o));
		CHECK(o.client == want);
		CHECK(!o.server_done && o.last_client_token.empty());
	}
	return true;
}

bool ntlm_cannot_remote_guard()
{
	Outcome o;
	CHECK(login(NLASSP_CREDSSP_REMOTE_GUARD, Error::None, true, o));
	CHECK(o.client == Error::Unsupported);
	CHECK(!o.server_done && o.last_client_token.empty());
	return true;
}

bool password_delegation_unchanged()
{
	// Without the flag the same exchange delegates the password, as before.
	Outcome o;
	CHECK(login(0, Error::None, false, o));
	CHECK(o.server_done && o.received.cred_type == NLASSP_CREDSSP_CRED_PASSWORD && !o.client_info.remote_guard);
	CHECK(!no_password_inside(o.received.raw.view()));
	return true;
}

bool remote_guard_needs_no_password()
{
	// The password requirement of ISC_REQ_DELEGATE does not apply: checked before any token.
	Bytes spki;
	CHECK(test::vector_hex("ms-cssp.json", "binding_hash.keys.rsa2048.SubjectPublicKeyInfo", spki));
	for (uint32_t flags : {0u, static_cast<uint32_t>(NLASSP_CREDSSP_REMOTE_GUARD)}) {
		Error e = Error::Internal;
		ContextPtr c = create_context(Role::Initiator, client_cred(false), ntlm_negotiate, e);
		CHECK(c && e == Error::None);
		const Bytes prm = params(spki, flags);
		StepInput in;
		in.requested = ctx::MutualAuth | ctx::Confidentiality | ctx::Delegate;
		in.target = u"TERMSRV/server.lab";
		in.package_params = prm;
		StepOutput out;
		const Error got = c->step(in, out);
		// Password delegation without a password: refused up front. Remote Credential Guard gets
		// as far as the inner mechanism (NTLM without a password has no credentials).
		CHECK(flags ? got != Error::IncompleteCredentials : got == Error::IncompleteCredentials);
	}
	return true;
}

bool unknown_flag_refused()
{
	Bytes spki;
	CHECK(test::vector_hex("ms-cssp.json", "binding_hash.keys.rsa2048.SubjectPublicKeyInfo", spki));
	Params p;
	CHECK(parse_params(params(spki, NLASSP_CREDSSP_REMOTE_GUARD | NLASSP_CREDSSP_REMOTE_GUARD_FREERDP_COMPAT), p) ==
	      Error::None);
	CHECK(p.options.remote_guard && p.options.remote_guard_freerdp_compat);
	CHECK(parse_params(params(spki, 0x00000100u), p) == Error::InvalidParameter);
	return true;
}

} // namespace

static void test_ticket_logon_sent_without_supplemental(void**) { assert_true(ticket_logon_sent(false)); }
static void test_freerdp_compat_adds_keyless_ntlm(void**) { assert_true(ticket_logon_sent(true)); }
static void test_ticket_logon_failure_sends_nothing(void**) { assert_true(ticket_logon_failure_sends_nothing()); }
static void test_ntlm_logon_cannot_remote_guard(void**) { assert_true(ntlm_cannot_remote_guard()); }
static void test_password_delegation_unchanged(void**) { assert_true(password_delegation_unchanged()); }
static void test_remote_guard_needs_no_password(void**) { assert_true(remote_guard_needs_no_password()); }
static void test_params_flags(void**) { assert_true(unknown_flag_refused()); }

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticket_logon_sent_without_supplemental),
		cmocka_unit_test(test_freerdp_compat_adds_keyless_ntlm),
		cmocka_unit_test(test_ticket_logon_failure_sends_nothing),
		cmocka_unit_test(test_ntlm_logon_cannot_remote_guard),
		cmocka_unit_test(test_password_delegation_unchanged),
		cmocka_unit_test(test_remote_guard_needs_no_password),
		cmocka_unit_test(test_params_flags),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
