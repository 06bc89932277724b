// A bounds-checked view over untrusted bytes (modelled on BoringSSL's CBS). Every read either
// succeeds and advances, or fails and leaves the reader unchanged. Callers never do offset
// arithmetic by hand: an (offset, length) field from the wire becomes a sub-view in one call.
#pragma once

#include "common/bytes.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace nlassp::wire {

class Reader {
public:
	Reader() = default;
	explicit Reader(ByteView data) noexcept : data_(data) {}

	[[nodiscard]] size_t remaining() const noexcept { return data_.size(); }
	[[nodiscard]] bool empty() const noexcept { return data_.empty(); }
	[[nodiscard]] ByteView rest() const noexcept { return data_; }

	[[nodiscard]] bool u8(uint8_t& v) noexcept
	{
		if (data_.empty())
			return false;
		v = data_[0];
		data_ = data_.subspan(1);
		return true;
	}
	[[nodiscard]] bool u16le(uint16_t& v) noexcept { return uint_le(v); }
	[[nodiscard]] bool u32le(uint32_t& v) noexcept { return uint_le(v); }
	[[nodiscard]] bool u64le(uint64_t& v) noexcept { return uint_le(v); }
	[[nodiscard]] bool u16be(uint16_t& v) noexcept { return uint_be(v); }
	[[nodiscard]] bool u32be(uint32_t& v) noexcept { return uint_be(v); }

	// Takes the next n bytes as a view.
	[[nodiscard]] bool bytes(size_t n, ByteView& out) noexcept
	{
		if (n > data_.size())
			return false;
		out = data_.first(n);
		data_ = data_.subspan(n);
		return true;
	}
	// Takes the next n bytes as a sub-reader.
	[[nodiscard]] bool sub(size_t n, Reader& out) noexcept
	{
		ByteView v;
		if (!bytes(n, v))
			return false;
		out = Reader(v);
		return true;
	}
	[[nodiscard]] bool copy(std::span<uint8_t> out) noexcept
	{
		ByteView v;
		if (!bytes(out.size(), v))
			return false;
		if (!v.empty())
			std::memcpy(out.data(), v.data(), v.size());
		return true;
	}
	[[nodiscard]] bool skip(size_t n) noexcept
	{
		ByteView v;
		return bytes(n, v);
	}
	// Peeks without consuming.
	[[nodiscard]] bool peek_u8(uint8_t& v) const noexcept
	{
		if (data_.empty())
			return false;
		v = data_[0];
		return true;
	}

	// A field addressed by (offset, length) relative to `base` (the whole message), as NTLM's
	// security buffers are. Fails unless offset+length lies inside base.
	[[nodiscard]] static bool field(ByteView base, size_t offset, size_t length, ByteView& out) noexcept
	{
		if (offset > base.size() || length > base.size() - offset)
			return false;
		out = base.subspan(offset, length);
		return true;
	}

private:
	template <typename T>
	[[nodiscard]] bool uint_le(T& v) noexcept
	{
		if (data_.size() < sizeof(T))
			return false;
		T r = 0;
		for (size_t i = 0; i < sizeof(T); ++i)
			r = static_cast<T>(r | (static_cast<T>(data_[i]) << (8 * i)));
		v = r;
		data_ = data_.subspan(sizeof(T));
		return true;
	}
	template <typename T>
	[[nodiscard]] bool uint_be(T& v) noexcept
	{
		if (data_.size() < sizeof(T))
			return false;
		T r = 0;
		for (size_t i = 0; i < sizeof(T); ++i)
			r = static_cast<T>((r << 8) | data_[i]);
		v = r;
		data_ = data_.subspan(sizeof(T));
		return true;
	}

	ByteView data_;
};

} // namespace nlassp::wire
