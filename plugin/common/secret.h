// Secrets have a type: passwords, NT hashes, session keys and delegated credentials live in
// SecretBytes, which wipes itself on destruction and on every reallocation, and has no
// formatter, so it cannot reach a log line by accident.
#pragma once

#include "common/bytes.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace nlassp {

void secure_wipe(void* p, size_t n) noexcept;

class SecretBytes {
public:
	SecretBytes() = default;
	explicit SecretBytes(size_t n);
	explicit SecretBytes(ByteView data);
	SecretBytes(const uint8_t* data, size_t n);
	SecretBytes(const SecretBytes& other);
	SecretBytes(SecretBytes&& other) noexcept;
	SecretBytes& operator=(const SecretBytes& other);
	SecretBytes& operator=(SecretBytes&& other) noexcept;
	~SecretBytes();

	[[nodiscard]] uint8_t* data() noexcept { return data_; }
	[[nodiscard]] const uint8_t* data() const noexcept { return data_; }
	[[nodiscard]] size_t size() const noexcept { return size_; }
	[[nodiscard]] bool empty() const noexcept { return size_ == 0; }
	[[nodiscard]] ByteView view() const noexcept { return {data_, size_}; }
	[[nodiscard]] MutableByteView span() noexcept { return {data_, size_}; }
	uint8_t& operator[](size_t i) noexcept { return data_[i]; }
	const uint8_t& operator[](size_t i) const noexcept { return data_[i]; }

	// Resizes, wiping the old storage; new bytes are zero.
	void resize(size_t n);
	void assign(ByteView data);
	void append(ByteView data);
	void clear() noexcept;

private:
	uint8_t* data_ = nullptr;
	size_t size_ = 0;
	size_t capacity_ = 0;
};

// Constant-time equality of two byte strings (lengths are not secret).
[[nodiscard]] bool constant_time_equal(ByteView a, ByteView b) noexcept;

} // namespace nlassp
