#include "kerberos/ap_rep.h"

#include "wire/der.h"

#include <algorithm>
#include <limits>

namespace nlassp::kerberos::ap_rep {

namespace der = wire::der;

namespace {

constexpr uint8_t kKrb5Oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
constexpr uint16_t kTokApRep = 0x0200;

// [n] INTEGER, the whole of the tagged element; fits an Int32.
bool tagged_int32(wire::Reader& r, uint32_t n, int32_t& v)
{
	wire::Reader t;
	int64_t x = 0;
	if (!der::read(r, der::tag::context(n), t) || !der::read_integer(t, x) || !t.empty() ||
	    x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max())
		return false;
	v = static_cast<int32_t>(x);
	return true;
}

// EncryptedData ::= SEQUENCE { etype [0] Int32, kvno [1] UInt32 OPTIONAL, cipher [2] OCTET STRING }
bool read_encrypted_data(wire::Reader& r, EncPart& out)
{
	wire::Reader seq, kvno, c;
	bool have_kvno = false;
	int64_t ignored = 0;
	ByteView cipher;
	EncPart ep;
	if (!der::read(r, der::tag::Sequence, seq) || !r.empty() || !tagged_int32(seq, 0, ep.etype) ||
	    !der::read_optional(seq, der::tag::context(1), have_kvno, kvno) ||
	    (have_kvno && (!der::read_integer(kvno, ignored) || !kvno.empty())) ||
	    !der::read(seq, der::tag::context(2), c) || !der::read_octet_string(c, cipher) || !c.empty() || !seq.empty())
		return false;
	ep.cipher = cipher;
	out = ep;
	return true;
}

} // namespace

bool read_token(ByteView token, EncPart& out) noexcept
{
	wire::Reader r(token), framed, oid, ap, seq, f;
	uint16_t tok = 0;
	ByteView oid_bytes;
	int32_t pvno = 0, type = 0;
	if (!der::read(r, der::tag::application(0), framed) || !r.empty() || !der::read(framed, der::tag::Oid, oid) ||
	    !oid.bytes(oid.remaining(), oid_bytes) ||
	    !std::equal(oid_bytes.begin(), oid_bytes.end(), std::begin(kKrb5Oid), std::end(kKrb5Oid)) ||
	    !framed.u16be(tok) || tok != kTokApRep || !der::read(framed, der::tag::application(15), ap) ||
	    !framed.empty() || !der::read(ap, der::tag::Sequence, seq) || !ap.empty() || !tagged_int32(seq, 0, pvno) ||
	    pvno != 5 || !tagged_int32(seq, 1, type) || type != 15 || !der::read(seq, der::tag::context(2), f) ||
	    !seq.empty())
		return false;
	return read_encrypted_data(f, out);
}

bool read_enc_part(ByteView plain, Subkey& out) noexcept
{
	wire::Reader r(plain), app, seq, skip, sub, key, kt, kv;
	bool have_subkey = false;
	uint32_t t = 0;
	if (!der::read(r, der::tag::application(27), app) || !r.empty() || !der::read(app, der::tag::Sequence, seq) ||
	    !app.empty() || !der::read(seq, der::tag::context(0), skip) || !der::read(seq, der::tag::context(1), skip) ||
	    !der::read_optional(seq, der::tag::context(2), have_subkey, sub))
		return false;
	Subkey s;
	if (have_subkey) {
		ByteView value;
		if (!der::read(sub, der::tag::Sequence, key) || !sub.empty() || !tagged_int32(key, 0, s.keytype) ||
		    !der::read(key, der::tag::context(1), kv) || !der::read_octet_string(kv, value) || !kv.empty() ||
		    !key.empty())
			return false;
		s.present = true;
		s.value = value;
	}
	// seq-number [3] OPTIONAL, then nothing.
	if (!seq.empty() && (!der::peek_tag(seq, t) || t != der::tag::context(3) || !der::read(seq, t, skip) ||
	                     !seq.empty()))
		return false;
	out = s;
	return true;
}

} // namespace nlassp::kerberos::ap_rep
