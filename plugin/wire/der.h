// DER on top of Reader/Writer (modelled on CBS_get_asn1 / CBB_add_asn1). Strict: definite,
// minimal lengths only; tags of one or two identifier octets; nesting depth bounded by the callers
// (every constructed value is read through a sub-reader).
#pragma once

#include "common/bytes.h"
#include "wire/reader.h"
#include "wire/writer.h"

#include <cstdint>
#include <functional>

namespace nlassp::wire::der {

// Identifier octets as one number: universal SEQUENCE = 0x30, [0] constructed = 0xa0, ...
// Two identifier octets (tag numbers 31..127) are first << 8 | second: [31] constructed = 0xbf1f.
namespace tag {
constexpr uint32_t Boolean = 0x01, Integer = 0x02, BitString = 0x03, OctetString = 0x04,
                   Null = 0x05, Oid = 0x06, Enumerated = 0x0a, Utf8String = 0x0c,
                   GeneralString = 0x1b, GeneralizedTime = 0x18, Sequence = 0x30, Set = 0x31;
constexpr uint32_t context(uint32_t n) { return 0xa0 | n; }       // [n] constructed, n < 31
constexpr uint32_t application(uint32_t n) { return 0x60 | n; }   // [APPLICATION n] constructed, n < 31
} // namespace tag

// Reads one element of the given tag; `contents` gets its value octets.
[[nodiscard]] bool read(Reader& r, uint32_t expected_tag, Reader& contents) noexcept;
// Reads any element: its tag and contents.
[[nodiscard]] bool read_any(Reader& r, uint32_t& tag_out, Reader& contents) noexcept;
// Reads any element, giving the whole encoding (header + contents) as well.
[[nodiscard]] bool read_any_element(Reader& r, uint32_t& tag_out, ByteView& element, Reader& contents) noexcept;
// Reads an optional element: present=false (and success) when the next tag differs or r is empty.
[[nodiscard]] bool read_optional(Reader& r, uint32_t expected_tag, bool& present, Reader& contents) noexcept;
[[nodiscard]] bool peek_tag(const Reader& r, uint32_t& tag_out) noexcept;

// INTEGER into int64 (two's complement, 1..8 content octets, minimal).
[[nodiscard]] bool read_integer(Reader& r, int64_t& v) noexcept;
// INTEGER that a peer may send either as 4-byte two's complement or as 5-byte unsigned
// (NTSTATUS values >= 0x80000000): both give the uint32 value.
[[nodiscard]] bool read_uint32_lenient(Reader& r, uint32_t& v) noexcept;
[[nodiscard]] bool read_octet_string(Reader& r, ByteView& v) noexcept;
[[nodiscard]] bool read_enumerated(Reader& r, int64_t& v) noexcept;

// Builder: add(tag, fn) writes the tag, then fn's contents with a minimal definite length.
class Builder {
public:
	using Body = std::function<bool(Builder&)>;
	Builder() = default;

	bool add(uint32_t tag, const Body& body);
	bool add_raw(ByteView encoded);                  // an already-encoded element
	bool add_bytes(uint32_t tag, ByteView contents); // primitive element
	bool add_integer(int64_t v);                     // minimal two's complement
	// NTSTATUS / 32-bit values as FreeRDP writes them: 4-byte two's complement when >= 0x80000000.
	bool add_uint32_as_int32(uint32_t v);
	bool add_octet_string(ByteView v) { return add_bytes(tag::OctetString, v); }
	bool add_enumerated(int64_t v);

	[[nodiscard]] bool ok() const noexcept { return ok_; }
	[[nodiscard]] ByteView view() const noexcept { return out_; }
	[[nodiscard]] Bytes take() noexcept { return std::move(out_); }

private:
	bool header(uint32_t tag, size_t len);
	Bytes out_;
	bool ok_ = true;
};

} // namespace nlassp::wire::der
