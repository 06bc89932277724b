// plugin/kerberos/ticket_logon: the KERB_TICKET_LOGON wire form of Remote Credential Guard.
// The encoder writes exactly what FreeRDP's nla_write_KERB_TICKET_LOGON writes (known answer);
// the decoder returns Error::InvalidToken, and writes nothing, for truncated, oversized, garbage
// and inconsistent input; target_host finds the host of every SPN form the package sees.
// (Real tickets and the KRB-CRED are checked against a KDC in tests/interop/test_remote_guard.cpp.)
//
// Test bodies only call bool helpers and assert (CMocka longjmps past C++ destructors).
#include "kerberos/ticket_logon.h"

#include <cstdio>
#include <cstring>
#include <random>
#include <string>

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
using namespace nlassp::kerberos;

namespace {

// One DER element each: [APPLICATION 1] { SEQUENCE { INTEGER 5 } } and [APPLICATION 22] { ... }.
const Bytes kTicket = {0x61, 0x05, 0x30, 0x03, 0x02, 0x01, 0x05};
const Bytes kKrbCred = {0x76, 0x06, 0x30, 0x04, 0x02, 0x02, 0x01, 0x00};

TicketLogon sample(bool with_tgt = true)
{
	TicketLogon t;
	t.flags = kLogonFlagRedirected;
	t.service_ticket = SecretBytes(ByteView(kTicket));
	if (with_tgt)
		t.ticket_granting_ticket = SecretBytes(ByteView(kKrbCred));
	return t;
}

Bytes encoded(const TicketLogon& t)
{
	SecretBytes s;
	if (!encode_ticket_logon(t, s))
		return {};
	return Bytes(s.view().begin(), s.view().end());
}

bool same(const char* what, ByteView got, ByteView want)
{
	if (got.size() == want.size() && std::equal(got.begin(), got.end(), want.begin()))
		return true;
	std::fprintf(stderr, "%s: expected %s, got %s\n", what, to_hex(want).c_str(), to_hex(got).c_str());
	return false;
}

bool encoder_known_answer()
{
	// MessageType 10, Flags 2, lengths 7 and 8, offsets 0x20 and 0x27 (u64), then the buffers:
	// byte for byte FreeRDP's nla_write_KERB_TICKET_LOGON.
	Bytes want;
	if (!from_hex("0a000000020000000700000008000000"
	              "2000000000000000"
	              "2700000000000000",
	              want))
		return false;
	want.insert(want.end(), kTicket.begin(), kTicket.end());
	want.insert(want.end(), kKrbCred.begin(), kKrbCred.end());
	return same("KERB_TICKET_LOGON", encoded(sample()), want);
}

bool round_trip(bool with_tgt)
{
	const Bytes wire = encoded(sample(with_tgt));
	TicketLogon back;
	if (wire.empty() || decode_ticket_logon(wire, back) != Error::None)
		return false;
	return back.flags == kLogonFlagRedirected && same("ticket", back.service_ticket.view(), kTicket) &&
	       same("krb-cred", back.ticket_granting_ticket.view(), with_tgt ? ByteView(kKrbCred) : ByteView());
}

// The decoder's verdict on `wire`; a failed decode must leave `out` untouched.
Error decode_untouched(ByteView wire, bool& untouched)
{
	TicketLogon out;
	out.flags = 0x5a5a;
	const Error e = decode_ticket_logon(wire, out);
	untouched = out.flags == 0x5a5a && out.service_ticket.empty() && out.ticket_granting_ticket.empty();
	return e;
}

bool refused(const char* what, ByteView wire)
{
	bool untouched = false;
	const Error e = decode_untouched(wire, untouched);
	if (e == Error::InvalidToken && untouched)
		return true;
	std::fprintf(stderr, "%s: decode gave %s (untouched %d), expected invalid token\n", what, error_name(e),
	             untouched);
	return false;
}

void put_u32(Bytes& b, size_t at, uint32_t v)
{
	for (int i = 0; i < 4; ++i)
		b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
}

bool truncated_everywhere()
{
	const Bytes wire = encoded(sample());
	for (size_t cut = 0; cut < wire.size(); ++cut)
		if (!refused(("cut at " + std::to_string(cut)).c_str(), ByteView(wire).first(cut)))
			return false;
	return true;
}

bool inconsistent_fields()
{
	const Bytes good = encoded(sample());
	Bytes b = good;
	b.push_back(0);
	if (!refused("a trailing byte", b))
		return false;
	b = good;
	put_u32(b, 0, 2);   // KerbInteractiveLogon
	if (!refused("MessageType 2", b))
		return false;
	b = good;
	b[16] = 0;          // ServiceTicket offset 0
	if (!refused("ServiceTicket offset 0", b))
		return false;
	b = good;
	b[24] = 0x20;       // TicketGrantingTicket offset pointing at the ticket
	if (!refused("TicketGrantingTicket offset 0x20", b))
		return false;
	b = good;
	b[20] = 1;          // a 64-bit offset with high bits set
	if (!refused("ServiceTicket offset above 4 GiB", b))
		return false;
	b = good;
	put_u32(b, 8, 0xffffffffu);
	if (!refused("ServiceTicketLength 0xffffffff", b))
		return false;
	b = good;
	put_u32(b, 12, 0xffffffffu);
	if (!refused("TicketGrantingTicketLength 0xffffffff", b))
		return false;
	b = good;
	b[32] = 0x30;       // the ticket is a SEQUENCE, not [APPLICATION 1]
	if (!refused("ticket with the wrong tag", b))
		return false;
	b = good;
	b[32 + kTicket.size()] = 0x61;   // the KRB-CRED tagged as a Ticket
	if (!refused("KRB-CRED with the wrong tag", b))
		return false;
	b = good;
	b[33] = 0x04;       // the ticket's DER length one short: a trailing byte inside the buffer
	return refused("ticket with bytes after its DER element", b);
}

bool empty_ticket_refused()
{
	TicketLogon t = sample();
	t.service_ticket.clear();
	SecretBytes out;
	if (encode_ticket_logon(t, out))
		return false;
	// Hand-made: ServiceTicketLength 0, a KRB-CRED right after the header.
	Bytes wire;
	if (!from_hex("0a000000020000000000000008000000"
	              "2000000000000000"
	              "2000000000000000",
	              wire))
		return false;
	wire.insert(wire.end(), kKrbCred.begin(), kKrbCred.end());
	return refused("no service ticket", wire);
}

bool encoder_refuses_bad_buffers()
{
	SecretBytes out;
	TicketLogon t = sample();
	t.service_ticket = SecretBytes(ByteView(kKrbCred));   // a KRB-CRED where the ticket goes
	if (encode_ticket_logon(t, out))
		return false;
	t = sample();
	t.ticket_granting_ticket = SecretBytes(ByteView(kTicket));
	if (encode_ticket_logon(t, out))
		return false;
	// Oversized: a ticket one byte above the limit (a well-formed DER element).
	const size_t n = kMaxTicketLogonBuffer + 1;
	SecretBytes big(n);
	big[0] = 0x61;
	big[1] = 0x83;
	const size_t len = n - 5;
	big[2] = static_cast<uint8_t>(len >> 16);
	big[3] = static_cast<uint8_t>(len >> 8);
	big[4] = static_cast<uint8_t>(len);
	t = sample();
	t.service_ticket = big;
	return !encode_ticket_logon(t, out);
}

bool oversized_refused()
{
	// The same oversized ticket, hand-encoded: the decoder refuses it too.
	const size_t n = kMaxTicketLogonBuffer + 1;
	Bytes wire(kTicketLogonHeaderSize + n, 0);
	put_u32(wire, 0, kKerbTicketLogon);
	put_u32(wire, 4, kLogonFlagRedirected);
	put_u32(wire, 8, static_cast<uint32_t>(n));
	put_u32(wire, 12, 0);
	wire[16] = 0x20;
	put_u32(wire, 24, static_cast<uint32_t>(kTicketLogonHeaderSize + n));
	wire[32] = 0x61;
	wire[33] = 0x83;
	const size_t len = n - 5;
	wire[34] = static_cast<uint8_t>(len >> 16);
	wire[35] = static_cast<uint8_t>(len >> 8);
	wire[36] = static_cast<uint8_t>(len);
	return refused("ticket above the size limit", wire);
}

bool garbage_refused()
{
	std::mt19937 rng(11);
	for (int i = 0; i < 2000; ++i) {
		Bytes b(static_cast<size_t>(rng() % 96));
		for (auto& x : b)
			x = static_cast<uint8_t>(rng());
		if (!refused("random bytes", b))
			return false;
	}
	// Garbage behind a plausible header.
	Bytes b = encoded(sample());
	for (size_t i = kTicketLogonHeaderSize; i < b.size(); ++i)
		b[i] = 0xff;
	return refused("garbage buffers", b);
}

bool hosts()
{
	struct Case {
		const char* spn;
		const char* host;
	} const cases[] = {
	    {"TERMSRV/rdp.example.com", "rdp.example.com"},
	    {"TERMSRV/127.0.0.1", "127.0.0.1"},
	    {"TERMSRV/rdp.example.com:3389", "rdp.example.com"},
	    {"TERMSRV/rdp.example.com@EXAMPLE.COM", "rdp.example.com"},
	    {"TERMSRV/rdp/extra@EXAMPLE.COM", "rdp"},
	    {"TERMSRV@rdp.example.com", "rdp.example.com"},
	};
	for (const auto& c : cases) {
		std::string h;
		if (!target_host(c.spn, h) || h != c.host) {
			std::fprintf(stderr, "target_host(%s) = '%s', expected %s\n", c.spn, h.c_str(), c.host);
			return false;
		}
	}
	std::string h;
	return !target_host("", h) && !target_host("TERMSRV/", h) && !target_host("TERMSRV", h);
}

} // namespace

static void test_encoder_writes_freerdps_layout(void**) { assert_true(encoder_known_answer()); }
static void test_round_trip_with_tgt(void**) { assert_true(round_trip(true)); }
static void test_round_trip_without_tgt(void**) { assert_true(round_trip(false)); }
static void test_truncated_input_is_invalid_token(void**) { assert_true(truncated_everywhere()); }
static void test_inconsistent_fields_are_invalid_token(void**) { assert_true(inconsistent_fields()); }
static void test_empty_service_ticket_is_refused(void**) { assert_true(empty_ticket_refused()); }
static void test_encoder_refuses_wrong_or_oversized_buffers(void**) { assert_true(encoder_refuses_bad_buffers()); }
static void test_oversized_ticket_is_invalid_token(void**) { assert_true(oversized_refused()); }
static void test_garbage_is_invalid_token(void**) { assert_true(garbage_refused()); }
static void test_target_host(void**) { assert_true(hosts()); }

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoder_writes_freerdps_layout),
		cmocka_unit_test(test_round_trip_with_tgt),
		cmocka_unit_test(test_round_trip_without_tgt),
		cmocka_unit_test(test_truncated_input_is_invalid_token),
		cmocka_unit_test(test_inconsistent_fields_are_invalid_token),
		cmocka_unit_test(test_empty_service_ticket_is_refused),
		cmocka_unit_test(test_encoder_refuses_wrong_or_oversized_buffers),
		cmocka_unit_test(test_oversized_ticket_is_invalid_token),
		cmocka_unit_test(test_garbage_is_invalid_token),
		cmocka_unit_test(test_target_host),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
