// The SSPI entry points behind the A and W tables. Each one runs its body (credentials.cpp,
// contexts.cpp, messages.cpp) under guarded(): one DEBUG line with the status, and no exception
// crosses the C ABI.
#include "sspi/table.h"

#include "common/log.h"
#include "sspi/boundary.h"
#include "sspi/buffers.h"
#include "sspi/handles.h"
#include "sspi/status.h"

#include <cinttypes>
#include <new>
#include <string>

namespace nlassp::sspi {

static const log::Logger logger("com.nlassp.sspi");

namespace {

// One DEBUG line per call with its status.
SECURITY_STATUS done(const char* fn, SECURITY_STATUS s)
{
	NLASSP_LOG(logger, Debug, "%s -> %s [0x%08" PRIX32 "]", fn, status_name(s), static_cast<uint32_t>(s));
	return s;
}

// Runs an entry point body; exceptions become statuses instead of crossing the C ABI.
template <typename F>
SECURITY_STATUS guarded(const char* fn, F&& body) noexcept
{
	try {
		return done(fn, body());
	} catch (const std::bad_alloc&) {
		return done(fn, SEC_E_INSUFFICIENT_MEMORY);
	} catch (...) {
		NLASSP_LOG(logger, Error, "%s: unexpected internal exception", fn);
		return done(fn, SEC_E_INTERNAL_ERROR);
	}
}

// ---- the C entry points -----------------------------------------------------------------------

SECURITY_STATUS SEC_ENTRY nl_EnumerateSecurityPackagesA(ULONG* pcPackages, PSecPkgInfoA* ppPackageInfo)
{
	return guarded("EnumerateSecurityPackagesA", [&] {
		return enumerate_packages<Charset::A>(pcPackages, reinterpret_cast<void**>(ppPackageInfo));
	});
}
SECURITY_STATUS SEC_ENTRY nl_EnumerateSecurityPackagesW(ULONG* pcPackages, PSecPkgInfoW* ppPackageInfo)
{
	return guarded("EnumerateSecurityPackagesW", [&] {
		return enumerate_packages<Charset::W>(pcPackages, reinterpret_cast<void**>(ppPackageInfo));
	});
}

SECURITY_STATUS SEC_ENTRY nl_QuerySecurityPackageInfoA(SEC_CHAR* pszPackageName, PSecPkgInfoA* ppPackageInfo)
{
	return guarded("QuerySecurityPackageInfoA", [&] {
		return query_package_info<Charset::A>(pszPackageName, reinterpret_cast<void**>(ppPackageInfo));
	});
}
SECURITY_STATUS SEC_ENTRY nl_QuerySecurityPackageInfoW(SEC_WCHAR* pszPackageName, PSecPkgInfoW* ppPackageInfo)
{
	return guarded("QuerySecurityPackageInfoW", [&] {
		return query_package_info<Charset::W>(pszPackageName, reinterpret_cast<void**>(ppPackageInfo));
	});
}

SECURITY_STATUS SEC_ENTRY nl_AcquireCredentialsHandleA(SEC_CHAR*, SEC_CHAR* pszPackage, ULONG fCredentialUse,
                                                              void*, void* pAuthData, SEC_GET_KEY_FN, void*,
                                                              PCredHandle phCredential, PTimeStamp ptsExpiry)
{
	return guarded("AcquireCredentialsHandleA", [&] {
		return acquire_credentials<Charset::A>(pszPackage, fCredentialUse, pAuthData, phCredential, ptsExpiry);
	});
}
SECURITY_STATUS SEC_ENTRY nl_AcquireCredentialsHandleW(SEC_WCHAR*, SEC_WCHAR* pszPackage, ULONG fCredentialUse,
                                                              void*, void* pAuthData, SEC_GET_KEY_FN, void*,
                                                              PCredHandle phCredential, PTimeStamp ptsExpiry)
{
	return guarded("AcquireCredentialsHandleW", [&] {
		return acquire_credentials<Charset::W>(pszPackage, fCredentialUse, pAuthData, phCredential, ptsExpiry);
	});
}

SECURITY_STATUS SEC_ENTRY nl_FreeCredentialsHandle(PCredHandle phCredential)
{
	return guarded("FreeCredentialsHandle", [&] {
		return handles().remove(phCredential, HandleKind::Credential) ? SEC_E_OK : SEC_E_INVALID_HANDLE;
	});
}

SECURITY_STATUS SEC_ENTRY nl_QueryCredentialsAttributesA(PCredHandle phCredential, ULONG ulAttribute,
                                                                void* pBuffer)
{
	return guarded("QueryCredentialsAttributesA",
	               [&] { return query_credentials_attributes<Charset::A>(phCredential, ulAttribute, pBuffer); });
}
SECURITY_STATUS SEC_ENTRY nl_QueryCredentialsAttributesW(PCredHandle phCredential, ULONG ulAttribute,
                                                                void* pBuffer)
{
	return guarded("QueryCredentialsAttributesW",
	               [&] { return query_credentials_attributes<Charset::W>(phCredential, ulAttribute, pBuffer); });
}

SECURITY_STATUS SEC_ENTRY nl_SetCredentialsAttributesA(PCredHandle phCredential, ULONG ulAttribute,
                                                              void* pBuffer, ULONG cbBuffer)
{
	return guarded("SetCredentialsAttributesA",
	               [&] { return set_credentials_attributes(phCredential, ulAttribute, pBuffer, cbBuffer); });
}
SECURITY_STATUS SEC_ENTRY nl_SetCredentialsAttributesW(PCredHandle phCredential, ULONG ulAttribute,
                                                              void* pBuffer, ULONG cbBuffer)
{
	return guarded("SetCredentialsAttributesW",
	               [&] { return set_credentials_attributes(phCredential, ulAttribute, pBuffer, cbBuffer); });
}

SECURITY_STATUS SEC_ENTRY nl_InitializeSecurityContextA(PCredHandle phCredential, PCtxtHandle phContext,
                                                               SEC_CHAR* pszTargetName, ULONG fContextReq, ULONG,
                                                               ULONG, PSecBufferDesc pInput, ULONG,
                                                               PCtxtHandle phNewContext, PSecBufferDesc pOutput,
                                                               PULONG pfContextAttr, PTimeStamp ptsExpiry)
{
	return guarded("InitializeSecurityContextA", [&]() -> SECURITY_STATUS {
		std::u16string target;
		if (pszTargetName && !c_string_utf16(pszTargetName, target))
			return SEC_E_TARGET_UNKNOWN;
		return step({"InitializeSecurityContextA", Role::Initiator, phCredential, phContext, &target, fContextReq,
		             pInput, phNewContext, pOutput, pfContextAttr, ptsExpiry});
	});
}
SECURITY_STATUS SEC_ENTRY nl_InitializeSecurityContextW(PCredHandle phCredential, PCtxtHandle phContext,
                                                               SEC_WCHAR* pszTargetName, ULONG fContextReq, ULONG,
                                                               ULONG, PSecBufferDesc pInput, ULONG,
                                                               PCtxtHandle phNewContext, PSecBufferDesc pOutput,
                                                               PULONG pfContextAttr, PTimeStamp ptsExpiry)
{
	return guarded("InitializeSecurityContextW", [&]() -> SECURITY_STATUS {
		std::u16string target;
		if (pszTargetName && !w_string_utf16(pszTargetName, target))
			return SEC_E_TARGET_UNKNOWN;
		return step({"InitializeSecurityContextW", Role::Initiator, phCredential, phContext, &target, fContextReq,
		             pInput, phNewContext, pOutput, pfContextAttr, ptsExpiry});
	});
}

SECURITY_STATUS SEC_ENTRY nl_AcceptSecurityContext(PCredHandle phCredential, PCtxtHandle phContext,
                                                          PSecBufferDesc pInput, ULONG fContextReq, ULONG,
                                                          PCtxtHandle phNewContext, PSecBufferDesc pOutput,
                                                          PULONG pfContextAttr, PTimeStamp ptsTimeStamp)
{
	return guarded("AcceptSecurityContext", [&] {
		return step({"AcceptSecurityContext", Role::Acceptor, phCredential, phContext, nullptr, fContextReq, pInput,
		             phNewContext, pOutput, pfContextAttr, ptsTimeStamp});
	});
}

SECURITY_STATUS SEC_ENTRY nl_CompleteAuthToken(PCtxtHandle, PSecBufferDesc)
{
	// Our packages never return SEC_I_COMPLETE_NEEDED.
	return done("CompleteAuthToken", SEC_E_UNSUPPORTED_FUNCTION);
}

SECURITY_STATUS SEC_ENTRY nl_DeleteSecurityContext(PCtxtHandle phContext)
{
	return guarded("DeleteSecurityContext", [&] {
		return handles().remove(phContext, HandleKind::Context) ? SEC_E_OK : SEC_E_INVALID_HANDLE;
	});
}

SECURITY_STATUS SEC_ENTRY nl_ApplyControlToken(PCtxtHandle, PSecBufferDesc)
{
	return done("ApplyControlToken", SEC_E_UNSUPPORTED_FUNCTION);
}

SECURITY_STATUS SEC_ENTRY nl_QueryContextAttributesA(PCtxtHandle phContext, ULONG ulAttribute, void* pBuffer)
{
	return guarded("QueryContextAttributesA",
	               [&] { return query_context_attributes<Charset::A>(phContext, ulAttribute, pBuffer); });
}
SECURITY_STATUS SEC_ENTRY nl_QueryContextAttributesW(PCtxtHandle phContext, ULONG ulAttribute, void* pBuffer)
{
	return guarded("QueryContextAttributesW",
	               [&] { return query_context_attributes<Charset::W>(phContext, ulAttribute, pBuffer); });
}

SECURITY_STATUS SEC_ENTRY nl_SetContextAttributesA(PCtxtHandle phContext, ULONG ulAttribute, void* pBuffer,
                                                          ULONG cbBuffer)
{
	return guarded("SetContextAttributesA",
	               [&] { return set_context_attributes<Charset::A>(phContext, ulAttribute, pBuffer, cbBuffer); });
}
SECURITY_STATUS SEC_ENTRY nl_SetContextAttributesW(PCtxtHandle phContext, ULONG ulAttribute, void* pBuffer,
                                                          ULONG cbBuffer)
{
	return guarded("SetContextAttributesW",
	               [&] { return set_context_attributes<Charset::W>(phContext, ulAttribute, pBuffer, cbBuffer); });
}

SECURITY_STATUS SEC_ENTRY nl_ImpersonateSecurityContext(PCtxtHandle phContext)
{
	return guarded("ImpersonateSecurityContext", [&] { return impersonate(phContext); });
}
SECURITY_STATUS SEC_ENTRY nl_RevertSecurityContext(PCtxtHandle phContext)
{
	return guarded("RevertSecurityContext", [&] { return impersonate(phContext); });
}

SECURITY_STATUS SEC_ENTRY nl_MakeSignature(PCtxtHandle phContext, ULONG, PSecBufferDesc pMessage, ULONG)
{
	return guarded("MakeSignature", [&] { return make_signature(phContext, pMessage); });
}
SECURITY_STATUS SEC_ENTRY nl_VerifySignature(PCtxtHandle phContext, PSecBufferDesc pMessage, ULONG,
                                                    PULONG pfQOP)
{
	return guarded("VerifySignature", [&] { return verify_signature(phContext, pMessage, pfQOP); });
}
SECURITY_STATUS SEC_ENTRY nl_EncryptMessage(PCtxtHandle phContext, ULONG fQOP, PSecBufferDesc pMessage, ULONG)
{
	return guarded("EncryptMessage", [&] { return encrypt_message(phContext, fQOP, pMessage); });
}
SECURITY_STATUS SEC_ENTRY nl_DecryptMessage(PCtxtHandle phContext, PSecBufferDesc pMessage, ULONG,
                                                   PULONG pfQOP)
{
	return guarded("DecryptMessage", [&] { return decrypt_message(phContext, pMessage, pfQOP); });
}

SECURITY_STATUS SEC_ENTRY nl_FreeContextBuffer(void* pvContextBuffer)
{
	return guarded("FreeContextBuffer", [&] {
		if (!pvContextBuffer)
			return SEC_E_OK;
		return free_context_buffer(pvContextBuffer) ? SEC_E_OK : SEC_E_INVALID_HANDLE;
	});
}

SECURITY_STATUS SEC_ENTRY nl_ExportSecurityContext(PCtxtHandle, ULONG, PSecBuffer, HANDLE*)
{
	return done("ExportSecurityContext", SEC_E_UNSUPPORTED_FUNCTION);
}
SECURITY_STATUS SEC_ENTRY nl_ImportSecurityContextA(SEC_CHAR*, PSecBuffer, HANDLE, PCtxtHandle)
{
	return done("ImportSecurityContextA", SEC_E_UNSUPPORTED_FUNCTION);
}
SECURITY_STATUS SEC_ENTRY nl_ImportSecurityContextW(SEC_WCHAR*, PSecBuffer, HANDLE, PCtxtHandle)
{
	return done("ImportSecurityContextW", SEC_E_UNSUPPORTED_FUNCTION);
}
SECURITY_STATUS SEC_ENTRY nl_AddCredentialsA(PCredHandle, SEC_CHAR*, SEC_CHAR*, UINT32, void*, SEC_GET_KEY_FN,
                                                    void*, PTimeStamp)
{
	return done("AddCredentialsA", SEC_E_UNSUPPORTED_FUNCTION);
}
SECURITY_STATUS SEC_ENTRY nl_AddCredentialsW(PCredHandle, SEC_WCHAR*, SEC_WCHAR*, UINT32, void*, SEC_GET_KEY_FN,
                                                    void*, PTimeStamp)
{
	return done("AddCredentialsW", SEC_E_UNSUPPORTED_FUNCTION);
}
SECURITY_STATUS SEC_ENTRY nl_QuerySecurityContextToken(PCtxtHandle, HANDLE*)
{
	// There is no access token to hand out on this platform.
	return done("QuerySecurityContextToken", SEC_E_UNSUPPORTED_FUNCTION);
}

} // namespace

SecurityFunctionTableA* table_a() noexcept
{
	static SecurityFunctionTableA t = {
	    SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION_3,
	    nl_EnumerateSecurityPackagesA,
	    nl_QueryCredentialsAttributesA,
	    nl_AcquireCredentialsHandleA,
	    nl_FreeCredentialsHandle,
	    nullptr, // Reserved2
	    nl_InitializeSecurityContextA,
	    nl_AcceptSecurityContext,
	    nl_CompleteAuthToken,
	    nl_DeleteSecurityContext,
	    nl_ApplyControlToken,
	    nl_QueryContextAttributesA,
	    nl_ImpersonateSecurityContext,
	    nl_RevertSecurityContext,
	    nl_MakeSignature,
	    nl_VerifySignature,
	    nl_FreeContextBuffer,
	    nl_QuerySecurityPackageInfoA,
	    nullptr, // Reserved3
	    nullptr, // Reserved4
	    nl_ExportSecurityContext,
	    nl_ImportSecurityContextA,
	    nl_AddCredentialsA,
	    nullptr, // Reserved8
	    nl_QuerySecurityContextToken,
	    nl_EncryptMessage,
	    nl_DecryptMessage,
	    nl_SetContextAttributesA,
	    nl_SetCredentialsAttributesA,
	};
	return &t;
}

SecurityFunctionTableW* table_w() noexcept
{
	static SecurityFunctionTableW t = {
	    SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION_3,
	    nl_EnumerateSecurityPackagesW,
	    nl_QueryCredentialsAttributesW,
	    nl_AcquireCredentialsHandleW,
	    nl_FreeCredentialsHandle,
	    nullptr, // Reserved2
	    nl_InitializeSecurityContextW,
	    nl_AcceptSecurityContext,
	    nl_CompleteAuthToken,
	    nl_DeleteSecurityContext,
	    nl_ApplyControlToken,
	    nl_QueryContextAttributesW,
	    nl_ImpersonateSecurityContext,
	    nl_RevertSecurityContext,
	    nl_MakeSignature,
	    nl_VerifySignature,
	    nl_FreeContextBuffer,
	    nl_QuerySecurityPackageInfoW,
	    nullptr, // Reserved3
	    nullptr, // Reserved4
	    nl_ExportSecurityContext,
	    nl_ImportSecurityContextW,
	    nl_AddCredentialsW,
	    nullptr, // Reserved8
	    nl_QuerySecurityContextToken,
	    nl_EncryptMessage,
	    nl_DecryptMessage,
	    nl_SetContextAttributesW,
	    nl_SetCredentialsAttributesW,
	};
	return &t;
}

} // namespace nlassp::sspi
