#include "common/bytes.h"

namespace nlassp {

std::string to_hex(ByteView data)
{
	static constexpr char digits[] = "0123456789abcdef";
	std::string out;
	out.reserve(data.size() * 2);
	for (uint8_t b : data) {
		out.push_back(digits[b >> 4]);
		out.push_back(digits[b & 0x0f]);
	}
	return out;
}

static int hex_value(char c) noexcept
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool from_hex(std::string_view hex, Bytes& out)
{
	if (hex.size() % 2 != 0)
		return false;
	Bytes result;
	result.reserve(hex.size() / 2);
	for (size_t i = 0; i < hex.size(); i += 2) {
		const int hi = hex_value(hex[i]);
		const int lo = hex_value(hex[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		result.push_back(static_cast<uint8_t>((hi << 4) | lo));
	}
	out = std::move(result);
	return true;
}

} // namespace nlassp
