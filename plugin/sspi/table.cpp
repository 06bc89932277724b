// The SSPI entry points behind the A and W tables. Each one validates the caller's structures,
// turns them into package types, runs the package under the context's own lock and maps the
// result with to_status(). No exception crosses the C ABI.
#include "sspi/table.h"

#include "common/log.h"
#include "sspi/buffers.h"
#include "sspi/credssp_glue.h"
#include "sspi/handles.h"
#include "sspi/identity.h"
#include "sspi/packages.h"
#include "sspi/status.h"
#include "sspi/ticket_logon.h"
#include "wire/reader.h"
#include "wire/utf16.h"

#include <winpr/path.h>

#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <vector>

namespace nlassp::sspi {

static const log::Logger logger("com.nlassp.sspi");

namespace {

enum class Charset { A, W };

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

bool name_utf16(Charset cs, const void* s, std::u16string& out)
{
	return cs == Charset::A ? c_string_utf16(static_cast<const char*>(s), out)
	                        : w_string_utf16(static_cast<const SEC_WCHAR*>(s), out);
}

// The buffers of a SecBufferDesc; false if the descriptor is malformed.
bool desc_buffers(PSecBufferDesc d, std::span<SecBuffer>& out)
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

ULONG buffer_type(const SecBuffer& b) { return b.BufferType & ~static_cast<ULONG>(SECBUFFER_ATTRMASK); }

SecBuffer* find_buffer(std::span<SecBuffer> bufs, ULONG type)
{
	for (auto& b : bufs)
		if (buffer_type(b) == type)
			return &b;
	return nullptr;
}

ByteView buffer_bytes(const SecBuffer& b)
{
	if (!b.pvBuffer || b.cbBuffer == 0)
		return {};
	return ByteView(static_cast<const uint8_t*>(b.pvBuffer), b.cbBuffer);
}

void log_step_failure(const char* fn, Error e)
{
	const SECURITY_STATUS s = to_status(e);
	SetLastError(to_win32_error(e));
	if (e == Error::PasswordExpired)
		NLASSP_LOG(logger, Warn, "%s: the password has expired and must be changed; reported as %s", fn,
		           status_name(s));
	else if (e == Error::Internal || e == Error::InsufficientMemory)
		NLASSP_LOG(logger, Error, "%s failed: %s", fn, error_name(e));
	else
		NLASSP_LOG(logger, Debug, "%s failed: %s (%s)", fn, error_name(e), status_name(s));
}

// ---- packages -------------------------------------------------------------------------------

template <Charset CS>
SECURITY_STATUS enumerate_packages(ULONG* pcPackages, void** ppPackageInfo)
{
	if (!pcPackages || !ppPackageInfo)
		return SEC_E_INVALID_PARAMETER;
	const auto ids = registry().ids();
	void* info = nullptr;
	if constexpr (CS == Charset::A)
		info = alloc_package_info_a(ids);
	else
		info = alloc_package_info_w(ids);
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
	const PackageId ids[] = {*id};
	void* info = nullptr;
	if constexpr (CS == Charset::A)
		info = alloc_package_info_a(ids);
	else
		info = alloc_package_info_w(ids);
	if (!info)
		return SEC_E_INSUFFICIENT_MEMORY;
	*ppPackageInfo = info;
	return SEC_E_OK;
}

// ---- credentials ----------------------------------------------------------------------------

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

// ---- contexts -------------------------------------------------------------------------------

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

SECURITY_STATUS step(const StepCall& c)
{
	const bool initiator = c.role == Role::Initiator;
	const bool allocate = c.req & (initiator ? ISC_REQ_ALLOCATE_MEMORY : ASC_REQ_ALLOCATE_MEMORY);

	// Output: one SECBUFFER_TOKEN, caller-sized unless we allocate.
	std::span<SecBuffer> outs;
	if (!desc_buffers(c.output, outs))
		return SEC_E_INVALID_PARAMETER;
	SecBuffer* out_token = find_buffer(outs, SECBUFFER_TOKEN);
	if (!out_token) {
		NLASSP_LOG(logger, Warn, "%s: pOutput has no SECBUFFER_TOKEN buffer", c.fn);
		return SEC_E_INVALID_PARAMETER;
	}
	if (!allocate && !out_token->pvBuffer && out_token->cbBuffer != 0)
		return SEC_E_INVALID_PARAMETER;
	const ULONG out_capacity = allocate ? 0 : out_token->cbBuffer;
	if (allocate)
		out_token->pvBuffer = nullptr;
	out_token->cbBuffer = 0;   // a failed step leaves no token

	// Input: token and channel bindings.
	std::span<SecBuffer> ins;
	if (!desc_buffers(c.input, ins))
		return SEC_E_INVALID_TOKEN;
	StepInput in;
	if (const SecBuffer* t = find_buffer(ins, SECBUFFER_TOKEN)) {
		if (!t->pvBuffer && t->cbBuffer != 0)
			return SEC_E_INVALID_TOKEN;
		in.token = buffer_bytes(*t);
	}
	ChannelBindings bindings;
	if (const SecBuffer* b = find_buffer(ins, SECBUFFER_CHANNEL_BINDINGS)) {
		if (!b->pvBuffer && b->cbBuffer != 0)
			return SEC_E_INVALID_TOKEN;
		const Error e = parse_channel_bindings(buffer_bytes(*b), bindings);
		if (e != Error::None)
			return to_status(e);
		in.bindings = &bindings;
	}
	in.requested = initiator ? from_isc_req(c.req) : from_asc_req(c.req);
	if (c.target)
		in.target = *c.target;
	// CREDSSP (credssp_glue.cpp): the TLS-key parameters buffer and ISC_REQ_USE_SUPPLIED_CREDS.
	std::optional<Identity> supplied;
	if (const Error e = collect_package_inputs(ins, initiator && (c.req & ISC_REQ_USE_SUPPLIED_CREDS), in, supplied);
	    e != Error::None)
		return to_status(e);

	// The context: created on the first call, looked up afterwards.
	std::shared_ptr<ContextEntry> entry;
	const bool fresh = c.context == nullptr;
	if (fresh) {
		auto ce = handles().credential(c.cred);
		if (!ce)
			return SEC_E_INVALID_HANDLE;
		if (!c.new_context)
			return SEC_E_INVALID_PARAMETER;
		const CredentialPtr cred = credential_of(*ce);
		if (initiator ? !cred->outbound() : !cred->inbound()) {
			NLASSP_LOG(logger, Warn, "%s: the credential was acquired for %s use only", c.fn,
			           initiator ? "SECPKG_CRED_INBOUND" : "SECPKG_CRED_OUTBOUND");
			return SEC_E_UNKNOWN_CREDENTIALS;
		}
		auto factory = registry().factory(cred->package);
		if (!factory)
			return SEC_E_SECPKG_NOT_FOUND;
		Error err = Error::None;
		ContextPtr ctx = (*factory)(c.role, cred, err);
		if (!ctx) {
			if (err == Error::None)
				err = Error::Internal;
			log_step_failure(c.fn, err);
			return to_status(err);
		}
		entry = std::make_shared<ContextEntry>();
		entry->role = c.role;
		entry->requested = cred->package;
		entry->cred = cred;
		entry->ctx = std::move(ctx);
	} else {
		entry = handles().context(c.context);
		if (!entry || entry->role != c.role)
			return SEC_E_INVALID_HANDLE;
	}

	std::lock_guard lock(entry->mu);
	if (entry->failed) {
		NLASSP_LOG(logger, Debug, "%s: the context failed earlier; delete it and start again", c.fn);
		return SEC_E_OUT_OF_SEQUENCE;
	}

	StepOutput out;
	const Error e = entry->ctx->step(in, out);
	if (e == Error::IncompleteMessage) {
		// A partial token (CREDSSP over a stream): the context is unchanged and the caller calls
		// again with more bytes; SECBUFFER_MISSING says how many.
		report_missing(ins, out.missing);
		return SEC_E_INCOMPLETE_MESSAGE;
	}
	if (e != Error::None) {
		entry->failed = true;
		log_step_failure(c.fn, e);
		// An error token for the peer (CREDSSP's TSRequest with errorCode), when asked for. Only
		// for CREDSSP: FreeRDP's server asks Negotiate for ASC_REQ_EXTENDED_ERROR too, and sends
		// whatever comes back instead of its errorCode (its client then fails to decrypt rather
		// than reporting a logon failure).
		const ULONG extended = initiator ? ISC_REQ_EXTENDED_ERROR : ASC_REQ_EXTENDED_ERROR;
		if (!out.token.empty() && (c.req & extended) && entry->requested == PackageId::CredSsp) {
			void* p = allocate ? alloc_context_buffer(out.token.size())
			                   : (out.token.size() <= out_capacity ? out_token->pvBuffer : nullptr);
			if (p) {
				std::memcpy(p, out.token.data(), out.token.size());
				out_token->pvBuffer = p;
				out_token->cbBuffer = static_cast<ULONG>(out.token.size());
				if (c.attrs)
					*c.attrs = (initiator ? ISC_RET_EXTENDED_ERROR : ASC_RET_EXTENDED_ERROR) |
					           (allocate ? (initiator ? ISC_RET_ALLOCATED_MEMORY : ASC_RET_ALLOCATED_MEMORY) : 0);
			}
		}
		return to_status(e);
	}

	bool allocated = false;
	if (!out.token.empty()) {
		if (allocate) {
			void* p = alloc_context_buffer(out.token.size());
			if (!p) {
				entry->failed = true;
				return SEC_E_INSUFFICIENT_MEMORY;
			}
			std::memcpy(p, out.token.data(), out.token.size());
			out_token->pvBuffer = p;
			allocated = true;
		} else if (out.token.size() > out_capacity) {
			entry->failed = true;
			NLASSP_LOG(logger, Warn, "%s: the %zu-byte token does not fit the %" PRIu32
			           "-byte output buffer; size it with cbMaxToken from QuerySecurityPackageInfo",
			           c.fn, out.token.size(), static_cast<uint32_t>(out_capacity));
			return SEC_E_INSUFFICIENT_MEMORY;
		} else {
			std::memcpy(out_token->pvBuffer, out.token.data(), out.token.size());
		}
		out_token->cbBuffer = static_cast<ULONG>(out.token.size());
	}

	if (fresh)
		handles().add(entry, *c.new_context);   // a handle exists only once the first step worked
	else if (c.new_context && c.new_context != c.context)
		*c.new_context = *c.context;
	if (c.attrs) {
		const ContextFlags f = entry->ctx->flags();
		*c.attrs = (initiator ? to_isc_ret(f) : to_asc_ret(f)) |
		           (allocated ? (initiator ? ISC_RET_ALLOCATED_MEMORY : ASC_RET_ALLOCATED_MEMORY) : 0);
	}
	set_never_expires(c.expiry);
	return out.complete ? SEC_E_OK : SEC_I_CONTINUE_NEEDED;
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

template <Charset CS>
SECURITY_STATUS put_package_info(PackageId id, void** slot)
{
	const PackageId ids[] = {id};
	void* info = nullptr;
	if constexpr (CS == Charset::A)
		info = alloc_package_info_a(ids);
	else
		info = alloc_package_info_w(ids);
	if (!info)
		return SEC_E_INSUFFICIENT_MEMORY;
	*slot = info;
	return SEC_E_OK;
}

// Copies a UTF-8 string into a fixed char[257] of SecPkgContext_AuthIdentity. A name that does
// not fit, or that a C reader would cut at a NUL, is refused rather than truncated: a server
// authorizes on it.
bool put_fixed(char (&dst)[256 + 1], std::u16string_view s)
{
	std::string u8;
	if (s.find(u'\0') != std::u16string_view::npos || !wire::utf16_to_utf8(s, u8) || u8.size() > 256)
		return false;
	std::memcpy(dst, u8.c_str(), u8.size() + 1);
	return true;
}

// SecPkgContext_PackageInfo / _NegotiationInfo with the A or W SecPkgInfo pointer.
struct PackageInfoSlot {
	void* PackageInfo;
};
struct NegotiationInfoSlot {
	void* PackageInfo;
	UINT32 NegotiationState;
};

template <Charset CS>
SECURITY_STATUS query_context_attributes(PCtxtHandle h, ULONG attr, void* pBuffer)
{
	return with_context(h, [&](ContextEntry& e) -> SECURITY_STATUS {
		if (!pBuffer)
			return SEC_E_INVALID_PARAMETER;
		SecurityContext& ctx = *e.ctx;
		switch (attr) {
		case SECPKG_ATTR_SIZES: {
			const Sizes s = ctx.sizes();
			auto* out = static_cast<SecPkgContext_Sizes*>(pBuffer);
			out->cbMaxToken = s.max_token;
			out->cbMaxSignature = s.max_signature;
			out->cbBlockSize = s.block_size;
			out->cbSecurityTrailer = s.security_trailer;
			return SEC_E_OK;
		}
		case SECPKG_ATTR_FLAGS: {
			const ContextFlags f = ctx.flags();
			static_cast<SecPkgContext_Flags*>(pBuffer)->Flags =
			    e.role == Role::Initiator ? to_isc_ret(f) : to_asc_ret(f);
			return SEC_E_OK;
		}
		case SECPKG_ATTR_PACKAGE_INFO:
			return put_package_info<CS>(ctx.package(), &static_cast<PackageInfoSlot*>(pBuffer)->PackageInfo);
		case SECPKG_ATTR_NEGOTIATION_INFO: {
			auto* out = static_cast<NegotiationInfoSlot*>(pBuffer);
			const SECURITY_STATUS s = put_package_info<CS>(ctx.package(), &out->PackageInfo);
			if (s == SEC_E_OK)
				out->NegotiationState =
				    ctx.established() ? SECPKG_NEGOTIATION_COMPLETE : SECPKG_NEGOTIATION_IN_PROGRESS;
			return s;
		}
		case SECPKG_ATTR_NAMES: {
			ContextNames n;
			const Error err = ctx.names(n);
			if (err != Error::None)
				return to_status(err);
			if (!unambiguous_account(n.domain, n.user)) {
				NLASSP_LOG(logger, Warn, "SECPKG_ATTR_NAMES: the authenticated name has a NUL or its domain a "
				                         "backslash; refusing to hand out a name that reads as another");
				return SEC_E_INTERNAL_ERROR;
			}
			const auto name = qualified_name(n.domain, n.user);
			void* s = nullptr;
			if constexpr (CS == Charset::A)
				s = alloc_utf8(name);
			else
				s = alloc_utf16(name);
			if (!s)
				return SEC_E_INSUFFICIENT_MEMORY;
			// SecPkgContext_NamesA/W: a single pointer.
			*static_cast<void**>(pBuffer) = s;
			return SEC_E_OK;
		}
		case SECPKG_ATTR_AUTH_IDENTITY: {
			ContextNames n;
			const Error err = ctx.names(n);
			if (err != Error::None)
				return to_status(err);
			auto* out = static_cast<SecPkgContext_AuthIdentity*>(pBuffer);
			if (!put_fixed(out->User, n.user) || !put_fixed(out->Domain, n.domain)) {
				std::memset(out, 0, sizeof(*out));
				const bool nul = n.user.find(u'\0') != std::u16string::npos ||
				                 n.domain.find(u'\0') != std::u16string::npos;
				NLASSP_LOG(logger, Warn, "SECPKG_ATTR_AUTH_IDENTITY: the user or domain name %s",
				           nul ? "has a NUL; refusing to hand out a name that reads as another"
				               : "exceeds 256 bytes");
				return nul ? SEC_E_INTERNAL_ERROR : SEC_E_INSUFFICIENT_MEMORY;
			}
			return SEC_E_OK;
		}
		case SECPKG_ATTR_SESSION_KEY: {
			SecretBytes key;
			const Error err = ctx.session_key(key);
			if (err != Error::None)
				return to_status(err);
			void* p = alloc_context_buffer(key.size());
			if (!p)
				return SEC_E_INSUFFICIENT_MEMORY;
			if (!key.empty())
				std::memcpy(p, key.data(), key.size());
			auto* out = static_cast<SecPkgContext_SessionKey*>(pBuffer);
			out->SessionKeyLength = static_cast<UINT32>(key.size());
			out->SessionKey = static_cast<BYTE*>(p);
			return SEC_E_OK;
		}
		case SECPKG_ATTR_AUTH_NTLM_HOSTNAME_LEN:
		case SECPKG_ATTR_AUTH_NTLM_HOSTNAME: {
			// The client's workstation name, as FreeRDP 3.27+ servers read it: _LEN gives the length
			// in UTF-8 bytes (A) or UTF-16 units (W); _HOSTNAME writes that many plus a NUL (the
			// caller allocates _LEN + 1 units).
			if (ctx.package() != PackageId::Ntlm)
				return SEC_E_UNSUPPORTED_FUNCTION;
			ContextNames n;
			const Error err = ctx.names(n);
			if (err != Error::None)
				return to_status(err);
			if constexpr (CS == Charset::A) {
				std::string u8;
				if (!wire::utf16_to_utf8(n.workstation, u8))
					return SEC_E_INVALID_TOKEN;
				if (attr == SECPKG_ATTR_AUTH_NTLM_HOSTNAME_LEN)
					*static_cast<ULONG*>(pBuffer) = static_cast<ULONG>(u8.size());
				else
					std::memcpy(pBuffer, u8.c_str(), u8.size() + 1);
			} else {
				if (attr == SECPKG_ATTR_AUTH_NTLM_HOSTNAME_LEN) {
					*static_cast<ULONG*>(pBuffer) = static_cast<ULONG>(n.workstation.size());
				} else {
					std::memcpy(pBuffer, n.workstation.c_str(), (n.workstation.size() + 1) * sizeof(char16_t));
				}
			}
			return SEC_E_OK;
		}
		case SECPKG_CRED_ATTR_TICKET_LOGON:
			// Remote Credential Guard (FreeRDP's +remoteGuard asks the context, not the credential).
			return query_ticket_logon(ctx, e.role, pBuffer);
		default:
			// CREDSSP's attributes (nlassp/credssp.h), else unsupported.
			if (auto s = query_credssp_attribute(ctx, attr, pBuffer))
				return *s;
			return SEC_E_UNSUPPORTED_FUNCTION;
		}
	});
}

template <Charset CS>
SECURITY_STATUS set_context_attributes(PCtxtHandle h, ULONG attr, void* pBuffer, ULONG cbBuffer)
{
	return with_context(h, [&](ContextEntry& e) -> SECURITY_STATUS {
		if (attr != SECPKG_ATTR_AUTH_NTLM_HOSTNAME)
			return SEC_E_UNSUPPORTED_FUNCTION;
		if (!pBuffer || cbBuffer == 0)
			return SEC_E_INVALID_PARAMETER;
		const ByteView raw(static_cast<const uint8_t*>(pBuffer), cbBuffer);
		std::u16string name;
		if constexpr (CS == Charset::A) {
			std::string_view s(reinterpret_cast<const char*>(raw.data()), raw.size());
			while (!s.empty() && s.back() == '\0')
				s.remove_suffix(1);
			if (!wire::utf8_to_utf16(s, name))
				return SEC_E_INVALID_PARAMETER;
		} else {
			if (!wire::utf16le_decode(raw, name))
				return SEC_E_INVALID_PARAMETER;
			while (!name.empty() && name.back() == u'\0')
				name.pop_back();
		}
		if (name.empty() || name.size() > kMaxStringChars)
			return SEC_E_INVALID_PARAMETER;
		return to_status(e.ctx->set_workstation(std::move(name)));
	});
}

SECURITY_STATUS impersonate(PCtxtHandle h)
{
	return with_context(h, [](ContextEntry& e) -> SECURITY_STATUS {
		// No OS token exists on this platform: an established acceptor context "impersonates" by
		// succeeding, which is all FreeRDP's server checks (nla.c).
		if (e.role != Role::Acceptor || !e.ctx->established())
			return SEC_E_NO_IMPERSONATION;
		return SEC_E_OK;
	});
}

// ---- message protection ---------------------------------------------------------------------

struct Message {
	std::vector<MessageBuffer> parts;
	SecBuffer* token = nullptr;
};

SECURITY_STATUS parse_message(PSecBufferDesc d, bool sign_only, Message& m)
{
	std::span<SecBuffer> bufs;
	if (!d || !desc_buffers(d, bufs))
		return SEC_E_INVALID_PARAMETER;
	for (auto& b : bufs) {
		const ULONG type = buffer_type(b);
		const ULONG attrs = b.BufferType & static_cast<ULONG>(SECBUFFER_ATTRMASK);
		if (type != SECBUFFER_TOKEN && type != SECBUFFER_DATA && type != SECBUFFER_PADDING)
			continue;
		if (!b.pvBuffer && b.cbBuffer != 0)
			return SEC_E_INVALID_PARAMETER;
		const MutableByteView bytes = b.cbBuffer ? MutableByteView(static_cast<uint8_t*>(b.pvBuffer), b.cbBuffer)
		                                         : MutableByteView();
		if (type == SECBUFFER_TOKEN) {
			if (!m.token)
				m.token = &b;
		} else if (type == SECBUFFER_PADDING) {
			m.parts.push_back({MessageBufferKind::Padding, bytes});
		} else if (attrs & SECBUFFER_READONLY_WITH_CHECKSUM) {
			m.parts.push_back({MessageBufferKind::SignOnly, bytes});
		} else if (attrs & SECBUFFER_READONLY) {
			continue;   // neither signed nor sealed
		} else {
			m.parts.push_back({sign_only ? MessageBufferKind::SignOnly : MessageBufferKind::Data, bytes});
		}
	}
	if (!m.token) {
		NLASSP_LOG(logger, Debug, "message has no SECBUFFER_TOKEN buffer");
		return SEC_E_INVALID_TOKEN;
	}
	return SEC_E_OK;
}

// Writes a produced signature/header into the caller's TOKEN buffer and sets its size.
SECURITY_STATUS put_token(SecBuffer& token, const Bytes& produced)
{
	if (produced.size() > token.cbBuffer) {
		NLASSP_LOG(logger, Warn, "the %zu-byte signature does not fit the %" PRIu32
		           "-byte SECBUFFER_TOKEN; size it with SECPKG_ATTR_SIZES", produced.size(),
		           static_cast<uint32_t>(token.cbBuffer));
		return SEC_E_BUFFER_TOO_SMALL;
	}
	if (!produced.empty())
		std::memcpy(token.pvBuffer, produced.data(), produced.size());
	token.cbBuffer = static_cast<ULONG>(produced.size());
	return SEC_E_OK;
}

SECURITY_STATUS make_signature(PCtxtHandle h, PSecBufferDesc msg)
{
	return with_context(h, [&](ContextEntry& e) -> SECURITY_STATUS {
		if (!e.ctx->established())
			return to_status(Error::NotEstablished);
		Message m;
		if (const SECURITY_STATUS s = parse_message(msg, false, m); s != SEC_E_OK)
			return s;
		if (e.ctx->sizes().max_signature > m.token->cbBuffer)
			return SEC_E_BUFFER_TOO_SMALL;
		Bytes sig;
		const Error err = e.ctx->sign(m.parts, sig);
		if (err != Error::None)
			return to_status(err);
		return put_token(*m.token, sig);
	});
}

SECURITY_STATUS verify_signature(PCtxtHandle h, PSecBufferDesc msg, PULONG pfQOP)
{
	return with_context(h, [&](ContextEntry& e) -> SECURITY_STATUS {
		if (!e.ctx->established())
			return to_status(Error::NotEstablished);
		Message m;
		if (const SECURITY_STATUS s = parse_message(msg, false, m); s != SEC_E_OK)
			return s;
		const Error err = e.ctx->verify(m.parts, buffer_bytes(*m.token));
		if (err != Error::None)
			return to_status(err);
		if (pfQOP)
			*pfQOP = 0;
		return SEC_E_OK;
	});
}

SECURITY_STATUS encrypt_message(PCtxtHandle h, ULONG fQOP, PSecBufferDesc msg)
{
	return with_context(h, [&](ContextEntry& e) -> SECURITY_STATUS {
		if (!e.ctx->established())
			return to_status(Error::NotEstablished);
		if (fQOP != 0 && fQOP != SECQOP_WRAP_NO_ENCRYPT)
			return SEC_E_QOP_NOT_SUPPORTED;
		Message m;
		if (const SECURITY_STATUS s = parse_message(msg, fQOP == SECQOP_WRAP_NO_ENCRYPT, m); s != SEC_E_OK)
			return s;
		// The token this message needs (not the largest one: an RC4 key's RFC 4757 tokens vary, and
		// FreeRDP passes a buffer the size of the last token it got).
		if (const uint32_t need = e.ctx->wrap_token_size(m.parts); need > m.token->cbBuffer) {
			NLASSP_LOG(logger, Warn, "EncryptMessage: the %" PRIu32 "-byte token does not fit the %" PRIu32
			           "-byte SECBUFFER_TOKEN; size it with SECPKG_ATTR_SIZES", need,
			           static_cast<uint32_t>(m.token->cbBuffer));
			return SEC_E_BUFFER_TOO_SMALL;
		}
		Bytes token;
		const Error err = e.ctx->encrypt(m.parts, token);
		if (err != Error::None)
			return to_status(err);
		return put_token(*m.token, token);
	});
}

SECURITY_STATUS decrypt_message(PCtxtHandle h, PSecBufferDesc msg, PULONG pfQOP)
{
	return with_context(h, [&](ContextEntry& e) -> SECURITY_STATUS {
		if (!e.ctx->established())
			return to_status(Error::NotEstablished);
		Message m;
		if (const SECURITY_STATUS s = parse_message(msg, false, m); s != SEC_E_OK)
			return s;
		const Error err = e.ctx->decrypt(m.parts, buffer_bytes(*m.token));
		if (err != Error::None)
			return to_status(err);
		if (pfQOP)
			*pfQOP = 0;   // sealed: the packages do not report a sign-only wrap separately
		return SEC_E_OK;
	});
}

} // namespace

// ---- the C entry points -----------------------------------------------------------------------

namespace {

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
