// Fuzzes the strict DER reader and the Builder.
//
// The input is walked as a sequence of DER elements, descending into constructed ones (depth
// bounded), and every element is also offered to the typed readers. Invariants checked:
//  - a failed read leaves the reader exactly where it was;
//  - whatever walks cleanly re-encodes through der::Builder to the very same bytes (strict DER
//    has one encoding per value, so reading and writing must agree);
//  - INTEGER / ENUMERATED values re-encode to their element, and the two forms that
//    read_uint32_lenient accepts rebuild to what was read.
#include "wire/der.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

using namespace nlassp;
using nlassp::wire::Reader;
namespace der = nlassp::wire::der;

namespace {

constexpr int kMaxDepth = 24;

[[noreturn]] void fail()
{
	__builtin_trap();
}

void check(bool condition)
{
	if (!condition)
		fail();
}

bool same(ByteView a, ByteView b)
{
	return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

bool constructed(uint32_t tag)
{
	const uint32_t first = tag > 0xff ? tag >> 8 : tag;
	return (first & 0x20) != 0;
}

// Offers one element to every typed reader; successes must rebuild to the element.
void typed_reads(ByteView element, uint32_t tag)
{
	{
		Reader r(element);
		int64_t v = 0;
		if (der::read_integer(r, v)) {
			check(tag == der::tag::Integer && r.empty());
			der::Builder b;
			check(b.add_integer(v) && same(b.view(), element));
		} else {
			check(r.remaining() == element.size());
		}
	}
	{
		Reader r(element);
		int64_t v = 0;
		if (der::read_enumerated(r, v)) {
			check(tag == der::tag::Enumerated && r.empty());
			der::Builder b;
			check(b.add_enumerated(v) && same(b.view(), element));
		} else {
			check(r.remaining() == element.size());
		}
	}
	{
		Reader r(element);
		uint32_t v = 0;
		if (der::read_uint32_lenient(r, v)) {
			check(tag == der::tag::Integer && r.empty());
			der::Builder four, exact;
			check(four.add_uint32_as_int32(v));
			// Either FreeRDP's 1..4-octet two's complement form, or the 5-octet unsigned one.
			const bool five = element.size() == 7;
			check(exact.add_integer(five ? static_cast<int64_t>(v) : static_cast<int64_t>(static_cast<int32_t>(v))));
			check(same(exact.view(), element));
			check(five || same(four.view(), element));
		} else {
			check(r.remaining() == element.size());
		}
	}
	{
		Reader r(element);
		ByteView v;
		if (der::read_octet_string(r, v)) {
			check(tag == der::tag::OctetString && r.empty());
			der::Builder b;
			check(b.add_octet_string(v) && same(b.view(), element));
		} else {
			check(r.remaining() == element.size());
		}
	}
}

// Walks r to its end, rebuilding into b. False when the input is not well-formed DER.
bool walk(Reader r, der::Builder& b, int depth)
{
	if (depth > kMaxDepth)
		return false;
	while (!r.empty()) {
		const size_t before = r.remaining();
		uint32_t peeked = 0;
		const bool have_tag = der::peek_tag(r, peeked);
		check(r.remaining() == before);

		uint32_t tag = 0;
		ByteView element;
		Reader contents;
		if (!der::read_any_element(r, tag, element, contents)) {
			check(r.remaining() == before);
			// The other entry points must refuse the same bytes the same way.
			Reader again = r;
			check(!der::read_any(again, tag, contents) && again.remaining() == before);
			if (have_tag) {
				bool present = true;
				check(!der::read_optional(again, peeked, present, contents) && again.remaining() == before);
				check(!der::read(again, peeked, contents) && again.remaining() == before);
			}
			return false;
		}
		check(have_tag && peeked == tag);
		check(element.data() == r.rest().data() - element.size());
		check(element.size() == before - r.remaining());
		check(contents.remaining() <= element.size());
		typed_reads(element, tag);

		bool ok = true;
		if (constructed(tag)) {
			ok = b.add(tag, [&](der::Builder& inner) { return walk(contents, inner, depth + 1); });
		} else {
			ok = b.add_bytes(tag, contents.rest());
		}
		if (!ok)
			return false;
	}
	return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const ByteView input(data, size);

	der::Builder rebuilt;
	if (walk(Reader(input), rebuilt, 0)) {
		check(rebuilt.ok());
		check(same(rebuilt.view(), input));
	}

	// read_optional against a fixed tag never half-consumes.
	Reader r(input);
	bool present = false;
	Reader contents;
	const size_t before = r.remaining();
	if (der::read_optional(r, der::tag::Sequence, present, contents)) {
		check(present ? r.remaining() < before : r.remaining() == before);
	} else {
		check(r.remaining() == before);
	}
	return 0;
}
