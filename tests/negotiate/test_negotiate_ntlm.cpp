// Negotiate over the real NTLM mechanism (plugin/ntlm), initiator <-> acceptor in process, the
// acceptor reading a SAM file: the spnego.json token shapes, both mechListMICs and the RC4
// reset after them (sealing then works with sequence number 1), a Kerberos that cannot start
// falling back to NTLM, a wrong password, and a raw NTLM client under Negotiate; over HTTP (an RD
// Gateway), the initiator completing with its AUTHENTICATE and the acceptor's final token, if
// passed after all, leaving both sealing states right.
#include "negotiate/context.h"
#include "negotiate/messages.h"
#include "ntlm/crypto.h"
#include "ntlm/ntlm.h"
#include "wire/utf16.h"

#include "check.h"
#include "fake_mech.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
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

namespace {

Mechanism ntlm_mechanism()
{
	Mechanism m;
	m.id = PackageId::Ntlm;
	m.oid.assign(oid::ntlmssp().begin(), oid::ntlmssp().end());
	m.create = [](Role role, const CredentialPtr& cred, Error& err) { return ntlm::create_context(role, cred, err); };
	return m;
}

// A Kerberos stand-in that fails before its first token, as Kerberos does without a KDC.
Mechanism broken_kerberos()
{
	test::FakeConfig c;
	c.id = PackageId::Kerberos;
	c.fail_step = 0;
	c.fail_error = Error::NoAuthority;
	return test::fake_mechanism(c, std::make_shared<test::FakeStats>(), oid::kerberos());
}

struct Fixture {
	std::string sam_path;
	ContextPtr init, acc;
	std::vector<Bytes> tokens;
	Error init_error = Error::None, acc_error = Error::None;
	Bytes last_acc_output;

	~Fixture()
	{
		if (!sam_path.empty())
			::unlink(sam_path.c_str());
	}
};

bool write_sam(Fixture& f)
{
	SecretBytes nt;
	CHECK(ntlm::ntowf_v1(wire::utf16le_bytes(u"Passw0rd!"), nt) == Error::None);
	char path[] = "/tmp/nlassp-nego-sam-XXXXXX";
	const int fd = ::mkstemp(path);
	CHECK(fd >= 0);
	f.sam_path = path;
	const std::string line = "alice:LAB::" + to_hex(nt.view()) + ":::\n";
	const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
	::close(fd);
	CHECK(written);
	return true;
}

CredentialPtr client_cred(const std::u16string& password, const std::string& package_list = "")
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Negotiate;
	c->use = CredentialUse::Outbound;
	Identity id;
	id.user = u"alice";
	id.domain = u"LAB";
	id.password.assign(wire::utf16le_bytes(password));
	id.has_password = true;
	id.package_list = package_list;
	c->identity = std::move(id);
	c->workstation = u"WS1";
	return c;
}

CredentialPtr server_cred(const Fixture& f)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Negotiate;
	c->use = CredentialUse::Inbound;
	c->ntlm_users = ntlm::make_sam_file_store(f.sam_path);
	return c;
}

std::u16string g_target = u"TERMSRV/server.lab";

StepInput input(ByteView token)
{
	StepInput in;
	in.token = token;
	in.requested = ctx::MutualAuth | ctx::Confidentiality;
	in.target = g_target;
	return in;
}

bool setup_pair(Fixture& f, const std::u16string& password, std::vector<Mechanism> client_mechs)
{
	CHECK(write_sam(f));
	Error e = Error::Internal;
	f.init = create_context(Role::Initiator, client_cred(password), std::move(client_mechs), e);
	CHECK(f.init && e == Error::None);
	f.acc = create_context(Role::Acceptor, server_cred(f), {ntlm_mechanism()}, e);
	CHECK(f.acc && e == Error::None);
	return true;
}

// The credssp_auth.c loop; true when both sides completed.
bool run(Fixture& f)
{
	StepOutput o;
	f.init_error = f.init->step(input({}), o);
	if (f.init_error != Error::None)
		return false;
	bool init_done = o.complete, acc_done = false;
	Bytes to_acc = std::move(o.token);
	while (!to_acc.empty() && f.tokens.size() < 10) {
		f.tokens.push_back(to_acc);
		o = StepOutput{};
		f.acc_error = f.acc->step(input(to_acc), o);
		f.last_acc_output = o.token;
		if (f.acc_error != Error::None)
			return false;
		acc_done = o.complete;
		to_acc.clear();
		if (o.token.empty())
			break;
		f.tokens.push_back(o.token);
		Bytes to_init = std::move(o.token);
		o = StepOutput{};
		f.init_error = f.init->step(input(to_init), o);
		if (f.init_error != Error::None)
			return false;
		init_done = o.complete;
		to_acc = std::move(o.token);
	}
	return init_done && acc_done;
}

bool seal_across(SecurityContext& from, SecurityContext& to, uint8_t expected_seq)
{
	const Bytes plain = {'p', 'u', 'b', 'K', 'e', 'y', 'A', 'u', 't', 'h'};
	Bytes data = plain, token;
	MessageBuffer out{MessageBufferKind::Data, data};
	CHECK(from.encrypt(std::span<MessageBuffer>(&out, 1), token) == Error::None);
	CHECK(token.size() == from.sizes().security_trailer);
	CHECK(data != plain);
	CHECK(token.size() == 16 && token[12] == expected_seq);
	MessageBuffer in{MessageBufferKind::Data, data};
	CHECK(to.decrypt(std::span<MessageBuffer>(&in, 1), token) == Error::None);
	CHECK(data == plain);
	return true;
}

bool spnego_over_ntlm(Fixture& f)
{
	CHECK(setup_pair(f, u"Passw0rd!", {ntlm_mechanism()}));
	CHECK(run(f));
	CHECK(f.tokens.size() == 4);
	// The same shapes as the MIT/gss-ntlmssp exchange in spnego.json.
	NegotiationToken t;
	CHECK(decode_negotiation_token(f.tokens[0], t) && t.kind == NegotiationToken::Kind::Init);
	CHECK(t.init.mech_types.size() == 1 && oid::equal(t.init.mech_types[0], oid::ntlmssp()));
	CHECK(t.init.mech_token && is_raw_ntlmssp(*t.init.mech_token) && (*t.init.mech_token)[8] == 1);
	CHECK(decode_negotiation_token(f.tokens[1], t) && t.kind == NegotiationToken::Kind::Resp);
	CHECK(t.resp.neg_state == NegState::AcceptIncomplete && t.resp.supported_mech);
	CHECK(t.resp.response_token && (*t.resp.response_token)[8] == 2);
	CHECK(decode_negotiation_token(f.tokens[2], t));
	CHECK(t.resp.neg_state == NegState::AcceptIncomplete && t.resp.response_token);
	CHECK((*t.resp.response_token)[8] == 3);
	CHECK(t.resp.mech_list_mic && t.resp.mech_list_mic->size() == 16);
	CHECK(decode_negotiation_token(f.tokens[3], t));
	CHECK(t.resp.neg_state == NegState::AcceptCompleted && !t.resp.response_token);
	CHECK(t.resp.mech_list_mic && t.resp.mech_list_mic->size() == 16);

	CHECK(f.init->established() && f.acc->established());
	CHECK(f.init->package() == PackageId::Ntlm && f.acc->package() == PackageId::Ntlm);
	ContextNames names;
	CHECK(f.acc->names(names) == Error::None);
	CHECK(names.user == u"alice" && names.domain == u"LAB");
	SecretBytes k1, k2;
	CHECK(f.init->session_key(k1) == Error::None && f.acc->session_key(k2) == Error::None);
	CHECK(k1.size() == 16 && constant_time_equal(k1.view(), k2.view()));
	CHECK(f.init->sizes().max_token >= kNegotiateMaxToken);
	// After the MICs (sequence 0) both RC4 states were reset: CredSSP's next message is 1.
	CHECK(seal_across(*f.init, *f.acc, 1));
	CHECK(seal_across(*f.acc, *f.init, 1));
	CHECK(seal_across(*f.init, *f.acc, 2));
	return true;
}

// An RD Gateway: HTTP/<gateway>. The initiator completes when its AUTHENTICATE (and MIC) goes
// out, and its sealing state is that of an exchange with both MICs for what it sends; the
// acceptor's final token, passed after all, is verified and puts the receiving side right too.
bool http_completes_with_authenticate(Fixture& f)
{
	g_target = u"HTTP/gw.lab";
	CHECK(setup_pair(f, u"Passw0rd!", {ntlm_mechanism()}));
	StepOutput o;
	CHECK(f.init->step(input({}), o) == Error::None && !o.complete);
	Bytes negotiate_msg = std::move(o.token);
	o = StepOutput{};
	CHECK(f.acc->step(input(negotiate_msg), o) == Error::None && !o.complete);
	Bytes challenge = std::move(o.token);
	o = StepOutput{};
	CHECK(f.init->step(input(challenge), o) == Error::None);
	CHECK(o.complete && f.init->established());   // SEC_E_OK with the AUTHENTICATE
	NegotiationToken t;
	CHECK(decode_negotiation_token(o.token, t) && t.kind == NegotiationToken::Kind::Resp);
	CHECK(t.resp.response_token && (*t.resp.response_token)[8] == 3 && t.resp.mech_list_mic);
	Bytes authenticate = std::move(o.token);
	o = StepOutput{};
	CHECK(f.acc->step(input(authenticate), o) == Error::None && o.complete);   // the acceptor accepts it
	Bytes final_token = std::move(o.token);
	// What the initiator sends seals as after a full exchange (its MIC was sequence 0).
	CHECK(seal_across(*f.init, *f.acc, 1));
	// The acceptor's final token, if a caller passes it: verified, nothing more to send.
	o = StepOutput{};
	CHECK(f.init->step(input(final_token), o) == Error::None);
	CHECK(o.complete && o.token.empty() && f.init->established());
	CHECK(seal_across(*f.acc, *f.init, 1));
	CHECK(seal_across(*f.init, *f.acc, 2));
	// A token after that is one too many.
	o = StepOutput{};
	CHECK(f.init->step(input(final_token), o) == Error::InvalidToken);
	return true;
}

// The same for NLA (TERMSRV/): the initiator waits for the acceptor's final token.
bool nla_waits_for_the_final_token(Fixture& f)
{
	g_target = u"TERMSRV/server.lab";
	CHECK(setup_pair(f, u"Passw0rd!", {ntlm_mechanism()}));
	StepOutput o;
	CHECK(f.init->step(input({}), o) == Error::None);
	Bytes token = std::move(o.token);
	o = StepOutput{};
	CHECK(f.acc->step(input(token), o) == Error::None);
	token = std::move(o.token);
	o = StepOutput{};
	CHECK(f.init->step(input(token), o) == Error::None);
	CHECK(!o.complete && !f.init->established() && !o.token.empty());
	return true;
}

bool kerberos_unusable_falls_back_to_ntlm(Fixture& f)
{
	CHECK(setup_pair(f, u"Passw0rd!", {broken_kerberos(), ntlm_mechanism()}));
	CHECK(run(f));
	NegotiationToken t;
	CHECK(decode_negotiation_token(f.tokens[0], t) && t.kind == NegotiationToken::Kind::Init);
	CHECK(t.init.mech_types.size() == 1 && oid::equal(t.init.mech_types[0], oid::ntlmssp()));
	CHECK(seal_across(*f.init, *f.acc, 1));
	return true;
}

bool wrong_password_is_logon_denied(Fixture& f)
{
	CHECK(setup_pair(f, u"wrong", {ntlm_mechanism()}));
	CHECK(!run(f));
	CHECK(f.acc_error == Error::LogonDenied);
	CHECK(!f.acc->established());
	NegotiationToken t;
	CHECK(decode_negotiation_token(f.last_acc_output, t) && t.kind == NegotiationToken::Kind::Resp);
	CHECK(t.resp.neg_state == NegState::Reject);
	StepOutput o;
	CHECK(f.init->step(input(f.last_acc_output), o) == Error::LogonDenied);
	return true;
}

// A client speaking NTLM directly (as WinPR's Negotiate does when NTLM is its only mechanism).
bool raw_ntlm_client(Fixture& f)
{
	CHECK(write_sam(f));
	Error e = Error::Internal;
	auto cred = std::make_shared<Credential>(*client_cred(u"Passw0rd!"));
	cred->package = PackageId::Ntlm;
	f.init = ntlm::create_context(Role::Initiator, cred, e);
	CHECK(f.init && e == Error::None);
	f.acc = create_context(Role::Acceptor, server_cred(f), {broken_kerberos(), ntlm_mechanism()}, e);
	CHECK(f.acc && e == Error::None);
	CHECK(run(f));
	CHECK(f.tokens.size() == 3);
	for (const Bytes& token : f.tokens)
		CHECK(is_raw_ntlmssp(token));
	CHECK(f.acc->package() == PackageId::Ntlm);
	// No SPNEGO, so no mechListMIC and no reset: sealing starts at sequence 0.
	CHECK(seal_across(*f.init, *f.acc, 0));
	CHECK(seal_across(*f.acc, *f.init, 0));
	ContextNames names;
	CHECK(f.acc->names(names) == Error::None && names.user == u"alice");
	return true;
}

int setup(void** state)
{
	*state = new Fixture();
	return 0;
}
int teardown(void** state)
{
	g_target = u"TERMSRV/server.lab";
	delete static_cast<Fixture*>(*state);
	return 0;
}
Fixture& fx(void** state)
{
	return *static_cast<Fixture*>(*state);
}

} // namespace

static void test_spnego_over_ntlm(void** s) { assert_true(spnego_over_ntlm(fx(s))); }
static void test_kerberos_unusable_falls_back_to_ntlm(void** s) { assert_true(kerberos_unusable_falls_back_to_ntlm(fx(s))); }
static void test_wrong_password_is_logon_denied(void** s) { assert_true(wrong_password_is_logon_denied(fx(s))); }
static void test_raw_ntlm_client(void** s) { assert_true(raw_ntlm_client(fx(s))); }
static void test_http_completes_with_authenticate(void** s) { assert_true(http_completes_with_authenticate(fx(s))); }
static void test_nla_waits_for_the_final_token(void** s) { assert_true(nla_waits_for_the_final_token(fx(s))); }

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_spnego_over_ntlm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kerberos_unusable_falls_back_to_ntlm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_password_is_logon_denied, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_raw_ntlm_client, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_http_completes_with_authenticate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nla_waits_for_the_final_token, setup, teardown),
	};
	return cmocka_run_group_tests_name("negotiate_ntlm", tests, nullptr, nullptr);
}
