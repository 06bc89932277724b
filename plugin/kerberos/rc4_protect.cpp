#include "kerberos/rc4_protect.h"

#include "crypto/crypto.h"
#include "kerberos/context_impl.h"
#include "kerberos/rfc4757.h"
#include "wire/reader.h"

#include <array>
#include <cstdlib>
#include <cstring>
#include <strings.h>
#include <vector>

namespace nlassp::kerberos::detail {

namespace {

// RFC 4121 key usages.
constexpr krb5_keyusage kAcceptorSeal = 22, kAcceptorSign = 23, kInitiatorSeal = 24, kInitiatorSign = 25;
constexpr uint16_t kTokWrap = 0x0504, kTokMic = 0x0404;
// FLAG_ACCEPTOR_SUBKEY (0x04) is not checked: WinPR sets it whenever its auth context has a
// receive subkey, which MIT's krb5_mk_req makes the initiator's own subkey; with an RC4 key there
// is only one key, and a token under another one fails its checksum.
constexpr uint8_t kSentByAcceptor = 0x01, kSealed = 0x02;
constexpr size_t kHeader = 16;
// 1.2.840.113554.1.2.2.5.6 (GSS_KRB5_EXPORT_LUCID_SEC_CONTEXT) with version 1.
gss_OID_desc kLucidV1 = {12, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x06\x01")};

Error fail(const char* what, Error e, const char* why)
{
	if (e == Error::OutOfSequence)
		NLASSP_LOG(logger, Warn, "Kerberos %s: the message is replayed, out of order or after lost ones; refused", what);
	else
		NLASSP_LOG(logger, Error, "Kerberos %s failed: %s (%s)", what, why, error_name(e));
	return e;
}

// NLASSP_KERBEROS_RC4_LAYOUT=rfc4757: an initiator starts in RFC 4757's layout, as a Windows
// server that kept RC4 expects - for callers that size tokens per message (nlassp-probe, the
// CREDSSP package), not FreeRDP's CredSSP code. Anything else: WinPR's layout (rc4_protect.h).
bool rfc4757_first()
{
	const char* v = secure_getenv("NLASSP_KERBEROS_RC4_LAYOUT");
	return v && strcasecmp(v, "rfc4757") == 0;
}

const char* layout_name(Rc4Protection::Layout l) noexcept
{
	return l == Rc4Protection::Layout::Rfc4757 ? "RFC 4757" : "WinPR's RFC 4121";
}

void protected_line(const char* what, Rc4Protection::Layout l, size_t token)
{
	NLASSP_LOG(logger, Debug, "Kerberos %s: RC4-HMAC message protection in %s layout, %zu-byte token", what,
	           layout_name(l), token);
}

size_t sealed_size(std::span<const MessageBuffer> msg)
{
	size_t n = 0;
	for (const auto& b : msg)
		if (b.kind == MessageBufferKind::Data)
			n += b.bytes.size();
	return n;
}

void wipe(std::span<MessageBuffer> msg)
{
	for (auto& b : msg)
		if (b.kind == MessageBufferKind::Data)
			secure_wipe(b.bytes.data(), b.bytes.size());
}

void put_header(uint8_t* h, uint16_t tok, uint8_t flags, uint64_t seq)
{
	h[0] = static_cast<uint8_t>(tok >> 8);
	h[1] = static_cast<uint8_t>(tok);
	h[2] = flags;
	std::memset(h + 3, 0xff, 5);   // a MIC's filler; a wrap token overwrites EC and RRC
	for (size_t i = 0; i < 8; ++i)
		h[8 + i] = static_cast<uint8_t>(seq >> (56 - 8 * i));
}

krb5_crypto_iov iov_of(const MessageBuffer& b)
{
	krb5_crypto_iov v{};
	v.flags = b.kind == MessageBufferKind::SignOnly ? KRB5_CRYPTO_TYPE_SIGN_ONLY : KRB5_CRYPTO_TYPE_DATA;
	v.data.length = static_cast<unsigned int>(b.bytes.size());
	v.data.data = reinterpret_cast<char*>(b.bytes.data());
	return v;
}

// HEADER, the message, E(header) as DATA, PADDING, TRAILER: WinPR's order, which is also the
// order of the RC4 key stream.
std::vector<krb5_crypto_iov> wrap_iov(std::span<MessageBuffer> msg)
{
	std::vector<krb5_crypto_iov> iov;
	iov.reserve(msg.size() + 4);
	iov.push_back({KRB5_CRYPTO_TYPE_HEADER, {}});
	for (const auto& b : msg)
		if (b.kind != MessageBufferKind::Padding)
			iov.push_back(iov_of(b));
	iov.push_back({KRB5_CRYPTO_TYPE_DATA, {}});
	iov.back().data.length = kHeader;
	iov.push_back({KRB5_CRYPTO_TYPE_PADDING, {}});
	iov.push_back({KRB5_CRYPTO_TYPE_TRAILER, {}});
	return iov;
}

// Points the last four entries of wrap_iov() into `t` (16-byte header first): E(header) right
// after the header, then padding, trailer and the krb5 header (confounder and checksum).
void place(std::vector<krb5_crypto_iov>& iov, uint8_t* t)
{
	const size_t n = iov.size();
	char* p = reinterpret_cast<char*>(t) + kHeader;
	iov[n - 3].data.data = p;
	iov[n - 2].data.data = p + kHeader;
	iov[n - 1].data.data = iov[n - 2].data.data + iov[n - 2].data.length;
	iov[0].data.data = iov[n - 1].data.data + iov[n - 1].data.length;
}

} // namespace

bool read_rfc4121_header(ByteView token, Rfc4121Header& h) noexcept
{
	wire::Reader r(token);
	uint32_t hi = 0, lo = 0;
	Rfc4121Header out;
	if (!r.u16be(out.tok) || !r.u8(out.flags) || !r.copy(std::span<uint8_t>(out.filler, 5)) || !r.u32be(hi) ||
	    !r.u32be(lo))
		return false;
	out.ec = static_cast<uint16_t>(out.filler[1] << 8 | out.filler[2]);
	out.rrc = static_cast<uint16_t>(out.filler[3] << 8 | out.filler[4]);
	out.seq = static_cast<uint64_t>(hi) << 32 | lo;
	h = out;
	return true;
}

Error Rc4Protection::create(gss_ctx_id_t ctx, OM_uint32 ret_flags, std::unique_ptr<Rc4Protection>& out)
{
	out.reset();
	OM_uint32 minor = 0;
	gss::BufferSet set;
	if (GSS_ERROR(gss_inquire_sec_context_by_oid(&minor, ctx, &kLucidV1, set.out())) ||
	    set.get() == GSS_C_NO_BUFFER_SET || set.get()->count != 1 || set.get()->elements[0].length != sizeof(void*))
		return Error::None;   // cannot tell: GSSAPI's own per-message calls apply
	void* lucid = nullptr;
	std::memcpy(&lucid, set.get()->elements[0].value, sizeof(void*));
	const auto* l = static_cast<const gss_krb5_lucid_context_v1_t*>(lucid);
	Error e = Error::None;
	if (l->version == 1 && l->protocol == 0 && l->rfc1964_kd.ctx_key.type == ENCTYPE_ARCFOUR_HMAC &&
	    l->rfc1964_kd.ctx_key.length == rfc4757::kKeySize) {
		std::unique_ptr<Rc4Protection> p(new Rc4Protection());
		p->initiator_ = l->initiate != 0;
		p->check_order_ = (ret_flags & (GSS_C_SEQUENCE_FLAG | GSS_C_REPLAY_FLAG)) != 0;
		p->enctype_ = ENCTYPE_ARCFOUR_HMAC;
		p->key_ = SecretBytes(static_cast<const uint8_t*>(l->rfc1964_kd.ctx_key.data), l->rfc1964_kd.ctx_key.length);
		p->send_seq_ = l->send_seq;
		p->recv_seq_ = l->recv_seq;
		p->send_layout_ = p->initiator_ && rfc4757_first() ? Layout::Rfc4757 : Layout::Rfc4121Layout;
		out = std::move(p);
	} else if (l->version == 1 && l->protocol == 0) {
		// DES3 (or exportable RC4): MIT's RFC 1964 tokens need padding SSPI has no room for.
		NLASSP_LOG(logger, Error, "Kerberos: the session key's encryption type %u is not supported for message "
		           "protection (only AES and RC4-HMAC); allow AES for the service or the client", l->rfc1964_kd.ctx_key.type);
		e = Error::Unsupported;
	}
	(void)gss_krb5_free_lucid_sec_context(&minor, lucid);
	return e;
}

uint32_t Rc4Protection::max_trailer() noexcept
{
	// RFC 4121 layout under RC4: header, E(header), confounder and checksum (16+16+8+16).
	return 56;
}

uint32_t Rc4Protection::token_size(std::span<const MessageBuffer> msg) const noexcept
{
	if (send_layout_ == Layout::Rfc4121Layout)
		return max_trailer();
	size_t sealed = 0;
	for (const auto& b : msg)
		if (b.kind == MessageBufferKind::Data)
			sealed += b.bytes.size();
	return static_cast<uint32_t>(rfc4757::wrap_header_size(sealed));
}

bool Rc4Protection::adopt_acceptor_subkey(ByteView key)
{
	if (!initiator_ || key.size() != rfc4757::kKeySize || constant_time_equal(key, key_.view()))
		return false;
	key_ = SecretBytes(key);
	return true;
}

size_t Rc4Protection::received_token_size(ByteView message) noexcept
{
	size_t data = 0;
	const size_t header = rfc4757::framed_header_size(message, data);
	return header != 0 && header + data == message.size() ? header : max_trailer();
}

uint32_t Rc4Protection::max_signature() noexcept
{
	return static_cast<uint32_t>(rfc4757::mic_size());
}

krb5_keyblock Rc4Protection::keyblock() const noexcept
{
	krb5_keyblock kb{};
	kb.magic = KV5M_KEYBLOCK;
	kb.enctype = enctype_;
	kb.length = static_cast<unsigned int>(key_.size());
	kb.contents = const_cast<uint8_t*>(key_.data());
	return kb;
}

Error Rc4Protection::check_sequence(uint64_t seq)
{
	if (seq == recv_seq_) {
		++recv_seq_;
		return Error::None;
	}
	const bool gap = seq > recv_seq_;
	if (gap)
		recv_seq_ = seq + 1;
	if (!check_order_)
		return Error::None;
	NLASSP_LOG(logger, Warn, "Kerberos decrypt: the message is %s; refused",
	           gap ? "ahead of sequence (messages were lost)" : "a replay or out of order");
	return Error::OutOfSequence;
}

Error Rc4Protection::encrypt(krb5_context k, std::span<MessageBuffer> msg, Bytes& token)
{
	if (send_layout_ == Layout::Rfc4121Layout)
		return wrap_4121(k, msg, token);
	std::array<uint8_t, rfc4757::kConfounderSize> confounder{};
	if (Error e = crypto::random_bytes(confounder); e != Error::None)
		return fail("encrypt", e, "no random confounder");
	const Error e = rfc4757::wrap(key_.view(), static_cast<uint32_t>(send_seq_), !initiator_, confounder, msg, token);
	if (e == Error::PackageUnavailable)
		return fail("encrypt", e, "RC4 is not available (OpenSSL's legacy provider is not loaded)");
	if (e != Error::None)
		return fail("encrypt", e, "RFC 4757 wrap token");
	++send_seq_;
	protected_line("encrypt", send_layout_, token.size());
	return Error::None;
}

Error Rc4Protection::wrap_4121(krb5_context k, std::span<MessageBuffer> msg, Bytes& token)
{
	std::vector<krb5_crypto_iov> iov = wrap_iov(msg);
	if (krb5_c_crypto_length_iov(k, enctype_, iov.data(), iov.size()) != 0)
		return fail("encrypt", Error::Internal, "no RC4-HMAC lengths from libkrb5");
	const size_t n = iov.size();
	const size_t rrc = kHeader + iov[n - 2].data.length + iov[n - 1].data.length;
	token.assign(kHeader + rrc + iov[0].data.length, 0);
	put_header(token.data(), kTokWrap, static_cast<uint8_t>((initiator_ ? 0 : kSentByAcceptor) | kSealed), send_seq_);
	token[4] = token[5] = token[6] = token[7] = 0;                // EC 0, RRC 0 in the encrypted copy
	std::memcpy(token.data() + kHeader, token.data(), kHeader);
	token[6] = static_cast<uint8_t>(rrc >> 8);
	token[7] = static_cast<uint8_t>(rrc);
	place(iov, token.data());
	const krb5_keyblock kb = keyblock();
	if (krb5_c_encrypt_iov(k, &kb, initiator_ ? kInitiatorSeal : kAcceptorSeal, nullptr, iov.data(), iov.size()) != 0) {
		token.clear();
		return fail("encrypt", Error::Internal, "RC4-HMAC encryption in libkrb5");
	}
	++send_seq_;
	protected_line("encrypt", Layout::Rfc4121Layout, token.size());
	return Error::None;
}

Error Rc4Protection::decrypt(krb5_context k, gss_ctx_id_t ctx, std::span<MessageBuffer> msg, ByteView token)
{
	if (!rfc4757::is_framed(token)) {
		const Error e = unwrap_4121(k, msg, token);
		if (e == Error::None) {
			send_layout_ = Layout::Rfc4121Layout;
			protected_line("decrypt", send_layout_, token.size());
		}
		return e;
	}
	// The caller split the message into token and data: the framing says where it should have.
	size_t announced = 0;
	const size_t header_size = rfc4757::framed_header_size(token, announced);
	if (header_size != 0 && token.size() == header_size && announced != sealed_size(msg)) {
		wipe(msg);
		return fail("decrypt", Error::InvalidToken, "the RFC 4757 token's length does not match the data");
	}
	if (header_size != 0 && token.size() != header_size) {
		wipe(msg);
		NLASSP_LOG(logger, Error,
		           "Kerberos decrypt failed: the peer's RFC 4757 (RC4-HMAC) token is %zu bytes, but the caller cut the "
		           "message into a %zu-byte token and %zu bytes of data; FreeRDP's CredSSP cuts at the fixed "
		           "cbSecurityTrailer and cannot carry RFC 4757's variable-size tokens (as Windows sends them): give "
		           "the service an AES key, or let the client negotiate an AES subkey (InvalidToken)",
		           header_size, token.size(), sealed_size(msg));
		return Error::InvalidToken;
	}
	Bytes header(token.begin(), token.end());
	std::vector<gss_iov_buffer_desc> iov;
	iov.push_back({GSS_IOV_BUFFER_TYPE_HEADER, {header.size(), header.data()}});
	for (auto& b : msg)
		if (b.kind != MessageBufferKind::Padding)
			iov.push_back({static_cast<OM_uint32>(b.kind == MessageBufferKind::SignOnly ? GSS_IOV_BUFFER_TYPE_SIGN_ONLY
			                                                                         : GSS_IOV_BUFFER_TYPE_DATA),
			               {b.bytes.size(), b.bytes.data()}});
	OM_uint32 minor = 0;
	int conf = 0;
	gss_qop_t qop = 0;
	const OM_uint32 major = gss_unwrap_iov(&minor, ctx, &conf, &qop, iov.data(), static_cast<int>(iov.size()));
	Error e = GSS_ERROR(major) ? gss::map_gss(major, minor) : gss::map_supplementary(major);
	if (e == Error::None && !conf)
		e = Error::InvalidToken;
	if (e != Error::None) {
		wipe(msg);
		return fail("decrypt", e, GSS_ERROR(major) ? gss::describe(major, minor).c_str() : "RFC 4757 token refused");
	}
	send_layout_ = Layout::Rfc4757;
	protected_line("decrypt", send_layout_, token.size());
	return Error::None;
}

Error Rc4Protection::unwrap_4121(krb5_context k, std::span<MessageBuffer> msg, ByteView token)
{
	Rfc4121Header h;
	if (!read_rfc4121_header(token, h) || h.tok != kTokWrap || h.filler[0] != 0xff)
		return fail("decrypt", Error::InvalidToken, "not a Kerberos wrap token");
	if (!(h.flags & kSealed))
		return fail("decrypt", Error::InvalidToken, "the peer's message was not encrypted");
	if (((h.flags & kSentByAcceptor) != 0) != initiator_)
		return fail("decrypt", Error::InvalidToken, "the token was sent in the other direction (a reflected message)");
	std::vector<krb5_crypto_iov> iov = wrap_iov(msg);
	if (krb5_c_crypto_length_iov(k, enctype_, iov.data(), iov.size()) != 0)
		return fail("decrypt", Error::Internal, "no RC4-HMAC lengths from libkrb5");
	const size_t n = iov.size();
	const size_t rrc = kHeader + iov[n - 2].data.length + iov[n - 1].data.length;
	if (h.ec != 0 || h.rrc != rrc || token.size() != kHeader + rrc + iov[0].data.length)
		return fail("decrypt", Error::InvalidToken, "the wrap token's size, EC or RRC is not RC4-HMAC's");
	Bytes t(token.begin(), token.end());
	place(iov, t.data());
	const krb5_keyblock kb = keyblock();
	if (krb5_c_decrypt_iov(k, &kb, initiator_ ? kAcceptorSeal : kInitiatorSeal, nullptr, iov.data(), iov.size()) != 0) {
		wipe(msg);
		return fail("decrypt", Error::MessageAltered, "the RC4-HMAC checksum does not verify");
	}
	// The encrypted copy of the header must be the header (EC and RRC are not protected).
	const uint8_t* copy = t.data() + kHeader;
	if (std::memcmp(copy, t.data(), 4) != 0 || std::memcmp(copy + 8, t.data() + 8, 8) != 0) {
		wipe(msg);
		return fail("decrypt", Error::MessageAltered, "the wrap token's header does not match its encrypted copy");
	}
	if (Error e = check_sequence(h.seq); e != Error::None) {
		wipe(msg);
		return e;
	}
	return Error::None;
}

Error Rc4Protection::sign(krb5_context k, std::span<const MessageBuffer> msg, Bytes& token)
{
	if (send_layout_ == Layout::Rfc4121Layout)
		return mic_4121(k, msg, token);
	const Error e = rfc4757::mic(key_.view(), static_cast<uint32_t>(send_seq_), !initiator_, msg, token);
	if (e != Error::None)
		return fail("sign", e, e == Error::PackageUnavailable ? "RC4 is not available (OpenSSL's legacy provider)"
		                                                      : "RFC 4757 MIC token");
	++send_seq_;
	return Error::None;
}

static std::vector<krb5_crypto_iov> mic_iov(std::span<const MessageBuffer> msg, uint8_t* header, size_t cksum_len,
                                     uint8_t* cksum)
{
	std::vector<krb5_crypto_iov> iov;
	for (const auto& b : msg)
		if (b.kind != MessageBufferKind::Padding) {
			iov.push_back({KRB5_CRYPTO_TYPE_DATA, {}});
			iov.back().data.length = static_cast<unsigned int>(b.bytes.size());
			iov.back().data.data = reinterpret_cast<char*>(b.bytes.data());
		}
	iov.push_back({KRB5_CRYPTO_TYPE_DATA, {}});
	iov.back().data.length = kHeader;
	iov.back().data.data = reinterpret_cast<char*>(header);
	iov.push_back({KRB5_CRYPTO_TYPE_CHECKSUM, {}});
	iov.back().data.length = static_cast<unsigned int>(cksum_len);
	iov.back().data.data = reinterpret_cast<char*>(cksum);
	return iov;
}

Error Rc4Protection::mic_4121(krb5_context k, std::span<const MessageBuffer> msg, Bytes& token)
{
	unsigned int cksum_len = 0;
	if (krb5_c_crypto_length(k, enctype_, KRB5_CRYPTO_TYPE_CHECKSUM, &cksum_len) != 0)
		return fail("sign", Error::Internal, "no RC4-HMAC checksum length from libkrb5");
	token.assign(kHeader + cksum_len, 0);
	put_header(token.data(), kTokMic, initiator_ ? 0 : kSentByAcceptor, send_seq_);
	std::vector<krb5_crypto_iov> iov = mic_iov(msg, token.data(), cksum_len, token.data() + kHeader);
	const krb5_keyblock kb = keyblock();
	if (krb5_c_make_checksum_iov(k, 0, &kb, initiator_ ? kInitiatorSign : kAcceptorSign, iov.data(), iov.size()) != 0) {
		token.clear();
		return fail("sign", Error::Internal, "RC4-HMAC checksum in libkrb5");
	}
	++send_seq_;
	return Error::None;
}

Error Rc4Protection::verify(krb5_context k, gss_ctx_id_t ctx, std::span<const MessageBuffer> msg, ByteView token)
{
	if (!rfc4757::is_framed(token)) {
		const Error e = verify_mic_4121(k, msg, token);
		if (e == Error::None)
			send_layout_ = Layout::Rfc4121Layout;
		return e;
	}
	Bytes mic(token.begin(), token.end());
	std::vector<gss_iov_buffer_desc> iov;
	for (const auto& b : msg)
		if (b.kind != MessageBufferKind::Padding)
			iov.push_back({GSS_IOV_BUFFER_TYPE_DATA, {b.bytes.size(), b.bytes.data()}});
	iov.push_back({GSS_IOV_BUFFER_TYPE_MIC_TOKEN, {mic.size(), mic.data()}});
	OM_uint32 minor = 0;
	gss_qop_t qop = 0;
	const OM_uint32 major = gss_verify_mic_iov(&minor, ctx, &qop, iov.data(), static_cast<int>(iov.size()));
	const Error e = GSS_ERROR(major) ? gss::map_gss(major, minor) : gss::map_supplementary(major);
	if (e != Error::None)
		return fail("verify", e, GSS_ERROR(major) ? gss::describe(major, minor).c_str() : "RFC 4757 MIC refused");
	send_layout_ = Layout::Rfc4757;
	return Error::None;
}

Error Rc4Protection::verify_mic_4121(krb5_context k, std::span<const MessageBuffer> msg, ByteView token)
{
	Rfc4121Header h;
	if (!read_rfc4121_header(token, h) || h.tok != kTokMic)
		return fail("verify", Error::InvalidToken, "not a Kerberos MIC token");
	for (uint8_t f : h.filler)
		if (f != 0xff)
			return fail("verify", Error::InvalidToken, "the MIC token's filler is not ff");
	if ((h.flags & kSealed) != 0 || ((h.flags & kSentByAcceptor) != 0) != initiator_)
		return fail("verify", Error::InvalidToken, "the MIC token's flags are not the peer's");
	unsigned int cksum_len = 0;
	if (krb5_c_crypto_length(k, enctype_, KRB5_CRYPTO_TYPE_CHECKSUM, &cksum_len) != 0)
		return fail("verify", Error::Internal, "no RC4-HMAC checksum length from libkrb5");
	if (token.size() != kHeader + cksum_len)
		return fail("verify", Error::InvalidToken, "the MIC token's size is not RC4-HMAC's");
	Bytes t(token.begin(), token.end());
	std::vector<krb5_crypto_iov> iov = mic_iov(msg, t.data(), cksum_len, t.data() + kHeader);
	const krb5_keyblock kb = keyblock();
	krb5_boolean valid = 0;
	if (krb5_c_verify_checksum_iov(k, 0, &kb, initiator_ ? kAcceptorSign : kInitiatorSign, iov.data(), iov.size(),
	                               &valid) != 0 ||
	    !valid)
		return fail("verify", Error::MessageAltered, "the RC4-HMAC signature does not verify");
	return check_sequence(h.seq);
}

} // namespace nlassp::kerberos::detail
