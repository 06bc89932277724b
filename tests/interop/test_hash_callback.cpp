// ntlmSettings->hashCallback (freerdp_peer::SspiNtlmHashCallback): a FreeRDP server supplies
// the NTOWFv2 hash of the user itself instead of a SAM file.
//
// WinPR changed what the callback's return value means:
//   3.10 / 3.15 (ntlm_compute.c: `return ret ? TRUE : FALSE;`): non-zero = the hash was written,
//                0 = refused;
//   3.30        (`return ret == SEC_E_OK;`): SEC_E_OK (0) = the hash was written.
// Debian's FreeRDP is 3.10, so servers written against it return TRUE/FALSE. Our module is
// loaded by both, so it must accept both successes and must never take a 3.10 refusal (0, hash
// not written) for a success: the hash buffer would then hold zeros, a key any client knows.
#include <cstring>
#include <string>
#include <vector>

#include <winpr/crypto.h>
#include <winpr/ntlm.h>

#include "interop/fixture.h"

using namespace nlassp::interop;

namespace {

constexpr Impl M = Impl::Module;
constexpr Impl W = Impl::WinPR;

int g_calls = 0;

bool is_alice(const SEC_WINNT_AUTH_IDENTITY* id)
{
	static const char16_t alice[] = u"alice";
	if (!id || !id->User || id->UserLength != 5)
		return false;
	for (size_t i = 0; i < 5; i++) {
		char16_t c = static_cast<char16_t>(id->User[i]);
		if (c >= u'A' && c <= u'Z')
			c = static_cast<char16_t>(c + 32);
		if (c != alice[i])
			return false;
	}
	return true;
}

bool alice_hash(const SEC_WINNT_AUTH_IDENTITY* id, BYTE* hash)
{
	std::u16string pw = u"Passw0rd!";
	std::u16string user(reinterpret_cast<const char16_t*>(id->User), id->UserLength);
	std::u16string domain(reinterpret_cast<const char16_t*>(id->Domain), id->DomainLength);
	return NTOWFv2W(reinterpret_cast<LPWSTR>(pw.data()), static_cast<UINT32>(pw.size() * 2),
	                reinterpret_cast<LPWSTR>(user.data()), static_cast<UINT32>(user.size() * 2),
	                reinterpret_cast<LPWSTR>(domain.data()), static_cast<UINT32>(domain.size() * 2),
	                hash);
}

// A server written for WinPR 3.10: TRUE when it wrote the hash, FALSE for an unknown user.
SECURITY_STATUS callback_3_10(void*, const SEC_WINNT_AUTH_IDENTITY* id, const SecBuffer*,
                              const BYTE*, const BYTE*, const SecBuffer*, BYTE* hash)
{
	g_calls++;
	if (!is_alice(id))
		return FALSE;
	return alice_hash(id, hash) ? TRUE : FALSE;
}

// A server written for WinPR 3.30: SEC_E_OK when it wrote the hash.
SECURITY_STATUS callback_3_30(void*, const SEC_WINNT_AUTH_IDENTITY* id, const SecBuffer*,
                              const BYTE*, const BYTE*, const SecBuffer*, BYTE* hash)
{
	g_calls++;
	if (!is_alice(id) || !alice_hash(id, hash))
		return SEC_E_LOGON_DENIED;
	return SEC_E_OK;
}

// Hands out an all-zero hash as a success under either convention's reading by WinPR 3.10:
// used only to prove the forger below builds a valid AUTHENTICATE_MESSAGE.
SECURITY_STATUS callback_zero_hash(void*, const SEC_WINNT_AUTH_IDENTITY*, const SecBuffer*,
                                   const BYTE*, const BYTE*, const SecBuffer*, BYTE* hash)
{
	g_calls++;
	std::memset(hash, 0, 16);
	return TRUE;
}

uint32_t le(const Bytes& t, size_t at, size_t n)
{
	uint32_t v = 0;
	for (size_t i = 0; i < n && at + i < t.size(); i++)
		v |= static_cast<uint32_t>(t[at + i]) << (8 * i);
	return v;
}

bool hmac_md5(const uint8_t* key, size_t key_len, const std::vector<const Bytes*>& parts,
              uint8_t out[16])
{
	WINPR_HMAC_CTX* h = winpr_HMAC_New();
	bool ok = h && winpr_HMAC_Init(h, WINPR_MD_MD5, key, key_len);
	for (const Bytes* p : parts)
		ok = ok && winpr_HMAC_Update(h, p->data(), p->size());
	ok = ok && winpr_HMAC_Final(h, out, 16);
	winpr_HMAC_Free(h);
	return ok;
}

// Rewrites a bare NTLM AUTHENTICATE_MESSAGE (MS-NLMP 3.3.2) as a client would compute it if
// the user's NTOWFv2 were sixteen zero bytes: NTProofStr, session key, MIC.
struct ZeroKeyForger {
	Bytes negotiate, challenge;
	bool forged = false;

	void operator()(const TokenEvent& ev, Bytes& t)
	{
		if (ev.index == 0)
			negotiate = t;
		else if (ev.index == 1)
			challenge = t;
		else if (ev.index == 2)
			forged = forge(t);
	}

	bool forge(Bytes& t)
	{
		if (t.size() < 88 || challenge.size() < 32 || find_ntlmssp(t) != 0)
			return false;
		const uint8_t zero[16] = {};
		const size_t nt_len = le(t, 20, 2), nt_off = le(t, 24, 4);
		if (nt_len < 48 || nt_off + nt_len > t.size())
			return false;
		const Bytes server_challenge(challenge.begin() + 24, challenge.begin() + 32);
		const Bytes blob(t.begin() + static_cast<long>(nt_off + 16),
		                 t.begin() + static_cast<long>(nt_off + nt_len));
		uint8_t proof[16], session_base[16];
		if (!hmac_md5(zero, 16, { &server_challenge, &blob }, proof))
			return false;
		std::memcpy(t.data() + nt_off, proof, 16);
		const Bytes proof_bytes(proof, proof + 16);
		if (!hmac_md5(zero, 16, { &proof_bytes }, session_base))
			return false;
		uint8_t exported[16];
		std::memcpy(exported, session_base, 16);
		const uint32_t flags = le(t, 60, 4);
		const size_t key_len = le(t, 52, 2), key_off = le(t, 56, 4);
		if ((flags & 0x40000000u) && key_len == 16 && key_off + 16 <= t.size()) {
			// Keep the client's EncryptedRandomSessionKey; the exported key is what it decrypts to
			// under our KeyExchangeKey.
			WINPR_RC4_CTX* rc4 = winpr_RC4_New(session_base, 16);
			const bool ok = rc4 && winpr_RC4_Update(rc4, 16, t.data() + key_off, exported);
			winpr_RC4_Free(rc4);
			if (!ok)
				return false;
		}
		std::memset(t.data() + 72, 0, 16);
		uint8_t mic[16];
		if (!hmac_md5(exported, 16, { &negotiate, &challenge, &t }, mic))
			return false;
		std::memcpy(t.data() + 72, mic, 16);
		return true;
	}
};

void configure_callback(Fixture* fx, Impl client, Impl server, const char* package,
                        psSspiNtlmHashCallback cb)
{
	configure(fx, client, server, package, false);
	fx->config.server.sam_file.clear();
	fx->config.server.hash_callback = cb;
	g_calls = 0;
}

} // namespace

// 3.30-style callback (SEC_E_OK = success): our acceptor logs alice in, refuses others.
static void callback_3_30_module_server(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	static const Impl clients[] = { W, M };
	static const char* const packages[] = { "NTLM", "Negotiate" };
	for (Impl c : clients) {
		for (const char* pkg : packages) {
			configure_callback(fx, c, M, pkg, callback_3_30);
			run(fx);
			expect_full_success(fx, M);
			assert_true(g_calls >= 1);
			configure_callback(fx, c, M, pkg, callback_3_30);
			fx->config.client.user = "mallory";
			run(fx);
			EXPECT_TRUE(fx, fx->result.failed && fx->result.failed_side == Side::Server);
			EXPECT_STATUS(fx, fx->result.failure_status, SEC_E_LOGON_DENIED);
		}
	}
}

// What WinPR 3.10's own acceptor does with each convention (pins the difference).
static void callback_conventions_winpr_server(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_callback(fx, W, W, "NTLM", callback_3_10);
	run(fx);
	expect_full_success(fx, W);
	configure_callback(fx, W, W, "NTLM", callback_3_30);
	run(fx);
	print_message("WinPR 3.10 acceptor with a SEC_E_OK-returning callback: %s\n",
	              fx->result.established ? "established"
	                                     : status_string(fx->result.failure_status).c_str());
	EXPECT_TRUE(fx, fx->result.failed && fx->result.failed_side == Side::Server);
}

// 3.10-style callback (TRUE = success), as servers built on Debian's FreeRDP 3.10 have it: our
// acceptor must log alice in too, or such a server cannot use the module.
static void callback_3_10_module_server(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	static const Impl clients[] = { W, M };
	for (Impl c : clients) {
		configure_callback(fx, c, M, "NTLM", callback_3_10);
		run(fx);
		assert_true(g_calls >= 1);
		expect_full_success(fx, M);
	}
}

// The forger is right: WinPR's acceptor, handed a zero hash as a success, takes the forged
// AUTHENTICATE_MESSAGE of a client that does not know any password.
static void zero_key_forger_is_valid(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_callback(fx, W, W, "NTLM", callback_zero_hash);
	fx->config.client.user = "mallory";
	fx->config.client.password = "not-the-password";
	auto* forger = new ZeroKeyForger();
	fx->config.tamper = [forger](const TokenEvent& ev, Bytes& t) { (*forger)(ev, t); };
	run(fx);
	const bool forged = forger->forged;
	delete forger;
	fx->config.tamper = nullptr;
	assert_true(forged);
	EXPECT_TRUE(fx, fx->result.established);
}

// A 3.10-style callback refusing an unknown user (returns FALSE = 0, writes no hash) must not
// become a login with an all-zero key: the forged AUTHENTICATE_MESSAGE is refused.
static void refused_by_3_10_callback_is_not_a_zero_key(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	static const Impl servers[] = { W, M };
	int bypassed = 0;
	for (Impl server : servers) {
		configure_callback(fx, W, server, "NTLM", callback_3_10);
		fx->config.client.user = "mallory";
		fx->config.client.password = "not-the-password";
		auto* forger = new ZeroKeyForger();
		fx->config.tamper = [forger](const TokenEvent& ev, Bytes& t) { (*forger)(ev, t); };
		run(fx);
		const bool forged = forger->forged;
		delete forger;
		fx->config.tamper = nullptr;
		print_message("%s acceptor, callback returned FALSE for mallory, forged zero-key login: %s\n",
		              server == M ? "module" : "WinPR",
		              fx->result.established ? "ESTABLISHED (authentication bypass)"
		                                     : status_string(fx->result.failure_status).c_str());
		assert_true(forged);
		if (fx->result.established)
			bypassed++;
		else if (server == M && fx->result.failure_status != SEC_E_LOGON_DENIED)
			bypassed += 100;  // refused, but not with the status FreeRDP maps to a logon failure
	}
	assert_int_equal(bypassed, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(callback_3_30_module_server),
		T(callback_conventions_winpr_server),
		T(callback_3_10_module_server),
		T(zero_key_forger_is_valid),
		T(refused_by_3_10_callback_is_not_a_zero_key),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
