// plugin/sspi/ticket_logon: QueryContextAttributes(SECPKG_CRED_ATTR_TICKET_LOGON) at the boundary,
// against the fake packages (tests/sspi/fake_package): FreeRDP's call on a client Kerberos context
// gets MessageType KerbTicketLogon, the package's Flags, and both buffers malloc()ed so that free()
// releases them (as nla.c does; ASan checks the pairing); a context that used NTLM, a server
// context, a context not yet established and a package failure each give their status with both
// pointers NULL; the A and W tables answer alike. Asking too early, or asking a CREDSSP context
// (which sends Remote Credential Guard credentials itself), also logs one line saying so (read
// back through WLog's FILE appender).
//
// Test bodies only call bool helpers and assert (CMocka longjmps past C++ destructors).
#include "sspi/fake_package.h"
#include "sspi/packages.h"
#include "sspi/table.h"

#include <winpr/secapi.h>
#include <winpr/sspi.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
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

using namespace nlassp;
using test::g_fake;

namespace {

SecurityFunctionTableA* A() { return sspi::table_a(); }

bool expect(const char* what, SECURITY_STATUS got, SECURITY_STATUS want)
{
	if (got == want)
		return true;
	std::fprintf(stderr, "FAILED: %s: got 0x%08x, want 0x%08x\n", what, static_cast<unsigned>(got),
	             static_cast<unsigned>(want));
	return false;
}

struct Side {
	CredHandle cred{};
	CtxtHandle ctx{};
	bool have_ctx = false;
	ULONG flags = ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY;
};

SECURITY_STATUS step(Side& s, bool client, const Bytes& in, Bytes& out)
{
	SecBuffer ib{static_cast<ULONG>(in.size()), SECBUFFER_TOKEN, in.empty() ? nullptr : const_cast<uint8_t*>(in.data())};
	SecBufferDesc id{SECBUFFER_VERSION, 1, &ib};
	out.assign(2888, 0);
	SecBuffer ob{2888, SECBUFFER_TOKEN, out.data()};
	SecBufferDesc od{SECBUFFER_VERSION, 1, &ob};
	char target[] = "TERMSRV/host.lab";
	const SECURITY_STATUS st =
	    client ? A()->InitializeSecurityContextA(&s.cred, s.have_ctx ? &s.ctx : nullptr, target, s.flags, 0,
	                                             SECURITY_NATIVE_DREP, &id, 0, &s.ctx, &od, &s.flags, nullptr)
	           : A()->AcceptSecurityContext(&s.cred, s.have_ctx ? &s.ctx : nullptr, &id, s.flags, SECURITY_NATIVE_DREP,
	                                        &s.ctx, &od, &s.flags, nullptr);
	if (st == SEC_E_OK || st == SEC_I_CONTINUE_NEEDED)
		s.have_ctx = true;
	out.resize(ob.cbBuffer);
	return st;
}

// A pair on `package`; `rounds` client steps (2 = established).
struct Pair {
	Side c, s;
	~Pair()
	{
		if (c.have_ctx)
			(void)A()->DeleteSecurityContext(&c.ctx);
		if (s.have_ctx)
			(void)A()->DeleteSecurityContext(&s.ctx);
		(void)A()->FreeCredentialsHandle(&c.cred);
		(void)A()->FreeCredentialsHandle(&s.cred);
	}
};

bool open(Pair& p, const char* package, int rounds)
{
	static char user[] = "alice", domain[] = "LAB.TEST", password[] = "";
	SEC_WINNT_AUTH_IDENTITY_A id{};
	id.User = reinterpret_cast<BYTE*>(user);
	id.UserLength = 5;
	id.Domain = reinterpret_cast<BYTE*>(domain);
	id.DomainLength = 8;
	id.Password = reinterpret_cast<BYTE*>(password);
	id.PasswordLength = 0;
	id.Flags = SEC_WINNT_AUTH_IDENTITY_ANSI;
	p.s.flags = ASC_REQ_MUTUAL_AUTH | ASC_REQ_CONFIDENTIALITY;
	if (!expect("acquire client", A()->AcquireCredentialsHandleA(nullptr, const_cast<char*>(package), SECPKG_CRED_OUTBOUND,
	                                                             nullptr, &id, nullptr, nullptr, &p.c.cred, nullptr),
	            SEC_E_OK) ||
	    !expect("acquire server", A()->AcquireCredentialsHandleA(nullptr, const_cast<char*>(package), SECPKG_CRED_INBOUND,
	                                                             nullptr, nullptr, nullptr, nullptr, &p.s.cred, nullptr),
	            SEC_E_OK))
		return false;
	Bytes t1, t2, t3, t4;
	if (!expect("ISC 1", step(p.c, true, {}, t1), SEC_I_CONTINUE_NEEDED) ||
	    !expect("ASC 1", step(p.s, false, t1, t2), SEC_I_CONTINUE_NEEDED))
		return false;
	if (rounds < 2)
		return true;
	return expect("ISC 2", step(p.c, true, t2, t3), SEC_E_OK) && expect("ASC 2", step(p.s, false, t3, t4), SEC_E_OK);
}

// FreeRDP's nla_get_KERB_TICKET_LOGON, then its free()s.
bool query(CtxtHandle& ctx, bool wide, SECURITY_STATUS want, KERB_TICKET_LOGON& t)
{
	std::memset(&t, 0, sizeof(t));
	t.ServiceTicket = reinterpret_cast<PUCHAR>(0x1);   // garbage in: must come back NULL on failure
	t.TicketGrantingTicket = reinterpret_cast<PUCHAR>(0x1);
	const SECURITY_STATUS st = wide ? sspi::table_w()->QueryContextAttributesW(&ctx, SECPKG_CRED_ATTR_TICKET_LOGON, &t)
	                                : A()->QueryContextAttributesA(&ctx, SECPKG_CRED_ATTR_TICKET_LOGON, &t);
	return expect("SECPKG_CRED_ATTR_TICKET_LOGON", st, want);
}

bool same(PUCHAR p, ULONG n, const Bytes& want)
{
	return p && n == want.size() && std::memcmp(p, want.data(), n) == 0;
}

bool kerberos_client(bool wide)
{
	g_fake.ticket_logon_error = Error::None;
	Pair p;
	KERB_TICKET_LOGON t;
	if (!open(p, "Kerberos", 2) || !query(p.c.ctx, wide, SEC_E_OK, t))
		return false;
	const bool ok = t.MessageType == KerbTicketLogon && t.Flags == KERB_LOGON_FLAG_REDIRECTED &&
	                same(t.ServiceTicket, t.ServiceTicketLength, test::kFakeTicket) &&
	                same(t.TicketGrantingTicket, t.TicketGrantingTicketLength, test::kFakeKrbCred);
	std::free(t.ServiceTicket);   // as FreeRDP releases them
	std::free(t.TicketGrantingTicket);
	return ok;
}

std::string g_dir;

// Lines of our log (since the start) containing `needle`.
int log_lines(const char* needle)
{
	std::ifstream f(g_dir + "/wlog.txt");
	std::string line;
	int n = 0;
	while (std::getline(f, line))
		n += line.find("[com.nlassp.") != std::string::npos && line.find(needle) != std::string::npos ? 1 : 0;
	return n;
}

// A CREDSSP context as the boundary sees it: package CREDSSP, established after one step.
class FakeCredSsp final : public SecurityContext {
public:
	Error step(const StepInput&, StepOutput& out) override
	{
		out.token = {0x30, 0x00};
		out.complete = done_ = true;
		return Error::None;
	}
	[[nodiscard]] bool established() const noexcept override { return done_; }
	[[nodiscard]] ContextFlags flags() const noexcept override { return 0; }
	[[nodiscard]] PackageId package() const noexcept override { return PackageId::CredSsp; }
	[[nodiscard]] Sizes sizes() const noexcept override { return {64, 0, 0, 0}; }

private:
	bool done_ = false;
};

bool refused(KERB_TICKET_LOGON& t)
{
	return !t.ServiceTicket && !t.TicketGrantingTicket && t.ServiceTicketLength == 0 && t.TicketGrantingTicketLength == 0;
}

bool refusals()
{
	KERB_TICKET_LOGON t;
	{
		// Negotiate that ran NTLM (the fake Negotiate reports NTLM once complete).
		Pair p;
		if (!open(p, "Negotiate", 2) || !query(p.c.ctx, false, SEC_E_UNSUPPORTED_FUNCTION, t) || !refused(t))
			return false;
	}
	{
		// A server context; a client context not yet established.
		Pair p;
		const int early = log_lines("SECPKG_CRED_ATTR_TICKET_LOGON before the context is established");
		if (!open(p, "Kerberos", 1) || !query(p.s.ctx, false, SEC_E_UNSUPPORTED_FUNCTION, t) || !refused(t) ||
		    !query(p.c.ctx, false, SEC_E_INVALID_HANDLE, t) || !refused(t))
			return false;
		if (log_lines("SECPKG_CRED_ATTR_TICKET_LOGON before the context is established") != early + 1) {
			std::fprintf(stderr, "FAILED: no line for a ticket logon asked too early\n");
			return false;
		}
	}
	{
		// A CREDSSP context, established: it sends Remote Credential Guard credentials itself.
		Side c;
		static char user[] = "alice", domain[] = "LAB.TEST", password[] = "";
		SEC_WINNT_AUTH_IDENTITY_A id{};
		id.User = reinterpret_cast<BYTE*>(user);
		id.UserLength = 5;
		id.Domain = reinterpret_cast<BYTE*>(domain);
		id.DomainLength = 8;
		id.Password = reinterpret_cast<BYTE*>(password);
		id.Flags = SEC_WINNT_AUTH_IDENTITY_ANSI;
		Bytes out;
		const int said = log_lines("SECPKG_CRED_ATTR_TICKET_LOGON on a CREDSSP context");
		const bool ok = expect("acquire CREDSSP", A()->AcquireCredentialsHandleA(nullptr, const_cast<char*>("CREDSSP"),
		                                                                      SECPKG_CRED_OUTBOUND, nullptr, &id, nullptr,
		                                                                      nullptr, &c.cred, nullptr),
		                       SEC_E_OK) &&
		                expect("ISC CREDSSP", step(c, true, {}, out), SEC_E_OK) &&
		                query(c.ctx, false, SEC_E_UNSUPPORTED_FUNCTION, t) && refused(t) &&
		                log_lines("SECPKG_CRED_ATTR_TICKET_LOGON on a CREDSSP context") == said + 1;
		if (c.have_ctx)
			(void)A()->DeleteSecurityContext(&c.ctx);
		(void)A()->FreeCredentialsHandle(&c.cred);
		if (!ok) {
			std::fprintf(stderr, "FAILED: a CREDSSP context's ticket logon\n");
			return false;
		}
	}
	for (Error e : {Error::DelegationPolicy, Error::NoCredentials, Error::TargetUnknown}) {
		g_fake.ticket_logon_error = e;
		Pair p;
		const SECURITY_STATUS want = e == Error::DelegationPolicy ? SEC_E_DELEGATION_POLICY
		                             : e == Error::NoCredentials  ? SEC_E_NO_CREDENTIALS
		                                                          : SEC_E_TARGET_UNKNOWN;
		if (!open(p, "Kerberos", 2) || !query(p.c.ctx, false, want, t) || !refused(t))
			return false;
	}
	g_fake.ticket_logon_error = Error::None;
	// No buffer, and a handle that names no context.
	Pair p;
	if (!open(p, "Kerberos", 2))
		return false;
	CtxtHandle bogus{0x1234, 0x5678};
	return expect("NULL buffer", A()->QueryContextAttributesA(&p.c.ctx, SECPKG_CRED_ATTR_TICKET_LOGON, nullptr),
	              SEC_E_INVALID_PARAMETER) &&
	       query(bogus, false, SEC_E_INVALID_HANDLE, t);
}

} // namespace

static int setup(void**)
{
	test::register_fake_packages();
	sspi::registry().add(PackageId::CredSsp, [](Role, const CredentialPtr&, Error& err) -> ContextPtr {
		err = Error::None;
		return std::make_unique<FakeCredSsp>();
	});
	g_fake.ticket_logon_error = Error::None;
	return 0;
}

static void test_kerberos_client_a(void**) { assert_true(kerberos_client(false)); }
static void test_kerberos_client_w(void**) { assert_true(kerberos_client(true)); }
static void test_refusals_leave_null_buffers(void**) { assert_true(refusals()); }

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_kerberos_client_a, setup),
	    cmocka_unit_test_setup(test_kerberos_client_w, setup),
	    cmocka_unit_test_setup(test_refusals_leave_null_buffers, setup),
	};
	char tmpl[] = "/tmp/nlassp-ticket-logon.XXXXXX";
	if (!mkdtemp(tmpl))
		return 1;
	g_dir = tmpl;
	setenv("WLOG_APPENDER", "FILE", 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_PATH", g_dir.c_str(), 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_NAME", "wlog.txt", 1);
	setenv("WLOG_LEVEL", "INFO", 1);
	const int rc = cmocka_run_group_tests(tests, nullptr, nullptr);
	unlink((g_dir + "/wlog.txt").c_str());
	rmdir(g_dir.c_str());
	return rc;
}
