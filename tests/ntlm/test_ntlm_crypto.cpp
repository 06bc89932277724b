// Known answers for plugin/ntlm/crypto: MS-NLMP 4.2.4 (NTLMv2) from tests/vectors/ms-nlmp.json.
//
// Test bodies only call bool helpers and assert: a failing CMocka assertion longjmps past C++
// destructors, so anything with a destructor lives inside the helpers.
#include "crypto/crypto.h"
#include "ntlm/crypto.h"
#include "support/vectors.h"
#include "wire/utf16.h"

#include <array>
#include <cstdio>
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
using namespace nlassp::ntlm;

namespace {

const std::string kFile = "ms-nlmp.json";

bool vec(const std::string& path, Bytes& out)
{
	if (!test::vector_hex(kFile, path, out)) {
		std::fprintf(stderr, "missing vector %s\n", path.c_str());
		return false;
	}
	return true;
}

bool same(const char* what, ByteView got, const std::string& path)
{
	Bytes want;
	if (!vec(path, want))
		return false;
	if (got.size() == want.size() && std::equal(got.begin(), got.end(), want.begin()))
		return true;
	std::fprintf(stderr, "%s: expected %s, got %s\n", what, to_hex(want).c_str(), to_hex(got).c_str());
	return false;
}

bool u16(const std::string& path, std::u16string& out)
{
	std::string s;
	return test::vector_string(kFile, path, s) && wire::utf8_to_utf16(s, out);
}

struct Inputs {
	std::u16string user, domain;
	SecretBytes password;
	Bytes server_challenge, client_challenge, random_session_key, time, target_info;
};

bool inputs(Inputs& in)
{
	Bytes pw;
	if (!u16("common.User", in.user) || !u16("common.UserDom", in.domain) || !vec("common.Passwd_unicode", pw) ||
	    !vec("common.ServerChallenge", in.server_challenge) || !vec("common.ClientChallenge", in.client_challenge) ||
	    !vec("common.RandomSessionKey", in.random_session_key) || !vec("common.Time", in.time) ||
	    !vec("ntlmv2.TargetInfo", in.target_info))
		return false;
	in.password.assign(pw);
	return true;
}

bool check_ntowf_v1()
{
	Inputs in;
	SecretBytes h;
	return inputs(in) && ntowf_v1(in.password.view(), h) == Error::None && same("NTOWFv1", h.view(), "ntlmv1.NTOWFv1");
}

bool check_ntowf_v2()
{
	Inputs in;
	SecretBytes h;
	if (!inputs(in) || ntowf_v2(in.password.view(), in.user, in.domain, h) != Error::None)
		return false;
	if (!same("NTOWFv2", h.view(), "ntlmv2.NTOWFv2") || !same("LMOWFv2", h.view(), "ntlmv2.LMOWFv2"))
		return false;
	// From the NT hash too, and the user name is upper-cased: "user" gives the same key.
	SecretBytes nt, h2;
	return ntowf_v1(in.password.view(), nt) == Error::None &&
	       ntowf_v2_from_hash(nt.view(), u"user", in.domain, h2) == Error::None &&
	       same("NTOWFv2 (lower-case user)", h2.view(), "ntlmv2.NTOWFv2");
}

bool check_temp_and_responses()
{
	Inputs in;
	SecretBytes key;
	if (!inputs(in) || ntowf_v2(in.password.view(), in.user, in.domain, key) != Error::None)
		return false;
	const Bytes temp = ntlmv2_temp(0, in.client_challenge, in.target_info);
	if (!same("temp", temp, "ntlmv2.temp"))
		return false;
	std::array<uint8_t, 16> proof{};
	if (nt_proof_str(key.view(), in.server_challenge, temp, proof) != Error::None ||
	    !same("NTProofStr", proof, "ntlmv2.NTProofStr"))
		return false;
	if (!same("NtChallengeResponse", nt_challenge_response(proof, temp), "ntlmv2.NtChallengeResponse"))
		return false;
	Bytes lm;
	if (lmv2_response(key.view(), in.server_challenge, in.client_challenge, lm) != Error::None ||
	    !same("LmChallengeResponse", lm, "ntlmv2.LmChallengeResponse"))
		return false;
	SecretBytes base;
	if (session_base_key_v2(key.view(), proof, base) != Error::None || !same("SessionBaseKey", base.view(), "ntlmv2.SessionBaseKey"))
		return false;
	const SecretBytes kx = kxkey_v2(base);
	if (!same("KeyExchangeKey", kx.view(), "ntlmv2.KeyExchangeKey"))
		return false;
	SecretBytes esk, back;
	return rc4k(kx.view(), in.random_session_key, esk) == Error::None &&
	       same("EncryptedRandomSessionKey", esk.view(), "ntlmv2.EncryptedRandomSessionKey") &&
	       rc4k(kx.view(), esk.view(), back) == Error::None &&
	       same("RandomSessionKey (decrypted)", back.view(), "common.RandomSessionKey");
}

bool check_keys_and_seal()
{
	Inputs in;
	if (!inputs(in))
		return false;
	SecretBytes sk, ck;
	if (sign_key(in.random_session_key, Direction::ClientToServer, sk) != Error::None ||
	    seal_key(in.random_session_key, Direction::ClientToServer, ck) != Error::None)
		return false;
	if (!same("SignKey", sk.view(), "ntlmv2.GSS_WrapEx.SignKey") || !same("SealKey", ck.view(), "ntlmv2.GSS_WrapEx.SealKey"))
		return false;
	// The server-to-client keys differ from the client-to-server ones.
	SecretBytes ssk, sck;
	if (sign_key(in.random_session_key, Direction::ServerToClient, ssk) != Error::None ||
	    seal_key(in.random_session_key, Direction::ServerToClient, sck) != Error::None ||
	    constant_time_equal(ssk.view(), sk.view()) || constant_time_equal(sck.view(), ck.view()))
		return false;

	// GSS_WrapEx: seal the plaintext, then the checksum, with one RC4 handle.
	Bytes plain;
	if (!vec("ntlmv2.GSS_WrapEx.Plaintext", plain))
		return false;
	crypto::Rc4 rc4;
	if (rc4.init(ck.view()) != Error::None)
		return false;
	std::array<uint8_t, 16> sig{};
	const ByteView parts[] = {plain};
	if (make_signature(sk.view(), nullptr, 0, parts, sig) != Error::None)
		return false;
	Bytes sealed = plain;
	if (rc4.process_in_place(sealed) != Error::None || !same("sealed data", sealed, "ntlmv2.GSS_WrapEx.Data"))
		return false;
	if (rc4.process_in_place(std::span<uint8_t>(sig).subspan(4, 8)) != Error::None)
		return false;
	if (!same("signature", sig, "ntlmv2.GSS_WrapEx.Signature") ||
	    !same("checksum", ByteView(sig).subspan(4, 8), "ntlmv2.GSS_WrapEx.Checksum"))
		return false;

	// make_signature with the handle does the same in one call when nothing else uses the stream.
	crypto::Rc4 fresh;
	std::array<uint8_t, 16> sig2{};
	Bytes keystream(plain.size());
	return fresh.init(ck.view()) == Error::None && fresh.process_in_place(keystream) == Error::None &&
	       make_signature(sk.view(), &fresh, 0, parts, sig2) == Error::None &&
	       same("signature (handle)", sig2, "ntlmv2.GSS_WrapEx.Signature");
}

bool check_mic()
{
	// compute_mic == HMAC_MD5(key, NEG || CHAL || AUTH with the MIC field zeroed).
	const Bytes key(16, 0x42), neg{1, 2, 3}, chal{4, 5, 6, 7};
	Bytes auth(100);
	for (size_t i = 0; i < auth.size(); ++i)
		auth[i] = static_cast<uint8_t>(i + 1);
	std::array<uint8_t, 16> mic{};
	if (compute_mic(key, neg, chal, auth, 72, mic) != Error::None)
		return false;
	Bytes zeroed = auth;
	std::fill(zeroed.begin() + 72, zeroed.begin() + 88, 0);
	std::array<uint8_t, 16> want{};
	const ByteView parts[] = {neg, chal, zeroed};
	if (crypto::hmac_md5(key, parts, want) != Error::None || mic != want)
		return false;
	// A MIC field that does not fit is refused.
	std::array<uint8_t, 16> bad{};
	return compute_mic(key, neg, chal, auth, 90, bad) == Error::InvalidParameter;
}

bool check_filetime()
{
	// 2020-01-01 is 132223104000000000 in FILETIME; now is later and before 2100.
	const uint64_t now = filetime_now();
	return now > 132223104000000000ULL && now < 157766400000000000ULL;
}

} // namespace

static void test_ntowf_v1(void**) { assert_true(check_ntowf_v1()); }
static void test_ntowf_v2_and_lmowf_v2(void**) { assert_true(check_ntowf_v2()); }
static void test_ntlmv2_responses_and_session_keys(void**) { assert_true(check_temp_and_responses()); }
static void test_sign_seal_keys_and_gss_wrapex(void**) { assert_true(check_keys_and_seal()); }
static void test_mic_zeroes_the_mic_field(void**) { assert_true(check_mic()); }
static void test_filetime_now_is_sane(void**) { assert_true(check_filetime()); }

int main()
{
	if (!crypto::legacy_available()) {
		std::fprintf(stderr, "OpenSSL legacy provider missing: NTLM known answers skipped\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ntowf_v1),
		cmocka_unit_test(test_ntowf_v2_and_lmowf_v2),
		cmocka_unit_test(test_ntlmv2_responses_and_session_keys),
		cmocka_unit_test(test_sign_seal_keys_and_gss_wrapex),
		cmocka_unit_test(test_mic_zeroes_the_mic_field),
		cmocka_unit_test(test_filetime_now_is_sane),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
