// Byte containers shared by every layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace nlassp {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using MutableByteView = std::span<uint8_t>;

inline ByteView as_bytes(const std::string& s)
{
	return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Lower-case hex, for log lines about non-secret values and for tests.
std::string to_hex(ByteView data);
// Parses hex (upper or lower case, no separators); false on odd length or a bad digit.
[[nodiscard]] bool from_hex(std::string_view hex, Bytes& out);

} // namespace nlassp
