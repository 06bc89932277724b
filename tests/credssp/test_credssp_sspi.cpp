// CREDSSP through the SSPI boundary (plugin/sspi's table, in process): the calling sequence of
// include/nlassp/credssp.h with caller-sized and ISC_REQ_ALLOCATE_MEMORY output buffers, a
// TSRequest fed in pieces -> SEC_E_INCOMPLETE_MESSAGE with SECBUFFER_MISSING, the
// NLASSP_ATTR_CREDSSP_* attributes (delegated credentials freed by FreeContextBuffer), the
// acceptor's extended-error token on a wrong password, ISC_REQ_USE_SUPPLIED_CREDS, and the
// statuses the package and the boundary produce for CREDSSP.
#include "credssp/crypto.h"
#include "nlassp/credssp.h"
#include "ntlm/crypto.h"
#include "sspi/packages.h"
#include "sspi/table.h"
#include "support/vectors.h"
#include "wire/utf16.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
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

#define CHECK(expr)                                                                       \
	do {                                                                                  \
		if (!(expr)) {                                                                    \
			std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
			return false;                                                                 \
		}                                                                                 \
	} while (0)
#define CHECK_STATUS(expr, want)                                                                       \
	do {                                                                                               \
		const SECURITY_STATUS got_ = (expr);                                                           \
		if (got_ != (want)) {                                                                          \
			std::fprintf(stderr, "%s:%d: %s = 0x%08x, want 0x%08x\n", __FILE__, __LINE__, #expr,        \
			             static_cast<unsigned>(got_), static_cast<unsigned>(want));                    \
			return false;                                                                              \
		}                                                                                              \
	} while (0)

namespace {

SecurityFunctionTableA* T = nullptr;
std::string g_sam;

bool write_sam()
{
	SecretBytes nt;
	CHECK(ntlm::ntowf_v1(wire::utf16le_bytes(u"Passw0rd!"), nt) == Error::None);
	char path[] = "/tmp/nlassp-credssp-sam-XXXXXX";
	const int fd = ::mkstemp(path);
	CHECK(fd >= 0);
	g_sam = path;
	const std::string line = "alice:LAB::" + to_hex(nt.view()) + ":::\n";
	const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
	::close(fd);
	return ok;
}

Bytes params(uint32_t flags = 0, uint32_t max_version = 0, const std::string& targets = "")
{
	Bytes spki;
	if (!test::vector_hex("ms-cssp.json", "binding_hash.keys.rsa2048.SubjectPublicKeyInfo", spki))
		return {};
	NLASSP_CREDSSP_PARAMS p{};
	p.cbSize = sizeof(p);
	p.Version = NLASSP_CREDSSP_PARAMS_VERSION;
	p.Flags = flags;
	p.MaxVersion = max_version;
	p.KeyFormat = NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO;
	p.PublicKeyOffset = sizeof(p);
	p.PublicKeyLength = static_cast<uint32_t>(spki.size());
	p.DelegateTargetsOffset = static_cast<uint32_t>(sizeof(p) + spki.size());
	p.DelegateTargetsLength = static_cast<uint32_t>(targets.size());
	Bytes b(sizeof(p));
	std::memcpy(b.data(), &p, sizeof(p));
	b.insert(b.end(), spki.begin(), spki.end());
	b.insert(b.end(), targets.begin(), targets.end());
	return b;
}

struct Side {
	CredHandle cred{};
	CtxtHandle ctx{};
	bool have_cred = false, have_ctx = false;
	ULONG attrs = 0;
	Bytes params;
	std::string target = "TERMSRV/server.lab";
	bool allocate = false;
	ULONG out_size = 0;        // caller buffer size (0: cbMaxToken)

	~Side()
	{
		if (have_ctx)
			(void)T->DeleteSecurityContext(&ctx);
		if (have_cred)
			(void)T->FreeCredentialsHandle(&cred);
	}
};

bool client_cred(Side& s, const char* password = "Passw0rd!")
{
	SEC_WINNT_AUTH_IDENTITY_A id{};
	id.User = reinterpret_cast<unsigned char*>(const_cast<char*>("alice"));
	id.UserLength = 5;
	id.Domain = reinterpret_cast<unsigned char*>(const_cast<char*>("LAB"));
	id.DomainLength = 3;
	id.Password = reinterpret_cast<unsigned char*>(const_cast<char*>(password));
	id.PasswordLength = static_cast<ULONG>(std::strlen(password));
	id.Flags = SEC_WINNT_AUTH_IDENTITY_ANSI;
	char pkg[] = "CREDSSP";
	CHECK_STATUS(T->AcquireCredentialsHandleA(nullptr, pkg, SECPKG_CRED_OUTBOUND, nullptr, &id, nullptr, nullptr,
	                                          &s.cred, nullptr),
	             SEC_E_OK);
	s.have_cred = true;
	s.params = params();
	return true;
}

bool server_cred(Side& s)
{
	SEC_WINNT_AUTH_IDENTITY_WINPR a{};
	SEC_WINPR_NTLM_SETTINGS ntlm{};
	a.identity.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
	a.identity.Length = sizeof(SEC_WINNT_AUTH_IDENTITY_EX);
	a.identity.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE | SEC_WINNT_AUTH_IDENTITY_EXTENDED;
	a.ntlmSettings = &ntlm;
	ntlm.samFile = g_sam.data();
	char pkg[] = "CREDSSP";
	CHECK_STATUS(T->AcquireCredentialsHandleA(nullptr, pkg, SECPKG_CRED_INBOUND, nullptr, &a, nullptr, nullptr,
	                                          &s.cred, nullptr),
	             SEC_E_OK);
	s.have_cred = true;
	s.params = params();
	return true;
}

constexpr ULONG kClientReq = ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY | ISC_REQ_DELEGATE | ISC_REQ_CONNECTION |
                             ISC_REQ_STREAM | ISC_REQ_EXTENDED_ERROR | ISC_REQ_MANUAL_CRED_VALIDATION;
constexpr ULONG kServerReq = ASC_REQ_MUTUAL_AUTH | ASC_REQ_CONFIDENTIALITY | ASC_REQ_CONNECTION |
                             ASC_REQ_SEQUENCE_DETECT | ASC_REQ_EXTENDED_ERROR;

// One ISC/ASC call as a CREDSSP caller makes it: token + empty (for SECBUFFER_MISSING) + params.
SECURITY_STATUS call(Side& s, bool server, ULONG req, const Bytes& in, Bytes& out, ULONG* missing = nullptr)
{
	SecBuffer ib[3];
	ULONG n = 0;
	if (!in.empty() || (server || s.have_ctx))
		ib[n++] = SecBuffer{static_cast<ULONG>(in.size()), SECBUFFER_TOKEN,
		                    in.empty() ? nullptr : const_cast<uint8_t*>(in.data())};
	if (n)
		ib[n++] = SecBuffer{0, SECBUFFER_EMPTY, nullptr};
	if (!s.params.empty() && !s.have_ctx)
		ib[n++] = SecBuffer{static_cast<ULONG>(s.params.size()), NLASSP_SECBUFFER_CREDSSP_PARAMS, s.params.data()};
	SecBufferDesc in_desc{SECBUFFER_VERSION, n, ib};
	Bytes buf(s.out_size ? s.out_size : 60000);
	SecBuffer ob{s.allocate ? 0 : static_cast<ULONG>(buf.size()), SECBUFFER_TOKEN, s.allocate ? nullptr : buf.data()};
	SecBufferDesc out_desc{SECBUFFER_VERSION, 1, &ob};
	const ULONG flags = req | (s.allocate ? ISC_REQ_ALLOCATE_MEMORY : 0);
	SECURITY_STATUS st;
	CtxtHandle* existing = s.have_ctx ? &s.ctx : nullptr;
	if (server) {
		st = T->AcceptSecurityContext(&s.cred, existing, &in_desc, flags, SECURITY_NATIVE_DREP, &s.ctx, &out_desc,
		                              &s.attrs, nullptr);
	} else {
		st = T->InitializeSecurityContextA(&s.cred, existing, s.target.empty() ? nullptr : s.target.data(), flags, 0,
		                                   SECURITY_NATIVE_DREP, n ? &in_desc : nullptr, 0, &s.ctx, &out_desc,
		                                   &s.attrs, nullptr);
	}
	if (st == SEC_E_OK || st == SEC_I_CONTINUE_NEEDED)
		s.have_ctx = true;
	out.assign(static_cast<uint8_t*>(ob.pvBuffer), static_cast<uint8_t*>(ob.pvBuffer) + (ob.pvBuffer ? ob.cbBuffer : 0));
	if (s.allocate && ob.pvBuffer)
		(void)T->FreeContextBuffer(ob.pvBuffer);
	if (missing) {
		*missing = 0;
		for (ULONG i = 0; i < n; ++i)
			if (ib[i].BufferType == SECBUFFER_MISSING)
				*missing = ib[i].cbBuffer;
	}
	return st;
}

// The whole exchange; the first failing status (SEC_E_OK when both finished).
SECURITY_STATUS login(Side& c, Side& s, ULONG creq = kClientReq, Bytes* last_server_token = nullptr)
{
	Bytes to_server, to_client;
	SECURITY_STATUS cs = call(c, false, creq, {}, to_server);
	for (int i = 0; i < 8; ++i) {
		if (cs != SEC_I_CONTINUE_NEEDED && cs != SEC_E_OK)
			return cs;
		const SECURITY_STATUS ss = call(s, true, kServerReq, to_server, to_client);
		if (last_server_token)
			*last_server_token = to_client;
		if (ss != SEC_I_CONTINUE_NEEDED && ss != SEC_E_OK)
			return ss;
		if (cs == SEC_E_OK)
			return ss == SEC_E_OK ? SEC_E_OK : SEC_E_INTERNAL_ERROR;
		cs = call(c, false, creq, to_client, to_server);
	}
	return SEC_E_INTERNAL_ERROR;
}

bool full_login(bool allocate)
{
	Side c, s;
	CHECK(client_cred(c) && server_cred(s));
	c.allocate = s.allocate = allocate;
	CHECK_STATUS(login(c, s), SEC_E_OK);
	CHECK(c.attrs & ISC_RET_MANUAL_CRED_VALIDATION);
	CHECK(c.attrs & ISC_RET_DELEGATE);
	CHECK(c.attrs & ISC_RET_MUTUAL_AUTH);
	CHECK(!allocate || (c.attrs & ISC_RET_ALLOCATED_MEMORY));
	NLASSP_CREDSSP_INFO info{};
	CHECK_STATUS(T->QueryContextAttributesA(&c.ctx, NLASSP_ATTR_CREDSSP_INFO, &info), SEC_E_OK);
	CHECK(info.Version == 6 && info.PeerVersion == 6 && std::strcmp(info.Mechanism, "NTLM") == 0);
	CHECK(info.Flags & NLASSP_CREDSSP_INFO_ESTABLISHED && info.Flags & NLASSP_CREDSSP_INFO_DELEGATED);
	NLASSP_CREDSSP_DELEGATED_CREDENTIALS_PTR d{};
	CHECK_STATUS(T->QueryContextAttributesA(&s.ctx, NLASSP_ATTR_CREDSSP_DELEGATED_CREDENTIALS, &d), SEC_E_OK);
	CHECK(d.Credentials && d.Credentials->CredType == NLASSP_CREDSSP_CRED_PASSWORD && !d.Credentials->Empty);
	const std::u16string user(reinterpret_cast<const char16_t*>(d.Credentials->User), d.Credentials->UserLength);
	const std::u16string pw(reinterpret_cast<const char16_t*>(d.Credentials->Password), d.Credentials->PasswordLength);
	CHECK(user == u"alice" && pw == u"Passw0rd!" && d.Credentials->Password[d.Credentials->PasswordLength] == 0);
	CHECK(d.Credentials->RawLength > 0);
	CHECK_STATUS(T->FreeContextBuffer(d.Credentials), SEC_E_OK);
	// The initiator has nothing delegated to read.
	CHECK_STATUS(T->QueryContextAttributesA(&c.ctx, NLASSP_ATTR_CREDSSP_DELEGATED_CREDENTIALS, &d),
	             SEC_E_UNSUPPORTED_FUNCTION);
	SecPkgContext_Names names{};
	CHECK_STATUS(T->QueryContextAttributesA(&s.ctx, SECPKG_ATTR_NAMES, &names), SEC_E_OK);
	CHECK(std::strcmp(reinterpret_cast<char*>(names.sUserName), "LAB\\alice") == 0);
	(void)T->FreeContextBuffer(names.sUserName);
	return true;
}

bool incomplete_with_missing()
{
	Side c, s;
	CHECK(client_cred(c) && server_cred(s));
	Bytes t, reply;
	CHECK_STATUS(call(c, false, kClientReq, {}, t), SEC_I_CONTINUE_NEEDED);
	for (size_t cut = 1; cut < t.size(); ++cut) {
		ULONG missing = 0;
		CHECK_STATUS(call(s, true, kServerReq, Bytes(t.begin(), t.begin() + static_cast<long>(cut)), reply, &missing),
		             SEC_E_INCOMPLETE_MESSAGE);
		CHECK(!s.have_ctx && missing > 0 && reply.empty());
		if (cut >= 2u + (t[1] >= 0x80 ? size_t{t[1] & 0x7fu} : size_t{0}))
			CHECK(missing == t.size() - cut);
	}
	CHECK_STATUS(call(s, true, kServerReq, t, reply), SEC_I_CONTINUE_NEEDED);
	// Mid-handshake: the client stays usable after SEC_E_INCOMPLETE_MESSAGE.
	ULONG missing = 0;
	Bytes half(reply.begin(), reply.begin() + static_cast<long>(reply.size() / 2));
	CHECK_STATUS(call(c, false, kClientReq, half, t, &missing), SEC_E_INCOMPLETE_MESSAGE);
	CHECK(missing == reply.size() - half.size());
	CHECK_STATUS(call(c, false, kClientReq, reply, t), SEC_I_CONTINUE_NEEDED);
	return true;
}

bool wrong_password_extended_error()
{
	Side c, s;
	CHECK(client_cred(c, "wrong") && server_cred(s));
	Bytes last;
	CHECK_STATUS(login(c, s, kClientReq, &last), SEC_E_LOGON_DENIED);
	CHECK(s.attrs & ASC_RET_EXTENDED_ERROR);
	CHECK(!last.empty());
	// The client reads the error TSRequest (errorCode STATUS_LOGON_FAILURE) as a refused logon.
	Bytes out;
	CHECK_STATUS(call(c, false, kClientReq, last, out), SEC_E_LOGON_DENIED);
	return true;
}

bool statuses()
{
	Bytes out;
	{
		Side c;
		CHECK(client_cred(c));
		c.target = "HTTP/gw.lab";
		CHECK_STATUS(call(c, false, kClientReq, {}, out), SEC_E_DELEGATION_POLICY);
	}
	{
		Side c;
		CHECK(client_cred(c));
		c.target.clear();
		CHECK_STATUS(call(c, false, kClientReq, {}, out), SEC_E_TARGET_UNKNOWN);
	}
	{
		Side c;
		CHECK(client_cred(c));
		CHECK_STATUS(call(c, false, kClientReq | ISC_REQ_DATAGRAM, {}, out), SEC_E_UNSUPPORTED_FUNCTION);
	}
	{
		Side c;
		CHECK(client_cred(c));
		c.out_size = 10; // the first TSRequest does not fit
		CHECK_STATUS(call(c, false, kClientReq, {}, out), SEC_E_INSUFFICIENT_MEMORY);
	}
	{
		Side c, s;
		CHECK(client_cred(c) && server_cred(s));
		c.params = params(NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION);
		CHECK_STATUS(login(c, s), SEC_E_POLICY_NLTM_ONLY);
	}
	{
		Side s;
		CHECK(server_cred(s));
		CHECK_STATUS(call(s, true, kServerReq, Bytes{0x31, 0x00}, out), SEC_E_INVALID_TOKEN);
	}
	{
		Side c;
		CHECK(client_cred(c));
		CtxtHandle bogus{0x1234, 0x5678};
		NLASSP_CREDSSP_INFO info{};
		CHECK_STATUS(T->QueryContextAttributesA(&bogus, NLASSP_ATTR_CREDSSP_INFO, &info), SEC_E_INVALID_HANDLE);
	}
	{
		// No credentials: an outbound CREDSSP credential without a user.
		Side c;
		char pkg[] = "CREDSSP";
		CHECK_STATUS(T->AcquireCredentialsHandleA(nullptr, pkg, SECPKG_CRED_OUTBOUND, nullptr, nullptr, nullptr,
		                                          nullptr, &c.cred, nullptr),
		             SEC_E_OK);
		c.have_cred = true;
		c.params = params();
		CHECK_STATUS(call(c, false, kClientReq & ~static_cast<ULONG>(ISC_REQ_DELEGATE), {}, out), SEC_E_NO_CREDENTIALS);
	}
	return true;
}

bool supplied_credentials()
{
	// The credential handle has no user; ISC_REQ_USE_SUPPLIED_CREDS brings one in SECBUFFER_PKG_PARAMS.
	Side c, s;
	CHECK(server_cred(s));
	char pkg[] = "CREDSSP";
	CHECK_STATUS(T->AcquireCredentialsHandleA(nullptr, pkg, SECPKG_CRED_OUTBOUND, nullptr, nullptr, nullptr, nullptr,
	                                          &c.cred, nullptr),
	             SEC_E_OK);
	c.have_cred = true;
	const Bytes prm = params();
	SEC_WINNT_AUTH_IDENTITY_A id{};
	id.User = reinterpret_cast<unsigned char*>(const_cast<char*>("alice"));
	id.UserLength = 5;
	id.Domain = reinterpret_cast<unsigned char*>(const_cast<char*>("LAB"));
	id.DomainLength = 3;
	id.Password = reinterpret_cast<unsigned char*>(const_cast<char*>("Passw0rd!"));
	id.PasswordLength = 9;
	id.Flags = SEC_WINNT_AUTH_IDENTITY_ANSI;
	SecBuffer ib[2] = {{static_cast<ULONG>(prm.size()), NLASSP_SECBUFFER_CREDSSP_PARAMS, const_cast<uint8_t*>(prm.data())},
	                   {sizeof(id), SECBUFFER_PKG_PARAMS, &id}};
	SecBufferDesc in_desc{SECBUFFER_VERSION, 2, ib};
	Bytes buf(60000);
	SecBuffer ob{static_cast<ULONG>(buf.size()), SECBUFFER_TOKEN, buf.data()};
	SecBufferDesc out_desc{SECBUFFER_VERSION, 1, &ob};
	char spn[] = "TERMSRV/server.lab";
	CHECK_STATUS(T->InitializeSecurityContextA(&c.cred, nullptr, spn, kClientReq | ISC_REQ_USE_SUPPLIED_CREDS, 0,
	                                           SECURITY_NATIVE_DREP, &in_desc, 0, &c.ctx, &out_desc, &c.attrs, nullptr),
	             SEC_I_CONTINUE_NEEDED);
	c.have_ctx = true;
	Bytes to_server(buf.begin(), buf.begin() + ob.cbBuffer), to_client;
	SECURITY_STATUS cs = SEC_I_CONTINUE_NEEDED;
	for (int i = 0; i < 6 && cs == SEC_I_CONTINUE_NEEDED; ++i) {
		const SECURITY_STATUS ss = call(s, true, kServerReq, to_server, to_client);
		CHECK(ss == SEC_I_CONTINUE_NEEDED);
		cs = call(c, false, kClientReq, to_client, to_server);
	}
	CHECK_STATUS(cs, SEC_E_OK);
	CHECK(c.attrs & ISC_RET_USED_SUPPLIED_CREDS);
	CHECK_STATUS(call(s, true, kServerReq, to_server, to_client), SEC_E_OK);
	NLASSP_CREDSSP_DELEGATED_CREDENTIALS_PTR d{};
	CHECK_STATUS(T->QueryContextAttributesA(&s.ctx, NLASSP_ATTR_CREDSSP_DELEGATED_CREDENTIALS, &d), SEC_E_OK);
	const std::u16string user(reinterpret_cast<const char16_t*>(d.Credentials->User), d.Credentials->UserLength);
	CHECK(user == u"alice");
	CHECK_STATUS(T->FreeContextBuffer(d.Credentials), SEC_E_OK);
	return true;
}

int setup(void**)
{
	sspi::register_builtin_packages();
	T = sspi::table_a();
	return T && write_sam() ? 0 : -1;
}

int teardown(void**)
{
	if (!g_sam.empty())
		::unlink(g_sam.c_str());
	return 0;
}

} // namespace

static void test_login_caller_buffers(void**) { assert_true(full_login(false)); }
static void test_login_allocate_memory(void**) { assert_true(full_login(true)); }
static void test_incomplete_message_reports_missing(void**) { assert_true(incomplete_with_missing()); }
static void test_wrong_password_extended_error(void**) { assert_true(wrong_password_extended_error()); }
static void test_statuses(void**) { assert_true(statuses()); }
static void test_use_supplied_creds(void**) { assert_true(supplied_credentials()); }

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login_caller_buffers),
		cmocka_unit_test(test_login_allocate_memory),
		cmocka_unit_test(test_incomplete_message_reports_missing),
		cmocka_unit_test(test_wrong_password_extended_error),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_use_supplied_creds),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
