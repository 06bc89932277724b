// Strict DER: what is accepted, what is refused (and that a refused read leaves the reader
// untouched), the Builder's encodings, the MS-CSSP and SPNEGO examples walked element by
// element and rebuilt byte for byte, and FreeRDP's two INTEGER forms of NTSTATUS values.
#include "wire/der.h"

#include "support/vectors.h"

#include <cstdio>
#include <string>
#include <vector>

// cmocka 1.1 has no extern "C" guards of its own.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}
// clang-format on

using namespace nlassp;
using nlassp::wire::Reader;
namespace der = nlassp::wire::der;

namespace {

Bytes hex(const std::string& h)
{
	Bytes out;
	if (!from_hex(h, out))
		std::fprintf(stderr, "bad hex in test: %s\n", h.c_str());
	return out;
}

// Reads one element of any tag; checks tag and contents, and that nothing is left.
bool reads_as(const std::string& encoding, uint32_t tag, const std::string& contents_hex)
{
	const Bytes in = hex(encoding);
	Reader r(in);
	uint32_t got_tag = 0;
	ByteView element;
	Reader contents;
	if (!der::read_any_element(r, got_tag, element, contents)) {
		std::fprintf(stderr, "%s: refused\n", encoding.c_str());
		return false;
	}
	if (got_tag != tag || to_hex(contents.rest()) != contents_hex || !r.empty() || element.size() != in.size() ||
	    element.data() != in.data()) {
		std::fprintf(stderr, "%s: tag %x contents %s\n", encoding.c_str(), got_tag, to_hex(contents.rest()).c_str());
		return false;
	}
	return true;
}

// Every reading function refuses the encoding and leaves the reader where it was.
bool refused(const std::string& encoding)
{
	const Bytes in = hex(encoding);
	const Reader start(in);
	Reader r = start;
	uint32_t tag = 0x5a5a;
	Reader contents;
	ByteView element;
	int64_t i = 0;
	uint32_t u = 0;
	bool present = false;
	const uint32_t first_tag = in.empty() ? 0 : in[0];
	const bool any_ok = der::read_any(r, tag, contents) || der::read_any_element(r, tag, element, contents) ||
	                    der::read(r, first_tag, contents) || der::read_integer(r, i) ||
	                    der::read_uint32_lenient(r, u) || der::read_enumerated(r, i) ||
	                    der::read_octet_string(r, element) ||
	                    (!in.empty() && der::read_optional(r, first_tag, present, contents));
	if (any_ok || r.remaining() != start.remaining() || r.rest().data() != start.rest().data()) {
		std::fprintf(stderr, "%s: accepted or moved the reader\n", encoding.c_str());
		return false;
	}
	return true;
}

bool integer_is(const std::string& encoding, int64_t expected)
{
	const Bytes in = hex(encoding);
	Reader r(in);
	int64_t v = 0;
	if (!der::read_integer(r, v) || v != expected || !r.empty()) {
		std::fprintf(stderr, "%s: read %lld\n", encoding.c_str(), static_cast<long long>(v));
		return false;
	}
	return true;
}

bool integer_refused(const std::string& encoding)
{
	const Bytes in = hex(encoding);
	Reader r(in);
	int64_t v = 0;
	return !der::read_integer(r, v) && r.remaining() == in.size();
}

bool lenient_is(const std::string& encoding, uint32_t expected)
{
	const Bytes in = hex(encoding);
	Reader r(in);
	uint32_t v = 0;
	if (!der::read_uint32_lenient(r, v) || v != expected || !r.empty()) {
		std::fprintf(stderr, "%s: read %08x\n", encoding.c_str(), v);
		return false;
	}
	return true;
}

bool lenient_refused(const std::string& encoding)
{
	const Bytes in = hex(encoding);
	Reader r(in);
	uint32_t v = 0;
	return !der::read_uint32_lenient(r, v) && r.remaining() == in.size();
}

bool valid_encodings_read()
{
	const std::string b128(256, 'a'), b256(512, 'b');
	return reads_as("0500", der::tag::Null, "") && reads_as("0401aa", der::tag::OctetString, "aa") &&
	       reads_as("30030201ff", der::tag::Sequence, "0201ff") &&
	       reads_as("047f" + std::string(254, '1'), der::tag::OctetString, std::string(254, '1')) &&
	       reads_as("048180" + b128, der::tag::OctetString, b128) &&
	       reads_as("04820100" + b256, der::tag::OctetString, b256) &&
	       reads_as("a0020500", der::tag::context(0), "0500") &&
	       reads_as("6103020100", der::tag::application(1), "020100") &&
	       // Two identifier octets: [31] and [127] (context, constructed / primitive).
	       reads_as("bf1f00", 0xbf1f, "") && reads_as("9f7f01aa", 0x9f7f, "aa") &&
	       reads_as("7f2000", 0x7f20, "");
}

bool invalid_encodings_refused()
{
	const std::string b128(256, 'a');
	return refused("") &&
	       refused("04") &&                        // no length
	       refused("0481") &&                      // long form without its octet
	       refused("3080020100" "0000") &&         // indefinite length
	       refused("048105aaaaaaaaaa") &&          // long form for a short length
	       refused("04820080" + b128) &&           // leading zero length octet
	       refused("0485000000000100") &&          // five length octets
	       refused("0489ffffffffffffffff01") &&    // length that would overflow
	       refused("04ff") &&                      // reserved length form
	       refused("0405aaaa") &&                  // longer than the input
	       refused("0484ffffffffaa") &&            // far longer than the input
	       refused("1f") && refused("bf") &&       // high tag number, no second octet
	       refused("9f1e00") &&                    // two-octet form for a number below 31
	       refused("9f810100") &&                  // tag number needing three octets
	       refused("9f8000");                      // continuation bit in the second octet
}

bool read_checks_tag_and_consumes_one_element()
{
	const Bytes in = hex("020105" "0401aa");
	Reader r(in);
	Reader contents;
	if (der::read(r, der::tag::OctetString, contents) || r.remaining() != in.size())
		return false;
	int64_t v = 0;
	ByteView os;
	if (!der::read_integer(r, v) || v != 5 || r.remaining() != 3)
		return false;
	if (der::read_integer(r, v) || r.remaining() != 3) // an OCTET STRING is not an INTEGER
		return false;
	return der::read_octet_string(r, os) && to_hex(os) == "aa" && r.empty();
}

bool integers()
{
	return integer_is("020100", 0) && integer_is("02017f", 127) && integer_is("02020080", 128) &&
	       integer_is("020180", -128) && integer_is("0202ff7f", -129) && integer_is("0202ff00", -256) &&
	       integer_is("0201ff", -1) && integer_is("02087fffffffffffffff", INT64_MAX) &&
	       integer_is("02088000000000000000", INT64_MIN) && integer_is("0204c000006d", -1073741715) &&
	       integer_is("02050080000000", 0x80000000ll) &&
	       integer_refused("0200") &&                      // no content octets
	       integer_refused("0202007f") &&                  // redundant 00
	       integer_refused("0202ff80") &&                  // redundant ff
	       integer_refused("0209008000000000000000") &&    // does not fit int64
	       integer_refused("0a0101") &&                    // ENUMERATED is not INTEGER
	       integer_refused("2201ff");                      // constructed INTEGER
}

bool enumerated()
{
	const Bytes in = hex("0a0101" "0a0180" "0a020001");
	Reader r(in);
	int64_t a = 0, b = 0, c = 0;
	return der::read_enumerated(r, a) && a == 1 && der::read_enumerated(r, b) && b == -128 &&
	       !der::read_enumerated(r, c) && r.remaining() == 4;
}

// FreeRDP writes NTSTATUS 0xC000006D as 02 04 c0 00 00 6d; a strict unsigned encoder writes
// 02 05 00 c0 00 00 6d. Both must read as 0xC000006D.
bool freerdp_integer_forms()
{
	return lenient_is("0204c000006d", 0xC000006Du) && lenient_is("020500c000006d", 0xC000006Du) &&
	       lenient_is("020106", 6) && lenient_is("020100", 0) && lenient_is("0201ff", 0xffffffffu) &&
	       lenient_is("02020080", 0x80) && lenient_is("0203008000", 0x8000) &&
	       lenient_is("020400800000", 0x800000) && lenient_is("02047fffffff", 0x7fffffff) &&
	       lenient_is("020480000000", 0x80000000u) && lenient_is("02050080000000", 0x80000000u) &&
	       lenient_is("020500ffffffff", 0xffffffffu) &&
	       lenient_refused("0200") &&                  // empty
	       lenient_refused("02050040000000") &&        // 00 not needed: not minimal
	       lenient_refused("020501c000006d") &&        // does not fit 32 bits
	       lenient_refused("020580c000006d") &&        // negative 5-byte value
	       lenient_refused("02060000c000006d") &&      // six octets
	       lenient_refused("0204007fffff") &&          // redundant 00
	       lenient_refused("0a0106");                  // not an INTEGER
}

bool optional_elements()
{
	Reader empty;
	Reader contents;
	bool present = true;
	if (!der::read_optional(empty, der::tag::context(1), present, contents) || present)
		return false;
	const Bytes in = hex("a103020101" "a203020102");
	Reader r(in);
	present = true;
	// [0] is absent (next is [1]): success, not present, nothing consumed.
	if (!der::read_optional(r, der::tag::context(0), present, contents) || present || r.remaining() != in.size())
		return false;
	if (!der::read_optional(r, der::tag::context(1), present, contents) || !present || r.remaining() != 5)
		return false;
	int64_t v = 0;
	if (!der::read_integer(contents, v) || v != 1)
		return false;
	// Present but malformed: failure, reader unchanged.
	const Bytes bad = hex("a10502");
	Reader rb(bad);
	if (der::read_optional(rb, der::tag::context(1), present, contents) || rb.remaining() != bad.size())
		return false;
	uint32_t tag = 0;
	return der::peek_tag(r, tag) && tag == der::tag::context(2) && r.remaining() == 5;
}

bool builder_is(const der::Builder& b, const std::string& expected)
{
	if (!b.ok() || to_hex(b.view()) != expected) {
		std::fprintf(stderr, "built %s (ok %d), expected %s\n", to_hex(b.view()).c_str(), b.ok(), expected.c_str());
		return false;
	}
	return true;
}

bool builder_integers()
{
	const int64_t values[] = {0, 1, 127, 128, 255, 256, -1, -128, -129, 0x7fffffff, -0x80000000ll,
	                          INT64_MAX, INT64_MIN};
	const char* encodings[] = {"020100", "020101", "02017f", "02020080", "020200ff", "02020100", "0201ff",
	                           "020180", "0202ff7f", "02047fffffff", "020480000000", "02087fffffffffffffff",
	                           "02088000000000000000"};
	for (size_t i = 0; i < std::size(values); ++i) {
		der::Builder b;
		if (!b.add_integer(values[i]) || !builder_is(b, encodings[i]))
			return false;
		// And it reads back.
		Reader r(b.view());
		int64_t v = 0;
		if (!der::read_integer(r, v) || v != values[i])
			return false;
	}
	der::Builder s, e;
	return s.add_uint32_as_int32(0xC000006Du) && builder_is(s, "0204c000006d") && e.add_enumerated(2) &&
	       builder_is(e, "0a0102");
}

bool builder_lengths()
{
	const size_t sizes[] = {0, 1, 127, 128, 255, 256, 65535, 65536};
	const char* headers[] = {"0400", "0401", "047f", "048180", "0481ff", "04820100", "0482ffff", "0483010000"};
	for (size_t i = 0; i < std::size(sizes); ++i) {
		const Bytes body(sizes[i], 0x5a);
		der::Builder b;
		if (!b.add_octet_string(body))
			return false;
		const std::string h = headers[i];
		if (to_hex(b.view().first(h.size() / 2)) != h || b.view().size() != h.size() / 2 + sizes[i])
			return false;
		Reader r(b.view());
		ByteView v;
		if (!der::read_octet_string(r, v) || v.size() != sizes[i] || !r.empty())
			return false;
	}
	return true;
}

bool builder_nesting_and_tags()
{
	der::Builder b;
	const bool ok = b.add(der::tag::Sequence, [](der::Builder& seq) {
		return seq.add(der::tag::context(0), [](der::Builder& c) { return c.add_integer(6); }) &&
		       seq.add(0xbf1f, [](der::Builder& c) { return c.add_bytes(der::tag::Null, {}); }) &&
		       seq.add_raw(Bytes{0x05, 0x00});
	});
	return ok && builder_is(b, "300ca003020106bf1f0205000500");
}

bool builder_failures_stick()
{
	der::Builder bad_tag;
	if (bad_tag.add_bytes(0x1f, {}) || bad_tag.ok() || bad_tag.add_integer(1) || !bad_tag.view().empty())
		return false;
	const uint32_t invalid_tags[] = {0x3f, 0x9f1e, 0x9f80, 0x10000, 0x1f1f1f, 0x0130};
	for (uint32_t t : invalid_tags) {
		der::Builder b;
		if (b.add_bytes(t, {}) || b.ok())
			return false;
	}
	der::Builder body_fails;
	if (!body_fails.add_integer(1))
		return false;
	if (body_fails.add(der::tag::Sequence, [](der::Builder&) { return false; }) || body_fails.ok())
		return false;
	// Nothing after a failure is written.
	const size_t before = body_fails.view().size();
	if (body_fails.add_integer(2) || body_fails.view().size() != before)
		return false;
	der::Builder inner_fails;
	return !inner_fails.add(der::tag::Sequence, [](der::Builder& c) {
		(void)c.add_bytes(0x1f, {});
		return true; // the body ignores the failure; the builder still notices
	}) && !inner_fails.ok();
}

// Walks `r` to the end, re-encoding every element into `b`: constructed elements are
// descended into, primitive ones copied. Depth is bounded.
bool walk_and_rebuild(Reader r, der::Builder& b, int depth)
{
	if (depth > 32)
		return false;
	while (!r.empty()) {
		uint32_t tag = 0;
		Reader contents;
		if (!der::read_any(r, tag, contents))
			return false;
		const uint32_t first = tag > 0xff ? tag >> 8 : tag;
		bool ok;
		if (first & 0x20)
			ok = b.add(tag, [&](der::Builder& c) { return walk_and_rebuild(contents, c, depth + 1); });
		else
			ok = b.add_bytes(tag, contents.rest());
		if (!ok)
			return false;
	}
	return true;
}

bool example_walks_and_rebuilds(const std::string& file, const std::string& path, size_t& count)
{
	Bytes in;
	if (!test::vector_hex(file, path, in))
		return false;   // vector_hex said which file or value is missing
	der::Builder b;
	if (!walk_and_rebuild(Reader(in), b, 0) || !b.ok() || to_hex(b.view()) != to_hex(in)) {
		std::fprintf(stderr, "%s %s: did not walk or rebuild cleanly\n", file.c_str(), path.c_str());
		return false;
	}
	// Any truncation of a well-formed element is refused.
	for (size_t len = 0; len < in.size(); ++len) {
		Reader r(ByteView(in).first(len));
		uint32_t tag = 0;
		Reader contents;
		if (der::read_any(r, tag, contents))
			return false;
	}
	++count;
	return true;
}

bool ms_cssp_examples_walk()
{
	const long n = test::vector_count("ms-cssp.json", "der");
	if (n < 5)
		return false;
	size_t count = 0;
	for (long i = 0; i < n; ++i)
		if (!example_walks_and_rebuilds("ms-cssp.json", "der." + std::to_string(i) + ".hex", count))
			return false;
	return count == static_cast<size_t>(n);
}

bool spnego_tokens_walk()
{
	const long n = test::vector_count("spnego.json", "tokens");
	if (n < 4)
		return false;
	size_t count = 0;
	for (long i = 0; i < n; ++i)
		if (!example_walks_and_rebuilds("spnego.json", "tokens." + std::to_string(i) + ".hex", count))
			return false;
	return count == static_cast<size_t>(n);
}

// TSRequest v6 with errorCode 0xC000006D (ms-cssp.json der.2), read field by field and built
// back the way FreeRDP writes it.
bool tsrequest_error_code_example()
{
	Bytes in;
	if (!test::vector_hex("ms-cssp.json", "der.2.hex", in))
		return false;
	Reader r(in), seq, version_field, error_field;
	int64_t version = 0;
	uint32_t error = 0;
	bool present = false;
	if (!der::read(r, der::tag::Sequence, seq) || !r.empty() ||
	    !der::read(seq, der::tag::context(0), version_field) || !der::read_integer(version_field, version) ||
	    !der::read_optional(seq, der::tag::context(4), present, error_field) || !present ||
	    !der::read_uint32_lenient(error_field, error) || !seq.empty())
		return false;
	if (version != 6 || error != 0xC000006Du)
		return false;
	der::Builder b;
	const bool built = b.add(der::tag::Sequence, [&](der::Builder& s) {
		return s.add(der::tag::context(0), [&](der::Builder& c) { return c.add_integer(version); }) &&
		       s.add(der::tag::context(4), [&](der::Builder& c) { return c.add_uint32_as_int32(error); });
	});
	return built && b.ok() && to_hex(b.view()) == to_hex(in);
}

} // namespace

static void test_valid_encodings_read(void**) { assert_true(valid_encodings_read()); }
static void test_invalid_encodings_refused(void**) { assert_true(invalid_encodings_refused()); }
static void test_read_checks_tag(void**) { assert_true(read_checks_tag_and_consumes_one_element()); }
static void test_integers(void**) { assert_true(integers()); }
static void test_enumerated(void**) { assert_true(enumerated()); }
static void test_freerdp_integer_forms(void**) { assert_true(freerdp_integer_forms()); }
static void test_optional_elements(void**) { assert_true(optional_elements()); }
static void test_builder_integers(void**) { assert_true(builder_integers()); }
static void test_builder_lengths(void**) { assert_true(builder_lengths()); }
static void test_builder_nesting_and_tags(void**) { assert_true(builder_nesting_and_tags()); }
static void test_builder_failures_stick(void**) { assert_true(builder_failures_stick()); }
static void test_ms_cssp_examples_walk(void**) { assert_true(ms_cssp_examples_walk()); }
static void test_spnego_tokens_walk(void**) { assert_true(spnego_tokens_walk()); }
static void test_tsrequest_error_code_example(void**) { assert_true(tsrequest_error_code_example()); }

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_encodings_read),
	    cmocka_unit_test(test_invalid_encodings_refused),
	    cmocka_unit_test(test_read_checks_tag),
	    cmocka_unit_test(test_integers),
	    cmocka_unit_test(test_enumerated),
	    cmocka_unit_test(test_freerdp_integer_forms),
	    cmocka_unit_test(test_optional_elements),
	    cmocka_unit_test(test_builder_integers),
	    cmocka_unit_test(test_builder_lengths),
	    cmocka_unit_test(test_builder_nesting_and_tags),
	    cmocka_unit_test(test_builder_failures_stick),
	    cmocka_unit_test(test_ms_cssp_examples_walk),
	    cmocka_unit_test(test_spnego_tokens_walk),
	    cmocka_unit_test(test_tsrequest_error_code_example),
	};
	return cmocka_run_group_tests_name("wire_der", tests, nullptr, nullptr);
}
