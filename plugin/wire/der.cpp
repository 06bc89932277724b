// Strict DER over Reader/Writer-style views.
//
// What is accepted (and what the Builder writes):
//  - identifier: one octet whose low five bits are not all ones (tag = that octet), or two
//    octets where the first has low bits 0x1f and the second holds a tag number 31..127
//    (tag = first << 8 | second). Longer tag numbers, and a two-octet form for a number below
//    31, are rejected.
//  - length: definite and minimal: short form below 0x80, else 0x81..0x84 followed by 1..4
//    octets without a leading zero and with a value of at least 0x80. Indefinite length (0x80),
//    more than four length octets and lengths beyond the input are rejected.
//  - INTEGER / ENUMERATED: at least one content octet and no redundant leading 00 or ff.
// Every read works on a copy of the reader and commits only on success.
#include "wire/der.h"

#include <limits>
#include <new>

namespace nlassp::wire::der {

namespace {

constexpr uint8_t kHighTagNumber = 0x1f;

// Parses identifier octets and the length; on success `r` is positioned at the contents.
bool parse_header(Reader& r, uint32_t& tag, size_t& len) noexcept
{
	Reader c = r;
	uint8_t first = 0;
	if (!c.u8(first))
		return false;
	uint32_t t = first;
	if ((first & kHighTagNumber) == kHighTagNumber) {
		uint8_t number = 0;
		if (!c.u8(number))
			return false;
		// One more octet only: bit 8 clear (no continuation), and the number must need it.
		if ((number & 0x80) != 0 || number < kHighTagNumber)
			return false;
		t = (t << 8) | number;
	}
	uint8_t l0 = 0;
	if (!c.u8(l0))
		return false;
	size_t length = 0;
	if (l0 < 0x80) {
		length = l0;
	} else {
		const size_t n = l0 & 0x7f;
		if (n == 0 || n > 4) // indefinite, or longer than any input we could hold
			return false;
		for (size_t i = 0; i < n; ++i) {
			uint8_t b = 0;
			if (!c.u8(b))
				return false;
			if (i == 0 && b == 0) // leading zero: not minimal
				return false;
			length = (length << 8) | b;
		}
		if (length < 0x80) // would have fit the short form
			return false;
	}
	if (length > c.remaining())
		return false;
	tag = t;
	len = length;
	r = c;
	return true;
}

// The contents of a minimal two's complement INTEGER-like value of 1..max_len octets.
bool minimal_twos_complement(ByteView v, size_t max_len) noexcept
{
	if (v.empty() || v.size() > max_len)
		return false;
	if (v.size() > 1) {
		if (v[0] == 0x00 && (v[1] & 0x80) == 0)
			return false;
		if (v[0] == 0xff && (v[1] & 0x80) != 0)
			return false;
	}
	return true;
}

int64_t decode_signed(ByteView v) noexcept
{
	// Sign-extend from the first octet, then shift the rest in (as unsigned, to avoid UB).
	uint64_t u = (v[0] & 0x80) ? ~uint64_t{0} : 0;
	for (uint8_t b : v)
		u = (u << 8) | b;
	return static_cast<int64_t>(u);
}

bool read_signed(Reader& r, uint32_t tag, int64_t& out) noexcept
{
	Reader c = r;
	Reader contents;
	if (!read(c, tag, contents))
		return false;
	const ByteView v = contents.rest();
	if (!minimal_twos_complement(v, 8))
		return false;
	out = decode_signed(v);
	r = c;
	return true;
}

// Minimal big-endian two's complement octets of v.
size_t encode_signed(int64_t v, uint8_t (&buf)[8]) noexcept
{
	const auto u = static_cast<uint64_t>(v);
	for (size_t i = 0; i < 8; ++i)
		buf[i] = static_cast<uint8_t>(u >> (8 * (7 - i)));
	size_t start = 0;
	while (start < 7 && ((buf[start] == 0x00 && (buf[start + 1] & 0x80) == 0) ||
	                     (buf[start] == 0xff && (buf[start + 1] & 0x80) != 0)))
		++start;
	return start;
}

bool valid_tag(uint32_t tag) noexcept
{
	if (tag <= 0xff)
		return (tag & kHighTagNumber) != kHighTagNumber;
	if (tag <= 0xffff) {
		const uint32_t first = tag >> 8, number = tag & 0xff;
		return (first & kHighTagNumber) == kHighTagNumber && number >= kHighTagNumber && number < 0x80;
	}
	return false;
}

} // namespace

bool read_any_element(Reader& r, uint32_t& tag_out, ByteView& element, Reader& contents) noexcept
{
	Reader c = r;
	uint32_t tag = 0;
	size_t len = 0;
	if (!parse_header(c, tag, len))
		return false;
	const size_t header_len = r.remaining() - c.remaining();
	Reader body;
	if (!c.sub(len, body))
		return false;
	if (!Reader::field(r.rest(), 0, header_len + len, element))
		return false;
	tag_out = tag;
	contents = body;
	r = c;
	return true;
}

bool read_any(Reader& r, uint32_t& tag_out, Reader& contents) noexcept
{
	ByteView element;
	return read_any_element(r, tag_out, element, contents);
}

bool read(Reader& r, uint32_t expected_tag, Reader& contents) noexcept
{
	Reader c = r;
	uint32_t tag = 0;
	Reader body;
	if (!read_any(c, tag, body) || tag != expected_tag)
		return false;
	contents = body;
	r = c;
	return true;
}

bool peek_tag(const Reader& r, uint32_t& tag_out) noexcept
{
	Reader c = r;
	uint8_t first = 0;
	if (!c.u8(first))
		return false;
	uint32_t t = first;
	if ((first & kHighTagNumber) == kHighTagNumber) {
		uint8_t number = 0;
		if (!c.u8(number) || (number & 0x80) != 0 || number < kHighTagNumber)
			return false;
		t = (t << 8) | number;
	}
	tag_out = t;
	return true;
}

bool read_optional(Reader& r, uint32_t expected_tag, bool& present, Reader& contents) noexcept
{
	if (r.empty()) {
		present = false;
		return true;
	}
	uint32_t tag = 0;
	if (!peek_tag(r, tag))
		return false;
	if (tag != expected_tag) {
		present = false;
		return true;
	}
	if (!read(r, expected_tag, contents))
		return false;
	present = true;
	return true;
}

bool read_integer(Reader& r, int64_t& v) noexcept
{
	return read_signed(r, tag::Integer, v);
}

bool read_enumerated(Reader& r, int64_t& v) noexcept
{
	return read_signed(r, tag::Enumerated, v);
}

bool read_uint32_lenient(Reader& r, uint32_t& v) noexcept
{
	Reader c = r;
	Reader contents;
	if (!read(c, tag::Integer, contents))
		return false;
	const ByteView b = contents.rest();
	uint32_t value = 0;
	if (b.size() == 5) {
		// Unsigned form of a value >= 0x80000000: a 00 octet that is only there for the sign.
		if (b[0] != 0x00 || (b[1] & 0x80) == 0)
			return false;
		for (size_t i = 1; i < 5; ++i)
			value = (value << 8) | b[i];
	} else {
		// 1..4 octets of two's complement (FreeRDP writes NTSTATUS values this way); a
		// negative value is the uint32 with the same bits.
		if (!minimal_twos_complement(b, 4))
			return false;
		value = static_cast<uint32_t>(decode_signed(b));
	}
	v = value;
	r = c;
	return true;
}

bool read_octet_string(Reader& r, ByteView& v) noexcept
{
	Reader contents;
	if (!read(r, tag::OctetString, contents))
		return false;
	v = contents.rest();
	return true;
}

bool Builder::header(uint32_t tag, size_t len)
{
	if (!ok_)
		return false;
	if (!valid_tag(tag) || len > std::numeric_limits<uint32_t>::max())
		return ok_ = false;
	uint8_t h[2 + 1 + 4];
	size_t n = 0;
	if (tag > 0xff)
		h[n++] = static_cast<uint8_t>(tag >> 8);
	h[n++] = static_cast<uint8_t>(tag);
	if (len < 0x80) {
		h[n++] = static_cast<uint8_t>(len);
	} else {
		size_t octets = 1;
		while (octets < 4 && (len >> (8 * octets)) != 0)
			++octets;
		h[n++] = static_cast<uint8_t>(0x80 | octets);
		for (size_t i = octets; i > 0; --i)
			h[n++] = static_cast<uint8_t>(len >> (8 * (i - 1)));
	}
	try {
		out_.insert(out_.end(), h, h + n);
	} catch (const std::bad_alloc&) {
		return ok_ = false;
	}
	return true;
}

bool Builder::add_bytes(uint32_t tag, ByteView contents)
{
	if (!header(tag, contents.size()))
		return false;
	try {
		out_.insert(out_.end(), contents.begin(), contents.end());
	} catch (const std::bad_alloc&) {
		return ok_ = false;
	}
	return true;
}

bool Builder::add(uint32_t tag, const Body& body)
{
	if (!ok_)
		return false;
	Builder child;
	if (!body || !body(child) || !child.ok())
		return ok_ = false;
	return add_bytes(tag, child.view());
}

bool Builder::add_raw(ByteView encoded)
{
	// The caller vouches for the encoding (typically an element read earlier, kept verbatim).
	if (!ok_)
		return false;
	try {
		out_.insert(out_.end(), encoded.begin(), encoded.end());
	} catch (const std::bad_alloc&) {
		return ok_ = false;
	}
	return true;
}

bool Builder::add_integer(int64_t v)
{
	uint8_t buf[8];
	const size_t start = encode_signed(v, buf);
	return add_bytes(tag::Integer, ByteView(buf + start, 8 - start));
}

bool Builder::add_enumerated(int64_t v)
{
	uint8_t buf[8];
	const size_t start = encode_signed(v, buf);
	return add_bytes(tag::Enumerated, ByteView(buf + start, 8 - start));
}

bool Builder::add_uint32_as_int32(uint32_t v)
{
	return add_integer(static_cast<int32_t>(v));
}

} // namespace nlassp::wire::der
