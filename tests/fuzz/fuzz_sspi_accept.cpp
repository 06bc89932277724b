// Fuzzes the SSPI boundary with the real packages behind it: AcceptSecurityContext through the A
// table on a fuzzed first token (or a genuine one from our own initiator) and a fuzzed second
// token, with an optional fuzzed SECBUFFER_CHANNEL_BINDINGS buffer, preallocated (sometimes too
// small) or ALLOCATE_MEMORY output; or, mid-handshake on the other side, InitializeSecurityContext
// on a fuzzed server token. Then the context attributes and DecryptMessage on fuzzed bytes.
// Invariants: no crash; an output token never exceeds its buffer (guard bytes behind it); a failed
// step leaves cbBuffer 0 unless it reports an error token (ASC_RET_EXTENDED_ERROR); every handle
// and context buffer is released at the end.
#include "sspi/buffers.h"
#include "sspi/handles.h"
#include "sspi/packages.h"
#include "sspi/table.h"

#include <fuzzer/FuzzedDataProvider.h>
#include <winpr/sspi.h>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace nlassp;

namespace {

void check(bool condition)
{
	if (!condition)
		__builtin_trap();
}

SecurityFunctionTableA* T() { return sspi::table_a(); }

std::string g_sam;

constexpr ULONG kServerFlags = ASC_REQ_MUTUAL_AUTH | ASC_REQ_CONFIDENTIALITY | ASC_REQ_CONNECTION |
                               ASC_REQ_USE_SESSION_KEY | ASC_REQ_SEQUENCE_DETECT | ASC_REQ_EXTENDED_ERROR;
constexpr ULONG kClientFlags = ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY;

const char* const kPackages[] = {"NTLM", "Negotiate", "Kerberos", "ntlm"};

struct Step {
	SECURITY_STATUS status = SEC_E_INTERNAL_ERROR;
	std::vector<uint8_t> token;
};

// One ASC/ISC call with the output buffer chosen by the fuzzer; checks the buffer invariants.
Step call(bool server, CredHandle& cred, CtxtHandle& ctx, bool& have_ctx, const std::vector<uint8_t>& in,
          const std::vector<uint8_t>* bindings, bool allocate, ULONG capacity)
{
	SecBuffer in_bufs[2] = {{static_cast<ULONG>(in.size()), SECBUFFER_TOKEN,
	                         in.empty() ? nullptr : const_cast<uint8_t*>(in.data())},
	                        {}};
	SecBufferDesc in_desc{SECBUFFER_VERSION, 1, in_bufs};
	if (bindings) {
		in_bufs[1] = {static_cast<ULONG>(bindings->size()), SECBUFFER_CHANNEL_BINDINGS,
		              bindings->empty() ? nullptr : const_cast<uint8_t*>(bindings->data())};
		in_desc.cBuffers = 2;
	}
	// Guard bytes behind the caller's buffer catch any write past cbBuffer.
	std::vector<uint8_t> area(capacity + 32, 0xa5);
	SecBuffer out{allocate ? 0 : capacity, SECBUFFER_TOKEN, allocate ? nullptr : area.data()};
	SecBufferDesc out_desc{SECBUFFER_VERSION, 1, &out};
	ULONG attrs = 0;
	Step r;
	if (server) {
		r.status = T()->AcceptSecurityContext(&cred, have_ctx ? &ctx : nullptr, &in_desc,
		                                      kServerFlags | (allocate ? ASC_REQ_ALLOCATE_MEMORY : 0), 0, &ctx,
		                                      &out_desc, &attrs, nullptr);
	} else {
		char spn[] = "TERMSRV/server.lab";
		r.status = T()->InitializeSecurityContextA(&cred, have_ctx ? &ctx : nullptr, spn,
		                                           kClientFlags | (allocate ? ISC_REQ_ALLOCATE_MEMORY : 0), 0, 0,
		                                           &in_desc, 0, &ctx, &out_desc, &attrs, nullptr);
	}
	const bool ok = r.status == SEC_E_OK || r.status == SEC_I_CONTINUE_NEEDED;
	if (ok)
		have_ctx = true;
	else if (!(attrs & (server ? ASC_RET_EXTENDED_ERROR : ISC_RET_EXTENDED_ERROR)))
		check(out.cbBuffer == 0);   // a failed step leaves no token, unless it is an error token
	check(allocate || out.cbBuffer <= capacity);
	for (size_t i = capacity; i < area.size(); ++i)
		check(area[i] == 0xa5);
	if (allocate) {
		if (out.pvBuffer) {
			r.token.assign(static_cast<uint8_t*>(out.pvBuffer), static_cast<uint8_t*>(out.pvBuffer) + out.cbBuffer);
			check(T()->FreeContextBuffer(out.pvBuffer) == SEC_E_OK);
		}
	} else {
		check(out.cbBuffer <= capacity);
		r.token.assign(area.data(), area.data() + out.cbBuffer);
	}
	return r;
}

bool acquire(const char* package, bool server, CredHandle& cred)
{
	// The client side goes straight to NTLM: a Kerberos attempt costs a KDC lookup per input.
	static char16_t user[] = u"User", domain[] = u"Domain", password[] = u"Password", list[] = u"!kerberos";
	SEC_WINPR_NTLM_SETTINGS ntlm{};
	SEC_WINNT_AUTH_IDENTITY_WINPR auth{};
	auth.identity.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
	auth.identity.Length = sizeof(SEC_WINNT_AUTH_IDENTITY_EXW);
	auth.identity.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE | SEC_WINNT_AUTH_IDENTITY_EXTENDED;
	auth.ntlmSettings = &ntlm;
	if (server) {
		ntlm.samFile = g_sam.data();
	} else {
		auth.identity.User = reinterpret_cast<UINT16*>(user);
		auth.identity.UserLength = 4;
		auth.identity.Domain = reinterpret_cast<UINT16*>(domain);
		auth.identity.DomainLength = 6;
		auth.identity.Password = reinterpret_cast<UINT16*>(password);
		auth.identity.PasswordLength = 8;
		auth.identity.PackageList = reinterpret_cast<UINT16*>(list);
		auth.identity.PackageListLength = 9;
	}
	return T()->AcquireCredentialsHandleA(nullptr, const_cast<char*>(package),
	                                      server ? SECPKG_CRED_INBOUND : SECPKG_CRED_OUTBOUND, nullptr, &auth,
	                                      nullptr, nullptr, &cred, nullptr) == SEC_E_OK;
}

void poke_attributes(CtxtHandle& ctx, FuzzedDataProvider& fdp)
{
	SecPkgContext_Sizes sizes{};
	(void)T()->QueryContextAttributesA(&ctx, SECPKG_ATTR_SIZES, &sizes);
	SecPkgContext_PackageInfo pi{};
	if (T()->QueryContextAttributesA(&ctx, SECPKG_ATTR_PACKAGE_INFO, &pi) == SEC_E_OK)
		check(T()->FreeContextBuffer(pi.PackageInfo) == SEC_E_OK);
	SecPkgContext_Names names{};
	if (T()->QueryContextAttributesA(&ctx, SECPKG_ATTR_NAMES, &names) == SEC_E_OK)
		check(T()->FreeContextBuffer(names.sUserName) == SEC_E_OK);
	SecPkgContext_AuthIdentity ai{};
	(void)T()->QueryContextAttributesA(&ctx, SECPKG_ATTR_AUTH_IDENTITY, &ai);
	ULONG len = 0;
	if (T()->QueryContextAttributesA(&ctx, SECPKG_ATTR_AUTH_NTLM_HOSTNAME_LEN, &len) == SEC_E_OK) {
		std::vector<char> host(len + 1);
		check(T()->QueryContextAttributesA(&ctx, SECPKG_ATTR_AUTH_NTLM_HOSTNAME, host.data()) == SEC_E_OK);
	}
	(void)T()->ImpersonateSecurityContext(&ctx);

	// DecryptMessage on fuzzed bytes: token = first cbSecurityTrailer bytes, as FreeRDP splits it.
	std::vector<uint8_t> msg = fdp.ConsumeRemainingBytes<uint8_t>();
	const ULONG tok = std::min<ULONG>(sizes.cbSecurityTrailer, static_cast<ULONG>(msg.size()));
	SecBuffer bufs[2] = {{tok, SECBUFFER_TOKEN, msg.data()},
	                     {static_cast<ULONG>(msg.size() - tok), SECBUFFER_DATA, msg.data() + tok}};
	SecBufferDesc desc{SECBUFFER_VERSION, 2, bufs};
	ULONG qop = 0;
	(void)T()->DecryptMessage(&ctx, &desc, 0, &qop);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
	sspi::register_builtin_packages();
	char tmpl[] = "/tmp/nlassp-fuzz-sam-XXXXXX";
	const int fd = mkstemp(tmpl);
	if (fd >= 0) {
		// MS-NLMP 4.2.1: User / Domain / NT hash of "Password"
		const char line[] = "User:Domain::a4f49c406510bdcab6824ee7c30fd852:::\n";
		(void)!write(fd, line, sizeof(line) - 1);
		close(fd);
		g_sam = tmpl;
	}
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	FuzzedDataProvider fdp(data, size);
	const uint8_t mode = fdp.ConsumeIntegral<uint8_t>();
	const char* package = kPackages[mode & 3];
	const bool with_bindings = mode & 0x04;
	const bool kerberos = (mode & 3) == 2;   // no client side: it would need a KDC
	const bool real_first = (mode & 0x08) && !kerberos;
	const bool allocate = mode & 0x10;
	const bool small = mode & 0x20;
	const bool initiator = (mode & 0x40) && !kerberos;
	const ULONG capacity = small ? 16 : 48256;

	const size_t handles_before = sspi::handles().size();
	const size_t buffers_before = sspi::live_context_buffers();

	std::vector<uint8_t> first = fdp.ConsumeBytes<uint8_t>(fdp.ConsumeIntegralInRange<size_t>(0, 4096));
	std::vector<uint8_t> second = fdp.ConsumeBytes<uint8_t>(fdp.ConsumeIntegralInRange<size_t>(0, 4096));
	std::vector<uint8_t> bindings;
	if (with_bindings)
		bindings = fdp.ConsumeBytes<uint8_t>(fdp.ConsumeIntegralInRange<size_t>(0, 256));
	const std::vector<uint8_t>* cb = with_bindings ? &bindings : nullptr;

	CredHandle server_cred{}, client_cred{};
	CtxtHandle server_ctx{}, client_ctx{};
	bool have_server_ctx = false, have_client_ctx = false;
	const bool have_server_cred = acquire(package, true, server_cred);
	const bool have_client_cred = !kerberos && acquire(package, false, client_cred);

	if (initiator && have_client_cred) {
		// Our initiator's first token, then a fuzzed answer from the "server".
		Step s1 = call(false, client_cred, client_ctx, have_client_ctx, {}, nullptr, false, 48256);
		if (s1.status == SEC_I_CONTINUE_NEEDED) {
			Step s2 = call(false, client_cred, client_ctx, have_client_ctx, second, cb, allocate, capacity);
			if (s2.status == SEC_I_CONTINUE_NEEDED)
				(void)call(false, client_cred, client_ctx, have_client_ctx, first, cb, allocate, capacity);
		}
		if (have_client_ctx)
			poke_attributes(client_ctx, fdp);
	} else if (have_server_cred) {
		if (real_first && have_client_cred) {
			Step c1 = call(false, client_cred, client_ctx, have_client_ctx, {}, nullptr, false, 48256);
			first = c1.token;
		}
		Step s1 = call(true, server_cred, server_ctx, have_server_ctx, first, cb, allocate, capacity);
		if (s1.status == SEC_I_CONTINUE_NEEDED)
			(void)call(true, server_cred, server_ctx, have_server_ctx, second, cb, allocate, capacity);
		if (have_server_ctx)
			poke_attributes(server_ctx, fdp);
	}

	if (have_server_ctx)
		check(T()->DeleteSecurityContext(&server_ctx) == SEC_E_OK);
	if (have_client_ctx)
		check(T()->DeleteSecurityContext(&client_ctx) == SEC_E_OK);
	if (have_server_cred)
		check(T()->FreeCredentialsHandle(&server_cred) == SEC_E_OK);
	if (have_client_cred)
		check(T()->FreeCredentialsHandle(&client_cred) == SEC_E_OK);
	check(sspi::handles().size() == handles_before);
	check(sspi::live_context_buffers() == buffers_before);
	return 0;
}
