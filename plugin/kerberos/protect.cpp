// Message protection on an established context: RFC 4121 wrap tokens through gss_wrap_iov in the
// SSPI layout (header + rotated trailer in the token buffer), MICs, and SPNEGO's mechListMIC.
#include "kerberos/context_impl.h"

#include <vector>

namespace nlassp::kerberos::detail {

Error KerberosContext::encrypt(std::span<MessageBuffer> msg, Bytes& token)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	if (!(ret_flags_ & GSS_C_CONF_FLAG))
		return Error::Unsupported;
	if (rc4_)
		return rc4_->encrypt(krb5_.get(), msg, token);
	std::vector<gss_iov_buffer_desc> iov;
	iov.reserve(msg.size() + 2);
	iov.push_back({GSS_IOV_BUFFER_TYPE_HEADER, {0, nullptr}});
	for (auto& b : msg) {
		if (b.kind == MessageBufferKind::Padding)
			continue;   // RFC 4121 tokens need no padding; the header holds everything
		OM_uint32 type = b.kind == MessageBufferKind::SignOnly ? GSS_IOV_BUFFER_TYPE_SIGN_ONLY : GSS_IOV_BUFFER_TYPE_DATA;
		iov.push_back({type, {b.bytes.size(), b.bytes.data()}});
	}
	iov.push_back({GSS_IOV_BUFFER_TYPE_PADDING, {0, nullptr}});
	OM_uint32 minor = 0;
	int conf = 0;
	OM_uint32 major = gss_wrap_iov_length(&minor, ctx_.get(), 1, GSS_C_QOP_DEFAULT, &conf, iov.data(),
	                                      static_cast<int>(iov.size()));
	if (GSS_ERROR(major))
		return fail_gss("encrypt", major, minor);
	if (iov.back().buffer.length != 0) {
		NLASSP_LOG(logger, Error, "Kerberos encrypt failed: the session key's encryption type needs padding (not AES or RC4-HMAC) (unsupported)");
		return Error::Unsupported;
	}
	token.assign(iov[0].buffer.length, 0);
	iov[0].buffer.value = token.data();
	major = gss_wrap_iov(&minor, ctx_.get(), 1, GSS_C_QOP_DEFAULT, &conf, iov.data(), static_cast<int>(iov.size()));
	if (GSS_ERROR(major)) {
		token.clear();
		return fail_gss("encrypt", major, minor);
	}
	if (!conf) {
		token.clear();
		NLASSP_LOG(logger, Error, "Kerberos encrypt: GSSAPI did not encrypt the message");
		return Error::Internal;
	}
	token.resize(iov[0].buffer.length);
	return Error::None;
}

Error KerberosContext::decrypt(std::span<MessageBuffer> msg, ByteView token)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	if (token.size() < 16)
		return Error::InvalidToken;
	if (rc4_)
		return rc4_->decrypt(krb5_.get(), ctx_.get(), msg, token);
	Bytes header(token.begin(), token.end());
	std::vector<gss_iov_buffer_desc> iov;
	iov.reserve(msg.size() + 1);
	iov.push_back({GSS_IOV_BUFFER_TYPE_HEADER, {header.size(), header.data()}});
	for (auto& b : msg) {
		if (b.kind == MessageBufferKind::Padding)
			continue;
		OM_uint32 type = b.kind == MessageBufferKind::SignOnly ? GSS_IOV_BUFFER_TYPE_SIGN_ONLY : GSS_IOV_BUFFER_TYPE_DATA;
		iov.push_back({type, {b.bytes.size(), b.bytes.data()}});
	}
	OM_uint32 minor = 0;
	int conf = 0;
	gss_qop_t qop = 0;
	OM_uint32 major = gss_unwrap_iov(&minor, ctx_.get(), &conf, &qop, iov.data(), static_cast<int>(iov.size()));
	auto wipe = [&] {
		for (auto& b : msg)
			if (b.kind == MessageBufferKind::Data)
				secure_wipe(b.bytes.data(), b.bytes.size());
	};
	if (GSS_ERROR(major)) {
		Error e = fail_gss("decrypt", major, minor);
		wipe();
		return e;
	}
	if (Error e = gss::map_supplementary(major); e != Error::None) {
		NLASSP_LOG(logger, Warn, "Kerberos decrypt: the message is %s; refused",
		           (major & GSS_S_DUPLICATE_TOKEN) ? "a replay" : (major & GSS_S_GAP_TOKEN) ? "ahead of sequence (messages were lost)" : "out of order");
		wipe();
		return e;
	}
	if (!conf) {
		NLASSP_LOG(logger, Warn, "Kerberos decrypt: the peer's message was not encrypted; refused");
		return Error::InvalidToken;
	}
	return Error::None;
}

Error KerberosContext::sign(std::span<const MessageBuffer> msg, Bytes& token)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	if (rc4_)
		return rc4_->sign(krb5_.get(), msg, token);
	std::vector<gss_iov_buffer_desc> iov;
	iov.reserve(msg.size() + 1);
	for (const auto& b : msg) {
		if (b.kind == MessageBufferKind::Padding)
			continue;
		iov.push_back({GSS_IOV_BUFFER_TYPE_DATA, {b.bytes.size(), b.bytes.data()}});
	}
	iov.push_back({GSS_IOV_BUFFER_TYPE_MIC_TOKEN, {0, nullptr}});
	OM_uint32 minor = 0;
	OM_uint32 major = gss_get_mic_iov_length(&minor, ctx_.get(), GSS_C_QOP_DEFAULT, iov.data(), static_cast<int>(iov.size()));
	if (GSS_ERROR(major))
		return fail_gss("sign", major, minor);
	token.assign(iov.back().buffer.length, 0);
	iov.back().buffer.value = token.data();
	major = gss_get_mic_iov(&minor, ctx_.get(), GSS_C_QOP_DEFAULT, iov.data(), static_cast<int>(iov.size()));
	if (GSS_ERROR(major)) {
		token.clear();
		return fail_gss("sign", major, minor);
	}
	token.resize(iov.back().buffer.length);
	return Error::None;
}

Error KerberosContext::verify(std::span<const MessageBuffer> msg, ByteView token)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	if (rc4_)
		return rc4_->verify(krb5_.get(), ctx_.get(), msg, token);
	Bytes mic(token.begin(), token.end());
	std::vector<gss_iov_buffer_desc> iov;
	iov.reserve(msg.size() + 1);
	for (const auto& b : msg) {
		if (b.kind == MessageBufferKind::Padding)
			continue;
		iov.push_back({GSS_IOV_BUFFER_TYPE_DATA, {b.bytes.size(), b.bytes.data()}});
	}
	iov.push_back({GSS_IOV_BUFFER_TYPE_MIC_TOKEN, {mic.size(), mic.data()}});
	OM_uint32 minor = 0;
	gss_qop_t qop = 0;
	OM_uint32 major = gss_verify_mic_iov(&minor, ctx_.get(), &qop, iov.data(), static_cast<int>(iov.size()));
	if (GSS_ERROR(major))
		return fail_gss("verify", major, minor);
	if (Error e = gss::map_supplementary(major); e != Error::None) {
		NLASSP_LOG(logger, Warn, "Kerberos verify: the signed message is replayed or out of order");
		return e;
	}
	return Error::None;
}

Error KerberosContext::make_negotiation_mic(ByteView mech_types_der, Bytes& mic)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	if (rc4_) {
		Bytes copy(mech_types_der.begin(), mech_types_der.end());
		const MessageBuffer b{MessageBufferKind::Data, MutableByteView(copy)};
		return rc4_->sign(krb5_.get(), std::span<const MessageBuffer>(&b, 1), mic);
	}
	OM_uint32 minor = 0;
	gss_buffer_desc in = gss::input(mech_types_der);
	gss::Buffer out;
	OM_uint32 major = gss_get_mic(&minor, ctx_.get(), GSS_C_QOP_DEFAULT, &in, out.out());
	if (GSS_ERROR(major))
		return fail_gss("mechListMIC", major, minor);
	mic.assign(out.view().begin(), out.view().end());
	return Error::None;
}

Error KerberosContext::verify_negotiation_mic(ByteView mech_types_der, ByteView mic)
{
	if (state_ != State::Established)
		return Error::NotEstablished;
	if (rc4_) {
		Bytes copy(mech_types_der.begin(), mech_types_der.end());
		const MessageBuffer b{MessageBufferKind::Data, MutableByteView(copy)};
		const Error e = rc4_->verify(krb5_.get(), ctx_.get(), std::span<const MessageBuffer>(&b, 1), mic);
		return e == Error::MessageAltered || e == Error::InvalidToken ? Error::DowngradeDetected : e;
	}
	OM_uint32 minor = 0;
	gss_buffer_desc in = gss::input(mech_types_der);
	gss_buffer_desc tok = gss::input(mic);
	gss_qop_t qop = 0;
	OM_uint32 major = gss_verify_mic(&minor, ctx_.get(), &in, &tok, &qop);
	if (GSS_ERROR(major)) {
		Error e = gss::map_gss(major, minor);
		if (e == Error::MessageAltered || e == Error::InvalidToken)
			e = Error::DowngradeDetected;
		log_failure("mechListMIC check", e, gss::describe(major, minor));
		return e;
	}
	return gss::map_supplementary(major);
}

} // namespace nlassp::kerberos::detail
