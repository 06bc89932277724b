// OpenSSL 3 in a private library context. Every fetch names our OSSL_LIB_CTX, so loading the
// legacy provider (for MD4 and RC4) never changes what the host process (FreeRDP, WinPR) sees
// through the default context. Algorithms are fetched once and shared read-only: fetched
// EVP_MD / EVP_MAC / EVP_CIPHER objects are immutable and safe to use from many threads.
#include "crypto/crypto.h"

#include "common/log.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>
#include <mutex>

namespace nlassp::crypto {

namespace {

const log::Logger kLog("com.nlassp.crypto");

struct MdFree {
	void operator()(EVP_MD* p) const noexcept { EVP_MD_free(p); }
};
struct MdCtxFree {
	void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct MacFree {
	void operator()(EVP_MAC* p) const noexcept { EVP_MAC_free(p); }
};
struct MacCtxFree {
	void operator()(EVP_MAC_CTX* p) const noexcept { EVP_MAC_CTX_free(p); }
};
struct CipherFree {
	void operator()(EVP_CIPHER* p) const noexcept { EVP_CIPHER_free(p); }
};
struct CipherCtxFree {
	void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
};

using MdPtr = std::unique_ptr<EVP_MD, MdFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using MacPtr = std::unique_ptr<EVP_MAC, MacFree>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;
using CipherPtr = std::unique_ptr<EVP_CIPHER, CipherFree>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// The library context and the algorithms we use, created once for the life of the process.
// They are deliberately never freed (they stay reachable from g_state until exit): the host may
// still call into the module from its own atexit handlers and static destructors.
struct State {
	OSSL_LIB_CTX* ctx = nullptr;
	OSSL_PROVIDER* default_provider = nullptr;
	OSSL_PROVIDER* legacy_provider = nullptr;
	MdPtr md4, md5, sha256;
	MacPtr hmac;
	CipherPtr rc4;
};

State* g_state = nullptr;
std::once_flag g_once;

// Drops whatever our failed calls left on this thread's OpenSSL error queue, so the host never
// sees errors it did not cause.
void clear_errors() noexcept
{
	ERR_clear_error();
}

void init_state() noexcept
{
	auto* s = new (std::nothrow) State;
	if (!s)
		return;
	s->ctx = OSSL_LIB_CTX_new();
	if (!s->ctx) {
		NLASSP_LOG(kLog, Error, "OpenSSL could not create a library context; install a working OpenSSL 3");
		delete s;
		clear_errors();
		return;
	}
	s->default_provider = OSSL_PROVIDER_load(s->ctx, "default");
	s->legacy_provider = OSSL_PROVIDER_load(s->ctx, "legacy");
	s->md4.reset(EVP_MD_fetch(s->ctx, "MD4", nullptr));
	s->md5.reset(EVP_MD_fetch(s->ctx, "MD5", nullptr));
	s->sha256.reset(EVP_MD_fetch(s->ctx, "SHA256", nullptr));
	s->hmac.reset(EVP_MAC_fetch(s->ctx, "HMAC", nullptr));
	s->rc4.reset(EVP_CIPHER_fetch(s->ctx, "RC4", nullptr));
	if (!s->md4 || !s->rc4)
		NLASSP_LOG(kLog, Warn,
		           "OpenSSL's legacy provider (MD4, RC4) is not available, so NTLM cannot be used; "
		           "install the OpenSSL legacy module (ossl-modules/legacy.so) to enable it");
	if (!s->md5 || !s->sha256 || !s->hmac)
		NLASSP_LOG(kLog, Error,
		           "OpenSSL's default provider lacks MD5, SHA-256 or HMAC; check the OpenSSL installation");
	clear_errors();
	g_state = s;
}

const State* state() noexcept
{
	std::call_once(g_once, init_state);
	return g_state;
}

Error digest(const EVP_MD* md, std::span<const ByteView> parts, std::span<uint8_t> out) noexcept
{
	if (!md)
		return Error::PackageUnavailable;
	if (static_cast<size_t>(EVP_MD_get_size(md)) != out.size())
		return Error::Internal;
	MdCtxPtr ctx(EVP_MD_CTX_new());
	if (!ctx)
		return Error::InsufficientMemory;
	bool ok = EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1;
	for (size_t i = 0; ok && i < parts.size(); ++i)
		if (!parts[i].empty())
			ok = EVP_DigestUpdate(ctx.get(), parts[i].data(), parts[i].size()) == 1;
	unsigned int len = 0;
	ok = ok && EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1 && len == out.size();
	if (!ok) {
		clear_errors();
		return Error::Internal;
	}
	return Error::None;
}

// in and out either are the same memory or do not overlap at all.
bool overlap_ok(ByteView in, std::span<uint8_t> out) noexcept
{
	if (in.empty() || in.data() == out.data())
		return true;
	const auto a = reinterpret_cast<uintptr_t>(in.data());
	const auto b = reinterpret_cast<uintptr_t>(out.data());
	return a + in.size() <= b || b + out.size() <= a;
}

} // namespace

OSSL_LIB_CTX* libctx() noexcept
{
	const State* s = state();
	return s ? s->ctx : nullptr;
}

bool legacy_available() noexcept
{
	const State* s = state();
	return s && s->md4 && s->rc4;
}

Error md4(ByteView data, std::span<uint8_t, kMd4Size> out) noexcept
{
	const State* s = state();
	if (!s)
		return Error::PackageUnavailable;
	const ByteView parts[] = {data};
	return digest(s->md4.get(), parts, out);
}

Error md5(ByteView data, std::span<uint8_t, kMd5Size> out) noexcept
{
	const State* s = state();
	if (!s)
		return Error::Internal;
	const ByteView parts[] = {data};
	const Error e = digest(s->md5.get(), parts, out);
	return e == Error::PackageUnavailable ? Error::Internal : e;
}

Error md5(std::span<const ByteView> parts, std::span<uint8_t, kMd5Size> out) noexcept
{
	const State* s = state();
	if (!s)
		return Error::Internal;
	const Error e = digest(s->md5.get(), parts, out);
	return e == Error::PackageUnavailable ? Error::Internal : e;
}

Error sha256(std::span<const ByteView> parts, std::span<uint8_t, kSha256Size> out) noexcept
{
	const State* s = state();
	if (!s)
		return Error::Internal;
	const Error e = digest(s->sha256.get(), parts, out);
	return e == Error::PackageUnavailable ? Error::Internal : e;
}

Error hmac_md5(ByteView key, std::span<const ByteView> parts, std::span<uint8_t, kMd5Size> out) noexcept
{
	const State* s = state();
	if (!s || !s->hmac || !s->md5)
		return Error::Internal;
	MacCtxPtr ctx(EVP_MAC_CTX_new(s->hmac.get()));
	if (!ctx)
		return Error::InsufficientMemory;
	char digest_name[] = "MD5";
	const OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
	    OSSL_PARAM_construct_end(),
	};
	// OpenSSL refuses a NULL key pointer even for a zero-length key.
	static const uint8_t empty_key = 0;
	const uint8_t* key_ptr = key.empty() ? &empty_key : key.data();
	bool ok = EVP_MAC_init(ctx.get(), key_ptr, key.size(), params) == 1;
	for (size_t i = 0; ok && i < parts.size(); ++i)
		if (!parts[i].empty())
			ok = EVP_MAC_update(ctx.get(), parts[i].data(), parts[i].size()) == 1;
	size_t len = 0;
	ok = ok && EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) == 1 && len == out.size();
	if (!ok) {
		clear_errors();
		return Error::Internal;
	}
	return Error::None;
}

Error random_bytes(std::span<uint8_t> out) noexcept
{
	if (out.empty())
		return Error::None;
	const State* s = state();
	if (!s)
		return Error::Internal;
	if (RAND_bytes_ex(s->ctx, out.data(), out.size(), 0) != 1) {
		clear_errors();
		NLASSP_LOG(kLog, Error, "OpenSSL could not produce random bytes; check the system entropy source");
		return Error::Internal;
	}
	return Error::None;
}

struct Rc4::Impl {
	CipherCtxPtr ctx;
};

Rc4::Rc4() = default;
Rc4::~Rc4() = default;
Rc4::Rc4(Rc4&&) noexcept = default;
Rc4& Rc4::operator=(Rc4&&) noexcept = default;

bool Rc4::ready() const noexcept
{
	return impl_ && impl_->ctx;
}

Error Rc4::init(ByteView key) noexcept
{
	impl_.reset();
	if (key.empty() || key.size() > INT_MAX)
		return Error::InvalidParameter;
	const State* s = state();
	if (!s || !s->rc4)
		return Error::PackageUnavailable;
	CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
	if (!ctx)
		return Error::InsufficientMemory;
	// RC4 takes keys of any length: set the length first, then the key.
	bool ok = EVP_EncryptInit_ex2(ctx.get(), s->rc4.get(), nullptr, nullptr, nullptr) == 1 &&
	          EVP_CIPHER_CTX_set_key_length(ctx.get(), static_cast<int>(key.size())) == 1 &&
	          EVP_EncryptInit_ex2(ctx.get(), nullptr, key.data(), nullptr, nullptr) == 1;
	if (!ok) {
		clear_errors();
		return Error::Internal;
	}
	auto impl = std::unique_ptr<Impl>(new (std::nothrow) Impl);
	if (!impl)
		return Error::InsufficientMemory;
	impl->ctx = std::move(ctx);
	impl_ = std::move(impl);
	return Error::None;
}

Error Rc4::process(ByteView in, std::span<uint8_t> out) noexcept
{
	if (!ready())
		return Error::Internal;
	if (in.size() != out.size() || !overlap_ok(in, out))
		return Error::InvalidParameter;
	// EVP works in int-sized chunks; the keystream simply continues across them.
	constexpr size_t kChunk = static_cast<size_t>(INT_MAX) & ~static_cast<size_t>(0xfff);
	size_t done = 0;
	while (done < in.size()) {
		const size_t n = std::min(kChunk, in.size() - done);
		int outl = 0;
		if (EVP_EncryptUpdate(impl_->ctx.get(), out.data() + done, &outl, in.data() + done,
		                      static_cast<int>(n)) != 1 ||
		    static_cast<size_t>(outl) != n) {
			clear_errors();
			return Error::Internal;
		}
		done += n;
	}
	return Error::None;
}

Error rc4_oneshot(ByteView key, ByteView in, std::span<uint8_t> out) noexcept
{
	Rc4 rc4;
	if (const Error e = rc4.init(key); e != Error::None)
		return e;
	return rc4.process(in, out);
}

} // namespace nlassp::crypto
