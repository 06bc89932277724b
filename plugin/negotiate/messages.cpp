#include "negotiate/messages.h"

#include "wire/der.h"
#include "wire/reader.h"

#include <cstdio>

namespace nlassp::negotiate {

namespace der = wire::der;
using wire::Reader;

namespace oid {

namespace {
constexpr uint8_t kSpnego[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
constexpr uint8_t kNtlmssp[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
constexpr uint8_t kKerberos[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
constexpr uint8_t kMsKerberos[] = {0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02};
constexpr uint8_t kKerberosU2u[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x03};
constexpr uint8_t kNegoex[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e};
} // namespace

ByteView spnego() noexcept { return kSpnego; }
ByteView ntlmssp() noexcept { return kNtlmssp; }
ByteView kerberos() noexcept { return kKerberos; }
ByteView ms_kerberos() noexcept { return kMsKerberos; }
ByteView kerberos_u2u() noexcept { return kKerberosU2u; }
ByteView negoex() noexcept { return kNegoex; }

bool equal(ByteView a, ByteView b) noexcept
{
	if (a.size() != b.size())
		return false;
	for (size_t i = 0; i < a.size(); ++i)
		if (a[i] != b[i])
			return false;
	return true;
}

bool is_kerberos(ByteView o) noexcept
{
	return equal(o, kerberos()) || equal(o, ms_kerberos());
}

bool valid(ByteView o) noexcept
{
	if (o.empty() || o.size() > kMaxOidLength)
		return false;
	// Each sub-identifier: base-128, no leading 0x80 octet, the last octet without bit 8.
	bool at_start = true;
	for (uint8_t b : o) {
		if (at_start && b == 0x80)
			return false;
		at_start = (b & 0x80) == 0;
	}
	return at_start;
}

std::string to_string(ByteView o)
{
	if (!valid(o))
		return "<invalid>";
	std::string s;
	uint64_t value = 0;
	bool first = true;
	char buf[32];
	for (uint8_t b : o) {
		if (value > (UINT64_MAX >> 7))
			return "<too large>";
		value = (value << 7) | (b & 0x7f);
		if (b & 0x80)
			continue;
		if (first) {
			const uint64_t arc0 = value < 40 ? 0 : (value < 80 ? 1 : 2);
			std::snprintf(buf, sizeof(buf), "%llu.%llu", static_cast<unsigned long long>(arc0),
			              static_cast<unsigned long long>(value - 40 * arc0));
			first = false;
		} else {
			std::snprintf(buf, sizeof(buf), ".%llu", static_cast<unsigned long long>(value));
		}
		s += buf;
		value = 0;
	}
	return s;
}

std::string name(ByteView o)
{
	if (equal(o, ntlmssp()))
		return "NTLM";
	if (equal(o, kerberos()))
		return "Kerberos";
	if (equal(o, ms_kerberos()))
		return "Kerberos (MS OID)";
	if (equal(o, kerberos_u2u()))
		return "Kerberos U2U";
	if (equal(o, negoex()))
		return "NegoEx";
	if (equal(o, spnego()))
		return "SPNEGO";
	return to_string(o);
}

} // namespace oid

const char* neg_state_name(NegState s) noexcept
{
	switch (s) {
	case NegState::AcceptCompleted: return "accept-completed";
	case NegState::AcceptIncomplete: return "accept-incomplete";
	case NegState::Reject: return "reject";
	case NegState::RequestMic: return "request-mic";
	}
	return "?";
}

namespace {

Bytes copy(ByteView v)
{
	return Bytes(v.begin(), v.end());
}

// Reads `[n] { <one element> }`: the explicit context tag must hold exactly one element.
bool read_explicit(Reader& r, uint32_t n, Reader& inner)
{
	return der::read(r, der::tag::context(n), inner);
}

bool read_oid(Reader& r, Bytes& out)
{
	Reader c;
	if (!der::read(r, der::tag::Oid, c) || !oid::valid(c.rest()))
		return false;
	out = copy(c.rest());
	return true;
}

bool read_octets_field(Reader& inner, Bytes& out)
{
	ByteView v;
	if (!der::read_octet_string(inner, v) || !inner.empty())
		return false;
	out = copy(v);
	return true;
}

// An optional [n] field whose only content is an OCTET STRING; absent leaves `out` unset.
bool read_optional_octets(Reader& seq, uint32_t n, std::optional<Bytes>& out)
{
	bool present = false;
	Reader inner;
	if (!der::read_optional(seq, der::tag::context(n), present, inner))
		return false;
	if (!present)
		return true;
	Bytes v;
	if (!read_octets_field(inner, v))
		return false;
	out = std::move(v);
	return true;
}

bool valid_bit_string(ByteView v)
{
	if (v.empty() || v[0] > 7)
		return false;
	if (v.size() == 1)
		return v[0] == 0;
	// DER: the unused bits of the last octet are zero.
	const uint8_t mask = static_cast<uint8_t>((1u << v[0]) - 1);
	return (v[v.size() - 1] & mask) == 0;
}

bool decode_mech_types(Reader& field, SpnegoNegTokenInit& out)
{
	uint32_t tag = 0;
	ByteView element;
	Reader list;
	if (!der::read_any_element(field, tag, element, list) || tag != der::tag::Sequence || !field.empty())
		return false;
	std::vector<Bytes> oids;
	while (!list.empty()) {
		if (oids.size() >= kMaxMechTypes)
			return false;
		Bytes o;
		if (!read_oid(list, o))
			return false;
		oids.push_back(std::move(o));
	}
	if (oids.empty())
		return false;
	out.mech_types = std::move(oids);
	out.mech_types_der = copy(element);
	return true;
}

bool decode_neg_hints(Reader& field, NegHints& out)
{
	Reader seq;
	if (!der::read(field, der::tag::Sequence, seq) || !field.empty())
		return false;
	bool present = false;
	Reader inner;
	if (!der::read_optional(seq, der::tag::context(0), present, inner))
		return false;
	if (present) {
		Reader s;
		if (!der::read(inner, der::tag::GeneralString, s) || !inner.empty())
			return false;
		out.hint_name = copy(s.rest());
	}
	if (!der::read_optional(seq, der::tag::context(1), present, inner))
		return false;
	if (present) {
		Bytes addr;
		if (!read_octets_field(inner, addr))
			return false;
		out.hint_address = std::move(addr);
	}
	return seq.empty();
}

bool decode_init(Reader& seq, SpnegoNegTokenInit& out)
{
	Reader inner;
	if (!read_explicit(seq, 0, inner) || !decode_mech_types(inner, out))
		return false;

	bool present = false;
	if (!der::read_optional(seq, der::tag::context(1), present, inner))
		return false;
	if (present) {
		Reader bits;
		if (!der::read(inner, der::tag::BitString, bits) || !inner.empty() || !valid_bit_string(bits.rest()))
			return false;
		out.req_flags = copy(bits.rest());
	}

	if (!read_optional_octets(seq, 2, out.mech_token))
		return false;

	if (!der::read_optional(seq, der::tag::context(3), present, inner))
		return false;
	if (present) {
		uint32_t inner_tag = 0;
		if (!der::peek_tag(inner, inner_tag))
			return false;
		if (inner_tag == der::tag::OctetString) {
			Bytes mic;
			if (!read_octets_field(inner, mic))
				return false;
			out.mech_list_mic = std::move(mic);
		} else {
			// NegTokenInit2: [3] is negHints, the MIC (if any) moves to [4].
			NegHints hints;
			if (!decode_neg_hints(inner, hints))
				return false;
			out.neg_hints = std::move(hints);
			if (!read_optional_octets(seq, 4, out.mech_list_mic))
				return false;
		}
	}
	return seq.empty();
}

bool decode_resp(Reader& seq, SpnegoNegTokenResp& out)
{
	bool present = false;
	Reader inner;
	if (!der::read_optional(seq, der::tag::context(0), present, inner))
		return false;
	if (present) {
		int64_t v = -1;
		if (!der::read_enumerated(inner, v) || !inner.empty() || v < 0 || v > 3)
			return false;
		out.neg_state = static_cast<NegState>(v);
	}

	if (!der::read_optional(seq, der::tag::context(1), present, inner))
		return false;
	if (present) {
		Bytes mech;
		if (!read_oid(inner, mech) || !inner.empty())
			return false;
		out.supported_mech = std::move(mech);
	}

	if (!read_optional_octets(seq, 2, out.response_token) ||
	    !read_optional_octets(seq, 3, out.mech_list_mic))
		return false;
	return seq.empty();
}

// Reads `tag { SEQUENCE { ... } }` where nothing may follow the SEQUENCE.
bool read_wrapped_sequence(Reader& r, uint32_t tag, Reader& seq)
{
	Reader body;
	if (!der::read(r, tag, body) || !der::read(body, der::tag::Sequence, seq))
		return false;
	return body.empty();
}

} // namespace

bool decode_negotiation_token(ByteView in, NegotiationToken& out)
{
	Reader r(in);
	uint32_t first = 0;
	if (!der::peek_tag(r, first))
		return false;

	if (first == der::tag::application(0)) {
		Reader app;
		if (!der::read(r, der::tag::application(0), app) || !r.empty())
			return false;
		Bytes this_mech;
		if (!read_oid(app, this_mech) || !oid::equal(this_mech, oid::spnego()))
			return false;
		Reader seq;
		if (!read_wrapped_sequence(app, der::tag::context(0), seq) || !app.empty())
			return false;
		SpnegoNegTokenInit init;
		if (!decode_init(seq, init))
			return false;
		out = NegotiationToken{};
		out.kind = NegotiationToken::Kind::Init;
		out.init = std::move(init);
		return true;
	}

	Reader seq;
	if (!read_wrapped_sequence(r, der::tag::context(1), seq) || !r.empty())
		return false;
	SpnegoNegTokenResp resp;
	if (!decode_resp(seq, resp))
		return false;
	out = NegotiationToken{};
	out.kind = NegotiationToken::Kind::Resp;
	out.resp = std::move(resp);
	return true;
}

bool encode_mech_type_list(const std::vector<Bytes>& oids, Bytes& out)
{
	if (oids.empty() || oids.size() > kMaxMechTypes)
		return false;
	for (const Bytes& o : oids)
		if (!oid::valid(o))
			return false;
	der::Builder b;
	b.add(der::tag::Sequence, [&](der::Builder& s) {
		for (const Bytes& o : oids)
			s.add_bytes(der::tag::Oid, o);
		return s.ok();
	});
	if (!b.ok())
		return false;
	out = b.take();
	return true;
}

bool encode_neg_token_init(const SpnegoNegTokenInit& init, Bytes& out)
{
	Bytes mech_types = init.mech_types_der;
	if (mech_types.empty() && !encode_mech_type_list(init.mech_types, mech_types))
		return false;
	if (init.req_flags && !valid_bit_string(*init.req_flags))
		return false;

	auto fields = [&](der::Builder& s) {
		s.add(der::tag::context(0), [&](der::Builder& b) { return b.add_raw(mech_types); });
		if (init.req_flags)
			s.add(der::tag::context(1),
			      [&](der::Builder& b) { return b.add_bytes(der::tag::BitString, *init.req_flags); });
		if (init.mech_token)
			s.add(der::tag::context(2), [&](der::Builder& b) { return b.add_octet_string(*init.mech_token); });
		if (init.neg_hints) {
			const NegHints& h = *init.neg_hints;
			s.add(der::tag::context(3), [&](der::Builder& b) {
				return b.add(der::tag::Sequence, [&](der::Builder& hs) {
					if (h.hint_name)
						hs.add(der::tag::context(0), [&](der::Builder& x) {
							return x.add_bytes(der::tag::GeneralString, *h.hint_name);
						});
					if (h.hint_address)
						hs.add(der::tag::context(1),
						       [&](der::Builder& x) { return x.add_octet_string(*h.hint_address); });
					return hs.ok();
				});
			});
		}
		if (init.mech_list_mic)
			s.add(der::tag::context(init.neg_hints ? 4 : 3),
			      [&](der::Builder& b) { return b.add_octet_string(*init.mech_list_mic); });
		return s.ok();
	};

	der::Builder b;
	b.add(der::tag::application(0), [&](der::Builder& app) {
		app.add_bytes(der::tag::Oid, oid::spnego());
		app.add(der::tag::context(0), [&](der::Builder& c) { return c.add(der::tag::Sequence, fields); });
		return app.ok();
	});
	if (!b.ok())
		return false;
	out = b.take();
	return true;
}

bool encode_neg_token_resp(const SpnegoNegTokenResp& resp, Bytes& out)
{
	if (resp.supported_mech && !oid::valid(*resp.supported_mech))
		return false;
	auto fields = [&](der::Builder& s) {
		if (resp.neg_state)
			s.add(der::tag::context(0),
			      [&](der::Builder& b) { return b.add_enumerated(static_cast<int64_t>(*resp.neg_state)); });
		if (resp.supported_mech)
			s.add(der::tag::context(1),
			      [&](der::Builder& b) { return b.add_bytes(der::tag::Oid, *resp.supported_mech); });
		if (resp.response_token)
			s.add(der::tag::context(2),
			      [&](der::Builder& b) { return b.add_octet_string(*resp.response_token); });
		if (resp.mech_list_mic)
			s.add(der::tag::context(3), [&](der::Builder& b) { return b.add_octet_string(*resp.mech_list_mic); });
		return s.ok();
	};
	der::Builder b;
	b.add(der::tag::context(1), [&](der::Builder& c) { return c.add(der::tag::Sequence, fields); });
	if (!b.ok())
		return false;
	out = b.take();
	return true;
}

bool is_raw_ntlmssp(ByteView in) noexcept
{
	static constexpr uint8_t kSignature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
	if (in.size() < sizeof(kSignature))
		return false;
	for (size_t i = 0; i < sizeof(kSignature); ++i)
		if (in[i] != kSignature[i])
			return false;
	return true;
}

bool peek_initial_context_mech(ByteView in, Bytes& mech_oid)
{
	Reader r(in);
	Reader app;
	if (!der::read(r, der::tag::application(0), app) || !r.empty())
		return false;
	Bytes o;
	if (!read_oid(app, o) || oid::equal(o, oid::spnego()))
		return false;
	mech_oid = std::move(o);
	return true;
}

} // namespace nlassp::negotiate
