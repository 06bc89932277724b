// The Kerberos package's established contexts against a real MIT KDC (kerberos_lab.h): RFC 4121
// wrap tokens both ways with replay, tamper and sequence checks, signatures, SPNEGO's mechListMIC,
// calls before the context is established, a garbage first token, and interop with WinPR's own
// Kerberos as acceptor and as initiator (the SSPI token layout FreeRDP uses).
//
// Test bodies only call helpers and assert: a failing CMocka assertion longjmps past C++
// destructors, so everything with a destructor lives in the global fixture or inside helpers.
#include "kerberos_lab.h"

#include "kerberos/gss.h"

#include <winpr/sspi.h>

#include <memory>
#include <span>
#include <string>

// cmocka 1.1 has no extern "C" guards of its own.
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
using namespace nlassp::test;

namespace {

// WinPR's built-in Kerberos acceptor (InitSecurityInterfaceExA(0)), as FreeRDP's server uses it.
struct WinprAcceptor {
	SecurityFunctionTableA* table = nullptr;
	CredHandle cred{};
	CtxtHandle ctx{};
	bool have_cred = false;
	bool have_ctx = false;
	std::string keytab;
	SEC_WINPR_KERBEROS_SETTINGS settings{};
	SEC_WINNT_AUTH_IDENTITY_WINPR identity{};
	Bytes output;
	ULONG send_seq = 0;
	ULONG recv_seq = 0;

	WinprAcceptor() = default;
	WinprAcceptor(const WinprAcceptor&) = delete;
	WinprAcceptor& operator=(const WinprAcceptor&) = delete;
	~WinprAcceptor()
	{
		if (have_ctx)
			table->DeleteSecurityContext(&ctx);
		if (have_cred)
			table->FreeCredentialsHandle(&cred);
	}
};

// WinPR's built-in Kerberos initiator, driven as FreeRDP's client drives it.
struct WinprInitiator {
	SecurityFunctionTableA* table = nullptr;
	CredHandle cred{};
	CtxtHandle ctx{};
	bool have_cred = false;
	bool have_ctx = false;
	std::u16string user = u"alice", domain = u"LAB.TEST", password = u"Passw0rd!";
	SEC_WINPR_KERBEROS_SETTINGS settings{};
	SEC_WINPR_NTLM_SETTINGS ntlm{};
	SEC_WINNT_AUTH_IDENTITY_WINPR identity{};
	Bytes output;
	ULONG send_seq = 0;
	ULONG recv_seq = 0;

	WinprInitiator() = default;
	WinprInitiator(const WinprInitiator&) = delete;
	WinprInitiator& operator=(const WinprInitiator&) = delete;
	~WinprInitiator()
	{
		if (have_ctx)
			table->DeleteSecurityContext(&ctx);
		if (have_cred)
			table->FreeCredentialsHandle(&cred);
	}
};

// The WinPR peers of the interop tests; the group teardown frees them before the KDC goes.
std::unique_ptr<WinprAcceptor> g_winpr;
std::unique_ptr<WinprInitiator> g_winpr_client;

int peers_teardown(void** state)
{
	g_winpr.reset();
	g_winpr_client.reset();
	return group_teardown(state);
}

// Encrypts `text` on `from`, decrypts on `to`; checks the RFC 4121 layout of the token.
bool seal_roundtrip(SecurityContext& from, SecurityContext& to, const std::string& text, bool from_acceptor)
{
	Bytes data(text.begin(), text.end());
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (from.encrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return false;
	// Header: TOK_ID 05 04, flags (sealed, sender), filler FF, EC 0, RRC = 16 + trailer, and the
	// token is exactly what sizes() promised (60 bytes with AES: 16 + 16 + 12 + 16).
	if (token.size() != from.sizes().security_trailer || token.size() < 16)
		return false;
	if (token[0] != 0x05 || token[1] != 0x04 || token[3] != 0xff || token[4] != 0 || token[5] != 0)
		return false;
	if (((token[2] & 0x01) != 0) != from_acceptor || (token[2] & 0x02) == 0)
		return false;
	const size_t rrc = static_cast<size_t>(token[6] << 8 | token[7]);
	if (rrc != token.size() - 16 - 16)   // rotated: E(header) + checksum precede the confounder
		return false;
	if (std::string(data.begin(), data.end()) == text && !text.empty())
		return false;   // not encrypted in place
	if (to.decrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return false;
	return std::string(data.begin(), data.end()) == text;
}

Error tamper_decrypt(size_t flip_data_byte, bool flip_token)
{
	std::string text = "public key echo";
	Bytes data(text.begin(), text.end());
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (g->pair.ini->encrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return Error::Internal;
	if (flip_token)
		token[token.size() - 1] ^= 0x01;
	else
		data[flip_data_byte % data.size()] ^= 0x80;
	return g->pair.acc->decrypt(std::span<MessageBuffer>(&mb, 1), token);
}

Error replay_decrypt()
{
	std::string text = "TSCredentials";
	Bytes data(text.begin(), text.end());
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (g->pair.ini->encrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return Error::Internal;
	const Bytes sealed = data;
	if (g->pair.acc->decrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return Error::Internal;
	data = sealed;
	MessageBuffer again{MessageBufferKind::Data, MutableByteView(data)};
	return g->pair.acc->decrypt(std::span<MessageBuffer>(&again, 1), token);
}

Error seal_once()
{
	std::string text = "next message";
	Bytes data(text.begin(), text.end());
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (g->pair.ini->encrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return Error::Internal;
	return g->pair.acc->decrypt(std::span<MessageBuffer>(&mb, 1), token);
}

Error sign_verify(bool tamper)
{
	std::string text = "signed";
	Bytes data(text.begin(), text.end());
	const MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (g->pair.acc->sign(std::span<const MessageBuffer>(&mb, 1), token) != Error::None)
		return Error::Internal;
	if (token.size() != g->pair.acc->sizes().max_signature)
		return Error::Internal;
	if (tamper)
		data[0] ^= 1;
	return g->pair.ini->verify(std::span<const MessageBuffer>(&mb, 1), token);
}

Error negotiation_mic(bool tamper)
{
	const Bytes mech_types = {0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
	Bytes mic;
	if (g->pair.ini->make_negotiation_mic(mech_types, mic) != Error::None)
		return Error::Internal;
	Bytes other = mech_types;
	if (tamper)
		other[4] ^= 1;
	return g->pair.acc->verify_negotiation_mic(other, mic);
}

// Our initiator against WinPR's Kerberos acceptor; true when both sides are established.
bool winpr_login()
{
	g_winpr = std::make_unique<WinprAcceptor>();
	WinprAcceptor& w = *g_winpr;
	w.table = InitSecurityInterfaceExA(0);
	if (!w.table)
		return false;
	w.keytab = g->lab.dir + "/termsrv.keytab";
	w.settings.keytab = w.keytab.data();
	w.identity.identity.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
	w.identity.identity.Length = sizeof(SEC_WINNT_AUTH_IDENTITY_EXW);
	w.identity.identity.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE | SEC_WINNT_AUTH_IDENTITY_EXTENDED;
	w.identity.kerberosSettings = &w.settings;
	char package[] = "Kerberos";
	if (w.table->AcquireCredentialsHandleA(nullptr, package, SECPKG_CRED_INBOUND, nullptr, &w.identity, nullptr,
	                                       nullptr, &w.cred, nullptr) != SEC_E_OK)
		return false;
	w.have_cred = true;

	Error err = Error::None;
	g->pair = Pair{};
	g->pair.ini = kerberos::create_context(Role::Initiator, password_cred(u"alice", u"LAB.TEST", "Passw0rd!"), err);
	if (!g->pair.ini)
		return false;
	StepInput in;
	in.target = u"TERMSRV/localhost";
	in.requested = kRequested;
	StepOutput out;
	if (g->pair.ini->step(in, out) != Error::None || out.complete)
		return false;

	Bytes ap_req = std::move(out.token);
	SecBuffer ib{static_cast<ULONG>(ap_req.size()), SECBUFFER_TOKEN, ap_req.data()};
	SecBufferDesc idesc{SECBUFFER_VERSION, 1, &ib};
	w.output.assign(48000, 0);
	SecBuffer ob{static_cast<ULONG>(w.output.size()), SECBUFFER_TOKEN, w.output.data()};
	SecBufferDesc odesc{SECBUFFER_VERSION, 1, &ob};
	ULONG attrs = 0;
	SECURITY_STATUS st = w.table->AcceptSecurityContext(
	    &w.cred, nullptr, &idesc,
	    ASC_REQ_MUTUAL_AUTH | ASC_REQ_CONFIDENTIALITY | ASC_REQ_CONNECTION | ASC_REQ_USE_SESSION_KEY |
	        ASC_REQ_SEQUENCE_DETECT | ASC_REQ_EXTENDED_ERROR,
	    SECURITY_NATIVE_DREP, &w.ctx, &odesc, &attrs, nullptr);
	if (st != SEC_E_OK)
		return false;
	w.have_ctx = true;

	StepInput in2;
	in2.token = ByteView(w.output.data(), ob.cbBuffer);
	in2.requested = kRequested;
	in2.target = u"TERMSRV/localhost";
	StepOutput out2;
	return g->pair.ini->step(in2, out2) == Error::None && out2.complete && out2.token.empty();
}

// We encrypt, WinPR's DecryptMessage must recover the text.
bool winpr_decrypts_ours(const std::string& text)
{
	WinprAcceptor& w = *g_winpr;
	Bytes data(text.begin(), text.end());
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (g->pair.ini->encrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return false;
	SecBuffer b[2] = {{static_cast<ULONG>(token.size()), SECBUFFER_TOKEN, token.data()},
	                  {static_cast<ULONG>(data.size()), SECBUFFER_DATA, data.data()}};
	SecBufferDesc desc{SECBUFFER_VERSION, 2, b};
	ULONG qop = 0;
	if (w.table->DecryptMessage(&w.ctx, &desc, w.recv_seq++, &qop) != SEC_E_OK)
		return false;
	return std::string(data.begin(), data.end()) == text;
}

// WinPR's EncryptMessage (token sized by its cbSecurityTrailer, as FreeRDP does); we decrypt.
bool we_decrypt_winpr(const std::string& text)
{
	WinprAcceptor& w = *g_winpr;
	SecPkgContext_Sizes sizes{};
	if (w.table->QueryContextAttributesA(&w.ctx, SECPKG_ATTR_SIZES, &sizes) != SEC_E_OK)
		return false;
	if (sizes.cbSecurityTrailer != g->pair.ini->sizes().security_trailer)
		return false;
	Bytes token(sizes.cbSecurityTrailer, 0);
	Bytes data(text.begin(), text.end());
	SecBuffer b[2] = {{static_cast<ULONG>(token.size()), SECBUFFER_TOKEN, token.data()},
	                  {static_cast<ULONG>(data.size()), SECBUFFER_DATA, data.data()}};
	SecBufferDesc desc{SECBUFFER_VERSION, 2, b};
	if (w.table->EncryptMessage(&w.ctx, 0, &desc, w.send_seq++) != SEC_E_OK)
		return false;
	token.resize(b[0].cbBuffer);
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	if (g->pair.ini->decrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return false;
	return std::string(data.begin(), data.end()) == text;
}

// WinPR's initiator (FreeRDP's flags: MUTUAL_AUTH | CONFIDENTIALITY) against our acceptor.
bool winpr_client_login()
{
	g_winpr_client = std::make_unique<WinprInitiator>();
	WinprInitiator& w = *g_winpr_client;
	w.table = InitSecurityInterfaceExA(0);
	if (!w.table)
		return false;
	auto& ex = w.identity.identity;
	ex.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
	ex.Length = sizeof(SEC_WINNT_AUTH_IDENTITY_EXW);
	ex.User = reinterpret_cast<UINT16*>(w.user.data());
	ex.UserLength = static_cast<UINT32>(w.user.size());
	ex.Domain = reinterpret_cast<UINT16*>(w.domain.data());
	ex.DomainLength = static_cast<UINT32>(w.domain.size());
	ex.Password = reinterpret_cast<UINT16*>(w.password.data());
	ex.PasswordLength = static_cast<UINT32>(w.password.size());
	ex.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE | SEC_WINNT_AUTH_IDENTITY_EXTENDED;
	w.identity.kerberosSettings = &w.settings;
	w.identity.ntlmSettings = &w.ntlm;
	char package[] = "Kerberos";
	if (w.table->AcquireCredentialsHandleA(nullptr, package, SECPKG_CRED_OUTBOUND, nullptr, &w.identity, nullptr,
	                                       nullptr, &w.cred, nullptr) != SEC_E_OK)
		return false;
	w.have_cred = true;

	Error err = Error::None;
	g->pair = Pair{};
	g->pair.acc = kerberos::create_context(Role::Acceptor, acceptor_cred(), err);
	if (!g->pair.acc)
		return false;

	char target[] = "TERMSRV/localhost";
	ULONG attrs = ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY;
	w.output.assign(48000, 0);
	SecBuffer ob{static_cast<ULONG>(w.output.size()), SECBUFFER_TOKEN, w.output.data()};
	SecBufferDesc odesc{SECBUFFER_VERSION, 1, &ob};
	SECURITY_STATUS st = w.table->InitializeSecurityContextA(&w.cred, nullptr, target, attrs, 0, SECURITY_NATIVE_DREP,
	                                                         nullptr, 0, &w.ctx, &odesc, &attrs, nullptr);
	if (st != SEC_I_CONTINUE_NEEDED)
		return false;
	w.have_ctx = true;

	StepInput in;
	in.token = ByteView(w.output.data(), ob.cbBuffer);
	in.requested = ctx::MutualAuth | ctx::Confidentiality | ctx::Connection | ctx::UseSessionKey |
	               ctx::SequenceDetect | ctx::ExtendedError;
	StepOutput out;
	if (g->pair.acc->step(in, out) != Error::None || !out.complete || out.token.empty())
		return false;

	Bytes ap_rep = std::move(out.token);
	SecBuffer ib{static_cast<ULONG>(ap_rep.size()), SECBUFFER_TOKEN, ap_rep.data()};
	SecBufferDesc idesc{SECBUFFER_VERSION, 1, &ib};
	ob = SecBuffer{static_cast<ULONG>(w.output.size()), SECBUFFER_TOKEN, w.output.data()};
	st = w.table->InitializeSecurityContextA(&w.cred, &w.ctx, target, attrs, 0, SECURITY_NATIVE_DREP, &idesc, 0,
	                                         &w.ctx, &odesc, &attrs, nullptr);
	return st == SEC_E_OK && names_are(*g->pair.acc, u"alice", u"LAB.TEST");
}

// WinPR's client encrypts (as FreeRDP's nla.c does), our acceptor decrypts, and back.
bool winpr_client_exchange(const std::string& text)
{
	WinprInitiator& w = *g_winpr_client;
	SecPkgContext_Sizes sizes{};
	if (w.table->QueryContextAttributesA(&w.ctx, SECPKG_ATTR_SIZES, &sizes) != SEC_E_OK)
		return false;
	Bytes token(sizes.cbSecurityTrailer, 0);
	Bytes data(text.begin(), text.end());
	SecBuffer b[2] = {{static_cast<ULONG>(token.size()), SECBUFFER_TOKEN, token.data()},
	                  {static_cast<ULONG>(data.size()), SECBUFFER_DATA, data.data()}};
	SecBufferDesc desc{SECBUFFER_VERSION, 2, b};
	if (w.table->EncryptMessage(&w.ctx, 0, &desc, w.send_seq++) != SEC_E_OK)
		return false;
	token.resize(b[0].cbBuffer);
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	if (g->pair.acc->decrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return false;
	if (std::string(data.begin(), data.end()) != text)
		return false;

	Bytes reply_token;
	if (g->pair.acc->encrypt(std::span<MessageBuffer>(&mb, 1), reply_token) != Error::None)
		return false;
	SecBuffer r[2] = {{static_cast<ULONG>(reply_token.size()), SECBUFFER_TOKEN, reply_token.data()},
	                  {static_cast<ULONG>(data.size()), SECBUFFER_DATA, data.data()}};
	SecBufferDesc rdesc{SECBUFFER_VERSION, 2, r};
	ULONG qop = 0;
	if (w.table->DecryptMessage(&w.ctx, &rdesc, w.recv_seq++, &qop) != SEC_E_OK)
		return false;
	return std::string(data.begin(), data.end()) == text;
}

void test_message_protection(void**)
{
	assert_int_equal(login(password_cred(u"alice", u"LAB.TEST", "Passw0rd!")), Error::None);
	assert_true(seal_roundtrip(*g->pair.ini, *g->pair.acc, "client to server", false));
	assert_true(seal_roundtrip(*g->pair.acc, *g->pair.ini, "server to client", true));
	assert_true(seal_roundtrip(*g->pair.ini, *g->pair.acc, std::string(5000, 'x'), false));
	assert_int_equal(replay_decrypt(), Error::OutOfSequence);
	assert_int_equal(sign_verify(false), Error::None);
	assert_int_equal(sign_verify(true), Error::MessageAltered);
	// Tampered messages never verify (each leaves a gap in the acceptor's sequence, so last).
	assert_int_equal(tamper_decrypt(3, false), Error::MessageAltered);
	assert_int_equal(tamper_decrypt(0, true), Error::MessageAltered);
	// The message after a lost (tampered) one is out of sequence: SSPI's SEQUENCE_DETECT.
	assert_int_equal(seal_once(), Error::OutOfSequence);
}

void test_negotiation_mic(void**)
{
	assert_int_equal(login(password_cred(u"alice", u"LAB.TEST", "Passw0rd!")), Error::None);
	assert_int_equal(negotiation_mic(false), Error::None);
	assert_int_equal(negotiation_mic(true), Error::DowngradeDetected);
}

void test_protection_before_established(void**)
{
	Error err = Error::None;
	g->pair = Pair{};
	g->pair.acc = kerberos::create_context(Role::Acceptor, acceptor_cred(), err);
	assert_int_equal(err, Error::None);
	g->scratch = Bytes(16, 0);
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(g->scratch)};
	assert_int_equal(g->pair.acc->decrypt(std::span<MessageBuffer>(&mb, 1), g->scratch), Error::NotEstablished);
}

void test_garbage_first_token_is_invalid(void**)
{
	Error err = Error::None;
	g->pair = Pair{};
	g->pair.acc = kerberos::create_context(Role::Acceptor, acceptor_cred(), err);
	assert_int_equal(err, Error::None);
	g->scratch = {0x60, 0x05, 0x06, 0x03, 0x2a, 0x03, 0x04};
	StepInput in;
	in.token = g->scratch;
	StepOutput out;
	err = g->pair.acc->step(in, out);
	assert_int_equal(err, Error::InvalidToken);
	assert_true(out.token.empty());
}

void test_winpr_acceptor_interop(void**)
{
	// Our AP-REQ is accepted by WinPR's own Kerberos, and WinPR's DecryptMessage opens our wrap
	// tokens (and we open its): the SSPI layout (header + rotated trailer in the token buffer).
	assert_true(winpr_login());
	assert_true(winpr_decrypts_ours("public key of the TLS server"));
	assert_true(we_decrypt_winpr("public key + 1"));
	assert_true(winpr_decrypts_ours("TSCredentials"));
	assert_true(we_decrypt_winpr("second reply"));
	g_winpr.reset();
}

void test_winpr_initiator_interop(void**)
{
	// FreeRDP's own client (WinPR's Kerberos, FreeRDP's flags) logs in to our acceptor and the
	// two exchange sealed messages both ways.
	const int tgs_before = count_tgs(kService);
	assert_true(winpr_client_login());
	assert_int_equal(count_tgs(kService) - tgs_before, 1);
	assert_true(winpr_client_exchange("pubKeyAuth"));
	assert_true(winpr_client_exchange("TSCredentials"));
	g_winpr_client.reset();
}

} // namespace

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_protection),
		cmocka_unit_test(test_negotiation_mic),
		cmocka_unit_test(test_protection_before_established),
		cmocka_unit_test(test_garbage_first_token_is_invalid),
		cmocka_unit_test(test_winpr_acceptor_interop),
		cmocka_unit_test(test_winpr_initiator_interop),
	};
	return cmocka_run_group_tests_name("kerberos", tests, group_setup, peers_teardown);
}
