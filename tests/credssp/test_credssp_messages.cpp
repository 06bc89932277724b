// plugin/credssp/messages and crypto: every ms-cssp.json DER example decodes to its fields and
// re-encodes to its bytes; the binding hashes equal the json's; errorCode and version are read in
// both INTEGER forms and written as FreeRDP writes them; a TSRequest split anywhere is reported
// incomplete with the exact number of bytes still missing; the other credential types decode.
//
// Test bodies only call bool helpers and assert (CMocka longjmps past C++ destructors).
#include "credssp/crypto.h"
#include "credssp/messages.h"
#include "support/vectors.h"

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
using namespace nlassp::credssp;

namespace {

bool vec(const std::string& path, Bytes& out)
{
	if (!test::vector_hex("ms-cssp.json", path, out)) {
		std::fprintf(stderr, "missing vector ms-cssp.json:%s\n", path.c_str());
		return false;
	}
	return true;
}

bool eq(const char* what, ByteView got, ByteView want)
{
	if (got.size() == want.size() && std::equal(got.begin(), got.end(), want.begin()))
		return true;
	std::fprintf(stderr, "%s: expected %s, got %s\n", what, to_hex(want).c_str(), to_hex(got).c_str());
	return false;
}

bool eq_vec(const char* what, ByteView got, const std::string& path)
{
	Bytes want;
	return vec(path, want) && eq(what, got, want);
}

// Finds the DER example with this name; its index in "der".
bool der_example(const char* name, std::string& prefix)
{
	const long n = test::vector_count("ms-cssp.json", "der");
	for (long i = 0; i < n; ++i) {
		std::string s;
		const std::string p = "der." + std::to_string(i);
		if (test::vector_string("ms-cssp.json", p + ".name", s) && s == name) {
			prefix = p;
			return true;
		}
	}
	std::fprintf(stderr, "no DER example %s\n", name);
	return false;
}

bool reencodes(const TsRequest& req, ByteView want)
{
	Bytes again;
	return encode_ts_request(req, again) && eq("re-encoded TSRequest", again, want);
}

bool ts_request_nego_only()
{
	std::string p;
	Bytes raw;
	TsRequest req;
	if (!der_example("TSRequest_v6_negoTokens", p) || !vec(p + ".hex", raw) || !decode_ts_request(raw, req))
		return false;
	if (req.version != 6 || req.nego_tokens.size() != 1 || req.auth_info || req.pub_key_auth || req.error_code ||
	    req.client_nonce)
		return false;
	return eq_vec("negoToken", req.nego_tokens[0], p + ".fields.negoTokens.0") && reencodes(req, raw);
}

bool ts_request_pub_key_auth()
{
	std::string p;
	Bytes raw;
	TsRequest req;
	if (!der_example("TSRequest_v6_negoTokens_pubKeyAuth_clientNonce", p) || !vec(p + ".hex", raw) ||
	    !decode_ts_request(raw, req))
		return false;
	if (req.version != 6 || req.nego_tokens.size() != 1 || req.auth_info || req.error_code || !req.pub_key_auth ||
	    !req.client_nonce)
		return false;
	return eq_vec("negoToken", req.nego_tokens[0], p + ".fields.negoTokens.0") &&
	       eq_vec("pubKeyAuth", *req.pub_key_auth, p + ".fields.pubKeyAuth") &&
	       eq_vec("clientNonce", *req.client_nonce, p + ".fields.clientNonce") && reencodes(req, raw);
}

bool ts_request_error_code()
{
	std::string p;
	Bytes raw;
	TsRequest req;
	long long code = 0;
	if (!der_example("TSRequest_v6_errorCode", p) || !vec(p + ".hex", raw) || !decode_ts_request(raw, req) ||
	    !test::vector_int("ms-cssp.json", p + ".fields.errorCode", code))
		return false;
	if (req.version != 6 || !req.error_code || *req.error_code != static_cast<uint32_t>(static_cast<int32_t>(code)) ||
	    *req.error_code != 0xC000006Du || !req.nego_tokens.empty())
		return false;
	return reencodes(req, raw);
}

bool error_code_both_forms()
{
	// 5-byte unsigned form of 0xC000006D and of version 6 as a plain 1-byte INTEGER.
	Bytes five;
	TsRequest req;
	if (!from_hex("300ea003020106a407020500c000006d", five))
		return false;
	if (!decode_ts_request(five, req) || !req.error_code || *req.error_code != 0xC000006Du)
		return false;
	// Written back in FreeRDP's 4-byte form.
	Bytes out;
	return encode_ts_request(req, out) && eq("4-byte errorCode", out, Bytes{0x30, 0x0d, 0xa0, 0x03, 0x02, 0x01, 0x06,
	                                                                         0xa4, 0x06, 0x02, 0x04, 0xc0, 0x00, 0x00,
	                                                                         0x6d});
}

bool error_code_round_trip()
{
	const uint32_t codes[] = {0, 1, 0x7f, 0x80, 0x7fffffff, 0x80000000u, 0xC000006Du, 0xC00700EAu, 0xffffffffu};
	for (uint32_t c : codes) {
		TsRequest req, back;
		req.version = 3;
		req.error_code = c;
		Bytes der;
		if (!encode_ts_request(req, der) || !decode_ts_request(der, back) || !back.error_code ||
		    *back.error_code != c || back.version != 3)
			return false;
		// Never more than 4 content octets: FreeRDP's reader takes 1..4 only.
		if (der.size() > 2 + 5 + 2 + 2 + 4)
			return false;
	}
	return true;
}

bool password_creds()
{
	std::string p;
	Bytes raw;
	TsPasswordCreds c;
	if (!der_example("TSPasswordCreds", p) || !vec(p + ".hex", raw) || !decode_ts_password_creds(raw, c))
		return false;
	if (!eq_vec("domainName", c.domain, p + ".fields.domainName") ||
	    !eq_vec("userName", c.user, p + ".fields.userName") ||
	    !eq_vec("password", c.password.view(), p + ".fields.password"))
		return false;
	SecretBytes again;
	return encode_ts_password_creds(c, again) && eq("re-encoded TSPasswordCreds", again.view(), raw);
}

bool credentials()
{
	std::string p;
	Bytes raw;
	TsCredentials c;
	long long type = 0;
	if (!der_example("TSCredentials_password", p) || !vec(p + ".hex", raw) || !decode_ts_credentials(raw, c) ||
	    !test::vector_int("ms-cssp.json", p + ".fields.credType", type))
		return false;
	if (c.cred_type != type || c.cred_type != static_cast<uint32_t>(CredType::Password) ||
	    !eq_vec("credentials", c.credentials.view(), p + ".fields.credentials"))
		return false;
	TsPasswordCreds inner;
	if (!decode_ts_password_creds(c.credentials.view(), inner))
		return false;
	SecretBytes again;
	return encode_ts_credentials(c, again) && eq("re-encoded TSCredentials", again.view(), raw);
}

bool empty_password_creds()
{
	// Restricted admin: all three empty, still present.
	TsPasswordCreds c, back;
	SecretBytes der;
	if (!encode_ts_password_creds(c, der) ||
	    !eq("empty TSPasswordCreds", der.view(),
	        Bytes{0x30, 0x0c, 0xa0, 0x02, 0x04, 0x00, 0xa1, 0x02, 0x04, 0x00, 0xa2, 0x02, 0x04, 0x00}))
		return false;
	return decode_ts_password_creds(der.view(), back) && back.domain.empty() && back.user.empty() &&
	       back.password.empty();
}

bool smart_card_creds()
{
	// pin "1234" (UTF-16LE), cspData { keySpec 1, cardName "C" }, userHint "u".
	const Bytes good = {
	    0x30, 0x20,                                                                   // TSSmartCardCreds
	    0xa0, 0x0a, 0x04, 0x08, 0x31, 0x00, 0x32, 0x00, 0x33, 0x00, 0x34, 0x00,       // pin
	    0xa1, 0x0c, 0x30, 0x0a, 0xa0, 0x03, 0x02, 0x01, 0x01, 0xa1, 0x03, 0x04, 0x01, 0x43, // cspData
	    0xa2, 0x04, 0x04, 0x02, 0x75, 0x00,                                           // userHint
	};
	TsSmartCardCreds c;
	if (!decode_ts_smart_card_creds(good, c))
		return false;
	if (c.csp_data.key_spec != 1 || !c.csp_data.card_name || c.csp_data.card_name->size() != 1 ||
	    c.csp_data.reader_name || !c.user_hint || c.domain_hint || c.pin.size() != 8)
		return false;
	// A trailing unknown field is refused.
	Bytes bad = good;
	bad[1] = static_cast<uint8_t>(bad[1] + 2);
	bad.push_back(0x05);
	bad.push_back(0x00);
	return !decode_ts_smart_card_creds(bad, c);
}

bool remote_guard_creds()
{
	const Bytes raw = {
	    0x30, 0x18,                                                       // TSRemoteGuardCreds
	    0xa0, 0x12, 0x30, 0x10,                                           // logonCred
	    0xa0, 0x08, 0x04, 0x06, 'K', 0, 'e', 0, 'r', 0,                   //   packageName
	    0xa1, 0x04, 0x04, 0x02, 0xaa, 0xbb,                               //   credBuffer
	    0xa1, 0x02, 0x30, 0x00,                                           // supplementalCreds (empty)
	};
	TsRemoteGuardCreds c;
	if (!decode_ts_remote_guard_creds(raw, c))
		return false;
	return c.logon_cred.package_name.size() == 6 && c.logon_cred.cred_buffer.size() == 2 && c.has_supplemental &&
	       c.supplemental_creds.empty();
}

// The encoder: logonCred alone (supplementalCreds absent, as MS-CSSP allows), the empty SEQUENCE OF
// FreeRDP's 3.10/3.15 clients send when asked for one, and a list; each decodes back.
bool remote_guard_creds_encode()
{
	TsRemoteGuardCreds c;
	c.logon_cred.package_name = {'K', 0, 'e', 0, 'r', 0};
	c.logon_cred.cred_buffer = SecretBytes(ByteView(Bytes{0xaa, 0xbb}));
	const Bytes logon_only = {
	    0x30, 0x14, 0xa0, 0x12, 0x30, 0x10,                               // TSRemoteGuardCreds, logonCred
	    0xa0, 0x08, 0x04, 0x06, 'K', 0, 'e', 0, 'r', 0,                   //   packageName
	    0xa1, 0x04, 0x04, 0x02, 0xaa, 0xbb,                               //   credBuffer
	};
	SecretBytes out;
	if (!encode_ts_remote_guard_creds(c, out) || !eq("logonCred only", out.view(), logon_only))
		return false;
	c.has_supplemental = true;
	const Bytes with_empty = {
	    0x30, 0x18, 0xa0, 0x12, 0x30, 0x10, 0xa0, 0x08, 0x04, 0x06, 'K', 0, 'e', 0, 'r', 0,
	    0xa1, 0x04, 0x04, 0x02, 0xaa, 0xbb, 0xa1, 0x02, 0x30, 0x00,
	};
	if (!encode_ts_remote_guard_creds(c, out) || !eq("empty supplementalCreds", out.view(), with_empty))
		return false;
	TsRemoteGuardPackageCred ntlm;
	ntlm.package_name = {'N', 0, 'T', 0, 'L', 0, 'M', 0};
	ntlm.cred_buffer = SecretBytes(ByteView(Bytes{0x02, 0x00, 0xff, 0xff}));
	c.supplemental_creds = {ntlm, ntlm};
	TsRemoteGuardCreds back;
	if (!encode_ts_remote_guard_creds(c, out) || !decode_ts_remote_guard_creds(out.view(), back))
		return false;
	if (!back.has_supplemental || back.supplemental_creds.size() != 2 ||
	    back.supplemental_creds[1].package_name != ntlm.package_name ||
	    !eq("supplemental credBuffer", back.supplemental_creds[1].cred_buffer.view(), ntlm.cred_buffer.view()))
		return false;
	SecretBytes again;
	return encode_ts_remote_guard_creds(back, again) && eq("re-encoded", again.view(), out.view());
}

bool framing_every_split()
{
	// Both a short-form and a long-form (0x82) TSRequest.
	for (const char* name : {"TSRequest_v6_negoTokens", "TSRequest_v6_negoTokens_pubKeyAuth_clientNonce"}) {
		std::string p;
		Bytes raw;
		if (!der_example(name, p) || !vec(p + ".hex", raw))
			return false;
		const size_t header = raw[1] < 0x80 ? 2 : 2 + (raw[1] & 0x7f);
		for (size_t cut = 0; cut < raw.size(); ++cut) {
			const TsRequestFrame f = frame_ts_request(ByteView(raw).first(cut));
			size_t want = 0;
			if (cut == 0)
				want = 2; // the tag and the first length octet
			else if (cut == 1)
				want = 1; // the first length octet says how many more length octets follow
			else if (cut < header)
				want = header - cut;
			else
				want = raw.size() - cut;
			if (f.state != TsRequestFrame::State::Incomplete || f.missing != want) {
				std::fprintf(stderr, "%s cut at %zu: state %d missing %zu, want %zu\n", name, cut,
				             static_cast<int>(f.state), f.missing, want);
				return false;
			}
			TsRequest req;
			if (decode_ts_request(ByteView(raw).first(cut), req))
				return false;
		}
		const TsRequestFrame whole = frame_ts_request(raw);
		if (whole.state != TsRequestFrame::State::Complete || whole.length != raw.size())
			return false;
		Bytes more = raw;
		more.push_back(0x30);
		const TsRequestFrame extra = frame_ts_request(more);
		if (extra.state != TsRequestFrame::State::Complete || extra.length != raw.size())
			return false;
	}
	return true;
}

bool framing_refuses_garbage()
{
	const Bytes cases[] = {
	    {0x31, 0x00},                         // not a SEQUENCE
	    {0x30, 0x80},                         // indefinite length
	    {0x30, 0x85, 1, 0, 0, 0, 0},          // five length octets
	    {0x30, 0x81, 0x05},                   // long form for a short length
	    {0x30, 0x82, 0x00, 0x90},             // leading zero
	    {0x30, 0x84, 0x7f, 0xff, 0xff, 0xff}, // far beyond the limit: never wait for it
	};
	for (const Bytes& c : cases)
		if (frame_ts_request(c).state != TsRequestFrame::State::Invalid)
			return false;
	return true;
}

bool ts_request_strictness()
{
	std::string p;
	Bytes raw;
	if (!der_example("TSRequest_v6_negoTokens", p) || !vec(p + ".hex", raw))
		return false;
	TsRequest req;
	// Trailing bytes after the SEQUENCE.
	Bytes trailing = raw;
	trailing.push_back(0);
	if (decode_ts_request(trailing, req))
		return false;
	// An unknown field [6].
	const Bytes unknown = {0x30, 0x09, 0xa0, 0x03, 0x02, 0x01, 0x06, 0xa6, 0x02, 0x04, 0x00};
	if (decode_ts_request(unknown, req))
		return false;
	// Fields out of order ([3] before [2]).
	const Bytes order = {0x30, 0x0d, 0xa0, 0x03, 0x02, 0x01, 0x06, 0xa3, 0x02, 0x04, 0x00, 0xa2, 0x02, 0x04, 0x00};
	if (decode_ts_request(order, req))
		return false;
	// Empty NegoData.
	const Bytes empty_nego = {0x30, 0x09, 0xa0, 0x03, 0x02, 0x01, 0x06, 0xa1, 0x02, 0x30, 0x00};
	if (decode_ts_request(empty_nego, req))
		return false;
	// A six-byte errorCode.
	const Bytes long_error = {0x30, 0x0f, 0xa0, 0x03, 0x02, 0x01, 0x06, 0xa4, 0x08,
	                          0x02, 0x06, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
	if (decode_ts_request(long_error, req))
		return false;
	// Every single bit flip either fails or decodes to something that re-encodes canonically.
	for (size_t i = 0; i < raw.size() * 8; ++i) {
		Bytes m = raw;
		m[i / 8] = static_cast<uint8_t>(m[i / 8] ^ (1u << (i % 8)));
		TsRequest t;
		if (decode_ts_request(m, t)) {
			Bytes again;
			if (!encode_ts_request(t, again))
				return false;
		}
	}
	return true;
}

bool binding_hashes()
{
	const long n = test::vector_count("ms-cssp.json", "binding_hash.examples");
	if (n < 3)
		return false;
	if (!eq_vec("ClientServerHashMagic", client_server_hash_magic(), "magic.ClientServerHashMagic") ||
	    !eq_vec("ServerClientHashMagic", server_client_hash_magic(), "magic.ServerClientHashMagic"))
		return false;
	for (long i = 0; i < n; ++i) {
		const std::string p = "binding_hash.examples." + std::to_string(i);
		std::string key;
		Bytes nonce, spki, spk;
		if (!test::vector_string("ms-cssp.json", p + ".key", key) || !vec(p + ".Nonce", nonce) ||
		    !vec("binding_hash.keys." + key + ".SubjectPublicKeyInfo", spki) ||
		    !vec("binding_hash.keys." + key + ".SubjectPublicKey", spk))
			return false;
		ByteView from_spki;
		if (!subject_public_key_from_spki(spki, from_spki) || !eq("SubjectPublicKey from SPKI", from_spki, spk))
			return false;
		std::array<uint8_t, 32> cs{}, sc{};
		if (binding_hash(HashDirection::ClientToServer, nonce, spk, cs) != Error::None ||
		    binding_hash(HashDirection::ServerToClient, nonce, spk, sc) != Error::None)
			return false;
		if (!eq_vec("ClientServerHash", cs, p + ".ClientServerHash") ||
		    !eq_vec("ServerClientHash", sc, p + ".ServerClientHash"))
			return false;
	}
	return true;
}

bool echo()
{
	const Bytes key = {0x30, 0x82, 0x01, 0x0a};
	if (!eq("echo", public_key_echo(key), Bytes{0x31, 0x82, 0x01, 0x0a}))
		return false;
	if (!eq("echo with carry", public_key_echo(Bytes{0xff, 0xff, 0x01}), Bytes{0x00, 0x00, 0x02}))
		return false;
	// FreeRDP's defective echo: 01 00 00 ... of the key's length, and nothing else.
	return is_freerdp_echo_defect(Bytes{1, 0, 0, 0}, 4) && !is_freerdp_echo_defect(Bytes{1, 0, 0}, 4) &&
	       !is_freerdp_echo_defect(Bytes{1, 0, 1, 0}, 4) && !is_freerdp_echo_defect(public_key_echo(key), 4);
}

bool spki_strictness()
{
	Bytes spki;
	if (!vec("binding_hash.keys.p256.SubjectPublicKeyInfo", spki))
		return false;
	ByteView spk;
	Bytes bad = spki;
	bad.push_back(0); // trailing
	if (subject_public_key_from_spki(bad, spk))
		return false;
	// Unused bits != 0: the octet right after the BIT STRING header (03 42).
	bad = spki;
	for (size_t i = 0; i + 2 < bad.size(); ++i)
		if (bad[i] == 0x03 && bad[i + 1] == 0x42) {
			bad[i + 2] = 1;
			break;
		}
	return !subject_public_key_from_spki(bad, spk);
}

} // namespace

static void test_ts_request_nego_tokens_known_answer(void**) { assert_true(ts_request_nego_only()); }
static void test_ts_request_pub_key_auth_known_answer(void**) { assert_true(ts_request_pub_key_auth()); }
static void test_ts_request_error_code_known_answer(void**) { assert_true(ts_request_error_code()); }
static void test_error_code_read_in_both_forms_written_as_freerdp(void**) { assert_true(error_code_both_forms()); }
static void test_error_code_round_trip(void**) { assert_true(error_code_round_trip()); }
static void test_ts_password_creds_known_answer(void**) { assert_true(password_creds()); }
static void test_ts_credentials_known_answer(void**) { assert_true(credentials()); }
static void test_empty_password_creds(void**) { assert_true(empty_password_creds()); }
static void test_smart_card_creds_decode(void**) { assert_true(smart_card_creds()); }
static void test_remote_guard_creds_decode(void**) { assert_true(remote_guard_creds()); }
static void test_remote_guard_creds_encode(void**) { assert_true(remote_guard_creds_encode()); }
static void test_split_ts_request_reports_missing_bytes(void**) { assert_true(framing_every_split()); }
static void test_framing_refuses_garbage(void**) { assert_true(framing_refuses_garbage()); }
static void test_ts_request_is_strict(void**) { assert_true(ts_request_strictness()); }
static void test_binding_hash_known_answers(void**) { assert_true(binding_hashes()); }
static void test_public_key_echo(void**) { assert_true(echo()); }
static void test_spki_is_strict(void**) { assert_true(spki_strictness()); }

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ts_request_nego_tokens_known_answer),
		cmocka_unit_test(test_ts_request_pub_key_auth_known_answer),
		cmocka_unit_test(test_ts_request_error_code_known_answer),
		cmocka_unit_test(test_error_code_read_in_both_forms_written_as_freerdp),
		cmocka_unit_test(test_error_code_round_trip),
		cmocka_unit_test(test_ts_password_creds_known_answer),
		cmocka_unit_test(test_ts_credentials_known_answer),
		cmocka_unit_test(test_empty_password_creds),
		cmocka_unit_test(test_smart_card_creds_decode),
		cmocka_unit_test(test_remote_guard_creds_decode),
		cmocka_unit_test(test_remote_guard_creds_encode),
		cmocka_unit_test(test_split_ts_request_reports_missing_bytes),
		cmocka_unit_test(test_framing_refuses_garbage),
		cmocka_unit_test(test_ts_request_is_strict),
		cmocka_unit_test(test_binding_hash_known_answers),
		cmocka_unit_test(test_public_key_echo),
		cmocka_unit_test(test_spki_is_strict),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
