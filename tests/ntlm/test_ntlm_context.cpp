// plugin/ntlm/context: an NTLM initiator and acceptor talking in process through the
// SecurityContext interface — logons that succeed and fail for the right reason (names, channel
// bindings, tampering, tokens out of order, missing credentials), and the user stores an acceptor
// checks them against (SAM file, NTOWFv2 hash callback). Message protection is in
// test_ntlm_protect.cpp, hand-built and broken peers in test_ntlm_peers.cpp.
//
// Test bodies only call helpers and assert (CMocka longjmps past C++ destructors).
#include "ntlm_pair.h"

#include "ntlm/messages.h"

#include <unistd.h>

#include <cstdio>
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
using namespace nlassp::ntlm;
using namespace nlassp::test;

namespace {

bool logon_succeeds()
{
	Pair p;
	if (handshake(p) != Error::None || !p.client_complete || !p.server_complete)
		return false;
	if (!p.client->established() || !p.server->established() || p.client->package() != PackageId::Ntlm)
		return false;
	// NEGOTIATE flags as WinPR/Windows send them, with SEAL for confidentiality.
	NegotiateMessage nm;
	if (!nm.decode(p.negotiate) || nm.flags != initiator_negotiate_flags(true) || !(nm.flags & flag::Seal))
		return false;
	AuthenticateMessage am;
	if (!am.decode(p.authenticate) || !am.has_mic || !am.ntlmv2 || am.lm_response != Bytes(24, 0))
		return false;
	// The target info carries the MIC flag, zero channel bindings and the SPN.
	uint32_t avf = 0;
	const AvPair* cb = am.ntlmv2->av_pairs.find(AvId::ChannelBindings);
	const AvPair* tn = am.ntlmv2->av_pairs.find(AvId::TargetName);
	if (!am.ntlmv2->av_pairs.flags(avf) || avf != kAvFlagMicPresent || !cb || cb->value != Bytes(16, 0) || !tn ||
	    tn->value != wire::utf16le_bytes(u"TERMSRV/server.lab.test"))
		return false;
	ContextNames cn, sn;
	if (p.server->names(sn) != Error::None || sn.user != u"alice" || sn.domain != u"LAB" || sn.workstation != u"WS1")
		return false;
	if (p.client->names(cn) != Error::None || cn.user != u"alice" || cn.domain != u"LAB")
		return false;
	SecretBytes k1, k2;
	if (p.client->session_key(k1) != Error::None || p.server->session_key(k2) != Error::None || k1.size() != 16 ||
	    !constant_time_equal(k1.view(), k2.view()))
		return false;
	const ContextFlags want = ctx::Integrity | ctx::Confidentiality | ctx::SequenceDetect | ctx::ReplayDetect |
	                          ctx::Connection;
	if (p.client->flags() != want || p.server->flags() != want)
		return false;
	const Sizes s = p.client->sizes();
	if (s.max_token != 2888 || s.max_signature != 16 || s.block_size != 0 || s.security_trailer != 16)
		return false;
	// What a WinPR hash callback would get as its proof value: ServerChallenge || temp.
	ChallengeMessage cm;
	if (!cm.decode(p.challenge))
		return false;
	Bytes proof_input(cm.server_challenge.begin(), cm.server_challenge.end());
	proof_input.insert(proof_input.end(), am.nt_response.begin() + 16, am.nt_response.end());
	if (p.store->last_proof_input != proof_input)
		return false;
	// Both sides say the mechListMIC is required, and a further token is refused.
	StepInput again;
	again.token = p.authenticate;
	StepOutput out;
	return p.client->negotiation_mic_required() && p.server->negotiation_mic_required() &&
	       p.server->step(again, out) == Error::InvalidToken;
}

bool challenge_is_sane()
{
	Pair p;
	if (handshake(p) != Error::None)
		return false;
	ChallengeMessage cm;
	if (!cm.decode(p.challenge))
		return false;
	const uint32_t need = flag::Unicode | flag::Ntlm | flag::TargetInfo | flag::ExtendedSessionSecurity |
	                      flag::Seal | flag::Sign | flag::KeyExch | flag::Negotiate128 | flag::Version;
	uint64_t ts = 0;
	return (cm.flags & need) == need && !(cm.flags & flag::LmKey) && cm.target_info.timestamp(ts) &&
	       cm.target_info.find(AvId::NbComputerName) && cm.target_info.find(AvId::NbDomainName) &&
	       cm.target_info.find(AvId::DnsComputerName) && cm.target_info.find(AvId::DnsDomainName) &&
	       !cm.target_name.empty() && cm.version.has_value();
}



ChannelBindings bindings(uint8_t fill)
{
	ChannelBindings cb;
	cb.application_data.assign(32, fill);
	const char prefix[] = "tls-server-end-point:";
	cb.application_data.insert(cb.application_data.begin(), prefix, prefix + sizeof(prefix) - 1);
	return cb;
}

int logon_with_bindings(int client, int server)
{
	const ChannelBindings a = bindings(0x11), b = bindings(0x22);
	Options o;
	o.client_bindings = client == 0 ? nullptr : (client == 1 ? &a : &b);
	o.server_bindings = server == 0 ? nullptr : (server == 1 ? &a : &b);
	return logon_with(o);
}

int logon_wrong_password()
{
	Options o;
	o.password = u"wrong";
	return logon_with(o);
}

int logon_unknown_user()
{
	Options o;
	o.user = u"mallory";
	return logon_with(o);
}

int logon_split_user(const char16_t* user)
{
	Options o;
	o.user = user;
	o.domain.clear();
	Pair p;
	const Error e = handshake(p, o);
	if (e != Error::None)
		return code(e);
	ContextNames n;
	if (p.server->names(n) != Error::None || n.user != u"alice" || n.domain != u"LAB")
		return -1;
	return kOk;
}

int logon_tampered(size_t offset)
{
	Options o;
	o.tamper_authenticate = [offset](Bytes& b) {
		if (offset < b.size())
			b[offset] ^= 0x01;
	};
	return logon_with(o);
}

int authenticate_first()
{
	// An acceptor that gets AUTHENTICATE (from another exchange) as its first token.
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	Pair q;
	if (!make_pair(q, Options{}))
		return -1;
	StepInput in;
	in.token = p.authenticate;
	StepOutput out;
	return code(q.server->step(in, out));
}

int challenge_to_acceptor_first()
{
	Pair p;
	if (handshake(p) != Error::None)
		return -1;
	Pair q;
	if (!make_pair(q, Options{}))
		return -1;
	StepInput in;
	in.token = p.challenge;
	StepOutput out;
	return code(q.server->step(in, out));
}

int negotiate_to_initiator()
{
	// An initiator that gets a NEGOTIATE where the CHALLENGE belongs.
	Pair p;
	if (!make_pair(p, Options{}))
		return -1;
	StepInput in;
	StepOutput out;
	if (p.client->step(in, out) != Error::None)
		return -1;
	StepInput in2;
	in2.token = out.token;
	StepOutput out2;
	return code(p.client->step(in2, out2));
}

int negotiate_twice_to_acceptor()
{
	Pair p;
	if (!make_pair(p, Options{}))
		return -1;
	StepInput in;
	StepOutput out;
	if (p.client->step(in, out) != Error::None)
		return -1;
	StepInput s;
	s.token = out.token;
	StepOutput so;
	if (p.server->step(s, so) != Error::None)
		return -1;
	return code(p.server->step(s, so));
}

int no_credentials(Role role)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Ntlm;
	c->use = role == Role::Initiator ? CredentialUse::Outbound : CredentialUse::Inbound;
	Error e = Error::None;
	ContextPtr ctx = create_context(role, c, e);
	if (ctx)
		return -1;
	// An identity without a password is not enough for an initiator either.
	if (role == Role::Initiator) {
		Identity id;
		id.user = u"alice";
		c->identity = id;
		Error e2 = Error::None;
		if (create_context(role, c, e2) || e2 != Error::NoCredentials)
			return -1;
	}
	return code(e);
}

int failed_context_stays_failed()
{
	Options o;
	o.password = u"wrong";
	Pair p;
	if (handshake(p, o) != Error::LogonDenied)
		return -1;
	Bytes tok;
	SecretBytes key;
	ContextNames n;
	if (p.server->session_key(key) != Error::NotEstablished || p.server->names(n) != Error::NotEstablished)
		return -1;
	const Bytes data = {1, 2, 3};
	Bytes copy = data;
	const MessageBuffer b{MessageBufferKind::Data, MutableByteView(copy)};
	return code(p.server->sign(std::span<const MessageBuffer>(&b, 1), tok));
}

// ---- SAM file store ---------------------------------------------------------------------------

struct TempFile {
	std::string path;
	explicit TempFile(const std::string& content)
	{
		char tmpl[] = "/tmp/nlassp-sam-XXXXXX";
		const int fd = mkstemp(tmpl);
		if (fd >= 0) {
			path = tmpl;
			const ssize_t w = write(fd, content.data(), content.size());
			(void)w;
			close(fd);
		}
	}
	~TempFile()
	{
		if (!path.empty())
			unlink(path.c_str());
	}
};

std::string hex_nt_hash(std::u16string_view password)
{
	SecretBytes h;
	if (ntowf_v1(wire::utf16le_bytes(password), h) != Error::None)
		return {};
	return to_hex(h.view());
}

int sam_lookup(const std::string& file, std::u16string user, std::u16string domain, std::string& hash_hex)
{
	TempFile f(file);
	auto store = make_sam_file_store(f.path);
	NtlmLookup who;
	who.user = std::move(user);
	who.domain = std::move(domain);
	NtlmAccount a;
	const Error e = store->lookup(who, a);
	hash_hex = e == Error::None ? to_hex(a.key.view()) : std::string();
	return code(e);
}

bool sam_store_cases()
{
	const std::string alice = hex_nt_hash(u"Passw0rd!"), bob = hex_nt_hash(u"bobpw"), carol = hex_nt_hash(u"c");
	const std::string file = "# comment line\n"
	                         "\n"
	                         "broken line without colons\n"
	                         "bad:LAB:xyz:" + alice + ":::\n"            // LM hash of the wrong length
	                         "badhex:LAB::" + std::string(32, 'z') + ":::\n"
	                         "alice:LAB::" + alice + ":::\r\n"
	                         "Bob:::" + bob + ":::\n"
	                         "carol:OTHER:" + std::string(32, '0') + ":" + carol + ":::\n" +
	                         "long:LAB::" + alice + ":::" + std::string(5000, 'x') + "\n";
	std::string h;
	if (sam_lookup(file, u"alice", u"LAB", h) != kOk || h != alice)
		return false;
	if (sam_lookup(file, u"ALICE", u"lab", h) != kOk || h != alice)   // case-insensitive
		return false;
	if (sam_lookup(file, u"bob", u"", h) != kOk || h != bob)
		return false;
	if (sam_lookup(file, u"bob", u"ANYDOMAIN", h) != kOk || h != bob)   // empty-domain line as fallback
		return false;
	if (sam_lookup(file, u"carol", u"OTHER", h) != kOk || h != carol)
		return false;
	if (sam_lookup(file, u"carol", u"LAB", h) != code(Error::LogonDenied))
		return false;
	if (sam_lookup(file, u"alice", u"", h) != code(Error::LogonDenied))   // LAB line needs LAB
		return false;
	if (sam_lookup(file, u"bad", u"LAB", h) != code(Error::LogonDenied) ||
	    sam_lookup(file, u"badhex", u"LAB", h) != code(Error::LogonDenied) ||
	    sam_lookup(file, u"long", u"LAB", h) != code(Error::LogonDenied) ||
	    sam_lookup(file, u"nobody", u"LAB", h) != code(Error::LogonDenied))
		return false;
	// An unreadable file.
	auto store = make_sam_file_store("/nonexistent/nlassp/SAM");
	NtlmLookup who;
	who.user = u"alice";
	NtlmAccount a;
	return store->lookup(who, a) == Error::NoCredentials;
}

// A store that hands out NTOWFv2 itself, as WinPR hash callbacks do.
class NtowfV2Store final : public NtlmUserStore {
public:
	[[nodiscard]] HashKind hash_kind() const noexcept override { return HashKind::NtowfV2; }
	Error lookup(const NtlmLookup& who, NtlmAccount& out) const override
	{
		if (who.proof_input.size() <= 8 || who.mic_input.empty() || who.nt_proof.size() != 16)
			return Error::Internal;
		out.user = who.user;
		out.domain = who.domain;
		return ntowf_v2(wire::utf16le_bytes(u"Passw0rd!"), who.user, who.domain, out.key);
	}
};

int logon_with_ntowf_v2_store(std::u16string password)
{
	Options o;
	o.password = std::move(password);
	o.store = std::make_shared<NtowfV2Store>();
	return logon_with(o);
}

int logon_with_sam_file(std::u16string password)
{
	TempFile f("alice:LAB::" + hex_nt_hash(u"Passw0rd!") + ":::\n");
	Options o;
	o.password = std::move(password);
	o.store = make_sam_file_store(f.path);
	return logon_with(o);
}

} // namespace

static void test_logon_succeeds(void**) { assert_true(logon_succeeds()); }
static void test_challenge_offers_ntlmv2_session_security(void**) { assert_true(challenge_is_sane()); }
static void test_channel_bindings_match(void**) { assert_int_equal(logon_with_bindings(1, 1), kOk); }
static void test_channel_bindings_client_only(void**) { assert_int_equal(logon_with_bindings(1, 0), kOk); }
static void test_channel_bindings_missing(void**) { assert_int_equal(logon_with_bindings(0, 1), code(Error::BadBindings)); }
static void test_channel_bindings_mismatch(void**) { assert_int_equal(logon_with_bindings(2, 1), code(Error::BadBindings)); }
static void test_wrong_password_is_logon_denied(void**) { assert_int_equal(logon_wrong_password(), code(Error::LogonDenied)); }
static void test_unknown_user_is_logon_denied(void**) { assert_int_equal(logon_unknown_user(), code(Error::LogonDenied)); }
static void test_domain_backslash_user_is_split(void**) { assert_int_equal(logon_split_user(u"LAB\\alice"), kOk); }
static void test_user_at_domain_is_split(void**) { assert_int_equal(logon_split_user(u"alice@LAB"), kOk); }
static void test_tampered_mic_is_message_altered(void**) { assert_int_equal(logon_tampered(72 + 5), code(Error::MessageAltered)); }
static void test_tampered_version_is_message_altered(void**) { assert_int_equal(logon_tampered(66), code(Error::MessageAltered)); }
static void test_authenticate_first_is_invalid_token(void**) { assert_int_equal(authenticate_first(), code(Error::InvalidToken)); }
static void test_challenge_to_acceptor_is_invalid_token(void**) { assert_int_equal(challenge_to_acceptor_first(), code(Error::InvalidToken)); }
static void test_negotiate_to_initiator_is_invalid_token(void**) { assert_int_equal(negotiate_to_initiator(), code(Error::InvalidToken)); }
static void test_negotiate_twice_is_invalid_token(void**) { assert_int_equal(negotiate_twice_to_acceptor(), code(Error::InvalidToken)); }
static void test_initiator_without_password(void**) { assert_int_equal(no_credentials(Role::Initiator), code(Error::NoCredentials)); }
static void test_acceptor_without_user_store(void**) { assert_int_equal(no_credentials(Role::Acceptor), code(Error::NoCredentials)); }
static void test_failed_context_stays_failed(void**) { assert_int_equal(failed_context_stays_failed(), code(Error::NotEstablished)); }
static void test_sam_store(void**) { assert_true(sam_store_cases()); }
static void test_logon_with_ntowf_v2_store(void**) { assert_int_equal(logon_with_ntowf_v2_store(u"Passw0rd!"), kOk); }
static void test_logon_with_ntowf_v2_store_wrong_password(void**) { assert_int_equal(logon_with_ntowf_v2_store(u"x"), code(Error::LogonDenied)); }
static void test_logon_with_sam_file(void**) { assert_int_equal(logon_with_sam_file(u"Passw0rd!"), kOk); }
static void test_logon_with_sam_file_wrong_password(void**) { assert_int_equal(logon_with_sam_file(u"nope"), code(Error::LogonDenied)); }

int main()
{
	if (const int rc = legacy_provider_exit_code())
		return rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logon_succeeds),
		cmocka_unit_test(test_challenge_offers_ntlmv2_session_security),
		cmocka_unit_test(test_channel_bindings_match),
		cmocka_unit_test(test_channel_bindings_client_only),
		cmocka_unit_test(test_channel_bindings_missing),
		cmocka_unit_test(test_channel_bindings_mismatch),
		cmocka_unit_test(test_wrong_password_is_logon_denied),
		cmocka_unit_test(test_unknown_user_is_logon_denied),
		cmocka_unit_test(test_domain_backslash_user_is_split),
		cmocka_unit_test(test_user_at_domain_is_split),
		cmocka_unit_test(test_tampered_mic_is_message_altered),
		cmocka_unit_test(test_tampered_version_is_message_altered),
		cmocka_unit_test(test_authenticate_first_is_invalid_token),
		cmocka_unit_test(test_challenge_to_acceptor_is_invalid_token),
		cmocka_unit_test(test_negotiate_to_initiator_is_invalid_token),
		cmocka_unit_test(test_negotiate_twice_is_invalid_token),
		cmocka_unit_test(test_initiator_without_password),
		cmocka_unit_test(test_acceptor_without_user_store),
		cmocka_unit_test(test_failed_context_stays_failed),
		cmocka_unit_test(test_sam_store),
		cmocka_unit_test(test_logon_with_ntowf_v2_store),
		cmocka_unit_test(test_logon_with_ntowf_v2_store_wrong_password),
		cmocka_unit_test(test_logon_with_sam_file),
		cmocka_unit_test(test_logon_with_sam_file_wrong_password),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
