// SecretBytes: value semantics (copy, move, self-assignment), resize/append (including
// appending a view of itself), that released bytes are wiped, and constant_time_equal.
#include "common/secret.h"

#include <cstdio>
#include <cstring>
#include <utility>

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

namespace {

bool is(const SecretBytes& s, const char* hex)
{
	if (to_hex(s.view()) == hex)
		return true;
	std::fprintf(stderr, "got %s expected %s\n", to_hex(s.view()).c_str(), hex);
	return false;
}

bool construction()
{
	const SecretBytes empty;
	if (!empty.empty() || empty.size() != 0 || empty.data() != nullptr || !empty.view().empty())
		return false;
	const SecretBytes zeros(5);
	if (!is(zeros, "0000000000"))
		return false;
	const uint8_t raw[] = {1, 2, 3};
	const SecretBytes from_view{ByteView(raw)}, from_ptr(raw, 3);
	return is(from_view, "010203") && is(from_ptr, "010203") && from_view.data() != raw;
}

bool copy_is_deep()
{
	const uint8_t raw[] = {1, 2, 3, 4};
	SecretBytes a{ByteView(raw)};
	SecretBytes b(a);
	if (b.data() == a.data() || !is(b, "01020304"))
		return false;
	b[0] = 0xff;
	if (!is(a, "01020304"))
		return false;
	SecretBytes c(2);
	c = a;
	if (c.data() == a.data() || !is(c, "01020304"))
		return false;
	// Self copy-assignment keeps the contents.
	SecretBytes& alias = c;
	c = alias;
	return is(c, "01020304");
}

bool move_transfers_storage()
{
	const uint8_t raw[] = {9, 8, 7};
	SecretBytes a{ByteView(raw)};
	const uint8_t* storage = a.data();
	SecretBytes b(std::move(a));
	if (b.data() != storage || !is(b, "090807"))
		return false;
	// The moved-from object is empty and reusable.
	// NOLINTNEXTLINE(bugprone-use-after-move)
	if (!a.empty() || a.data() != nullptr)
		return false;
	a.append(ByteView(raw, 1));
	if (!is(a, "09"))
		return false;
	SecretBytes c(4);
	c = std::move(b);
	// NOLINTNEXTLINE(bugprone-use-after-move)
	if (c.data() != storage || !is(c, "090807") || !b.empty())
		return false;
	// Self move-assignment leaves the value alone.
	SecretBytes& alias = c;
	c = std::move(alias);
	return c.data() == storage && is(c, "090807");
}

bool resize_semantics()
{
	SecretBytes s;
	s.resize(3);
	if (!is(s, "000000"))
		return false;
	s[0] = 0xa1;
	s[1] = 0xa2;
	s[2] = 0xa3;
	// Growing keeps the prefix and zero-fills.
	s.resize(40);
	if (s.size() != 40 || s[0] != 0xa1 || s[2] != 0xa3)
		return false;
	for (size_t i = 3; i < 40; ++i)
		if (s[i] != 0)
			return false;
	std::memset(s.data(), 0x77, s.size());
	// Shrinking wipes what was released: growing again within the capacity shows zeros,
	// not the old 0x77 bytes.
	const uint8_t* storage = s.data();
	s.resize(2);
	s.resize(40);
	if (s.data() != storage || s[0] != 0x77 || s[1] != 0x77)
		return false;
	for (size_t i = 2; i < 40; ++i)
		if (s[i] != 0)
			return false;
	s.resize(0);
	if (!s.empty())
		return false;
	s.clear();
	return s.empty() && s.data() == nullptr;
}

bool assign_and_append()
{
	SecretBytes s;
	const uint8_t a[] = {1, 2}, b[] = {3, 4, 5};
	s.append(a);
	s.append(ByteView());
	s.append(b);
	if (!is(s, "0102030405"))
		return false;
	s.assign(b);
	if (!is(s, "030405"))
		return false;
	s.assign(ByteView());
	return s.empty();
}

// append() of a view into the object's own storage, both when it must reallocate (the view
// would dangle) and when it fits in place.
bool aliasing_append()
{
	const uint8_t raw[] = {0xde, 0xad, 0xbe, 0xef};
	SecretBytes s{ByteView(raw)};
	for (int i = 0; i < 6; ++i)
		s.append(s.view()); // doubles each time, forcing reallocations
	if (s.size() != 4u << 6)
		return false;
	for (size_t i = 0; i < s.size(); ++i)
		if (s[i] != raw[i % 4])
			return false;
	// Now within capacity: make room, then append a sub-view of ourselves.
	SecretBytes t{ByteView(raw)};
	t.resize(64);
	t.resize(4);
	t.append(t.view().subspan(1, 2));
	if (!is(t, "deadbeefadbe"))
		return false;
	SecretBytes u{ByteView(raw)};
	u.append(u.view().last(1));
	return is(u, "deadbeefef");
}

// assign() of a view into the same SecretBytes must copy before it clears (it once gave zeros).
bool aliasing_assign()
{
	const uint8_t bytes[] = {1, 2, 3, 4};
	SecretBytes s(ByteView(bytes, sizeof(bytes)));
	s.assign(s.view().subspan(1, 2));
	if (!is(s, "0203"))
		return false;
	s.assign(s.view());
	return is(s, "0203");
}

bool wipe_function()
{
	uint8_t buf[16];
	std::memset(buf, 0x5a, sizeof buf);
	secure_wipe(buf + 4, 8);
	for (size_t i = 0; i < sizeof buf; ++i)
		if (buf[i] != ((i >= 4 && i < 12) ? 0 : 0x5a))
			return false;
	secure_wipe(nullptr, 8); // tolerated
	secure_wipe(buf, 0);
	return buf[0] == 0x5a;
}

bool constant_time_compare()
{
	const uint8_t a[] = {1, 2, 3, 4}, b[] = {1, 2, 3, 4}, c[] = {1, 2, 3, 5}, d[] = {0, 2, 3, 4};
	return constant_time_equal(a, b) && !constant_time_equal(a, c) && !constant_time_equal(a, d) &&
	       !constant_time_equal(ByteView(a), ByteView(a, 3)) && !constant_time_equal(ByteView(), ByteView(a)) &&
	       constant_time_equal(ByteView(), ByteView()) && constant_time_equal(ByteView(a, 0), ByteView(c, 0));
}

} // namespace

static void test_construction(void**) { assert_true(construction()); }
static void test_copy_is_deep(void**) { assert_true(copy_is_deep()); }
static void test_move_transfers_storage(void**) { assert_true(move_transfers_storage()); }
static void test_resize_semantics(void**) { assert_true(resize_semantics()); }
static void test_assign_and_append(void**) { assert_true(assign_and_append()); }
static void test_aliasing_append(void**) { assert_true(aliasing_append()); }
static void test_aliasing_assign(void**) { assert_true(aliasing_assign()); }
static void test_wipe_function(void**) { assert_true(wipe_function()); }
static void test_constant_time_compare(void**) { assert_true(constant_time_compare()); }

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_construction),
	    cmocka_unit_test(test_copy_is_deep),
	    cmocka_unit_test(test_move_transfers_storage),
	    cmocka_unit_test(test_resize_semantics),
	    cmocka_unit_test(test_assign_and_append),
	    cmocka_unit_test(test_aliasing_append),
	    cmocka_unit_test(test_aliasing_assign),
	    cmocka_unit_test(test_wipe_function),
	    cmocka_unit_test(test_constant_time_compare),
	};
	return cmocka_run_group_tests_name("common_secret", tests, nullptr, nullptr);
}
