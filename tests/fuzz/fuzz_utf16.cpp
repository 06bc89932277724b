// Fuzzes the UTF-8 / UTF-16 conversions. The input is taken both as UTF-8 and as UTF-16LE
// bytes. Invariants: what one direction accepts converts back to the same input; the secret
// variant yields the same bytes as the plain one; the UTF-16LE decoder accepts exactly the
// even-length, well-formed inputs (no unpaired surrogate), which then convert to UTF-8 and back;
// to_upper keeps the length and leaves surrogates and ASCII non-letters alone.
#include "wire/utf16.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace nlassp;
namespace wire = nlassp::wire;

namespace {

void check(bool condition)
{
	if (!condition)
		__builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const std::string_view as_utf8(reinterpret_cast<const char*>(data), size);

	std::u16string u16;
	const bool valid8 = wire::utf8_to_utf16(as_utf8, u16);
	SecretBytes secret;
	check(wire::utf8_to_utf16le_secret(as_utf8, secret) == valid8);
	if (valid8) {
		std::string back;
		check(wire::utf16_to_utf8(u16, back) && back == as_utf8);
		const Bytes le = wire::utf16le_bytes(u16);
		check(le.size() == secret.size() && constant_time_equal(le, secret.view()));
	}

	std::u16string decoded;
	const bool ok16 = wire::utf16le_decode(ByteView(data, size), decoded);
	std::u16string units;
	for (size_t i = 0; i + 1 < size; i += 2)
		units.push_back(static_cast<char16_t>(data[i] | (data[i + 1] << 8)));
	check(ok16 == (size % 2 == 0 && wire::utf16_well_formed(units)));
	if (ok16) {
		check(decoded == units && wire::utf16le_bytes(decoded) == Bytes(data, data + size));
		std::string utf8;
		check(wire::utf16_to_utf8(decoded, utf8));
		std::u16string again;
		check(wire::utf8_to_utf16(utf8, again) && again == decoded);
	}
	if (size % 2 == 0) {
		decoded = units;
		const std::u16string upper = wire::to_upper(decoded);
		check(upper.size() == decoded.size());
		for (size_t i = 0; i < decoded.size(); ++i) {
			const char16_t c = decoded[i];
			if (c >= 0xd800 && c <= 0xdfff)
				check(upper[i] == c);
			else if (c < 0x80 && !(c >= u'a' && c <= u'z'))
				check(upper[i] == c);
			else if (c >= u'a' && c <= u'z')
				check(upper[i] == c - 0x20);
		}
	}
	return 0;
}
