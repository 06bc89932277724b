#include "sspi/credssp_glue.h"

#include "common/log.h"
#include "credssp/credssp.h"
#include "nlassp/credssp.h"
#include "sspi/buffers.h"
#include "sspi/identity.h"
#include "sspi/status.h"

#include <cstring>

namespace nlassp::sspi {

namespace {

const log::Logger logger("com.nlassp.sspi");

ULONG type_of(const SecBuffer& b) { return b.BufferType & ~static_cast<ULONG>(SECBUFFER_ATTRMASK); }

} // namespace

Error collect_package_inputs(std::span<SecBuffer> inputs, bool use_supplied, StepInput& in,
                             std::optional<Identity>& supplied)
{
	for (const SecBuffer& b : inputs) {
		const ULONG t = type_of(b);
		if (t == NLASSP_SECBUFFER_CREDSSP_PARAMS) {
			if (!b.pvBuffer || b.cbBuffer == 0)
				return Error::InvalidParameter;
			in.package_params = ByteView(static_cast<const uint8_t*>(b.pvBuffer), b.cbBuffer);
		} else if (t == SECBUFFER_PKG_PARAMS && use_supplied) {
			// The smallest identity layout is SEC_WINNT_AUTH_IDENTITY_A/W.
			if (!b.pvBuffer || b.cbBuffer < sizeof(SEC_WINNT_AUTH_IDENTITY_W)) {
				NLASSP_LOG(logger, Warn, "ISC_REQ_USE_SUPPLIED_CREDS: the SECBUFFER_PKG_PARAMS buffer does not hold "
				                         "a SEC_WINNT_AUTH_IDENTITY");
				return Error::InvalidParameter;
			}
			Credential tmp;
			if (const Error e = parse_auth_data(b.pvBuffer, tmp); e != Error::None)
				return e;
			if (!tmp.identity)
				return Error::InvalidParameter;
			supplied = std::move(tmp.identity);
			in.supplied_identity = &*supplied;
		}
	}
	return Error::None;
}

void report_missing(std::span<SecBuffer> inputs, size_t missing)
{
	for (SecBuffer& b : inputs) {
		const ULONG t = type_of(b);
		if (t == SECBUFFER_EMPTY || t == SECBUFFER_MISSING) {
			b.BufferType = SECBUFFER_MISSING;
			b.cbBuffer = static_cast<ULONG>(missing);
			return;
		}
	}
}

std::optional<SECURITY_STATUS> query_credssp_attribute(const SecurityContext& ctx, ULONG attr, void* buffer)
{
	if (attr == NLASSP_ATTR_CREDSSP_INFO) {
		const auto info = credssp::query_info(ctx);
		if (!info)
			return SEC_E_UNSUPPORTED_FUNCTION;
		auto* out = static_cast<NLASSP_CREDSSP_INFO*>(buffer);
		std::memset(out, 0, sizeof(*out));
		out->Version = info->version;
		out->PeerVersion = info->peer_version;
		out->Flags = (info->established ? NLASSP_CREDSSP_INFO_ESTABLISHED : 0u) |
		             (info->delegated ? NLASSP_CREDSSP_INFO_DELEGATED : 0u) |
		             (info->echo_defect_seen ? NLASSP_CREDSSP_INFO_ECHO_DEFECT_SEEN : 0u) |
		             (info->echo_defect_refused ? NLASSP_CREDSSP_INFO_ECHO_DEFECT_REFUSED : 0u) |
		             (info->remote_guard ? NLASSP_CREDSSP_INFO_REMOTE_GUARD : 0u);
		std::strncpy(out->Mechanism, package_name(info->mechanism), sizeof(out->Mechanism) - 1);
		return SEC_E_OK;
	}
	if (attr == NLASSP_ATTR_CREDSSP_DELEGATED_CREDENTIALS) {
		credssp::DelegatedCredentials d;
		if (const Error e = credssp::query_delegated_credentials(ctx, d); e != Error::None)
			return to_status(e);
		// One allocation: the struct, then User, Domain, Password (UTF-16 + NUL), then Raw.
		using Unit = uint16_t;
		const size_t user = d.user.size(), domain = d.domain.size(), password = d.password.size() / 2;
		const size_t strings = (user + 1 + domain + 1 + password + 1) * sizeof(Unit);
		const size_t total = sizeof(NLASSP_CREDSSP_DELEGATED_CREDENTIALS) + strings + d.raw.size();
		auto* base = static_cast<uint8_t*>(alloc_context_buffer(total));
		if (!base)
			return SEC_E_INSUFFICIENT_MEMORY;
		auto* c = reinterpret_cast<NLASSP_CREDSSP_DELEGATED_CREDENTIALS*>(base);
		auto* p = reinterpret_cast<Unit*>(base + sizeof(*c));
		c->CredType = d.cred_type;
		c->Empty = d.empty ? 1u : 0u;
		c->User = p;
		c->UserLength = static_cast<uint32_t>(user);
		std::memcpy(p, d.user.data(), user * sizeof(Unit));
		p += user + 1;
		c->Domain = p;
		c->DomainLength = static_cast<uint32_t>(domain);
		std::memcpy(p, d.domain.data(), domain * sizeof(Unit));
		p += domain + 1;
		c->Password = p;
		c->PasswordLength = static_cast<uint32_t>(password);
		if (password)
			std::memcpy(p, d.password.data(), password * sizeof(Unit));
		p += password + 1;
		c->Raw = reinterpret_cast<uint8_t*>(p);
		c->RawLength = static_cast<uint32_t>(d.raw.size());
		if (!d.raw.empty())
			std::memcpy(c->Raw, d.raw.data(), d.raw.size());
		static_cast<NLASSP_CREDSSP_DELEGATED_CREDENTIALS_PTR*>(buffer)->Credentials = c;
		return SEC_E_OK;
	}
	return std::nullopt;
}

} // namespace nlassp::sspi
