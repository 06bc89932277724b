#include "kerberos/rfc4757.h"

#include "common/secret.h"
#include "crypto/crypto.h"
#include "wire/reader.h"
#include "wire/writer.h"

#include <algorithm>
#include <array>
#include <vector>

namespace nlassp::kerberos::rfc4757 {

namespace {

// 1.2.840.113554.1.2.2 as a DER OID element.
constexpr uint8_t kKrb5Oid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
constexpr uint8_t kWrapHeader[8] = {0x02, 0x01, 0x11, 0x00, 0x10, 0x00, 0xff, 0xff};
constexpr uint8_t kMicHeader[8] = {0x01, 0x01, 0x11, 0x00, 0xff, 0xff, 0xff, 0xff};
constexpr uint32_t kWrapSalt = 13;   // RFC 4757 T for GSS_Wrap's checksum
constexpr uint32_t kMicSalt = 15;    // ... and for GSS_GetMIC's
constexpr size_t kSeqSize = 8;
constexpr size_t kCksumSize = 8;

using Md5 = std::array<uint8_t, crypto::kMd5Size>;

size_t der_length_size(size_t n) noexcept
{
	size_t bytes = 1;
	if (n >= 0x80)
		for (size_t v = n; v; v >>= 8)
			++bytes;
	return bytes;
}

// 60 <len> 06 09 <OID>, where len counts the OID element, the body and what follows the token.
bool put_framing(wire::Writer& w, size_t inner) noexcept
{
	bool ok = w.u8(0x60);
	if (inner < 0x80) {
		ok = ok && w.u8(static_cast<uint8_t>(inner));
	} else {
		const size_t n = der_length_size(inner) - 1;
		ok = ok && w.u8(static_cast<uint8_t>(0x80 | n));
		for (size_t i = n; i-- > 0;)
			ok = ok && w.u8(static_cast<uint8_t>(inner >> (8 * i)));
	}
	return ok && w.bytes(ByteView(kKrb5Oid, sizeof(kKrb5Oid)));
}

uint8_t* le32(uint32_t v, std::array<uint8_t, 4>& out) noexcept
{
	for (size_t i = 0; i < 4; ++i)
		out[i] = static_cast<uint8_t>(v >> (8 * i));
	return out.data();
}

// SGN_CKSUM: HMAC-MD5(Ksign, MD5(T || header || confounder || signed data))[0..8], where
// Ksign = HMAC-MD5(Kss, "signaturekey\0").
Error checksum(ByteView key, uint32_t salt, ByteView header, ByteView confounder, std::span<const MessageBuffer> msg,
               std::array<uint8_t, kCksumSize>& out)
{
	static const uint8_t kSignatureKey[] = "signaturekey";   // with its terminating NUL
	SecretBytes ksign(crypto::kMd5Size);
	const ByteView sk_parts[] = {ByteView(kSignatureKey, sizeof(kSignatureKey))};
	if (Error e = crypto::hmac_md5(key, sk_parts, std::span<uint8_t, crypto::kMd5Size>(ksign.data(), ksign.size()));
	    e != Error::None)
		return e;
	std::array<uint8_t, 4> t{};
	std::vector<ByteView> parts = {ByteView(le32(salt, t), 4), header};
	if (!confounder.empty())
		parts.push_back(confounder);
	for (const auto& b : msg)
		if (b.kind != MessageBufferKind::Padding)
			parts.push_back(b.bytes);
	Md5 inner{};
	if (Error e = crypto::md5(std::span<const ByteView>(parts), inner); e != Error::None)
		return e;
	Md5 mac{};
	const ByteView mac_parts[] = {ByteView(inner)};
	if (Error e = crypto::hmac_md5(ksign.view(), mac_parts, mac); e != Error::None)
		return e;
	std::copy_n(mac.begin(), kCksumSize, out.begin());
	secure_wipe(inner.data(), inner.size());
	secure_wipe(mac.data(), mac.size());
	return Error::None;
}

// HMAC-MD5(HMAC-MD5(k, T as 32-bit little endian), salt): RFC 4757's Kseq and Kcrypt.
Error derive(ByteView k, ByteView salt, SecretBytes& out)
{
	std::array<uint8_t, 4> zero{};
	SecretBytes first(crypto::kMd5Size);
	const ByteView p1[] = {ByteView(zero)};
	if (Error e = crypto::hmac_md5(k, p1, std::span<uint8_t, crypto::kMd5Size>(first.data(), first.size()));
	    e != Error::None)
		return e;
	out = SecretBytes(crypto::kMd5Size);
	const ByteView p2[] = {salt};
	return crypto::hmac_md5(first.view(), p2, std::span<uint8_t, crypto::kMd5Size>(out.data(), out.size()));
}

// SND_SEQ: the sequence number (big endian) and the direction, RC4-encrypted under Kseq.
Error sealed_sequence(ByteView key, uint32_t seq, bool sender_is_acceptor, ByteView cksum,
                      std::array<uint8_t, kSeqSize>& out)
{
	const uint8_t dir = sender_is_acceptor ? 0xff : 0x00;
	const std::array<uint8_t, kSeqSize> plain = {static_cast<uint8_t>(seq >> 24), static_cast<uint8_t>(seq >> 16),
	                                             static_cast<uint8_t>(seq >> 8),  static_cast<uint8_t>(seq),
	                                             dir, dir, dir, dir};
	SecretBytes kseq;
	if (Error e = derive(key, cksum, kseq); e != Error::None)
		return e;
	return crypto::rc4_oneshot(kseq.view(), plain, out);
}

} // namespace

size_t wrap_header_size(size_t data_size) noexcept
{
	const size_t inner = sizeof(kKrb5Oid) + kWrapBodySize + data_size;
	return 1 + der_length_size(inner) + sizeof(kKrb5Oid) + kWrapBodySize;
}

size_t mic_size() noexcept
{
	const size_t inner = sizeof(kKrb5Oid) + kMicBodySize;
	return 1 + der_length_size(inner) + inner;
}

size_t framed_header_size(ByteView token, size_t& data_size) noexcept
{
	data_size = 0;
	// 60 <DER length: short form, or 81..84 and minimal> 06 09 <OID> 02 01 (a wrap token).
	wire::Reader r(token);
	uint8_t tag = 0, first = 0;
	if (!r.u8(tag) || tag != 0x60 || !r.u8(first))
		return 0;
	size_t inner = first;
	size_t length_octets = 0;
	if (first & 0x80) {
		length_octets = first & 0x7f;
		if (length_octets == 0 || length_octets > 4)
			return 0;
		inner = 0;
		for (size_t i = 0; i < length_octets; ++i) {
			uint8_t b = 0;
			if (!r.u8(b) || (i == 0 && b == 0))
				return 0;
			inner = inner << 8 | b;
		}
		if (inner < 0x80)
			return 0;   // not minimal
	}
	ByteView oid, tok;
	if (!r.bytes(sizeof(kKrb5Oid), oid) || !std::equal(oid.begin(), oid.end(), std::begin(kKrb5Oid)) ||
	    !r.bytes(2, tok) || tok[0] != 0x02 || tok[1] != 0x01)
		return 0;
	if (inner < sizeof(kKrb5Oid) + kWrapBodySize)
		return 0;
	data_size = inner - sizeof(kKrb5Oid) - kWrapBodySize;
	return 2 + length_octets + sizeof(kKrb5Oid) + kWrapBodySize;
}

bool is_framed(ByteView token) noexcept
{
	// 60 <length of one to five octets> 06 09 <OID>
	if (token.size() < 2 || token[0] != 0x60)
		return false;
	size_t at = 2;
	if (token[1] & 0x80)
		at += token[1] & 0x7f;
	if (at + sizeof(kKrb5Oid) > token.size())
		return false;
	return std::equal(std::begin(kKrb5Oid), std::end(kKrb5Oid), token.begin() + static_cast<ptrdiff_t>(at));
}

Error wrap(ByteView key, uint32_t seq, bool sender_is_acceptor, ByteView confounder, std::span<MessageBuffer> msg,
           Bytes& token)
{
	if (key.size() != kKeySize || confounder.size() != kConfounderSize)
		return Error::InvalidParameter;
	if (!crypto::legacy_available())
		return Error::PackageUnavailable;
	size_t sealed = 0;
	for (const auto& b : msg)
		if (b.kind == MessageBufferKind::Data)
			sealed += b.bytes.size();

	std::array<uint8_t, kCksumSize> cksum{};
	const std::span<const MessageBuffer> signed_msg(msg.data(), msg.size());
	if (Error e = checksum(key, kWrapSalt, ByteView(kWrapHeader, 8), confounder, signed_msg, cksum); e != Error::None)
		return e;

	// Kcrypt = HMAC(HMAC(Kss ^ F0, 0), seq as 32-bit big endian); one RC4 stream over the
	// confounder, then the sealed buffers in order.
	SecretBytes klocal(key);
	for (size_t i = 0; i < klocal.size(); ++i)
		klocal[i] ^= 0xf0;
	const uint8_t seq_be[4] = {static_cast<uint8_t>(seq >> 24), static_cast<uint8_t>(seq >> 16),
	                           static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq)};
	SecretBytes kcrypt;
	if (Error e = derive(klocal.view(), ByteView(seq_be, 4), kcrypt); e != Error::None)
		return e;
	crypto::Rc4 rc4;
	std::array<uint8_t, kConfounderSize> conf{};
	if (Error e = rc4.init(kcrypt.view()); e != Error::None)
		return e;
	if (Error e = rc4.process(confounder, conf); e != Error::None)
		return e;
	for (auto& b : msg)
		if (b.kind == MessageBufferKind::Data && !b.bytes.empty())
			if (Error e = rc4.process_in_place(b.bytes); e != Error::None)
				return e;

	std::array<uint8_t, kSeqSize> snd_seq{};
	if (Error e = sealed_sequence(key, seq, sender_is_acceptor, cksum, snd_seq); e != Error::None)
		return e;
	wire::Writer w;
	const bool ok = put_framing(w, sizeof(kKrb5Oid) + kWrapBodySize + sealed) &&
	                w.bytes(ByteView(kWrapHeader, 8)) && w.bytes(snd_seq) && w.bytes(cksum) && w.bytes(conf);
	if (!ok)
		return Error::InsufficientMemory;
	token = w.take();
	return Error::None;
}

Error mic(ByteView key, uint32_t seq, bool sender_is_acceptor, std::span<const MessageBuffer> msg, Bytes& token)
{
	if (key.size() != kKeySize)
		return Error::InvalidParameter;
	if (!crypto::legacy_available())
		return Error::PackageUnavailable;
	std::array<uint8_t, kCksumSize> cksum{};
	if (Error e = checksum(key, kMicSalt, ByteView(kMicHeader, 8), {}, msg, cksum); e != Error::None)
		return e;
	std::array<uint8_t, kSeqSize> snd_seq{};
	if (Error e = sealed_sequence(key, seq, sender_is_acceptor, cksum, snd_seq); e != Error::None)
		return e;
	wire::Writer w;
	const bool ok = put_framing(w, sizeof(kKrb5Oid) + kMicBodySize) && w.bytes(ByteView(kMicHeader, 8)) &&
	                w.bytes(snd_seq) && w.bytes(cksum);
	if (!ok)
		return Error::InsufficientMemory;
	token = w.take();
	return Error::None;
}

} // namespace nlassp::kerberos::rfc4757
