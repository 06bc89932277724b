// The SSPI boundary's buffers and context attributes, with fake packages: channel-bindings
// validation, output buffers (too small, guard bytes, ALLOCATE_MEMORY), a whole login and every
// attribute FreeRDP queries or sets, calls on an incomplete or failed context, and message buffers
// (QOPs, READONLY, missing or short buffers, signatures).
//
// Test bodies only call bool helpers and assert: a failing CMocka assertion longjmps past C++
// destructors, so anything with a destructor lives inside the helpers.
#include "sspi_pair.h"

#include "sspi/buffers.h"
#include "sspi/handles.h"
#include "sspi/identity.h"
#include "sspi/packages.h"
#include "sspi/table.h"

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
using namespace nlassp::test;

namespace {

// ---- channel bindings ----------------------------------------------------------------------

Bytes bindings_blob(uint32_t app_off, uint32_t app_len, size_t total, uint32_t init_off = 0, uint32_t init_len = 0)
{
	Bytes b(total, 0xcb);
	SEC_CHANNEL_BINDINGS h{};
	h.dwInitiatorAddrType = 2;
	h.cbInitiatorLength = init_len;
	h.dwInitiatorOffset = init_off;
	h.cbApplicationDataLength = app_len;
	h.dwApplicationDataOffset = app_off;
	std::memcpy(b.data(), &h, std::min(sizeof(h), total));
	return b;
}

bool check_bindings_parse()
{
	ChannelBindings cb;
	const Bytes good = bindings_blob(32, 10, 42);
	if (sspi::parse_channel_bindings(good, cb) != Error::None || cb.application_data.size() != 10 ||
	    cb.application_data[0] != 0xcb || cb.initiator_addr_type != 2 || !cb.initiator_addr.empty())
		return failed("valid bindings");
	const struct {
		const char* what;
		Bytes blob;
	} bad[] = {
	    {"empty", {}},
	    {"short header", Bytes(31, 0)},
	    {"application data past the end", bindings_blob(32, 11, 42)},
	    {"offset past the end", bindings_blob(43, 1, 42)},
	    {"offset + length overflows 32 bits", bindings_blob(0xFFFFFFF0u, 0x20, 42)},
	    {"length overflows", bindings_blob(32, 0xFFFFFFFFu, 42)},
	    {"initiator address past the end", bindings_blob(32, 10, 42, 40, 8)},
	};
	for (const auto& b : bad)
		if (sspi::parse_channel_bindings(b.blob, cb) != Error::InvalidToken)
			return failed(b.what);
	return true;
}

void test_bindings_parse(void**)
{
	assert_true(check_bindings_parse());
}

bool check_bindings_through_accept()
{
	Side c, sv;
	if (!open_pair(c, sv))
		return false;
	Bytes good = bindings_blob(32, 10, 42);
	SecBuffer cb{static_cast<ULONG>(good.size()), SECBUFFER_CHANNEL_BINDINGS, good.data()};
	bool ok = login(c, sv, &cb) && g_fake.saw_bindings && g_fake.bindings.application_data.size() == 10;
	close_pair(c, sv);

	// A malformed header fails the step with SEC_E_INVALID_TOKEN, before the package sees it.
	if (!open_pair(c, sv))
		return false;
	Bytes t1, t2;
	Bytes bad = bindings_blob(0xFFFFFFF0u, 0x20, 42);
	SecBuffer badcb{static_cast<ULONG>(bad.size()), SECBUFFER_CHANNEL_BINDINGS, bad.data()};
	ok = ok && expect("ISC", client_step(c, {}, t1), SEC_I_CONTINUE_NEEDED) &&
	     expect("ASC bad bindings", server_step(sv, t1, t2, &badcb), SEC_E_INVALID_TOKEN) && t2.empty() &&
	     !sv.have_ctx;
	SecBuffer nullcb{40, SECBUFFER_CHANNEL_BINDINGS, nullptr};
	ok = ok && expect("ASC NULL bindings", server_step(sv, t1, t2, &nullcb), SEC_E_INVALID_TOKEN);
	close_pair(c, sv);
	return ok;
}

void test_bindings_through_accept(void**)
{
	assert_true(check_bindings_through_accept());
}

// ---- output buffers ------------------------------------------------------------------------

bool check_output_too_small()
{
	Side c, sv;
	if (!open_pair(c, sv))
		return false;
	g_fake.first_token_size = 100;
	// A 64-byte area: 50 bytes offered as the output buffer, 14 guard bytes behind it.
	uint8_t area[64];
	std::memset(area, 0xee, sizeof(area));
	SecBuffer in{0, SECBUFFER_TOKEN, nullptr};
	SecBufferDesc in_desc{SECBUFFER_VERSION, 1, &in};
	SecBuffer out{50, SECBUFFER_TOKEN, area};
	SecBufferDesc out_desc{SECBUFFER_VERSION, 1, &out};
	CtxtHandle ctx{0xabc, 0xdef};
	ULONG attrs = kClientFlags;
	char target[] = "TERMSRV/host";
	const size_t handles_before = sspi::handles().size();
	const SECURITY_STATUS s = A()->InitializeSecurityContextA(&c.cred, nullptr, target, attrs, 0, SECURITY_NATIVE_DREP,
	                                                          &in_desc, 0, &ctx, &out_desc, &attrs, nullptr);
	g_fake.first_token_size = 0;
	bool ok = expect("too small", s, SEC_E_INSUFFICIENT_MEMORY) && out.cbBuffer == 0 && ctx.dwLower == 0xabc &&
	          ctx.dwUpper == 0xdef && sspi::handles().size() == handles_before;
	for (size_t i = 0; i < sizeof(area); ++i)
		if (area[i] != 0xee)
			ok = failed("wrote into the too-small buffer or past it");
	// Exactly fitting works.
	g_fake.first_token_size = 50;
	Bytes t;
	ok = ok && expect("fits", client_step(c, {}, t, 50), SEC_I_CONTINUE_NEEDED) && t.size() == 50;
	g_fake.first_token_size = 0;
	// No output token buffer at all.
	SecBufferDesc empty{SECBUFFER_VERSION, 0, nullptr};
	ok = ok && expect("no output", A()->InitializeSecurityContextA(&c.cred, nullptr, target, attrs, 0, 0, &in_desc, 0,
	                                                             &ctx, &empty, &attrs, nullptr),
	                  SEC_E_INVALID_PARAMETER);
	close_pair(c, sv);
	return ok;
}

void test_output_too_small(void**)
{
	assert_true(check_output_too_small());
}

bool check_allocate_memory()
{
	Side c, sv;
	if (!open_pair(c, sv))
		return false;
	const size_t before = sspi::live_context_buffers();
	SecBuffer in{0, SECBUFFER_TOKEN, nullptr};
	SecBufferDesc in_desc{SECBUFFER_VERSION, 1, &in};
	SecBuffer out{0, SECBUFFER_TOKEN, nullptr};
	SecBufferDesc out_desc{SECBUFFER_VERSION, 1, &out};
	ULONG attrs = 0;
	const SECURITY_STATUS s =
	    A()->InitializeSecurityContextA(&c.cred, nullptr, nullptr, kClientFlags | ISC_REQ_ALLOCATE_MEMORY, 0, 0,
	                                    &in_desc, 0, &c.ctx, &out_desc, &attrs, nullptr);
	c.have_ctx = s == SEC_I_CONTINUE_NEEDED;
	bool ok = expect("ISC allocate", s, SEC_I_CONTINUE_NEEDED) && out.pvBuffer && out.cbBuffer == 3 &&
	          std::memcmp(out.pvBuffer, "NEG", 3) == 0 && (attrs & ISC_RET_ALLOCATED_MEMORY) &&
	          (attrs & ISC_RET_MUTUAL_AUTH) && (attrs & ISC_RET_CONFIDENTIALITY) &&
	          sspi::live_context_buffers() == before + 1;
	// The acceptor allocates too.
	SecBuffer sin{out.cbBuffer, SECBUFFER_TOKEN, out.pvBuffer};
	SecBufferDesc sin_desc{SECBUFFER_VERSION, 1, &sin};
	SecBuffer sout{0, SECBUFFER_TOKEN, nullptr};
	SecBufferDesc sout_desc{SECBUFFER_VERSION, 1, &sout};
	ULONG sattrs = 0;
	const SECURITY_STATUS ss = A()->AcceptSecurityContext(&sv.cred, nullptr, &sin_desc, kServerFlags | ASC_REQ_ALLOCATE_MEMORY,
	                                                      0, &sv.ctx, &sout_desc, &sattrs, nullptr);
	sv.have_ctx = ss == SEC_I_CONTINUE_NEEDED;
	ok = ok && expect("ASC allocate", ss, SEC_I_CONTINUE_NEEDED) && sout.pvBuffer && sout.cbBuffer == 4 &&
	     (sattrs & ASC_RET_ALLOCATED_MEMORY) && (sattrs & ASC_RET_CONNECTION);
	ok = ok && expect("free", A()->FreeContextBuffer(out.pvBuffer), SEC_E_OK) &&
	     expect("free 2", A()->FreeContextBuffer(sout.pvBuffer), SEC_E_OK) &&
	     expect("double free", A()->FreeContextBuffer(out.pvBuffer), SEC_E_INVALID_HANDLE) &&
	     sspi::live_context_buffers() == before;
	int not_ours = 0;
	ok = ok && expect("foreign pointer", A()->FreeContextBuffer(&not_ours), SEC_E_INVALID_HANDLE) &&
	     expect("NULL", A()->FreeContextBuffer(nullptr), SEC_E_OK);
	close_pair(c, sv);
	return ok;
}

void test_allocate_memory(void**)
{
	assert_true(check_allocate_memory());
}

// ---- a whole login and the attributes ------------------------------------------------------

// The attributes FreeRDP queries on an established pair: sizes, package, names, identity, key, flags.
bool check_established_attributes(Side& c, Side& sv)
{
	SecPkgContext_Sizes sizes{};
	bool ok = expect("SIZES", A()->QueryContextAttributesA(&c.ctx, SECPKG_ATTR_SIZES, &sizes), SEC_E_OK) &&
	     sizes.cbSecurityTrailer == 16 && sizes.cbMaxSignature == 16;

	SecPkgContext_PackageInfo pi{};
	ok = ok && expect("PACKAGE_INFO", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_PACKAGE_INFO, &pi), SEC_E_OK) &&
	     std::strcmp(pi.PackageInfo->Name, "NTLM") == 0;
	(void)A()->FreeContextBuffer(pi.PackageInfo);

	SecPkgContext_NegotiationInfo ni{};
	ok = ok && expect("NEGOTIATION_INFO", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_NEGOTIATION_INFO, &ni),
	                  SEC_E_OK) &&
	     std::strcmp(ni.PackageInfo->Name, "NTLM") == 0 && ni.NegotiationState == SECPKG_NEGOTIATION_COMPLETE;
	(void)A()->FreeContextBuffer(ni.PackageInfo);

	SecPkgContext_Names names{};
	ok = ok && expect("NAMES", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_NAMES, &names), SEC_E_OK) &&
	     std::strcmp(names.sUserName, "LAB\\alice") == 0;
	(void)A()->FreeContextBuffer(names.sUserName);

	SecPkgContext_AuthIdentity ai{};
	ok = ok && expect("AUTH_IDENTITY", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_AUTH_IDENTITY, &ai), SEC_E_OK) &&
	     std::strcmp(ai.User, "alice") == 0 && std::strcmp(ai.Domain, "LAB") == 0;

	SecPkgContext_SessionKey sk{};
	ok = ok && expect("SESSION_KEY", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_SESSION_KEY, &sk), SEC_E_OK) &&
	     sk.SessionKeyLength == 16 && sk.SessionKey[0] == 0x11;
	(void)A()->FreeContextBuffer(sk.SessionKey);

	SecPkgContext_Flags fl{};
	ok = ok && expect("FLAGS", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_FLAGS, &fl), SEC_E_OK) &&
	     fl.Flags == sv.flags;
	return ok;
}

// The workstation name set on the client and read on the server (A and W), and what is refused.
bool check_hostname_and_refusals(Side& c, Side& sv)
{
	SecPkgContext_Sizes sizes{};
	// The workstation name (FreeRDP 3.27+): set on the client, read on the server.
	char ws[] = "CLIENT-PC";
	bool ok = expect("set HOSTNAME", A()->SetContextAttributesA(&c.ctx, SECPKG_ATTR_AUTH_NTLM_HOSTNAME, ws, 9),
	                  SEC_E_OK) &&
	     g_fake.workstation == u"CLIENT-PC";
	ok = ok && expect("set empty HOSTNAME", A()->SetContextAttributesA(&c.ctx, SECPKG_ATTR_AUTH_NTLM_HOSTNAME, ws, 0),
	                  SEC_E_INVALID_PARAMETER);
	ULONG len = 0;
	ok = ok && expect("HOSTNAME_LEN", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_AUTH_NTLM_HOSTNAME_LEN, &len),
	                  SEC_E_OK) &&
	     len == 3;
	char host[8] = {};
	ok = ok && expect("HOSTNAME", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_AUTH_NTLM_HOSTNAME, host),
	                  SEC_E_OK) &&
	     std::strcmp(host, "WS1") == 0;
	ULONG wlen = 0;
	SEC_WCHAR whost[8] = {};
	ok = ok && expect("W HOSTNAME_LEN", W()->QueryContextAttributesW(&sv.ctx, SECPKG_ATTR_AUTH_NTLM_HOSTNAME_LEN, &wlen),
	                  SEC_E_OK) &&
	     wlen == 3 &&
	     expect("W HOSTNAME", W()->QueryContextAttributesW(&sv.ctx, SECPKG_ATTR_AUTH_NTLM_HOSTNAME, whost), SEC_E_OK) &&
	     std::u16string(reinterpret_cast<const char16_t*>(whost)) == u"WS1";

	ok = ok && expect("unsupported attr", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_LIFESPAN, &sizes),
	                  SEC_E_UNSUPPORTED_FUNCTION) &&
	     expect("NULL buffer", A()->QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_SIZES, nullptr),
	            SEC_E_INVALID_PARAMETER) &&
	     expect("set other attr", A()->SetContextAttributesA(&c.ctx, SECPKG_ATTR_SIZES, ws, 9),
	            SEC_E_UNSUPPORTED_FUNCTION);
	return ok;
}

bool check_login_and_attributes()
{
	Side c, sv;
	if (!open_pair(c, sv) || !login(c, sv))
		return false;
	bool ok = g_fake.target == u"TERMSRV/host.lab" && (c.flags & ISC_RET_MUTUAL_AUTH) &&
	          (c.flags & ISC_RET_CONFIDENTIALITY) && (sv.flags & ASC_RET_SEQUENCE_DETECT) &&
	          (sv.flags & ASC_RET_CONNECTION);
	if (!ok)
		return failed("target or flags");

	ok = check_established_attributes(c, sv) && check_hostname_and_refusals(c, sv);

	// FreeRDP's server impersonates then reverts on the acceptor context.
	ok = ok && expect("impersonate", A()->ImpersonateSecurityContext(&sv.ctx), SEC_E_OK) &&
	     expect("revert", A()->RevertSecurityContext(&sv.ctx), SEC_E_OK) &&
	     expect("impersonate initiator", A()->ImpersonateSecurityContext(&c.ctx), SEC_E_NO_IMPERSONATION) &&
	     expect("impersonate forged", A()->ImpersonateSecurityContext(&c.cred), SEC_E_INVALID_HANDLE);

	ok = ok && seal_roundtrip(c.ctx, sv.ctx) && seal_roundtrip(sv.ctx, c.ctx);
	close_pair(c, sv);
	return ok;
}

void test_login_and_attributes(void**)
{
	assert_true(check_login_and_attributes());
}

bool check_in_progress_attributes()
{
	Side c, sv;
	if (!open_pair(c, sv))
		return false;
	Bytes t1;
	bool ok = expect("ISC 1", client_step(c, {}, t1), SEC_I_CONTINUE_NEEDED);
	SecPkgContext_NegotiationInfo ni{};
	ok = ok && expect("NEGOTIATION_INFO", A()->QueryContextAttributesA(&c.ctx, SECPKG_ATTR_NEGOTIATION_INFO, &ni),
	                  SEC_E_OK) &&
	     std::strcmp(ni.PackageInfo->Name, "Negotiate") == 0 && ni.NegotiationState == SECPKG_NEGOTIATION_IN_PROGRESS;
	(void)A()->FreeContextBuffer(ni.PackageInfo);
	// Message protection and impersonation need a complete context.
	uint8_t sig[16], data[4] = {1, 2, 3, 4};
	SecBuffer bufs[2] = {{16, SECBUFFER_TOKEN, sig}, {4, SECBUFFER_DATA, data}};
	SecBufferDesc desc{SECBUFFER_VERSION, 2, bufs};
	ok = ok && expect("encrypt early", A()->EncryptMessage(&c.ctx, 0, &desc, 0), SEC_E_INVALID_HANDLE) &&
	     expect("sign early", A()->MakeSignature(&c.ctx, 0, &desc, 0), SEC_E_INVALID_HANDLE) &&
	     expect("names early", A()->QueryContextAttributesA(&c.ctx, SECPKG_ATTR_NAMES, &ni), SEC_E_INVALID_HANDLE);
	close_pair(c, sv);
	return ok;
}

void test_in_progress_attributes(void**)
{
	assert_true(check_in_progress_attributes());
}

bool check_failed_step()
{
	Side c, sv;
	if (!open_pair(c, sv))
		return false;
	Bytes t1, t2, out;
	bool ok = expect("ISC 1", client_step(c, {}, t1), SEC_I_CONTINUE_NEEDED) &&
	          expect("ASC 1", server_step(sv, t1, t2), SEC_I_CONTINUE_NEEDED);
	g_fake.fail_error = Error::PasswordExpired;
	ok = ok && expect("ASC fails", server_step(sv, Bytes{'F', 'A', 'I', 'L'}, out), SEC_E_LOGON_DENIED) && out.empty();
	ok = ok && expect("ASC after failure", server_step(sv, Bytes{'A', 'U', 'T', 'H'}, out), SEC_E_OUT_OF_SEQUENCE);
	g_fake.fail_error = Error::LogonDenied;
	// A failed first step creates no handle.
	Side fresh;
	fresh.cred = sv.cred;
	const size_t before = sspi::handles().size();
	ok = ok && expect("ASC fails first", server_step(fresh, Bytes{'F', 'A', 'I', 'L'}, out), SEC_E_LOGON_DENIED) &&
	     !fresh.have_ctx && sspi::handles().size() == before;
	// Wrong direction.
	Side wrong;
	wrong.cred = sv.cred;
	ok = ok && expect("ISC with inbound credential", client_step(wrong, {}, out), SEC_E_UNKNOWN_CREDENTIALS);
	close_pair(c, sv);
	return ok;
}

void test_failed_step(void**)
{
	assert_true(check_failed_step());
}

bool check_message_buffers()
{
	Side c, sv;
	if (!open_pair(c, sv) || !login(c, sv))
		return false;
	// READONLY_WITH_CHECKSUM is signed but not sealed; plain READONLY is neither.
	bool ok = seal_roundtrip(c.ctx, sv.ctx, SECBUFFER_READONLY_WITH_CHECKSUM) &&
	          seal_roundtrip(c.ctx, sv.ctx, SECBUFFER_READONLY);

	// SECQOP_WRAP_NO_ENCRYPT signs only.
	uint8_t tok[16], data[5] = {'h', 'e', 'l', 'l', 'o'};
	SecBuffer bufs[2] = {{16, SECBUFFER_TOKEN, tok}, {5, SECBUFFER_DATA, data}};
	SecBufferDesc desc{SECBUFFER_VERSION, 2, bufs};
	ok = ok && expect("wrap no encrypt", A()->EncryptMessage(&c.ctx, SECQOP_WRAP_NO_ENCRYPT, &desc, 0), SEC_E_OK) &&
	     std::memcmp(data, "hello", 5) == 0 &&
	     expect("bad QOP", A()->EncryptMessage(&c.ctx, 7, &desc, 0), SEC_E_QOP_NOT_SUPPORTED);

	// Signature buffer too small: refused, nothing written.
	uint8_t small[8];
	std::memset(small, 0xee, sizeof(small));
	SecBuffer sbufs[2] = {{8, SECBUFFER_TOKEN, small}, {5, SECBUFFER_DATA, data}};
	SecBufferDesc sdesc{SECBUFFER_VERSION, 2, sbufs};
	ok = ok && expect("small token", A()->EncryptMessage(&c.ctx, 0, &sdesc, 0), SEC_E_BUFFER_TOO_SMALL) &&
	     expect("small signature", A()->MakeSignature(&c.ctx, 0, &sdesc, 0), SEC_E_BUFFER_TOO_SMALL) &&
	     small[0] == 0xee && small[7] == 0xee;

	// No TOKEN buffer; NULL descriptor; NULL data pointer with a length.
	SecBuffer only_data{5, SECBUFFER_DATA, data};
	SecBufferDesc no_token{SECBUFFER_VERSION, 1, &only_data};
	SecBuffer null_data[2] = {{16, SECBUFFER_TOKEN, tok}, {5, SECBUFFER_DATA, nullptr}};
	SecBufferDesc nd{SECBUFFER_VERSION, 2, null_data};
	SecBufferDesc null_bufs{SECBUFFER_VERSION, 2, nullptr};
	ok = ok && expect("no token", A()->EncryptMessage(&c.ctx, 0, &no_token, 0), SEC_E_INVALID_TOKEN) &&
	     expect("NULL desc", A()->EncryptMessage(&c.ctx, 0, nullptr, 0), SEC_E_INVALID_PARAMETER) &&
	     expect("NULL data", A()->EncryptMessage(&c.ctx, 0, &nd, 0), SEC_E_INVALID_PARAMETER) &&
	     expect("NULL pBuffers", A()->DecryptMessage(&sv.ctx, &null_bufs, 0, nullptr), SEC_E_INVALID_PARAMETER);

	// Sign / verify, and a tampered message.
	uint8_t msg[6] = {'s', 'i', 'g', 'n', 'e', 'd'};
	SecBuffer mbufs[2] = {{16, SECBUFFER_TOKEN, tok}, {6, SECBUFFER_DATA, msg}};
	SecBufferDesc mdesc{SECBUFFER_VERSION, 2, mbufs};
	ULONG qop = 99;
	ok = ok && expect("MakeSignature", A()->MakeSignature(&c.ctx, 0, &mdesc, 0), SEC_E_OK) && mbufs[0].cbBuffer == 16 &&
	     expect("VerifySignature", A()->VerifySignature(&sv.ctx, &mdesc, 0, &qop), SEC_E_OK) && qop == 0;
	msg[0] ^= 1;
	ok = ok && expect("tampered", A()->VerifySignature(&sv.ctx, &mdesc, 0, &qop), SEC_E_MESSAGE_ALTERED);
	close_pair(c, sv);
	return ok;
}

void test_message_buffers(void**)
{
	assert_true(check_message_buffers());
}

} // namespace

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_bindings_parse, setup),
	    cmocka_unit_test_setup(test_bindings_through_accept, setup),
	    cmocka_unit_test_setup(test_output_too_small, setup),
	    cmocka_unit_test_setup(test_allocate_memory, setup),
	    cmocka_unit_test_setup(test_login_and_attributes, setup),
	    cmocka_unit_test_setup(test_in_progress_attributes, setup),
	    cmocka_unit_test_setup(test_failed_step, setup),
	    cmocka_unit_test_setup(test_message_buffers, setup),
	};
	const int failures = cmocka_run_group_tests(tests, nullptr, nullptr);
	// As test_nothing_left does in test_sspi_boundary: every test closed what it opened.
	return failures != 0 ? failures : (nothing_left() ? 0 : 1);
}
