// Security contexts behind the SSPI tables: InitializeSecurityContext / AcceptSecurityContext
// (one step() for both), Query/SetContextAttributes and Impersonate/RevertSecurityContext.
#include "sspi/boundary.h"

#include "common/log.h"
#include "sspi/buffers.h"
#include "sspi/credssp_glue.h"
#include "sspi/packages.h"
#include "sspi/status.h"
#include "sspi/table.h"
#include "sspi/ticket_logon.h"
#include "wire/utf16.h"

#include <winpr/error.h>

#include <cinttypes>
#include <cstring>
#include <optional>

namespace nlassp::sspi {

static const log::Logger logger("com.nlassp.sspi");

namespace {

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

// ---- step: the caller's buffers ---------------------------------------------------------------

// The caller's output SECBUFFER_TOKEN: caller-sized unless we allocate.
struct OutputSlot {
	SecBuffer* token = nullptr;
	bool allocate = false;   // ISC/ASC_REQ_ALLOCATE_MEMORY
	ULONG capacity = 0;      // the caller's buffer size; 0 when we allocate
};

// Finds pOutput's SECBUFFER_TOKEN and empties it: a failed step leaves no token.
SECURITY_STATUS take_output(const StepCall& c, OutputSlot& slot)
{
	std::span<SecBuffer> outs;
	if (!desc_buffers(c.output, outs))
		return SEC_E_INVALID_PARAMETER;
	SecBuffer* out_token = find_buffer(outs, SECBUFFER_TOKEN);
	if (!out_token) {
		NLASSP_LOG(logger, Warn, "%s: pOutput has no SECBUFFER_TOKEN buffer", c.fn);
		return SEC_E_INVALID_PARAMETER;
	}
	if (!slot.allocate && !out_token->pvBuffer && out_token->cbBuffer != 0)
		return SEC_E_INVALID_PARAMETER;
	slot.token = out_token;
	slot.capacity = slot.allocate ? 0 : out_token->cbBuffer;
	if (slot.allocate)
		out_token->pvBuffer = nullptr;
	out_token->cbBuffer = 0;   // a failed step leaves no token
	return SEC_E_OK;
}

// What pInput gives the package; `in` points into the other members, so it stays in place.
struct StepInputs {
	StepInputs() = default;
	StepInputs(const StepInputs&) = delete;
	StepInputs& operator=(const StepInputs&) = delete;

	std::span<SecBuffer> buffers;
	StepInput in;
	ChannelBindings bindings;
	std::optional<Identity> supplied;
};

// Input: token and channel bindings, the flags asked for, the target, and CREDSSP's extra buffers.
SECURITY_STATUS read_inputs(const StepCall& c, bool initiator, StepInputs& s)
{
	if (!desc_buffers(c.input, s.buffers))
		return SEC_E_INVALID_TOKEN;
	if (const SecBuffer* t = find_buffer(s.buffers, SECBUFFER_TOKEN)) {
		if (!t->pvBuffer && t->cbBuffer != 0)
			return SEC_E_INVALID_TOKEN;
		s.in.token = buffer_bytes(*t);
	}
	if (const SecBuffer* b = find_buffer(s.buffers, SECBUFFER_CHANNEL_BINDINGS)) {
		if (!b->pvBuffer && b->cbBuffer != 0)
			return SEC_E_INVALID_TOKEN;
		const Error e = parse_channel_bindings(buffer_bytes(*b), s.bindings);
		if (e != Error::None)
			return to_status(e);
		s.in.bindings = &s.bindings;
	}
	s.in.requested = initiator ? from_isc_req(c.req) : from_asc_req(c.req);
	if (c.target)
		s.in.target = *c.target;
	// CREDSSP (credssp_glue.cpp): the TLS-key parameters buffer and ISC_REQ_USE_SUPPLIED_CREDS.
	if (const Error e = collect_package_inputs(s.buffers, initiator && (c.req & ISC_REQ_USE_SUPPLIED_CREDS), s.in,
	                                           s.supplied);
	    e != Error::None)
		return to_status(e);
	return SEC_E_OK;
}

// ---- step: the context --------------------------------------------------------------------------

// The first call: a new context on the credential's package. It gets a handle only once its
// first step worked (finish_step).
SECURITY_STATUS create_context(const StepCall& c, std::shared_ptr<ContextEntry>& entry)
{
	const bool initiator = c.role == Role::Initiator;
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
	return SEC_E_OK;
}

// The context: created on the first call, looked up afterwards.
SECURITY_STATUS open_context(const StepCall& c, std::shared_ptr<ContextEntry>& entry)
{
	if (c.context == nullptr)
		return create_context(c, entry);
	entry = handles().context(c.context);
	if (!entry || entry->role != c.role)
		return SEC_E_INVALID_HANDLE;
	return SEC_E_OK;
}

// ---- step: the output -----------------------------------------------------------------------

// After a failed step: an error token for the peer (CREDSSP's TSRequest with errorCode), when
// asked for. Only for CREDSSP: FreeRDP's server asks Negotiate for ASC_REQ_EXTENDED_ERROR too, and
// sends whatever comes back instead of its errorCode (its client then fails to decrypt rather
// than reporting a logon failure).
void put_error_token(const StepCall& c, const ContextEntry& entry, const OutputSlot& slot, const Bytes& token)
{
	const bool initiator = c.role == Role::Initiator;
	const ULONG extended = initiator ? ISC_REQ_EXTENDED_ERROR : ASC_REQ_EXTENDED_ERROR;
	if (token.empty() || !(c.req & extended) || entry.requested != PackageId::CredSsp)
		return;
	void* p = slot.allocate ? alloc_context_buffer(token.size())
	                        : (token.size() <= slot.capacity ? slot.token->pvBuffer : nullptr);
	if (!p)
		return;
	std::memcpy(p, token.data(), token.size());
	slot.token->pvBuffer = p;
	slot.token->cbBuffer = static_cast<ULONG>(token.size());
	if (c.attrs)
		*c.attrs = (initiator ? ISC_RET_EXTENDED_ERROR : ASC_RET_EXTENDED_ERROR) |
		           (slot.allocate ? (initiator ? ISC_RET_ALLOCATED_MEMORY : ASC_RET_ALLOCATED_MEMORY) : 0);
}

// After a good step: its token into the caller's buffer, or one we allocate (`allocated`). A
// token that does not fit kills the context: its state has moved on.
SECURITY_STATUS put_step_token(const StepCall& c, ContextEntry& entry, const OutputSlot& slot, const Bytes& token,
                               bool& allocated)
{
	if (token.empty())
		return SEC_E_OK;
	if (slot.allocate) {
		void* p = alloc_context_buffer(token.size());
		if (!p) {
			entry.failed = true;
			return SEC_E_INSUFFICIENT_MEMORY;
		}
		std::memcpy(p, token.data(), token.size());
		slot.token->pvBuffer = p;
		allocated = true;
	} else if (token.size() > slot.capacity) {
		entry.failed = true;
		NLASSP_LOG(logger, Warn, "%s: the %zu-byte token does not fit the %" PRIu32
		           "-byte output buffer; size it with cbMaxToken from QuerySecurityPackageInfo",
		           c.fn, token.size(), static_cast<uint32_t>(slot.capacity));
		return SEC_E_INSUFFICIENT_MEMORY;
	} else {
		std::memcpy(slot.token->pvBuffer, token.data(), token.size());
	}
	slot.token->cbBuffer = static_cast<ULONG>(token.size());
	return SEC_E_OK;
}

// After a good step: the handle, the attributes in force and the expiry.
SECURITY_STATUS finish_step(const StepCall& c, const std::shared_ptr<ContextEntry>& entry, bool allocated,
                            bool complete)
{
	const bool initiator = c.role == Role::Initiator;
	if (c.context == nullptr)
		handles().add(entry, *c.new_context);   // a handle exists only once the first step worked
	else if (c.new_context && c.new_context != c.context)
		*c.new_context = *c.context;
	if (c.attrs) {
		const ContextFlags f = entry->ctx->flags();
		*c.attrs = (initiator ? to_isc_ret(f) : to_asc_ret(f)) |
		           (allocated ? (initiator ? ISC_RET_ALLOCATED_MEMORY : ASC_RET_ALLOCATED_MEMORY) : 0);
	}
	set_never_expires(c.expiry);
	return complete ? SEC_E_OK : SEC_I_CONTINUE_NEEDED;
}

// ---- context attributes -----------------------------------------------------------------------

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

SECURITY_STATUS query_sizes(const SecurityContext& ctx, void* pBuffer)
{
	const Sizes s = ctx.sizes();
	auto* out = static_cast<SecPkgContext_Sizes*>(pBuffer);
	out->cbMaxToken = s.max_token;
	out->cbMaxSignature = s.max_signature;
	out->cbBlockSize = s.block_size;
	out->cbSecurityTrailer = s.security_trailer;
	return SEC_E_OK;
}

template <Charset CS>
SECURITY_STATUS query_negotiation_info(const SecurityContext& ctx, void* pBuffer)
{
	auto* out = static_cast<NegotiationInfoSlot*>(pBuffer);
	const SECURITY_STATUS s = put_package_info<CS>(ctx.package(), &out->PackageInfo);
	if (s == SEC_E_OK)
		out->NegotiationState = ctx.established() ? SECPKG_NEGOTIATION_COMPLETE : SECPKG_NEGOTIATION_IN_PROGRESS;
	return s;
}

template <Charset CS>
SECURITY_STATUS query_names(const SecurityContext& ctx, void* pBuffer)
{
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
	void* s = alloc_name<CS>(name);
	if (!s)
		return SEC_E_INSUFFICIENT_MEMORY;
	// SecPkgContext_NamesA/W: a single pointer.
	*static_cast<void**>(pBuffer) = s;
	return SEC_E_OK;
}

SECURITY_STATUS query_auth_identity(const SecurityContext& ctx, void* pBuffer)
{
	ContextNames n;
	const Error err = ctx.names(n);
	if (err != Error::None)
		return to_status(err);
	auto* out = static_cast<SecPkgContext_AuthIdentity*>(pBuffer);
	if (!put_fixed(out->User, n.user) || !put_fixed(out->Domain, n.domain)) {
		std::memset(out, 0, sizeof(*out));
		const bool nul =
		    n.user.find(u'\0') != std::u16string::npos || n.domain.find(u'\0') != std::u16string::npos;
		NLASSP_LOG(logger, Warn, "SECPKG_ATTR_AUTH_IDENTITY: the user or domain name %s",
		           nul ? "has a NUL; refusing to hand out a name that reads as another" : "exceeds 256 bytes");
		return nul ? SEC_E_INTERNAL_ERROR : SEC_E_INSUFFICIENT_MEMORY;
	}
	return SEC_E_OK;
}

SECURITY_STATUS query_session_key(const SecurityContext& ctx, void* pBuffer)
{
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

// The client's workstation name, as FreeRDP 3.27+ servers read it: _LEN gives the length in UTF-8
// bytes (A) or UTF-16 units (W); _HOSTNAME writes that many plus a NUL (the caller allocates
// _LEN + 1 units).
template <Charset CS>
SECURITY_STATUS query_ntlm_hostname(const SecurityContext& ctx, ULONG attr, void* pBuffer)
{
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

} // namespace

// ---- the entries ----------------------------------------------------------------------------

SECURITY_STATUS step(const StepCall& c)
{
	const bool initiator = c.role == Role::Initiator;
	OutputSlot slot;
	slot.allocate = (c.req & (initiator ? ISC_REQ_ALLOCATE_MEMORY : ASC_REQ_ALLOCATE_MEMORY)) != 0;
	if (const SECURITY_STATUS s = take_output(c, slot); s != SEC_E_OK)
		return s;
	StepInputs inputs;
	if (const SECURITY_STATUS s = read_inputs(c, initiator, inputs); s != SEC_E_OK)
		return s;
	std::shared_ptr<ContextEntry> entry;
	if (const SECURITY_STATUS s = open_context(c, entry); s != SEC_E_OK)
		return s;

	std::lock_guard lock(entry->mu);
	if (entry->failed) {
		NLASSP_LOG(logger, Debug, "%s: the context failed earlier; delete it and start again", c.fn);
		return SEC_E_OUT_OF_SEQUENCE;
	}

	StepOutput out;
	const Error e = entry->ctx->step(inputs.in, out);
	if (e == Error::IncompleteMessage) {
		// A partial token (CREDSSP over a stream): the context is unchanged and the caller calls
		// again with more bytes; SECBUFFER_MISSING says how many.
		report_missing(inputs.buffers, out.missing);
		return SEC_E_INCOMPLETE_MESSAGE;
	}
	if (e != Error::None) {
		entry->failed = true;
		log_step_failure(c.fn, e);
		put_error_token(c, *entry, slot, out.token);
		return to_status(e);
	}
	bool allocated = false;
	if (const SECURITY_STATUS s = put_step_token(c, *entry, slot, out.token, allocated); s != SEC_E_OK)
		return s;
	return finish_step(c, entry, allocated, out.complete);
}

template <Charset CS>
SECURITY_STATUS query_context_attributes(PCtxtHandle h, ULONG attr, void* pBuffer)
{
	return with_context(h, [&](ContextEntry& e) -> SECURITY_STATUS {
		if (!pBuffer)
			return SEC_E_INVALID_PARAMETER;
		SecurityContext& ctx = *e.ctx;
		switch (attr) {
		case SECPKG_ATTR_SIZES: return query_sizes(ctx, pBuffer);
		case SECPKG_ATTR_FLAGS: {
			const ContextFlags f = ctx.flags();
			static_cast<SecPkgContext_Flags*>(pBuffer)->Flags =
			    e.role == Role::Initiator ? to_isc_ret(f) : to_asc_ret(f);
			return SEC_E_OK;
		}
		case SECPKG_ATTR_PACKAGE_INFO:
			return put_package_info<CS>(ctx.package(), &static_cast<PackageInfoSlot*>(pBuffer)->PackageInfo);
		case SECPKG_ATTR_NEGOTIATION_INFO: return query_negotiation_info<CS>(ctx, pBuffer);
		case SECPKG_ATTR_NAMES: return query_names<CS>(ctx, pBuffer);
		case SECPKG_ATTR_AUTH_IDENTITY: return query_auth_identity(ctx, pBuffer);
		case SECPKG_ATTR_SESSION_KEY: return query_session_key(ctx, pBuffer);
		case SECPKG_ATTR_AUTH_NTLM_HOSTNAME_LEN:
		case SECPKG_ATTR_AUTH_NTLM_HOSTNAME: return query_ntlm_hostname<CS>(ctx, attr, pBuffer);
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

template SECURITY_STATUS query_context_attributes<Charset::A>(PCtxtHandle, ULONG, void*);
template SECURITY_STATUS query_context_attributes<Charset::W>(PCtxtHandle, ULONG, void*);
template SECURITY_STATUS set_context_attributes<Charset::A>(PCtxtHandle, ULONG, void*, ULONG);
template SECURITY_STATUS set_context_attributes<Charset::W>(PCtxtHandle, ULONG, void*, ULONG);

} // namespace nlassp::sspi
