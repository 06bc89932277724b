#include "common/text.h"

#include "wire/utf16.h"

namespace nlassp::text {

namespace {

bool is_control(char16_t c) noexcept
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069);
}

} // namespace

std::string printable(std::u16string_view s)
{
	std::u16string clean(s);
	for (char16_t& c : clean)
		if (is_control(c))
			c = u'?';
	std::string out;
	if (!wire::utf16_to_utf8(clean, out))
		return "<invalid UTF-16>";
	return out;
}

std::string printable(std::string_view s)
{
	std::u16string wide;
	if (wire::utf8_to_utf16(s, wide))
		return printable(std::u16string_view(wide));
	std::string out(s);
	for (char& c : out)
		if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
			c = '?';
	return out;
}

} // namespace nlassp::text
