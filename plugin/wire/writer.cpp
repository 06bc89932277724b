#include "wire/writer.h"

namespace nlassp::wire {

bool Writer::put(const uint8_t* p, size_t n) noexcept
{
	if (!ok_)
		return false;
	if (n == 0)
		return true;
	if (is_fixed_) {
		if (n > fixed_.size() - used_)
			return ok_ = false;
		std::memcpy(fixed_.data() + used_, p, n);
		used_ += n;
		return true;
	}
	// resize + memcpy rather than vector::insert: GCC 12 at -O2 reports false -Warray-bounds /
	// -Wstringop-overflow on inlined range inserts.
	const size_t old = buf_.size();
	try {
		buf_.resize(old + n);
	} catch (...) {
		return ok_ = false;
	}
	std::memcpy(buf_.data() + old, p, n);
	return true;
}

bool Writer::patch(size_t at, const uint8_t* p, size_t n) noexcept
{
	if (!ok_ || at > size() || n > size() - at)
		return ok_ = false;
	uint8_t* base = is_fixed_ ? fixed_.data() : buf_.data();
	std::memcpy(base + at, p, n);
	return true;
}

} // namespace nlassp::wire
