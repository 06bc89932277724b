// A writer that cannot overflow (modelled on BoringSSL's CBB). It either grows a Bytes it owns,
// or writes into a fixed caller-provided span and fails once that is full. After any failure
// the writer stays failed: check ok() (or finish()) once at the end.
#pragma once

#include "common/bytes.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace nlassp::wire {

class Writer {
public:
	// Growing writer.
	Writer() = default;
	// Fixed-capacity writer over caller memory.
	explicit Writer(MutableByteView fixed) noexcept : fixed_(fixed), is_fixed_(true) {}

	Writer(const Writer&) = delete;
	Writer& operator=(const Writer&) = delete;

	[[nodiscard]] bool ok() const noexcept { return ok_; }
	[[nodiscard]] size_t size() const noexcept { return is_fixed_ ? used_ : buf_.size(); }
	[[nodiscard]] ByteView view() const noexcept
	{
		return is_fixed_ ? ByteView(fixed_.data(), used_) : ByteView(buf_);
	}
	// Growing writer only: hands over the bytes.
	[[nodiscard]] Bytes take() noexcept { return std::move(buf_); }

	bool u8(uint8_t v) noexcept { return put(&v, 1); }
	bool u16le(uint16_t v) noexcept { return uint_le(v); }
	bool u32le(uint32_t v) noexcept { return uint_le(v); }
	bool u64le(uint64_t v) noexcept { return uint_le(v); }
	bool u16be(uint16_t v) noexcept { return uint_be(v); }
	bool u32be(uint32_t v) noexcept { return uint_be(v); }
	bool bytes(ByteView v) noexcept { return put(v.data(), v.size()); }
	bool zeros(size_t n) noexcept
	{
		for (size_t i = 0; i < n; ++i)
			if (!u8(0))
				return false;
		return true;
	}

	// Overwrites bytes already written (for length fields filled in later).
	bool patch_u16le(size_t at, uint16_t v) noexcept
	{
		uint8_t b[2] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)};
		return patch(at, b, 2);
	}
	bool patch_u32le(size_t at, uint32_t v) noexcept
	{
		uint8_t b[4] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8),
		                static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 24)};
		return patch(at, b, 4);
	}

private:
	// Out of line on purpose: inlined into callers, GCC 12 at -O2 cannot see that the fixed and
	// growing paths exclude each other and reports false -Wstringop-overflow / -Warray-bounds.
	bool put(const uint8_t* p, size_t n) noexcept;
	bool patch(size_t at, const uint8_t* p, size_t n) noexcept;
	template <typename T>
	bool uint_le(T v) noexcept
	{
		uint8_t b[sizeof(T)];
		for (size_t i = 0; i < sizeof(T); ++i)
			b[i] = static_cast<uint8_t>(v >> (8 * i));
		return put(b, sizeof(T));
	}
	template <typename T>
	bool uint_be(T v) noexcept
	{
		uint8_t b[sizeof(T)];
		for (size_t i = 0; i < sizeof(T); ++i)
			b[i] = static_cast<uint8_t>(v >> (8 * (sizeof(T) - 1 - i)));
		return put(b, sizeof(T));
	}

	Bytes buf_;
	MutableByteView fixed_;
	size_t used_ = 0;
	bool is_fixed_ = false;
	bool ok_ = true;
};

} // namespace nlassp::wire
