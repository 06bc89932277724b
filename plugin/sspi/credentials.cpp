// Packages and credentials behind the SSPI tables: EnumerateSecurityPackages,
// QuerySecurityPackageInfo, AcquireCredentialsHandle and the credential attributes (the user
// name; the KDC proxy FreeRDP sets for Kerberos).
#include "sspi/boundary.h"

#include "common/log.h"
#include "sspi/buffers.h"
#include "sspi/identity.h"
#include "sspi/packages.h"
#include "sspi/status.h"
#include "wire/reader.h"
#include "wire/utf16.h"

#include <winpr/path.h>

#include <cinttypes>
#include <cstdlib>
#include <memory>

namespace nlassp::sspi {

static const log::Logger logger("com.nlassp.sspi");

namespace {

bool name_utf16(Charset cs, const void* s, std::u16string& out)
{
	return cs == Charset::A ? c_string_utf16(static_cast<const char*>(s), out)
	                        : w_string_utf16(static_cast<const SEC_WCHAR*>(s), out);
}

// WinPR's default for an NTLM acceptor without SAM file or hash callback: the system SAM file
// (winpr_GetConfigFilePath(TRUE, "SAM"), /etc/winpr/SAM on Debian), as WinPR's SamOpen(NULL).
std::shared_ptr<const NtlmUserStore> default_sam_store()
{
	char* path = winpr_GetConfigFilePath(TRUE, "SAM");
	if (!path)
		return nullptr;
	std::string p(path);
	std::free(path);
	return registry().sam_store(std::move(p));
}

// SecPkgCredentials_KdcProxySettingsW: a header followed by the proxy server string (UTF-16LE,
// offset and length in bytes from the start of the header). FreeRDP passes the W layout through
// SetCredentialsAttributesA as well, so both entries read UTF-16.
SECURITY_STATUS set_kdc_proxy(CredentialEntry& entry, const void* pBuffer, ULONG cbBuffer)
{
	if (!pBuffer)
		return SEC_E_INVALID_PARAMETER;
	const ByteView all(static_cast<const uint8_t*>(pBuffer), cbBuffer);
	wire::Reader r(all);
	uint32_t version = 0, flags = 0;
	uint16_t server_off = 0, server_len = 0, tls_off = 0, tls_len = 0;
	if (!r.u32le(version) || !r.u32le(flags) || !r.u16le(server_off) || !r.u16le(server_len) ||
	    !r.u16le(tls_off) || !r.u16le(tls_len)) {
		NLASSP_LOG(logger, Warn, "SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS: %" PRIu32
		           " bytes cannot hold SecPkgCredentials_KdcProxySettingsW", static_cast<uint32_t>(cbBuffer));
		return SEC_E_INVALID_PARAMETER;
	}
	if (version != KDC_PROXY_SETTINGS_V1) {
		NLASSP_LOG(logger, Warn, "SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS: version %" PRIu32 " is not KDC_PROXY_SETTINGS_V1",
		           version);
		return SEC_E_INVALID_PARAMETER;
	}
	ByteView server, tls;
	if (!wire::Reader::field(all, server_off, server_len, server) || !wire::Reader::field(all, tls_off, tls_len, tls) ||
	    server.size() % 2 != 0) {
		NLASSP_LOG(logger, Warn, "SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS: proxy server (offset %u, length %u) or "
		           "TLS credential (offset %u, length %u) lies outside the %" PRIu32 "-byte buffer",
		           server_off, server_len, tls_off, tls_len, static_cast<uint32_t>(cbBuffer));
		return SEC_E_INVALID_PARAMETER;
	}
	if (!tls.empty())
		NLASSP_LOG(logger, Info, "SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS: client TLS credential ignored (not supported)");
	std::u16string server16;
	if (!wire::utf16le_decode(server, server16))
		return SEC_E_INVALID_PARAMETER;
	while (!server16.empty() && server16.back() == u'\0')
		server16.pop_back();
	std::string server8;
	if (server16.find(u'\0') != std::u16string::npos || !wire::utf16_to_utf8(server16, server8)) {
		NLASSP_LOG(logger, Warn, "SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS: the proxy server is not a valid string");
		return SEC_E_INVALID_PARAMETER;
	}
	std::lock_guard lock(entry.mu);
	auto copy = std::make_shared<Credential>(*entry.cred);   // contexts keep the credential they started with
	copy->kdc_proxy_server = std::move(server8);
	entry.cred = std::move(copy);
	return SEC_E_OK;
}

} // namespace

// ---- packages -------------------------------------------------------------------------------

template <Charset CS>
SECURITY_STATUS enumerate_packages(ULONG* pcPackages, void** ppPackageInfo)
{
	if (!pcPackages || !ppPackageInfo)
		return SEC_E_INVALID_PARAMETER;
	const auto ids = registry().ids();
	void* info = alloc_package_info<CS>(ids);
	if (!info)
		return SEC_E_INSUFFICIENT_MEMORY;
	*pcPackages = static_cast<ULONG>(ids.size());
	*ppPackageInfo = info;
	return SEC_E_OK;
}

template <Charset CS>
SECURITY_STATUS query_package_info(const void* name, void** ppPackageInfo)
{
	if (!ppPackageInfo)
		return SEC_E_INVALID_PARAMETER;
	std::u16string n;
	if (!name_utf16(CS, name, n))
		return SEC_E_SECPKG_NOT_FOUND;
	const auto id = find_package(n);
	if (!id)
		return SEC_E_SECPKG_NOT_FOUND;
	return put_package_info<CS>(*id, ppPackageInfo);
}

// ---- credentials ----------------------------------------------------------------------------

template <Charset CS>
SECURITY_STATUS acquire_credentials(const void* package, ULONG use, void* auth_data, PCredHandle phCredential,
                                    PTimeStamp ptsExpiry)
{
	if (!phCredential)
		return SEC_E_INVALID_PARAMETER;
	std::u16string name;
	if (!name_utf16(CS, package, name))
		return SEC_E_SECPKG_NOT_FOUND;
	const auto id = find_package(name);
	if (!id)
		return SEC_E_SECPKG_NOT_FOUND;

	auto cred = std::make_shared<Credential>();
	cred->package = *id;
	switch (use & SECPKG_CRED_BOTH) {
	case SECPKG_CRED_INBOUND: cred->use = CredentialUse::Inbound; break;
	case SECPKG_CRED_OUTBOUND: cred->use = CredentialUse::Outbound; break;
	case SECPKG_CRED_BOTH: cred->use = CredentialUse::Both; break;
	default:
		NLASSP_LOG(logger, Warn, "AcquireCredentialsHandle: fCredentialUse 0x%08" PRIx32
		           " asks for neither SECPKG_CRED_INBOUND nor SECPKG_CRED_OUTBOUND", static_cast<uint32_t>(use));
		return SEC_E_INVALID_PARAMETER;
	}
	const Error e = parse_auth_data(auth_data, *cred);
	if (e != Error::None)
		return to_status(e);
	if (cred->inbound() && !cred->ntlm_users && (*id == PackageId::Ntlm || *id == PackageId::Negotiate))
		cred->ntlm_users = default_sam_store();

	auto entry = std::make_shared<CredentialEntry>();
	entry->cred = std::move(cred);
	handles().add(std::move(entry), *phCredential);
	set_never_expires(ptsExpiry);
	return SEC_E_OK;
}

CredentialPtr credential_of(CredentialEntry& e)
{
	std::lock_guard lock(e.mu);
	return e.cred;
}

template <Charset CS>
SECURITY_STATUS query_credentials_attributes(PCredHandle h, ULONG attr, void* pBuffer)
{
	auto entry = handles().credential(h);
	if (!entry)
		return SEC_E_INVALID_HANDLE;
	if (attr != SECPKG_CRED_ATTR_NAMES)
		return SEC_E_UNSUPPORTED_FUNCTION;
	if (!pBuffer)
		return SEC_E_INVALID_PARAMETER;
	const CredentialPtr cred = credential_of(*entry);
	if (!cred->identity)
		return SEC_E_NO_CREDENTIALS;
	const auto name = qualified_name(cred->identity->domain, cred->identity->user);
	if constexpr (CS == Charset::A) {
		char* s = alloc_utf8(name);
		if (!s)
			return SEC_E_INSUFFICIENT_MEMORY;
		static_cast<SecPkgCredentials_NamesA*>(pBuffer)->sUserName = s;
	} else {
		SEC_WCHAR* s = alloc_utf16(name);
		if (!s)
			return SEC_E_INSUFFICIENT_MEMORY;
		static_cast<SecPkgCredentials_NamesW*>(pBuffer)->sUserName = s;
	}
	return SEC_E_OK;
}

SECURITY_STATUS set_credentials_attributes(PCredHandle h, ULONG attr, void* pBuffer, ULONG cbBuffer)
{
	auto entry = handles().credential(h);
	if (!entry)
		return SEC_E_INVALID_HANDLE;
	switch (attr) {
	case SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS: return set_kdc_proxy(*entry, pBuffer, cbBuffer);
	case SECPKG_CRED_ATTR_NAMES:
		NLASSP_LOG(logger, Debug, "SetCredentialsAttributes: SECPKG_CRED_ATTR_NAMES cannot be changed");
		return SEC_E_UNSUPPORTED_FUNCTION;
	default: return SEC_E_UNSUPPORTED_FUNCTION;
	}
}

template SECURITY_STATUS enumerate_packages<Charset::A>(ULONG*, void**);
template SECURITY_STATUS enumerate_packages<Charset::W>(ULONG*, void**);
template SECURITY_STATUS query_package_info<Charset::A>(const void*, void**);
template SECURITY_STATUS query_package_info<Charset::W>(const void*, void**);
template SECURITY_STATUS acquire_credentials<Charset::A>(const void*, ULONG, void*, PCredHandle, PTimeStamp);
template SECURITY_STATUS acquire_credentials<Charset::W>(const void*, ULONG, void*, PCredHandle, PTimeStamp);
template SECURITY_STATUS query_credentials_attributes<Charset::A>(PCredHandle, ULONG, void*);
template SECURITY_STATUS query_credentials_attributes<Charset::W>(PCredHandle, ULONG, void*);

} // namespace nlassp::sspi
