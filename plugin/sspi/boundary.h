// Internal to plugin/sspi: what the C entry points in table.cpp call, split by responsibility,
// and the SecBufferDesc helpers those parts share.
//   credentials.cpp  packages (Enumerate/QuerySecurityPackageInfo) and credential handles
//   contexts.cpp     Initialize/AcceptSecurityContext, context attributes, impersonation
//   messages.cpp     MakeSignature/VerifySignature, EncryptMessage/DecryptMessage
// Every function returns the SECURITY_STATUS of its entry point; table.cpp adds the one DEBUG
// line per call and keeps exceptions from crossing the C ABI.
#pragma once

#include "common/package.h"
#include "sspi/buffers.h"
#include "sspi/handles.h"

#include <winpr/sspi.h>

#include <mutex>
#include <span>
#include <string>

namespace nlassp::sspi {

// Which table an entry belongs to: A (UTF-8 strings) or W (UTF-16).
enum class Charset { A, W };

// ---- what the caller frees with FreeContextBuffer, in the table's charset --------------------

// SecPkgInfoA or SecPkgInfoW for `ids`; nullptr without memory.
template <Charset CS>
void* alloc_package_info(std::span<const PackageId> ids) noexcept
{
	if constexpr (CS == Charset::A)
		return alloc_package_info_a(ids);
	else
		return alloc_package_info_w(ids);
}

// One package's SecPkgInfo into `*slot`.
template <Charset CS>
SECURITY_STATUS put_package_info(PackageId id, void** slot) noexcept
{
	const PackageId ids[] = {id};
	void* info = alloc_package_info<CS>(ids);
	if (!info)
		return SEC_E_INSUFFICIENT_MEMORY;
	*slot = info;
	return SEC_E_OK;
}

// A name as UTF-8 (A) or UTF-16 (W); nullptr without memory.
template <Charset CS>
void* alloc_name(std::u16string_view s) noexcept
{
	if constexpr (CS == Charset::A)
		return alloc_utf8(s);
	else
		return alloc_utf16(s);
}

// ---- SecBufferDesc helpers --------------------------------------------------------------------

// The buffers of a SecBufferDesc; false if the descriptor is malformed.
inline bool desc_buffers(PSecBufferDesc d, std::span<SecBuffer>& out)
{
	out = {};
	if (!d)
		return true;
	if (d->cBuffers == 0)
		return true;
	if (!d->pBuffers)
		return false;
	out = std::span<SecBuffer>(d->pBuffers, d->cBuffers);
	return true;
}

inline ULONG buffer_type(const SecBuffer& b) { return b.BufferType & ~static_cast<ULONG>(SECBUFFER_ATTRMASK); }

inline SecBuffer* find_buffer(std::span<SecBuffer> bufs, ULONG type)
{
	for (auto& b : bufs)
		if (buffer_type(b) == type)
			return &b;
	return nullptr;
}

inline ByteView buffer_bytes(const SecBuffer& b)
{
	if (!b.pvBuffer || b.cbBuffer == 0)
		return {};
	return ByteView(static_cast<const uint8_t*>(b.pvBuffer), b.cbBuffer);
}

// Runs fn on a context under its lock; SEC_E_INVALID_HANDLE if the handle names no context.
template <typename F>
SECURITY_STATUS with_context(PCtxtHandle h, F&& fn)
{
	auto entry = handles().context(h);
	if (!entry)
		return SEC_E_INVALID_HANDLE;
	std::lock_guard lock(entry->mu);
	return fn(*entry);
}

// ---- credentials.cpp --------------------------------------------------------------------------

// `name`/`package` is a SEC_CHAR* (A) or SEC_WCHAR* (W); `ppPackageInfo` a PSecPkgInfoA/W*.
template <Charset CS>
SECURITY_STATUS enumerate_packages(ULONG* pcPackages, void** ppPackageInfo);
template <Charset CS>
SECURITY_STATUS query_package_info(const void* name, void** ppPackageInfo);
template <Charset CS>
SECURITY_STATUS acquire_credentials(const void* package, ULONG use, void* auth_data, PCredHandle phCredential,
                                    PTimeStamp ptsExpiry);
template <Charset CS>
SECURITY_STATUS query_credentials_attributes(PCredHandle h, ULONG attr, void* pBuffer);
SECURITY_STATUS set_credentials_attributes(PCredHandle h, ULONG attr, void* pBuffer, ULONG cbBuffer);

// The credential a handle holds now (SetCredentialsAttributes replaces it; contexts keep theirs).
CredentialPtr credential_of(CredentialEntry& e);

// ---- contexts.cpp -----------------------------------------------------------------------------

// One InitializeSecurityContext / AcceptSecurityContext call.
struct StepCall {
	const char* fn;
	Role role;
	PCredHandle cred;
	PCtxtHandle context;
	const std::u16string* target;
	ULONG req;
	PSecBufferDesc input;
	PCtxtHandle new_context;
	PSecBufferDesc output;
	PULONG attrs;
	PTimeStamp expiry;
};

SECURITY_STATUS step(const StepCall& c);
template <Charset CS>
SECURITY_STATUS query_context_attributes(PCtxtHandle h, ULONG attr, void* pBuffer);
template <Charset CS>
SECURITY_STATUS set_context_attributes(PCtxtHandle h, ULONG attr, void* pBuffer, ULONG cbBuffer);
SECURITY_STATUS impersonate(PCtxtHandle h);

// ---- messages.cpp -----------------------------------------------------------------------------

SECURITY_STATUS make_signature(PCtxtHandle h, PSecBufferDesc msg);
SECURITY_STATUS verify_signature(PCtxtHandle h, PSecBufferDesc msg, PULONG pfQOP);
SECURITY_STATUS encrypt_message(PCtxtHandle h, ULONG fQOP, PSecBufferDesc msg);
SECURITY_STATUS decrypt_message(PCtxtHandle h, PSecBufferDesc msg, PULONG pfQOP);

} // namespace nlassp::sspi
