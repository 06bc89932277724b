#include "common/secret.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace nlassp {

void secure_wipe(void* p, size_t n) noexcept
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

bool constant_time_equal(ByteView a, ByteView b) noexcept
{
	if (a.size() != b.size())
		return false;
	if (a.empty())
		return true;
	return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

SecretBytes::SecretBytes(size_t n) { resize(n); }
SecretBytes::SecretBytes(ByteView data) { assign(data); }
SecretBytes::SecretBytes(const uint8_t* data, size_t n) { assign(ByteView(data, n)); }
SecretBytes::SecretBytes(const SecretBytes& other) { assign(other.view()); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(other.data_), size_(other.size_), capacity_(other.capacity_)
{
	other.data_ = nullptr;
	other.size_ = other.capacity_ = 0;
}

SecretBytes& SecretBytes::operator=(const SecretBytes& other)
{
	if (this != &other)
		assign(other.view());
	return *this;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept
{
	if (this != &other) {
		clear();
		data_ = other.data_;
		size_ = other.size_;
		capacity_ = other.capacity_;
		other.data_ = nullptr;
		other.size_ = other.capacity_ = 0;
	}
	return *this;
}

SecretBytes::~SecretBytes() { clear(); }

void SecretBytes::clear() noexcept
{
	if (data_) {
		secure_wipe(data_, capacity_);
		::operator delete(data_);
	}
	data_ = nullptr;
	size_ = capacity_ = 0;
}

void SecretBytes::resize(size_t n)
{
	if (n <= capacity_) {
		if (n > size_)
			std::memset(data_ + size_, 0, n - size_);
		else
			secure_wipe(data_ + n, size_ - n);
		size_ = n;
		return;
	}
	size_t cap = std::max(n, capacity_ * 2);
	auto* fresh = static_cast<uint8_t*>(::operator new(cap));
	std::memset(fresh, 0, cap);
	if (size_)
		std::memcpy(fresh, data_, size_);
	clear();
	data_ = fresh;
	capacity_ = cap;
	size_ = n;
}

void SecretBytes::assign(ByteView data)
{
	// data may be a view of our own storage, which resize(0) would wipe: copy it out first.
	if (!data.empty() && data.data() >= data_ && data.data() < data_ + capacity_) {
		SecretBytes copy(data.data(), data.size());
		*this = std::move(copy);
		return;
	}
	resize(0);
	append(data);
}

void SecretBytes::append(ByteView data)
{
	if (data.empty())
		return;
	// data may alias our own storage; copy it out of the way before growing.
	const size_t old = size_;
	if (old + data.size() > capacity_ && data.data() >= data_ && data.data() < data_ + capacity_) {
		SecretBytes copy(data.data(), data.size());
		append(copy.view());
		return;
	}
	resize(old + data.size());
	std::memcpy(data_ + old, data.data(), data.size());
}

} // namespace nlassp
