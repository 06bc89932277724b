// The SSPI boundary tests' shared login: see sspi_pair.h.
#include "sspi_pair.h"

#include "sspi/buffers.h"
#include "sspi/handles.h"
#include "sspi/table.h"

#include <cstdio>
#include <cstring>
#include <string>

namespace nlassp::test {

SecurityFunctionTableA* A() { return sspi::table_a(); }
SecurityFunctionTableW* W() { return sspi::table_w(); }

bool failed(const char* what)
{
	std::fprintf(stderr, "FAILED: %s\n", what);
	return false;
}

bool expect(const char* what, SECURITY_STATUS got, SECURITY_STATUS want)
{
	if (got == want)
		return true;
	std::fprintf(stderr, "FAILED: %s: got 0x%08x, want 0x%08x\n", what, static_cast<unsigned>(got),
	             static_cast<unsigned>(want));
	return false;
}

SEC_WINNT_AUTH_IDENTITY_A ansi_identity()
{
	static char user[] = "alice", domain[] = "LAB", password[] = "Passw0rd!";
	SEC_WINNT_AUTH_IDENTITY_A id{};
	id.User = reinterpret_cast<BYTE*>(user);
	id.UserLength = 5;
	id.Domain = reinterpret_cast<BYTE*>(domain);
	id.DomainLength = 3;
	id.Password = reinterpret_cast<BYTE*>(password);
	id.PasswordLength = 9;
	id.Flags = SEC_WINNT_AUTH_IDENTITY_ANSI;
	return id;
}

bool acquire(const char* package, ULONG use, void* auth, CredHandle& h)
{
	TimeStamp expiry{};
	return expect("AcquireCredentialsHandleA",
	              A()->AcquireCredentialsHandleA(nullptr, const_cast<char*>(package), use, nullptr, auth, nullptr,
	                                             nullptr, &h, &expiry),
	              SEC_E_OK);
}
SECURITY_STATUS client_step(Side& c, const Bytes& in, Bytes& out, ULONG cap, SecBuffer* bindings)
{
	SecBuffer in_bufs[2] = {{static_cast<ULONG>(in.size()), SECBUFFER_TOKEN,
	                         in.empty() ? nullptr : const_cast<uint8_t*>(in.data())},
	                        {}};
	SecBufferDesc in_desc{SECBUFFER_VERSION, 1, in_bufs};
	if (bindings) {
		in_bufs[1] = *bindings;
		in_desc.cBuffers = 2;
	}
	out.assign(cap, 0);
	SecBuffer out_buf{cap, SECBUFFER_TOKEN, out.data()};
	SecBufferDesc out_desc{SECBUFFER_VERSION, 1, &out_buf};
	char target[] = "TERMSRV/host.lab";
	const SECURITY_STATUS s = A()->InitializeSecurityContextA(
	    &c.cred, c.have_ctx ? &c.ctx : nullptr, target, c.flags, 0, SECURITY_NATIVE_DREP, &in_desc, 0, &c.ctx,
	    &out_desc, &c.flags, nullptr);
	if (s == SEC_E_OK || s == SEC_I_CONTINUE_NEEDED)
		c.have_ctx = true;
	out.resize(out_buf.cbBuffer);
	return s;
}

SECURITY_STATUS server_step(Side& sv, const Bytes& in, Bytes& out, SecBuffer* bindings)
{
	SecBuffer in_bufs[2] = {{static_cast<ULONG>(in.size()), SECBUFFER_TOKEN,
	                         in.empty() ? nullptr : const_cast<uint8_t*>(in.data())},
	                        {}};
	SecBufferDesc in_desc{SECBUFFER_VERSION, 1, in_bufs};
	if (bindings) {
		in_bufs[1] = *bindings;
		in_desc.cBuffers = 2;
	}
	out.assign(2888, 0);
	SecBuffer out_buf{2888, SECBUFFER_TOKEN, out.data()};
	SecBufferDesc out_desc{SECBUFFER_VERSION, 1, &out_buf};
	const SECURITY_STATUS s =
	    A()->AcceptSecurityContext(&sv.cred, sv.have_ctx ? &sv.ctx : nullptr, &in_desc, sv.flags,
	                               SECURITY_NATIVE_DREP, &sv.ctx, &out_desc, &sv.flags, nullptr);
	if (s == SEC_E_OK || s == SEC_I_CONTINUE_NEEDED)
		sv.have_ctx = true;
	out.resize(out_buf.cbBuffer);
	return s;
}

bool open_pair(Side& c, Side& sv, const char* package)
{
	auto id = ansi_identity();
	c = Side{};
	sv = Side{};
	c.flags = kClientFlags;
	sv.flags = kServerFlags;
	return acquire(package, SECPKG_CRED_OUTBOUND, &id, c.cred) && acquire(package, SECPKG_CRED_INBOUND, nullptr, sv.cred);
}
bool login(Side& c, Side& sv, SecBuffer* bindings)
{
	Bytes t1, t2, t3, t4;
	if (!expect("ISC 1", client_step(c, {}, t1, 2888, bindings), SEC_I_CONTINUE_NEEDED) ||
	    !expect("ASC 1", server_step(sv, t1, t2, bindings), SEC_I_CONTINUE_NEEDED) ||
	    !expect("ISC 2", client_step(c, t2, t3, 2888, bindings), SEC_E_OK) ||
	    !expect("ASC 2", server_step(sv, t3, t4, bindings), SEC_E_OK))
		return false;
	if (!t4.empty())
		return failed("final server token should be empty");
	return true;
}

void close_pair(Side& c, Side& sv)
{
	if (c.have_ctx)
		(void)A()->DeleteSecurityContext(&c.ctx);
	if (sv.have_ctx)
		(void)A()->DeleteSecurityContext(&sv.ctx);
	(void)A()->FreeCredentialsHandle(&c.cred);
	(void)A()->FreeCredentialsHandle(&sv.cred);
}

bool seal_roundtrip(CtxtHandle& from, CtxtHandle& to, ULONG data_attrs)
{
	SecPkgContext_Sizes sizes{};
	if (!expect("SIZES", A()->QueryContextAttributesA(&from, SECPKG_ATTR_SIZES, &sizes), SEC_E_OK))
		return false;
	const std::string plain = "the public key echo";
	Bytes wire(sizes.cbSecurityTrailer + plain.size());
	std::memcpy(wire.data() + sizes.cbSecurityTrailer, plain.data(), plain.size());
	SecBuffer bufs[2] = {{sizes.cbSecurityTrailer, SECBUFFER_TOKEN, wire.data()},
	                     {static_cast<ULONG>(plain.size()), SECBUFFER_DATA | data_attrs,
	                      wire.data() + sizes.cbSecurityTrailer}};
	SecBufferDesc desc{SECBUFFER_VERSION, 2, bufs};
	if (!expect("EncryptMessage", A()->EncryptMessage(&from, 0, &desc, 0), SEC_E_OK))
		return false;
	if (bufs[0].cbBuffer != 16)
		return failed("signature size");
	const bool sealed = std::memcmp(wire.data() + 16, plain.data(), plain.size()) != 0;
	if (sealed != (data_attrs == 0))
		return failed("sealing does not match the buffer attributes");
	SecBuffer dbufs[2] = {{16, SECBUFFER_TOKEN, wire.data()},
	                      {static_cast<ULONG>(plain.size()), SECBUFFER_DATA, wire.data() + 16}};
	SecBufferDesc ddesc{SECBUFFER_VERSION, 2, dbufs};
	if (data_attrs != 0)
		return true;
	ULONG qop = 0xdead;
	if (!expect("DecryptMessage", A()->DecryptMessage(&to, &ddesc, 0, &qop), SEC_E_OK))
		return false;
	if (qop != 0 || std::memcmp(wire.data() + 16, plain.data(), plain.size()) != 0)
		return failed("plaintext after decrypt");
	return true;
}

int setup(void**)
{
	test::register_fake_packages();
	g_fake.first_token_size = 0;
	g_fake.fail_error = Error::LogonDenied;
	return 0;
}

bool nothing_left()
{
	if (sspi::handles().size() == 0 && g_fake.contexts_alive.load() == 0 && sspi::live_context_buffers() == 0)
		return true;
	std::fprintf(stderr, "FAILED: left after the tests: %zu handles, %d contexts, %zu context buffers\n",
	             sspi::handles().size(), g_fake.contexts_alive.load(), sspi::live_context_buffers());
	return false;
}

} // namespace nlassp::test
