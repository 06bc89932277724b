// ChannelBindings::serialize(): the gss_channel_bindings_struct layout that MS-NLMP
// (MsvAvChannelBindings = MD5 of it) and RFC 4121 hash.
#include "common/package.h"

#include <cstdio>
#include <string>

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

bool hex_is(ByteView got, const std::string& expected)
{
	if (to_hex(got) == expected)
		return true;
	std::fprintf(stderr, "got %s\nexpected %s\n", to_hex(got).c_str(), expected.c_str());
	return false;
}

bool empty_bindings()
{
	const ChannelBindings cb;
	// Five zero uint32: initiator type, length; acceptor type, length; application data length.
	return hex_is(cb.serialize(), std::string(40, '0'));
}

bool full_layout()
{
	ChannelBindings cb;
	cb.initiator_addr_type = 2; // GSS_C_AF_INET
	cb.initiator_addr = {192, 0, 2, 1};
	cb.acceptor_addr_type = 0x01020304;
	cb.acceptor_addr = {0xaa, 0xbb};
	cb.application_data = {'x', 'y', 'z'};
	return hex_is(cb.serialize(), "02000000" "04000000" "c0000201"
	                              "04030201" "02000000" "aabb"
	                              "03000000" "78797a");
}

// What an RD Gateway / TLS peer puts in application data: "tls-server-end-point:" + the
// certificate hash, addresses empty (the form MS-NLMP hashes into MsvAvChannelBindings).
bool tls_server_end_point()
{
	ChannelBindings cb;
	const std::string prefix = "tls-server-end-point:";
	cb.application_data.assign(prefix.begin(), prefix.end());
	cb.application_data.insert(cb.application_data.end(), 32, 0x11);
	const Bytes s = cb.serialize();
	return s.size() == 20 + prefix.size() + 32 &&
	       hex_is(ByteView(s).first(20), std::string(32, '0') + "35000000") &&
	       hex_is(ByteView(s).subspan(20, prefix.size()), to_hex(as_bytes(prefix))) &&
	       hex_is(ByteView(s).last(32), std::string(64, '1'));
}

} // namespace

static void test_empty_bindings(void**) { assert_true(empty_bindings()); }
static void test_full_layout(void**) { assert_true(full_layout()); }
static void test_tls_server_end_point(void**) { assert_true(tls_server_end_point()); }

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_bindings),
	    cmocka_unit_test(test_full_layout),
	    cmocka_unit_test(test_tls_server_end_point),
	};
	return cmocka_run_group_tests_name("common_package", tests, nullptr, nullptr);
}
