// Shared by the SSPI boundary tests (test_sspi_boundary, test_sspi_credentials,
// test_sspi_buffers): the A/W tables, a FreeRDP-style login between two fake-package contexts
// through the A table, and a sealed round trip as credssp_auth.c does it.
#pragma once

#include "sspi/fake_package.h"

#include <winpr/sspi.h>

namespace nlassp::test {

SecurityFunctionTableA* A();
SecurityFunctionTableW* W();

constexpr ULONG kClientFlags = ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY;   // nla.c
constexpr ULONG kServerFlags = ASC_REQ_MUTUAL_AUTH | ASC_REQ_CONFIDENTIALITY | ASC_REQ_CONNECTION |
                               ASC_REQ_USE_SESSION_KEY | ASC_REQ_SEQUENCE_DETECT | ASC_REQ_EXTENDED_ERROR;

bool failed(const char* what);
bool expect(const char* what, SECURITY_STATUS got, SECURITY_STATUS want);

// ---- a FreeRDP-style login through the A table ------------------------------------------------

struct Side {
	CredHandle cred{};
	CtxtHandle ctx{};
	bool have_ctx = false;
	ULONG flags = 0;
};

SEC_WINNT_AUTH_IDENTITY_A ansi_identity();   // LAB\alice, Passw0rd!
bool acquire(const char* package, ULONG use, void* auth, CredHandle& h);
SECURITY_STATUS client_step(Side& c, const Bytes& in, Bytes& out, ULONG cap = 2888, SecBuffer* bindings = nullptr);
SECURITY_STATUS server_step(Side& sv, const Bytes& in, Bytes& out, SecBuffer* bindings = nullptr);
bool open_pair(Side& c, Side& sv, const char* package = "Negotiate");
bool login(Side& c, Side& sv, SecBuffer* bindings = nullptr);
void close_pair(Side& c, Side& sv);
// encrypt on one side, decrypt on the other, as credssp_auth.c does.
bool seal_roundtrip(CtxtHandle& from, CtxtHandle& to, ULONG data_attrs = 0);

// Per-test setup: the fake packages registered, their knobs reset.
int setup(void**);
// After a whole group: true when no handle, fake context or context buffer is left (else it says
// which, on stderr). The binaries without a test_nothing_left check it before they exit.
bool nothing_left();

} // namespace nlassp::test
