// The acceptor's AP-REP as kerberos/ap_rep reads it (untrusted bytes; fuzz_kerberos_ap_rep runs the
// same functions): the GSS token around the AP-REP and the decrypted EncAPRepPart, with and without
// a subkey, and truncated, oversized and garbage input that must be refused exactly. No KDC needed;
// the real thing (WinPR's acceptor's AP-REP) is tests/interop/test_kerberos_rc4.cpp.
#include "kerberos/ap_rep.h"
#include "wire/der.h"

#include <vector>

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
namespace der = nlassp::wire::der;

namespace {

const uint8_t kKrb5Oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
const uint8_t kCipher[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};

bool tagged_int(der::Builder& b, uint32_t n, int64_t v)
{
	return b.add(der::tag::context(n), [v](der::Builder& i) { return i.add_integer(v); });
}

// 60 <len> 06 09 <OID> <tok> [APPLICATION 15] SEQUENCE { [0] pvno, [1] msg-type, [2] EncryptedData }
Bytes token(uint16_t tok = 0x0200, int64_t pvno = 5, int64_t type = 15, bool kvno = true)
{
	der::Builder b;
	(void)b.add(der::tag::application(0), [&](der::Builder& f) {
		const uint8_t id[2] = {static_cast<uint8_t>(tok >> 8), static_cast<uint8_t>(tok)};
		return f.add_bytes(der::tag::Oid, ByteView(kKrb5Oid, sizeof(kKrb5Oid))) && f.add_raw(ByteView(id, 2)) &&
		       f.add(der::tag::application(15), [&](der::Builder& ap) {
			       return ap.add(der::tag::Sequence, [&](der::Builder& s) {
				       return tagged_int(s, 0, pvno) && tagged_int(s, 1, type) &&
				              s.add(der::tag::context(2), [&](der::Builder& e) {
					              return e.add(der::tag::Sequence, [&](der::Builder& ed) {
						              return tagged_int(ed, 0, 23) && (!kvno || tagged_int(ed, 1, 2)) &&
						                     ed.add(der::tag::context(2), [](der::Builder& c) {
							                     return c.add_octet_string(ByteView(kCipher, sizeof(kCipher)));
						                     });
					              });
				              });
			       });
		       });
	});
	return b.take();
}

// [APPLICATION 27] SEQUENCE { [0] ctime, [1] cusec, [2] subkey?, [3] seq-number? }
Bytes enc_part(bool subkey, bool seq, int64_t keytype = 23)
{
	const uint8_t key[16] = {0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	const char time[] = "20261201190000Z";
	der::Builder b;
	(void)b.add(der::tag::application(27), [&](der::Builder& a) {
		return a.add(der::tag::Sequence, [&](der::Builder& s) {
			return s.add(der::tag::context(0),
			             [&](der::Builder& t) {
				             return t.add_bytes(der::tag::GeneralizedTime,
				                                ByteView(reinterpret_cast<const uint8_t*>(time), sizeof(time) - 1));
			             }) &&
			       tagged_int(s, 1, 123456) &&
			       (!subkey || s.add(der::tag::context(2),
			                         [&](der::Builder& k) {
				                         return k.add(der::tag::Sequence, [&](der::Builder& ek) {
					                         return tagged_int(ek, 0, keytype) &&
					                                ek.add(der::tag::context(1), [&](der::Builder& v) {
						                                return v.add_octet_string(ByteView(key, 16));
					                                });
				                         });
			                         })) &&
			       (!seq || tagged_int(s, 3, 0x12345678));
		});
	});
	return b.take();
}

bool reads_token(const Bytes& t, ap_rep::EncPart& ep)
{
	return ap_rep::read_token(ByteView(t.data(), t.size()), ep);
}

bool reads_enc(const Bytes& t, ap_rep::Subkey& s)
{
	return ap_rep::read_enc_part(ByteView(t.data(), t.size()), s);
}

} // namespace

static void test_token(void**)
{
	ap_rep::EncPart ep;
	const Bytes t = token();   // what is read points into it
	assert_true(reads_token(t, ep));
	assert_int_equal(ep.etype, 23);
	assert_int_equal(ep.cipher.size(), sizeof(kCipher));
	assert_memory_equal(ep.cipher.data(), kCipher, sizeof(kCipher));
	assert_true(reads_token(token(0x0200, 5, 15, false), ep));   // no kvno
}

static void test_token_refused(void**)
{
	ap_rep::EncPart ep;
	assert_false(reads_token(token(0x0100), ep));          // an AP-REQ's token ID
	assert_false(reads_token(token(0x0300), ep));          // a KRB-ERROR's
	assert_false(reads_token(token(0x0200, 4), ep));       // pvno 4
	assert_false(reads_token(token(0x0200, 5, 14), ep));   // an AP-REQ's msg-type
	const Bytes good = token();
	for (size_t cut = 0; cut < good.size(); ++cut)         // every truncation
		assert_false(reads_token(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)), ep));
	Bytes longer = good;                                    // trailing bytes
	longer.push_back(0);
	assert_false(reads_token(longer, ep));
	Bytes other_oid = good;                                 // another mechanism
	other_oid[4 + 8] ^= 1;
	assert_false(reads_token(other_oid, ep));
	Bytes oversized = good;                                 // a length beyond the token
	oversized[1] = 0x84;
	assert_false(reads_token(oversized, ep));
	assert_false(reads_token(Bytes(64, 0xff), ep));         // garbage
	assert_false(reads_token(Bytes(), ep));
}

static void test_enc_part(void**)
{
	ap_rep::Subkey s;
	const Bytes with_subkey = enc_part(true, true);   // what is read points into it
	assert_true(reads_enc(with_subkey, s));
	assert_true(s.present);
	assert_int_equal(s.keytype, 23);
	assert_int_equal(s.value.size(), 16);
	assert_int_equal(s.value[0], 0xaa);
	assert_true(reads_enc(enc_part(true, false), s) && s.present);
	assert_true(reads_enc(enc_part(false, true), s) && !s.present);
	assert_true(reads_enc(enc_part(false, false), s) && !s.present);
	assert_true(reads_enc(enc_part(true, true, 18), s) && s.present && s.keytype == 18);
}

static void test_enc_part_refused(void**)
{
	ap_rep::Subkey s;
	const Bytes good = enc_part(true, true);
	for (size_t cut = 0; cut < good.size(); ++cut)
		assert_false(reads_enc(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)), s));
	Bytes longer = good;
	longer.push_back(0);
	assert_false(reads_enc(longer, s));
	Bytes other_app = good;                                 // [APPLICATION 26]
	other_app[0] = 0x7a;
	assert_false(reads_enc(other_app, s));
	Bytes oversized = good;
	oversized[1] = 0x84;
	assert_false(reads_enc(oversized, s));
	assert_false(reads_enc(Bytes(40, 0x30), s));
	assert_false(reads_enc(Bytes(), s));
}

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_token_refused),
		cmocka_unit_test(test_enc_part),
		cmocka_unit_test(test_enc_part_refused),
	};
	return cmocka_run_group_tests_name("AP-REP subkey", tests, nullptr, nullptr);
}
