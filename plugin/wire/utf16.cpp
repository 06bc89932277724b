// UTF-8 <-> UTF-16 conversion, strict in both directions (RFC 3629): no overlong forms, no
// encoded surrogates, nothing above U+10FFFF, no truncated sequences, no unpaired surrogates.
//
// Upper-casing (NTOWFv2 upper-cases the user name) is simple per-code-unit case mapping:
// every BMP code unit outside the surrogate range goes through towupper_l() in a private
// "C.UTF-8" locale object, so the result does not depend on the host's setlocale() and the
// global locale is never touched. glibc's C.UTF-8 uses the Unicode simple uppercase mapping,
// which is what Windows' RtlUpcaseUnicodeString applies for the characters user names are
// made of (ASCII, Latin-1, Latin Extended, Greek, Cyrillic); no mapping changes the length
// (so "ß" stays "ß"), and surrogate pairs pass through unchanged, as on Windows. A mapping
// that would leave the BMP is not applied. Without a C.UTF-8 locale (a stripped-down libc) we
// fall back to ASCII-only upper-casing, which is exact for ASCII user names.
#include "wire/utf16.h"

#include <clocale>
#include <cwctype>
#include <locale.h>
#include <new>

namespace nlassp::wire {

namespace {

constexpr char32_t kReplacementNone = 0xffffffff;

bool is_surrogate(char32_t c) noexcept
{
	return c >= 0xd800 && c <= 0xdfff;
}

// Decodes one code point from UTF-8 at s[i], advancing i; kReplacementNone on invalid input.
char32_t next_utf8(std::string_view s, size_t& i) noexcept
{
	const auto b0 = static_cast<uint8_t>(s[i]);
	if (b0 < 0x80) {
		++i;
		return b0;
	}
	size_t n = 0;
	char32_t cp = 0, min = 0;
	if (b0 >= 0xc2 && b0 <= 0xdf) {
		n = 1;
		cp = b0 & 0x1f;
		min = 0x80;
	} else if (b0 >= 0xe0 && b0 <= 0xef) {
		n = 2;
		cp = b0 & 0x0f;
		min = 0x800;
	} else if (b0 >= 0xf0 && b0 <= 0xf4) {
		n = 3;
		cp = b0 & 0x07;
		min = 0x10000;
	} else {
		return kReplacementNone; // continuation byte, overlong lead (c0, c1) or f5..ff
	}
	if (s.size() - i <= n)
		return kReplacementNone;
	for (size_t k = 1; k <= n; ++k) {
		const auto b = static_cast<uint8_t>(s[i + k]);
		if ((b & 0xc0) != 0x80)
			return kReplacementNone;
		cp = (cp << 6) | (b & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || is_surrogate(cp))
		return kReplacementNone;
	i += n + 1;
	return cp;
}

// Calls unit(char16_t) for each UTF-16 code unit of the UTF-8 input; false on invalid input.
template <typename Sink>
bool decode_utf8(std::string_view in, Sink&& unit)
{
	size_t i = 0;
	while (i < in.size()) {
		const char32_t cp = next_utf8(in, i);
		if (cp == kReplacementNone)
			return false;
		if (cp < 0x10000) {
			unit(static_cast<char16_t>(cp));
		} else {
			const char32_t v = cp - 0x10000;
			unit(static_cast<char16_t>(0xd800 | (v >> 10)));
			unit(static_cast<char16_t>(0xdc00 | (v & 0x3ff)));
		}
	}
	return true;
}

locale_t c_utf8_locale() noexcept
{
	// Created once and kept for the life of the process (thread-safe static initialisation).
	static const locale_t loc = [] {
		locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
		if (!l)
			l = newlocale(LC_CTYPE_MASK, "C.utf8", static_cast<locale_t>(nullptr));
		return l;
	}();
	return loc;
}

char16_t upper_unit(char16_t c, locale_t loc) noexcept
{
	if (c < 0x80 || !loc)
		return (c >= u'a' && c <= u'z') ? static_cast<char16_t>(c - (u'a' - u'A')) : c;
	if (is_surrogate(c))
		return c;
	const wint_t up = towupper_l(static_cast<wint_t>(c), loc);
	if (up > 0xffff || is_surrogate(static_cast<char32_t>(up)))
		return c;
	return static_cast<char16_t>(up);
}

} // namespace

bool utf8_to_utf16(std::string_view in, std::u16string& out)
{
	std::u16string result;
	result.reserve(in.size());
	if (!decode_utf8(in, [&](char16_t u) { result.push_back(u); }))
		return false;
	out = std::move(result);
	return true;
}

bool utf16_to_utf8(std::u16string_view in, std::string& out)
{
	std::string result;
	result.reserve(in.size());
	for (size_t i = 0; i < in.size(); ++i) {
		char32_t cp = in[i];
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return false; // low surrogate without a high one
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (i + 1 >= in.size() || in[i + 1] < 0xdc00 || in[i + 1] > 0xdfff)
				return false; // high surrogate without a low one
			cp = 0x10000 + ((cp - 0xd800) << 10) + (in[i + 1] - 0xdc00);
			++i;
		}
		if (cp < 0x80) {
			result.push_back(static_cast<char>(cp));
		} else if (cp < 0x800) {
			result.push_back(static_cast<char>(0xc0 | (cp >> 6)));
			result.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
		} else if (cp < 0x10000) {
			result.push_back(static_cast<char>(0xe0 | (cp >> 12)));
			result.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
			result.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
		} else {
			result.push_back(static_cast<char>(0xf0 | (cp >> 18)));
			result.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
			result.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
			result.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
		}
	}
	out = std::move(result);
	return true;
}

void utf16le_append(Bytes& out, std::u16string_view s)
{
	out.reserve(out.size() + 2 * s.size());
	for (char16_t c : s) {
		out.push_back(static_cast<uint8_t>(c & 0xff));
		out.push_back(static_cast<uint8_t>(c >> 8));
	}
}

Bytes utf16le_bytes(std::u16string_view s)
{
	Bytes out;
	utf16le_append(out, s);
	return out;
}

bool utf16_well_formed(std::u16string_view s) noexcept
{
	for (size_t i = 0; i < s.size(); ++i) {
		if (s[i] >= 0xdc00 && s[i] <= 0xdfff)
			return false; // low surrogate without a high one
		if (s[i] >= 0xd800 && s[i] <= 0xdbff) {
			if (i + 1 >= s.size() || s[i + 1] < 0xdc00 || s[i + 1] > 0xdfff)
				return false; // high surrogate without a low one
			++i;
		}
	}
	return true;
}

bool utf16le_decode(ByteView bytes, std::u16string& out)
{
	if (bytes.size() % 2 != 0)
		return false;
	std::u16string result;
	result.reserve(bytes.size() / 2);
	for (size_t i = 0; i < bytes.size(); i += 2)
		result.push_back(static_cast<char16_t>(bytes[i] | (bytes[i + 1] << 8)));
	if (!utf16_well_formed(result))
		return false;
	out = std::move(result);
	return true;
}

std::u16string to_upper(std::u16string_view s)
{
	const locale_t loc = c_utf8_locale();
	std::u16string out(s);
	for (char16_t& c : out)
		c = upper_unit(c, loc);
	return out;
}

bool utf8_to_utf16le_secret(std::string_view in, SecretBytes& out)
{
	// Straight into wiping storage: no temporary copy of the password outlives this call.
	// Sized once (UTF-16 never has more code units than UTF-8 has bytes), then trimmed.
	SecretBytes result(2 * in.size());
	size_t n = 0;
	const bool ok = decode_utf8(in, [&](char16_t u) {
		result[n++] = static_cast<uint8_t>(u & 0xff);
		result[n++] = static_cast<uint8_t>(u >> 8);
	});
	if (!ok)
		return false;
	result.resize(n);
	out = std::move(result);
	return true;
}

} // namespace nlassp::wire
