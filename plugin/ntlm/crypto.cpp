#include "ntlm/crypto.h"

#include "wire/utf16.h"
#include "wire/writer.h"

#include <array>
#include <chrono>
#include <cstring>

namespace nlassp::ntlm {

namespace {

// The magic constants of MS-NLMP 3.4.5.2 / 3.4.5.3, each with its terminating NUL.
constexpr char kClientSign[] = "session key to client-to-server signing key magic constant";
constexpr char kServerSign[] = "session key to server-to-client signing key magic constant";
constexpr char kClientSeal[] = "session key to client-to-server sealing key magic constant";
constexpr char kServerSeal[] = "session key to server-to-client sealing key magic constant";

ByteView magic(const char* s, size_t size_with_nul)
{
	return ByteView(reinterpret_cast<const uint8_t*>(s), size_with_nul);
}

Error derive(ByteView exported, ByteView magic_bytes, SecretBytes& out)
{
	if (exported.size() != kKeySize)
		return Error::InvalidParameter;
	SecretBytes buf(exported);
	buf.append(magic_bytes);
	out.resize(kKeySize);
	return crypto::md5(buf.view(), std::span<uint8_t, 16>(out.data(), 16));
}

void put_u32le(uint8_t* p, uint32_t v)
{
	for (int i = 0; i < 4; ++i)
		p[i] = static_cast<uint8_t>(v >> (8 * i));
}

} // namespace

Error ntowf_v1(ByteView password_utf16le, SecretBytes& nt_hash)
{
	nt_hash.resize(kKeySize);
	return crypto::md4(password_utf16le, std::span<uint8_t, 16>(nt_hash.data(), 16));
}

Error ntowf_v2_from_hash(ByteView nt_hash, std::u16string_view user, std::u16string_view domain, SecretBytes& out)
{
	if (nt_hash.size() != kKeySize)
		return Error::InvalidParameter;
	Bytes id = wire::utf16le_bytes(wire::to_upper(user));
	wire::utf16le_append(id, domain);
	const ByteView parts[] = {id};
	out.resize(kKeySize);
	return crypto::hmac_md5(nt_hash, parts, std::span<uint8_t, 16>(out.data(), 16));
}

Error ntowf_v2(ByteView password_utf16le, std::u16string_view user, std::u16string_view domain, SecretBytes& out)
{
	SecretBytes nt;
	if (const Error e = ntowf_v1(password_utf16le, nt); e != Error::None)
		return e;
	return ntowf_v2_from_hash(nt.view(), user, domain, out);
}

Bytes ntlmv2_temp(uint64_t timestamp, ByteView client_challenge, ByteView av_pairs)
{
	wire::Writer w;
	w.u8(1);
	w.u8(1);
	w.zeros(6);
	w.u64le(timestamp);
	w.bytes(client_challenge);
	w.zeros(4);
	w.bytes(av_pairs);
	w.zeros(4);
	return w.ok() ? w.take() : Bytes{};
}

Error nt_proof_str(ByteView ntowf_v2, ByteView server_challenge, ByteView temp, std::span<uint8_t, 16> out)
{
	if (ntowf_v2.size() != kKeySize || server_challenge.size() != kChallengeSize)
		return Error::InvalidParameter;
	const ByteView parts[] = {server_challenge, temp};
	return crypto::hmac_md5(ntowf_v2, parts, out);
}

Bytes nt_challenge_response(ByteView nt_proof, ByteView temp)
{
	Bytes out(nt_proof.begin(), nt_proof.end());
	out.insert(out.end(), temp.begin(), temp.end());
	return out;
}

Error lmv2_response(ByteView lmowf_v2, ByteView server_challenge, ByteView client_challenge, Bytes& out)
{
	if (lmowf_v2.size() != kKeySize || server_challenge.size() != kChallengeSize ||
	    client_challenge.size() != kChallengeSize)
		return Error::InvalidParameter;
	std::array<uint8_t, 16> mac{};
	const ByteView parts[] = {server_challenge, client_challenge};
	if (const Error e = crypto::hmac_md5(lmowf_v2, parts, mac); e != Error::None)
		return e;
	out.assign(mac.begin(), mac.end());
	out.insert(out.end(), client_challenge.begin(), client_challenge.end());
	return Error::None;
}

Error session_base_key_v2(ByteView ntowf_v2, ByteView nt_proof, SecretBytes& out)
{
	if (ntowf_v2.size() != kKeySize || nt_proof.size() != 16)
		return Error::InvalidParameter;
	const ByteView parts[] = {nt_proof};
	out.resize(kKeySize);
	return crypto::hmac_md5(ntowf_v2, parts, std::span<uint8_t, 16>(out.data(), 16));
}

SecretBytes kxkey_v2(const SecretBytes& session_base_key)
{
	return session_base_key;
}

Error rc4k(ByteView key, ByteView in, SecretBytes& out)
{
	out.resize(in.size());
	return crypto::rc4_oneshot(key, in, out.span());
}

Error sign_key(ByteView exported_session_key, Direction dir, SecretBytes& out)
{
	return dir == Direction::ClientToServer ? derive(exported_session_key, magic(kClientSign, sizeof(kClientSign)), out)
	                                        : derive(exported_session_key, magic(kServerSign, sizeof(kServerSign)), out);
}

Error seal_key(ByteView exported_session_key, Direction dir, SecretBytes& out)
{
	return dir == Direction::ClientToServer ? derive(exported_session_key, magic(kClientSeal, sizeof(kClientSeal)), out)
	                                        : derive(exported_session_key, magic(kServerSeal, sizeof(kServerSeal)), out);
}

Error compute_mic(ByteView exported_session_key, ByteView negotiate, ByteView challenge, ByteView authenticate,
                  size_t mic_offset, std::span<uint8_t, 16> out)
{
	if (mic_offset > authenticate.size() || authenticate.size() - mic_offset < 16)
		return Error::InvalidParameter;
	static constexpr uint8_t kZero[16] = {};
	const ByteView parts[] = {negotiate, challenge, authenticate.first(mic_offset), ByteView(kZero, 16),
	                          authenticate.subspan(mic_offset + 16)};
	return crypto::hmac_md5(exported_session_key, parts, out);
}

Error make_signature(ByteView sign_key, crypto::Rc4* seal, uint32_t seq, std::span<const ByteView> message,
                     std::span<uint8_t, kSignatureSize> out)
{
	if (sign_key.size() != kKeySize)
		return Error::InvalidParameter;
	uint8_t seq_le[4];
	put_u32le(seq_le, seq);
	std::vector<ByteView> parts;
	parts.reserve(message.size() + 1);
	parts.emplace_back(seq_le, 4);
	parts.insert(parts.end(), message.begin(), message.end());
	std::array<uint8_t, 16> mac{};
	if (const Error e = crypto::hmac_md5(sign_key, parts, mac); e != Error::None)
		return e;
	put_u32le(out.data(), 1);
	std::memcpy(out.data() + 4, mac.data(), 8);
	if (seal) {
		if (const Error e = seal->process_in_place(out.subspan(4, 8)); e != Error::None)
			return e;
	}
	put_u32le(out.data() + 12, seq);
	secure_wipe(mac.data(), mac.size());
	return Error::None;
}

uint64_t filetime_now() noexcept
{
	// 1601-01-01 to 1970-01-01 in 100 ns units.
	constexpr uint64_t kEpochDelta = 116444736000000000ULL;
	const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
	const auto ticks = std::chrono::duration_cast<std::chrono::duration<int64_t, std::ratio<1, 10000000>>>(since_epoch);
	return kEpochDelta + static_cast<uint64_t>(ticks.count());
}

} // namespace nlassp::ntlm
