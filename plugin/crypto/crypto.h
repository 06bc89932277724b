// OpenSSL 3 wrappers in a private OSSL_LIB_CTX with the default and legacy providers loaded
// (MD4 and RC4 live in legacy). The host process's global OpenSSL state is never touched:
// every fetch names our library context.
#pragma once

#include "common/bytes.h"
#include "common/error.h"
#include "common/secret.h"

#include <cstdint>
#include <memory>
#include <span>

typedef struct ossl_lib_ctx_st OSSL_LIB_CTX;

namespace nlassp::crypto {

// Our library context (created on first use, thread-safe). nullptr if OpenSSL failed entirely.
OSSL_LIB_CTX* libctx() noexcept;
// True when MD4 and RC4 are usable (legacy provider loaded). NTLM needs them; when false,
// NTLM logs one clear line and returns Error::PackageUnavailable.
[[nodiscard]] bool legacy_available() noexcept;

constexpr size_t kMd4Size = 16, kMd5Size = 16, kSha256Size = 32;

[[nodiscard]] Error md4(ByteView data, std::span<uint8_t, kMd4Size> out) noexcept;
[[nodiscard]] Error md5(ByteView data, std::span<uint8_t, kMd5Size> out) noexcept;
// MD5 over the concatenation of parts.
[[nodiscard]] Error md5(std::span<const ByteView> parts, std::span<uint8_t, kMd5Size> out) noexcept;
[[nodiscard]] Error sha256(std::span<const ByteView> parts, std::span<uint8_t, kSha256Size> out) noexcept;
// HMAC-MD5 over the concatenation of parts.
[[nodiscard]] Error hmac_md5(ByteView key, std::span<const ByteView> parts,
                             std::span<uint8_t, kMd5Size> out) noexcept;
[[nodiscard]] Error random_bytes(std::span<uint8_t> out) noexcept;

// A stateful RC4 keystream (NTLM sealing keeps one per direction for the whole session).
class Rc4 {
public:
	Rc4();
	~Rc4();
	Rc4(Rc4&&) noexcept;
	Rc4& operator=(Rc4&&) noexcept;
	Rc4(const Rc4&) = delete;
	Rc4& operator=(const Rc4&) = delete;

	[[nodiscard]] Error init(ByteView key) noexcept;
	// in and out may be the same memory; sizes must match.
	[[nodiscard]] Error process(ByteView in, std::span<uint8_t> out) noexcept;
	[[nodiscard]] Error process_in_place(std::span<uint8_t> data) noexcept { return process(data, data); }
	[[nodiscard]] bool ready() const noexcept;

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
};

// One-shot RC4 (NTLM's EncryptedRandomSessionKey).
[[nodiscard]] Error rc4_oneshot(ByteView key, ByteView in, std::span<uint8_t> out) noexcept;

} // namespace nlassp::crypto
