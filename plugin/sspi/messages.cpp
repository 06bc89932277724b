// Message protection behind the SSPI tables: MakeSignature, VerifySignature, EncryptMessage and
// DecryptMessage. The caller's SecBufferDesc becomes the package's MessageBuffer list and one
// SECBUFFER_TOKEN for the signature or wrap header.
#include "sspi/boundary.h"

#include "common/log.h"
#include "sspi/status.h"
#include "sspi/table.h"

#include <cinttypes>
#include <cstring>
#include <vector>

namespace nlassp::sspi {

static const log::Logger logger("com.nlassp.sspi");

namespace {

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

// The established context behind `h` and the message of `d` (sealed parts unless `sign_only`),
// handed to `fn(ContextEntry&, Message&)`; the statuses of a bad handle, an unestablished
// context or a malformed message otherwise.
template <typename F>
SECURITY_STATUS with_message(PCtxtHandle h, PSecBufferDesc d, bool sign_only, F&& fn)
{
	return with_context(h, [&](ContextEntry& e) -> SECURITY_STATUS {
		if (!e.ctx->established())
			return to_status(Error::NotEstablished);
		Message m;
		if (const SECURITY_STATUS s = parse_message(d, sign_only, m); s != SEC_E_OK)
			return s;
		return fn(e, m);
	});
}

} // namespace

SECURITY_STATUS make_signature(PCtxtHandle h, PSecBufferDesc msg)
{
	return with_message(h, msg, false, [&](ContextEntry& e, Message& m) -> SECURITY_STATUS {
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
	return with_message(h, msg, false, [&](ContextEntry& e, Message& m) -> SECURITY_STATUS {
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
	return with_message(h, msg, false, [&](ContextEntry& e, Message& m) -> SECURITY_STATUS {
		const Error err = e.ctx->decrypt(m.parts, buffer_bytes(*m.token));
		if (err != Error::None)
			return to_status(err);
		if (pfQOP)
			*pfQOP = 0;   // sealed: the packages do not report a sign-only wrap separately
		return SEC_E_OK;
	});
}

} // namespace nlassp::sspi
