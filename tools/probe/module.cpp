// nlassp-probe --module: the CREDSSP exchange through an SSPI module's function table (dlopen +
// InitSecurityInterfaceA), as an application drives it; and --version, which asks the module too.
#include "probe.h"

#include "common/version.h"
#include "nlassp/credssp.h"
#include "sspi/status.h"
#include "wire/utf16.h"

#include <winpr/sspi.h>

#include <dlfcn.h>

#include <cstdio>
#include <cstring>

namespace nlassp::probe {

namespace {

// The Error whose SSPI status this is (the first in the enumeration: LogonDenied before
// PasswordExpired), for the plain-language reason of a status the module returned.
Error error_of(SECURITY_STATUS st)
{
	if (st == SEC_E_OK)
		return Error::None;
	for (uint32_t i = 1; i <= static_cast<uint32_t>(Error::NotEstablished); ++i)
		if (sspi::to_status(static_cast<Error>(i)) == st)
			return static_cast<Error>(i);
	return Error::Internal;
}

} // namespace

// The same exchange through an SSPI module's table, as an application would drive it:
// AcquireCredentialsHandleA("CREDSSP") with FreeRDP's SEC_WINNT_AUTH_IDENTITY_WINPR, then
// InitializeSecurityContextA with { SECBUFFER_TOKEN, SECBUFFER_EMPTY, NLASSP_SECBUFFER_CREDSSP_PARAMS }
// inputs, ISC_REQ_ALLOCATE_MEMORY output, and SECBUFFER_MISSING telling how much more to read.
Error run_credssp_module(const Args& a, SSL* ssl, ByteView spki, Report& rep, std::string& net_error,
                         std::optional<credssp::Info>& info)
{
	void* lib = ::dlopen(a.module.c_str(), RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		net_error = std::string("cannot load the module: ") + ::dlerror();
		return Error::PackageUnavailable;
	}
	using InitFn = SecurityFunctionTableA* (*)();
	auto init = reinterpret_cast<InitFn>(::dlsym(lib, "InitSecurityInterfaceA"));
	SecurityFunctionTableA* t = init ? init() : nullptr;
	if (!t) {
		net_error = "the module has no InitSecurityInterfaceA";
		return Error::PackageUnavailable;
	}
	std::u16string user, domain, password, list;
	(void)wire::utf8_to_utf16(a.user, user);
	(void)wire::utf8_to_utf16(a.domain, domain);
	if (a.password)
		(void)wire::utf8_to_utf16(*a.password, password);
	(void)wire::utf8_to_utf16(a.package_list, list);
	SEC_WINNT_AUTH_IDENTITY_WINPR auth{};
	SEC_WINPR_KERBEROS_SETTINGS krb{};
	std::string cache = a.ccache;
	auth.identity.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
	auth.identity.Length = sizeof(SEC_WINNT_AUTH_IDENTITY_EX);
	auth.identity.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE | SEC_WINNT_AUTH_IDENTITY_EXTENDED;
	auth.identity.User = reinterpret_cast<UINT16*>(user.data());
	auth.identity.UserLength = static_cast<UINT32>(user.size());
	auth.identity.Domain = reinterpret_cast<UINT16*>(domain.data());
	auth.identity.DomainLength = static_cast<UINT32>(domain.size());
	// No password given: no password at all (a NULL Password), not an empty one to delegate.
	auth.identity.Password = a.password ? reinterpret_cast<UINT16*>(password.data()) : nullptr;
	auth.identity.PasswordLength = static_cast<UINT32>(password.size());
	auth.identity.PackageList = list.empty() ? nullptr : reinterpret_cast<UINT16*>(list.data());
	auth.identity.PackageListLength = static_cast<UINT32>(list.size());
	auth.kerberosSettings = &krb;
	if (!cache.empty())
		krb.cache = cache.data();
	const bool anonymous = a.user.empty() && !a.password && a.ccache.empty();
	CredHandle cred{};
	char pkg[] = "CREDSSP";
	SECURITY_STATUS st = t->AcquireCredentialsHandleA(nullptr, pkg, SECPKG_CRED_OUTBOUND, nullptr,
	                                                  anonymous ? nullptr : &auth, nullptr, nullptr, &cred, nullptr);
	if (st != SEC_E_OK) {
		net_error = std::string("AcquireCredentialsHandle(CREDSSP) failed: ") + sspi::status_name(st);
		return error_of(st);
	}
	const Bytes prm = params_buffer(a, spki);
	std::string target = a.target;
	const ULONG req = ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY | ISC_REQ_CONNECTION | ISC_REQ_STREAM |
	                  ISC_REQ_MANUAL_CRED_VALIDATION | ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_EXTENDED_ERROR |
	                  (probe::wants_delegation(a.delegation, a.password.has_value()) ? ISC_REQ_DELEGATE : 0u);
	CtxtHandle ctx{};
	bool have_ctx = false;
	Bytes buf;
	auto query = [&] {
		NLASSP_CREDSSP_INFO ni{};
		if (have_ctx && t->QueryContextAttributesA(&ctx, NLASSP_ATTR_CREDSSP_INFO, &ni) == SEC_E_OK) {
			credssp::Info i;
			i.version = ni.Version;
			i.peer_version = ni.PeerVersion;
			i.established = ni.Flags & NLASSP_CREDSSP_INFO_ESTABLISHED;
			i.delegated = ni.Flags & NLASSP_CREDSSP_INFO_DELEGATED;
			i.echo_defect_seen = ni.Flags & NLASSP_CREDSSP_INFO_ECHO_DEFECT_SEEN;
			i.echo_defect_refused = ni.Flags & NLASSP_CREDSSP_INFO_ECHO_DEFECT_REFUSED;
			i.remote_guard = ni.Flags & NLASSP_CREDSSP_INFO_REMOTE_GUARD;
			const std::string m = ni.Mechanism;
			i.mechanism = m == "NTLM" ? PackageId::Ntlm : m == "Kerberos" ? PackageId::Kerberos : PackageId::Negotiate;
			info = i;
		}
	};
	st = SEC_I_CONTINUE_NEEDED;
	for (int round = 0; round < 16 && st == SEC_I_CONTINUE_NEEDED; ++round) {
		SecBuffer ob{0, SECBUFFER_TOKEN, nullptr};
		SecBufferDesc od{SECBUFFER_VERSION, 1, &ob};
		ULONG attrs = 0;
		if (!have_ctx) {
			SecBuffer ib[1] = {{static_cast<ULONG>(prm.size()), NLASSP_SECBUFFER_CREDSSP_PARAMS,
			                    const_cast<uint8_t*>(prm.data())}};
			SecBufferDesc id{SECBUFFER_VERSION, 1, ib};
			st = t->InitializeSecurityContextA(&cred, nullptr, target.data(), req, 0, SECURITY_NATIVE_DREP, &id, 0,
			                                   &ctx, &od, &attrs, nullptr);
		} else {
			buf.clear();
			ULONG want = 2;
			st = SEC_E_INCOMPLETE_MESSAGE;
			while (st == SEC_E_INCOMPLETE_MESSAGE) {
				const size_t old = buf.size();
				buf.resize(old + want);
				if (!tls_read(ssl, buf.data() + old, want)) {
					net_error = old == 0 ? "the server closed the connection instead of answering (it refused the "
					                       "logon without an errorCode, or dropped the connection)"
					                     : "the server closed the connection in the middle of a TSRequest";
					query();
					(void)t->DeleteSecurityContext(&ctx);
					(void)t->FreeCredentialsHandle(&cred);
					return Error::LogonDenied;
				}
				SecBuffer ib[2] = {{static_cast<ULONG>(buf.size()), SECBUFFER_TOKEN, buf.data()},
				                   {0, SECBUFFER_EMPTY, nullptr}};
				SecBufferDesc id{SECBUFFER_VERSION, 2, ib};
				st = t->InitializeSecurityContextA(&cred, &ctx, target.data(), req, 0, SECURITY_NATIVE_DREP, &id, 0,
				                                   &ctx, &od, &attrs, nullptr);
				if (st == SEC_E_INCOMPLETE_MESSAGE)
					want = ib[1].BufferType == SECBUFFER_MISSING && ib[1].cbBuffer ? ib[1].cbBuffer : 1;
			}
		}
		if (st == SEC_E_OK || st == SEC_I_CONTINUE_NEEDED)
			have_ctx = true;
		query();
		const bool wrote = !ob.pvBuffer || tls_write(ssl, ByteView(static_cast<uint8_t*>(ob.pvBuffer), ob.cbBuffer));
		if (ob.pvBuffer && wrote)
			rep.sent_to_server = true;
		if (ob.pvBuffer)
			(void)t->FreeContextBuffer(ob.pvBuffer);
		if (!wrote) {
			net_error = "the server closed the connection while we sent a TSRequest";
			st = SEC_E_INTERNAL_ERROR;
		}
	}
	if (have_ctx)
		(void)t->DeleteSecurityContext(&ctx);
	(void)t->FreeCredentialsHandle(&cred);
	return error_of(st);
}

// --version: this tool's version and, with --module, the module's (its CREDSSP package's
// QuerySecurityPackageInfo Comment ends with "nlassp VERSION").
int print_version(const Args& a)
{
	std::printf("nlassp-probe %s\n", version_string());
	if (a.module.empty())
		return 0;
	void* lib = ::dlopen(a.module.c_str(), RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		std::fprintf(stderr, "nlassp-probe: cannot load the module: %s\n", ::dlerror());
		return 2;
	}
	using InitFn = SecurityFunctionTableA* (*)();
	auto init = reinterpret_cast<InitFn>(::dlsym(lib, "InitSecurityInterfaceA"));
	SecurityFunctionTableA* t = init ? init() : nullptr;
	SecPkgInfoA* info = nullptr;
	char pkg[] = "CREDSSP";
	if (!t || !t->QuerySecurityPackageInfoA || t->QuerySecurityPackageInfoA(pkg, &info) != SEC_E_OK || !info) {
		std::fprintf(stderr, "nlassp-probe: %s has no CREDSSP package to ask for its version\n", a.module.c_str());
		return 2;
	}
	const std::string comment = info->Comment ? info->Comment : "";
	(void)t->FreeContextBuffer(info);
	const size_t at = comment.find("nlassp ");
	std::printf("module %s: %s\n", a.module.c_str(),
	            at == std::string::npos ? ("not nlassp (\"" + comment + "\")").c_str() : comment.c_str() + at);
	return 0;
}

} // namespace nlassp::probe
