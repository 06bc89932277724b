// NTLM cryptography (MS-NLMP 3.3.2, 3.4.4, 3.4.5) as pure functions over bytes, tested with the
// MS-NLMP 4.2.4 known answers. Only NTLMv2 with extended session security and 128-bit keys.
#pragma once

#include "common/bytes.h"
#include "common/error.h"
#include "common/secret.h"
#include "crypto/crypto.h"

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace nlassp::ntlm {

constexpr size_t kChallengeSize = 8;
constexpr size_t kKeySize = 16;
constexpr size_t kSignatureSize = 16;

// NTOWFv1 = MD4(UTF-16LE(password)).
[[nodiscard]] Error ntowf_v1(ByteView password_utf16le, SecretBytes& nt_hash);
// NTOWFv2 = HMAC_MD5(NT hash, UTF-16LE(UPPER(user) || domain)). LMOWFv2 is the same value.
[[nodiscard]] Error ntowf_v2_from_hash(ByteView nt_hash, std::u16string_view user, std::u16string_view domain,
                                       SecretBytes& out);
[[nodiscard]] Error ntowf_v2(ByteView password_utf16le, std::u16string_view user, std::u16string_view domain,
                             SecretBytes& out);

// temp = 0x01 0x01 Z(6) || Time || ClientChallenge || Z(4) || AV pairs (with EOL) || Z(4).
[[nodiscard]] Bytes ntlmv2_temp(uint64_t timestamp, ByteView client_challenge, ByteView av_pairs);
// NTProofStr = HMAC_MD5(NTOWFv2, ServerChallenge || temp).
[[nodiscard]] Error nt_proof_str(ByteView ntowf_v2, ByteView server_challenge, ByteView temp,
                                 std::span<uint8_t, 16> out);
// NtChallengeResponse = NTProofStr || temp.
[[nodiscard]] Bytes nt_challenge_response(ByteView nt_proof, ByteView temp);
// LMv2 response = HMAC_MD5(LMOWFv2, ServerChallenge || ClientChallenge) || ClientChallenge.
[[nodiscard]] Error lmv2_response(ByteView lmowf_v2, ByteView server_challenge, ByteView client_challenge,
                                  Bytes& out);
// SessionBaseKey = HMAC_MD5(NTOWFv2, NTProofStr); for NTLMv2 KXKEY returns it unchanged.
[[nodiscard]] Error session_base_key_v2(ByteView ntowf_v2, ByteView nt_proof, SecretBytes& out);
[[nodiscard]] SecretBytes kxkey_v2(const SecretBytes& session_base_key);
// RC4K(key, data): EncryptedRandomSessionKey from RandomSessionKey and back.
[[nodiscard]] Error rc4k(ByteView key, ByteView in, SecretBytes& out);

enum class Direction : uint8_t { ClientToServer, ServerToClient };
// SIGNKEY / SEALKEY with extended session security and 128-bit keys:
// MD5(ExportedSessionKey || "session key to <dir> signing|sealing key magic constant\0").
[[nodiscard]] Error sign_key(ByteView exported_session_key, Direction dir, SecretBytes& out);
[[nodiscard]] Error seal_key(ByteView exported_session_key, Direction dir, SecretBytes& out);

// MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE), computed with the
// 16 bytes at mic_offset of the AUTHENTICATE message taken as zero.
[[nodiscard]] Error compute_mic(ByteView exported_session_key, ByteView negotiate, ByteView challenge,
                                ByteView authenticate, size_t mic_offset, std::span<uint8_t, 16> out);

// The message signature with extended session security (MS-NLMP 3.4.4.2):
// Version(1) || checksum || SeqNum, checksum = HMAC_MD5(SignKey, SeqNum || message)[0..8],
// RC4-encrypted with the sealing handle when key exchange was negotiated. `message` is the
// concatenation of parts (in order).
[[nodiscard]] Error make_signature(ByteView sign_key, crypto::Rc4* seal, uint32_t seq,
                                   std::span<const ByteView> message, std::span<uint8_t, kSignatureSize> out);

// The current time as a FILETIME (100 ns since 1601-01-01 UTC).
[[nodiscard]] uint64_t filetime_now() noexcept;

} // namespace nlassp::ntlm
