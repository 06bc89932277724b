// RC4-HMAC message protection of the Kerberos package, initiator and acceptor through the
// SecurityContext interface, over a real MIT KDC that issues an RC4 session key (kdc.sh's
// kdc_rc4_enable / kdc_rc4_service) to a client limited to RC4 (its own krb5.conf: permitted_enctypes
// arcfour-hmac), so that neither side negotiates an AES subkey:
//   - both sides start in WinPR's layout (RFC 4121 tokens under the RC4 key, always 56 bytes: what
//     FreeRDP's CredSSP code can carry), initiator first or acceptor first;
//   - RFC 4757 tokens we build (kerberos/rfc4757), with NLASSP_KERBEROS_RC4_LAYOUT=rfc4757 making
//     the initiator start in that layout, are opened by MIT's gss_unwrap_iov and
//     gss_verify_mic_iov on the other side, both directions, and have Windows' layout (framing,
//     02 01 / 01 01, unpadded, the header size for the data length); the acceptor answers in kind;
//   - the token size the boundary checks is the real one (wrap_token_size), and an RFC 4757 token
//     cut where FreeRDP cuts (at 56 bytes) is refused with a line that says why;
//   - tampered data or tokens are MessageAltered, replays OutOfSequence, the mechListMIC works.
// WinPR's own Kerberos against the module is tests/interop/test_kerberos_rc4.cpp.
#include "kerberos/kerberos.h"
#include "kerberos/rfc4757.h"

#include "interop/kdc_lab.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
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

#ifndef NLASSP_KDC_SH
#error "NLASSP_KDC_SH must name tests/lab/kdc.sh"
#endif

using namespace nlassp;
using nlassp::interop::KdcLab;

namespace {

const ContextFlags kRequested = ctx::MutualAuth | ctx::Confidentiality | ctx::Integrity | ctx::SequenceDetect |
                                ctx::ReplayDetect;

struct Fixture {
	KdcLab lab;
	ContextPtr ini;
	ContextPtr acc;
	Bytes scratch;
	std::string log;       // our WLog output (the FILE appender main() sets up)
	size_t log_mark = 0;
};
Fixture* g = nullptr;
std::string g_log_dir;

std::string read_file(const std::string& path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

SecretBytes utf16le(const char* ascii)
{
	SecretBytes out;
	for (const char* p = ascii; *p; ++p) {
		const uint8_t b[2] = {static_cast<uint8_t>(*p), 0};
		out.append(ByteView(b, 2));
	}
	return out;
}

CredentialPtr password_cred(const char16_t* user)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Kerberos;
	c->use = CredentialUse::Outbound;
	Identity id;
	id.user = user;
	id.domain = u"LAB.TEST";
	id.password = utf16le("Passw0rd!");
	id.has_password = true;
	c->identity = std::move(id);
	return c;
}

CredentialPtr acceptor_cred()
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Kerberos;
	c->use = CredentialUse::Inbound;
	c->kerberos.keytab = g->lab.keytab();
	return c;
}

int group_setup(void** state)
{
	g = new Fixture;
	*state = g;
	g->log = g_log_dir + "/wlog.txt";
	std::string why;
	const char* sh = std::getenv("NLASSP_KDC_SH");
	if (!interop::kdc_lab_start(g->lab, sh && *sh ? sh : NLASSP_KDC_SH, &why)) {
		std::fprintf(stderr, "KDC: %s\n", why.c_str());
		return -1;
	}
	interop::kdc_lab_stop_kdc(g->lab);
	// bob has an RC4 key only and may get RC4 TGT session keys; the client's own krb5.conf permits
	// nothing but RC4, so no AES subkey is negotiated.
	if (!interop::kdc_lab_run(g->lab, "kdc_rc4_enable && kdc_rc4_service TERMSRV/localhost \"$KDC_KEYTAB\" && "
	                                  "kdc_kadmin 'addprinc -pw Passw0rd! -e arcfour-hmac:normal bob' && "
	                                  "kdc_kadmin 'setstr krbtgt/LAB.TEST session_enctypes "
	                                  "aes256-cts-hmac-sha1-96,aes128-cts-hmac-sha1-96,arcfour-hmac'") ||
	    !interop::kdc_lab_start_kdc(g->lab, &why)) {
		std::fprintf(stderr, "RC4 realm: %s\n", why.c_str());
		return -1;
	}
	std::string conf = read_file(g->lab.krb5_conf());
	const std::string key = "permitted_enctypes = ";
	const size_t at = conf.find(key);
	if (at == std::string::npos)
		return -1;
	conf.replace(at, conf.find('\n', at) - at, key + "arcfour-hmac");
	std::ofstream(g->lab.dir + "/rc4-only.conf") << conf;
	setenv("KRB5_CONFIG", (g->lab.dir + "/rc4-only.conf").c_str(), 1);
	return 0;
}

int group_teardown(void**)
{
	if (g) {
		g->ini.reset();
		g->acc.reset();
		interop::kdc_lab_teardown(g->lab);
		delete g;
		g = nullptr;
	}
	return 0;
}

// bob logs in to TERMSRV/localhost; the contexts stay in g.
Error login()
{
	g->ini.reset();
	g->acc.reset();
	Error err = Error::None;
	g->ini = kerberos::create_context(Role::Initiator, password_cred(u"bob"), err);
	if (err != Error::None)
		return err;
	g->acc = kerberos::create_context(Role::Acceptor, acceptor_cred(), err);
	if (err != Error::None)
		return err;
	StepInput in;
	in.target = u"TERMSRV/localhost";
	in.requested = kRequested;
	StepOutput out;
	if ((err = g->ini->step(in, out)) != Error::None)
		return err;
	StepInput ain;
	ain.token = out.token;
	ain.requested = kRequested;
	StepOutput aout;
	if ((err = g->acc->step(ain, aout)) != Error::None)
		return err;
	StepInput in2;
	in2.token = aout.token;
	in2.target = u"TERMSRV/localhost";
	in2.requested = kRequested;
	StepOutput out2;
	if ((err = g->ini->step(in2, out2)) != Error::None)
		return err;
	return g->ini->established() && g->acc->established() ? Error::None : Error::Internal;
}

int rc4_tickets()
{
	return interop::kdc_lab_count_lines(g->lab, {"TGS_REQ", "ses=DEPRECATED:arcfour-hmac", "bob@LAB.TEST"}) +
	       interop::kdc_lab_count_lines(g->lab, {"TGS_REQ", "ses=arcfour-hmac", "bob@LAB.TEST"});
}

enum class Form { Rfc4757, Rfc4121 };

// `from` seals `size` bytes; checks the token's layout; `to` opens it. Flips a byte of the data
// (tamper_data) or of the token (tamper_token) in between if asked; returns `to`'s verdict.
Error seal(SecurityContext& from, SecurityContext& to, size_t size, Form form, bool tamper_data = false,
           bool tamper_token = false)
{
	Bytes data(size, 0);
	for (size_t i = 0; i < size; ++i)
		data[i] = static_cast<uint8_t>(i * 7 + 1);
	const Bytes plain = data;
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (Error e = from.encrypt(std::span<MessageBuffer>(&mb, 1), token); e != Error::None)
		return e;
	if (token.size() > from.sizes().security_trailer || (size >= 8 && data == plain))
		return Error::Internal;
	if (form == Form::Rfc4757) {
		// 60 <len> 06 09 <krb5 OID> 02 01 11 00 10 00 ff ff ..., framing counting the data.
		const size_t h = kerberos::rfc4757::wrap_header_size(size);
		if (token.size() != h || token[0] != 0x60 || token[h - 32] != 0x02 || token[h - 31] != 0x01 ||
		    token[h - 30] != 0x11 || token[h - 28] != 0x10)
			return Error::Internal;
	} else if (token.size() != 56 || token[0] != 0x05 || token[1] != 0x04 || token[6] != 0 || token[7] != 16) {
		return Error::Internal;
	}
	if (tamper_data)
		data[size / 2] ^= 0x40;
	if (tamper_token)
		token[token.size() - 1] ^= 0x01;
	if (Error e = to.decrypt(std::span<MessageBuffer>(&mb, 1), token); e != Error::None)
		return e;
	return data == plain ? Error::None : Error::Internal;
}

Error sign(SecurityContext& from, SecurityContext& to, Form form, bool tamper = false)
{
	Bytes data = {'s', 'i', 'g', 'n', 'e', 'd'};
	const MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (Error e = from.sign(std::span<const MessageBuffer>(&mb, 1), token); e != Error::None)
		return e;
	if (token.size() > from.sizes().max_signature)
		return Error::Internal;
	if ((form == Form::Rfc4757 && (token.size() != kerberos::rfc4757::mic_size() || token[0] != 0x60)) ||
	    (form == Form::Rfc4121 && (token.size() != 32 || token[0] != 0x04 || token[1] != 0x04)))
		return Error::Internal;
	if (tamper)
		data[0] ^= 1;
	return to.verify(std::span<const MessageBuffer>(&mb, 1), token);
}

// `from` seals one message, `to` opens it twice: the second time is a replay.
Error replay(SecurityContext& from, SecurityContext& to)
{
	Bytes data(40, 0x5a);
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	if (from.encrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return Error::Internal;
	const Bytes sealed = data;
	if (to.decrypt(std::span<MessageBuffer>(&mb, 1), token) != Error::None)
		return Error::Internal;
	data = sealed;
	return to.decrypt(std::span<MessageBuffer>(&mb, 1), token);
}

void test_rc4_session_key(void**)
{
	const int before = rc4_tickets();
	assert_int_equal(login(), Error::None);
	assert_int_equal(rc4_tickets(), before + 1);
	assert_int_equal(g->ini->sizes().security_trailer, 56);
	assert_int_equal(g->ini->sizes().max_signature, kerberos::rfc4757::mic_size());
}

// A login whose initiator starts in RFC 4757's layout (NLASSP_KERBEROS_RC4_LAYOUT=rfc4757).
Error login_rfc4757()
{
	setenv("NLASSP_KERBEROS_RC4_LAYOUT", "rfc4757", 1);
	const Error e = login();
	unsetenv("NLASSP_KERBEROS_RC4_LAYOUT");
	return e;
}

void test_rfc4757_both_ways(void**)
{
	assert_int_equal(login_rfc4757(), Error::None);
	// The initiator speaks RFC 4757 first; MIT's gss_unwrap_iov opens it on the acceptor, which
	// then answers the same way; sizes cross every DER length form (short, 0x81, 0x82).
	for (size_t size : {0u, 1u, 84u, 85u, 212u, 213u, 270u, 4096u}) {
		assert_int_equal(seal(*g->ini, *g->acc, size, Form::Rfc4757), Error::None);
		assert_int_equal(seal(*g->acc, *g->ini, size, Form::Rfc4757), Error::None);
	}
	assert_int_equal(sign(*g->ini, *g->acc, Form::Rfc4757), Error::None);
	assert_int_equal(sign(*g->acc, *g->ini, Form::Rfc4757), Error::None);
	const Bytes mech_types = {0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
	g->scratch.clear();
	assert_int_equal(g->ini->make_negotiation_mic(mech_types, g->scratch), Error::None);
	assert_int_equal(g->acc->verify_negotiation_mic(mech_types, g->scratch), Error::None);
}

void test_rfc4757_refuses_tampering_and_replays(void**)
{
	assert_int_equal(login_rfc4757(), Error::None);
	assert_int_equal(replay(*g->ini, *g->acc), Error::OutOfSequence);
	assert_int_equal(sign(*g->acc, *g->ini, Form::Rfc4757, true), Error::MessageAltered);
	// Each refused message leaves a gap: the acceptor's next verdict would be OutOfSequence.
	assert_int_equal(seal(*g->ini, *g->acc, 100, Form::Rfc4757, true), Error::MessageAltered);
	assert_int_equal(login_rfc4757(), Error::None);
	assert_int_equal(seal(*g->ini, *g->acc, 100, Form::Rfc4757, false, true), Error::MessageAltered);
}

// The default: the initiator starts in WinPR's layout (56-byte tokens, which FreeRDP's CredSSP code
// carries), and both sides stay in it, as CredSSP's pubKeyAuth, its answer and TSCredentials do.
void test_initiator_starts_in_winpr_layout(void**)
{
	assert_int_equal(login(), Error::None);
	for (size_t size : {32u, 32u, 200u}) {
		assert_int_equal(seal(*g->ini, *g->acc, size, Form::Rfc4121), Error::None);
		assert_int_equal(seal(*g->acc, *g->ini, size, Form::Rfc4121), Error::None);
	}
}

// The boundary checks the caller's token buffer against the token this message needs: 56 in
// WinPR's layout, RFC 4757's header for the message's length once the peer spoke RFC 4757.
void test_wrap_token_size_is_the_real_one(void**)
{
	assert_int_equal(login(), Error::None);
	Bytes data(300, 0x11);
	const MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	assert_int_equal(g->ini->wrap_token_size(std::span<const MessageBuffer>(&mb, 1)), 56);
	assert_int_equal(login_rfc4757(), Error::None);
	assert_int_equal(g->ini->wrap_token_size(std::span<const MessageBuffer>(&mb, 1)),
	                 kerberos::rfc4757::wrap_header_size(300));
	assert_int_equal(g->acc->wrap_token_size(std::span<const MessageBuffer>(&mb, 1)), 56);
	assert_int_equal(seal(*g->ini, *g->acc, 32, Form::Rfc4757), Error::None);
	// The acceptor now answers in RFC 4757: 45 bytes for 32 bytes of data, 47 for 300.
	data.resize(32);
	const MessageBuffer small{MessageBufferKind::Data, MutableByteView(data)};
	assert_int_equal(g->acc->wrap_token_size(std::span<const MessageBuffer>(&small, 1)), 45);
	data.resize(300);
	const MessageBuffer big{MessageBufferKind::Data, MutableByteView(data)};
	assert_int_equal(g->acc->wrap_token_size(std::span<const MessageBuffer>(&big, 1)), 47);
}

// What FreeRDP's server does with an RFC 4757 token (45 bytes for a 32-byte hash): it cuts the
// message at its cbSecurityTrailer (56), so the token buffer holds 11 bytes of data. Refused, with
// the reason; where the token really ends is found from its framing (the CREDSSP package's split).
void test_rfc4757_cut_at_the_trailer(void**)
{
	assert_int_equal(login_rfc4757(), Error::None);
	Bytes data(32, 0x22);
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	Bytes token;
	assert_int_equal(g->ini->encrypt(std::span<MessageBuffer>(&mb, 1), token), Error::None);
	assert_int_equal(token.size(), 45);
	Bytes wire = token;
	wire.insert(wire.end(), data.begin(), data.end());
	assert_int_equal(g->acc->received_token_size(wire), 45);
	Bytes cut_token(wire.begin(), wire.begin() + 56);
	Bytes cut_data(wire.begin() + 56, wire.end());
	MessageBuffer cut{MessageBufferKind::Data, MutableByteView(cut_data)};
	g->log_mark = read_file(g->log).size();
	assert_int_equal(g->acc->decrypt(std::span<MessageBuffer>(&cut, 1), cut_token), Error::InvalidToken);
	const std::string text = read_file(g->log).substr(g->log_mark);
	if (text.find("cannot carry RFC 4757's variable-size tokens") == std::string::npos)
		std::fprintf(stderr, "%s", text.c_str());
	assert_true(text.find("the peer's RFC 4757 (RC4-HMAC) token is 45 bytes, but the caller cut the message into a "
	                      "56-byte token") != std::string::npos);
}

void test_winpr_layout_both_ways(void**)
{
	assert_int_equal(login(), Error::None);
	// The acceptor speaks first, in WinPR's layout (its default); the initiator answers in kind.
	for (size_t size : {270u, 1u, 1024u, 0u}) {
		assert_int_equal(seal(*g->acc, *g->ini, size, Form::Rfc4121), Error::None);
		assert_int_equal(seal(*g->ini, *g->acc, size, Form::Rfc4121), Error::None);
	}
	assert_int_equal(sign(*g->acc, *g->ini, Form::Rfc4121), Error::None);
	assert_int_equal(sign(*g->ini, *g->acc, Form::Rfc4121), Error::None);
	assert_int_equal(sign(*g->acc, *g->ini, Form::Rfc4121, true), Error::MessageAltered);
	assert_int_equal(login(), Error::None);
	assert_int_equal(replay(*g->acc, *g->ini), Error::OutOfSequence);
	assert_int_equal(login(), Error::None);
	assert_int_equal(seal(*g->acc, *g->ini, 64, Form::Rfc4121, true), Error::MessageAltered);
	assert_int_equal(login(), Error::None);
	assert_int_equal(seal(*g->acc, *g->ini, 64, Form::Rfc4121, false, true), Error::MessageAltered);
}

void test_garbage_tokens(void**)
{
	assert_int_equal(login(), Error::None);
	Bytes data(16, 0x11);
	MessageBuffer mb{MessageBufferKind::Data, MutableByteView(data)};
	// Not a token at all; a wrap token of the wrong size; a reflected one (our own direction).
	g->scratch = Bytes(56, 0xab);
	assert_int_equal(g->acc->decrypt(std::span<MessageBuffer>(&mb, 1), g->scratch), Error::InvalidToken);
	g->scratch = {0x05, 0x04, 0x02, 0xff, 0x00, 0x00, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 0, 1};
	g->scratch.resize(40, 0);
	assert_int_equal(g->acc->decrypt(std::span<MessageBuffer>(&mb, 1), g->scratch), Error::InvalidToken);
	g->scratch.resize(56, 0);
	g->scratch[2] = 0x03;   // "sent by the acceptor", to the acceptor
	assert_int_equal(g->acc->decrypt(std::span<MessageBuffer>(&mb, 1), g->scratch), Error::InvalidToken);
	// A framed token (RFC 4757's form) that is not one: MIT's verdict.
	g->scratch = {0x60, 0x3b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x02, 0x01};
	g->scratch.resize(45, 0);
	assert_int_equal(g->acc->decrypt(std::span<MessageBuffer>(&mb, 1), g->scratch), Error::InvalidToken);
}

} // namespace

int main()
{
	char tmpl[] = "/tmp/nlassp-rc4-log.XXXXXX";
	if (!mkdtemp(tmpl))
		return 1;
	g_log_dir = tmpl;
	setenv("WLOG_APPENDER", "FILE", 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_PATH", g_log_dir.c_str(), 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_NAME", "wlog.txt", 1);
	// NLASSP_TEST_WLOG_LEVEL=TRACE (for the check that no secret is logged) keeps the log too.
	const char* level = std::getenv("NLASSP_TEST_WLOG_LEVEL");
	setenv("WLOG_LEVEL", level && *level ? level : "INFO", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rc4_session_key),
		cmocka_unit_test(test_rfc4757_both_ways),
		cmocka_unit_test(test_rfc4757_refuses_tampering_and_replays),
		cmocka_unit_test(test_initiator_starts_in_winpr_layout),
		cmocka_unit_test(test_wrap_token_size_is_the_real_one),
		cmocka_unit_test(test_rfc4757_cut_at_the_trailer),
		cmocka_unit_test(test_winpr_layout_both_ways),
		cmocka_unit_test(test_garbage_tokens),
	};
	const int rc = cmocka_run_group_tests_name("kerberos RC4-HMAC", tests, group_setup, group_teardown);
	std::error_code ec;
	if (level && *level)
		std::fprintf(stderr, "log kept in %s\n", g_log_dir.c_str());
	else
		std::filesystem::remove_all(g_log_dir, ec);
	return rc;
}
