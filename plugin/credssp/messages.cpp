#include "credssp/messages.h"

#include "wire/der.h"
#include "wire/reader.h"

#include <limits>
#include <new>

namespace nlassp::credssp {

namespace der = wire::der;
using wire::Reader;

namespace {

// ---- reading ----------------------------------------------------------------------------------

// [n] { OCTET STRING } -> a copy of the contents.
bool read_explicit_octets(Reader& r, uint32_t n, Bytes& out)
{
	Reader field;
	ByteView v;
	if (!der::read(r, der::tag::context(n), field) || !der::read_octet_string(field, v) || !field.empty())
		return false;
	out.assign(v.begin(), v.end());
	return true;
}

bool read_explicit_secret(Reader& r, uint32_t n, SecretBytes& out)
{
	Reader field;
	ByteView v;
	if (!der::read(r, der::tag::context(n), field) || !der::read_octet_string(field, v) || !field.empty())
		return false;
	out.assign(v);
	return true;
}

// An OPTIONAL [n] { OCTET STRING }.
bool read_optional_octets(Reader& r, uint32_t n, std::optional<Bytes>& out)
{
	bool present = false;
	Reader field;
	if (!der::read_optional(r, der::tag::context(n), present, field))
		return false;
	if (!present)
		return true;
	ByteView v;
	if (!der::read_octet_string(field, v) || !field.empty())
		return false;
	out.emplace(v.begin(), v.end());
	return true;
}

// [n] { INTEGER } carrying a 32-bit value (either encoding FreeRDP or others use).
bool read_explicit_uint32(Reader& r, uint32_t n, uint32_t& out)
{
	Reader field;
	return der::read(r, der::tag::context(n), field) && der::read_uint32_lenient(field, out) && field.empty();
}

// The outer SEQUENCE, filling the whole input.
bool read_outer_sequence(ByteView der_bytes, Reader& body)
{
	Reader r(der_bytes);
	return der::read(r, der::tag::Sequence, body) && r.empty();
}

// ---- writing into SecretBytes (TSCredentials and what it carries hold passwords) --------------

size_t header_size(size_t len) noexcept
{
	if (len < 0x80)
		return 2;
	size_t octets = 1;
	while (octets < 4 && (len >> (8 * octets)) != 0)
		++octets;
	return 2 + octets;
}

size_t element_size(size_t len) noexcept { return header_size(len) + len; }

void put_header(SecretBytes& out, uint8_t tag, size_t len)
{
	uint8_t h[6];
	size_t n = 0;
	h[n++] = tag;
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
	out.append(ByteView(h, n));
}

// [n] { OCTET STRING v }
size_t explicit_octets_size(size_t len) noexcept { return element_size(element_size(len)); }
void put_explicit_octets(SecretBytes& out, uint32_t n, ByteView v)
{
	put_header(out, static_cast<uint8_t>(der::tag::context(n)), element_size(v.size()));
	put_header(out, static_cast<uint8_t>(der::tag::OctetString), v.size());
	out.append(v);
}

constexpr size_t kMaxSecretElement = std::numeric_limits<uint32_t>::max() / 2;

} // namespace

// ---- TSRequest -----------------------------------------------------------------------------------

bool decode_ts_request(ByteView der_bytes, TsRequest& out)
{
	if (der_bytes.size() > kMaxTsRequestSize)
		return false;
	Reader body;
	if (!read_outer_sequence(der_bytes, body))
		return false;
	TsRequest req;
	if (!read_explicit_uint32(body, 0, req.version))
		return false;

	bool present = false;
	Reader nego;
	if (!der::read_optional(body, der::tag::context(1), present, nego))
		return false;
	if (present) {
		Reader list;
		if (!der::read(nego, der::tag::Sequence, list) || !nego.empty() || list.empty())
			return false;
		while (!list.empty()) {
			Reader item;
			Bytes token;
			if (!der::read(list, der::tag::Sequence, item) || !read_explicit_octets(item, 0, token) || !item.empty())
				return false;
			req.nego_tokens.push_back(std::move(token));
		}
	}
	if (!read_optional_octets(body, 2, req.auth_info) || !read_optional_octets(body, 3, req.pub_key_auth))
		return false;
	Reader err;
	if (!der::read_optional(body, der::tag::context(4), present, err))
		return false;
	if (present) {
		uint32_t code = 0;
		if (!der::read_uint32_lenient(err, code) || !err.empty())
			return false;
		req.error_code = code;
	}
	if (!read_optional_octets(body, 5, req.client_nonce))
		return false;
	if (!body.empty()) // unknown or out-of-order fields
		return false;
	out = std::move(req);
	return true;
}

bool encode_ts_request(const TsRequest& req, Bytes& out)
{
	der::Builder b;
	b.add(der::tag::Sequence, [&](der::Builder& s) {
		s.add(der::tag::context(0), [&](der::Builder& f) { return f.add_uint32_as_int32(req.version); });
		if (!req.nego_tokens.empty()) {
			s.add(der::tag::context(1), [&](der::Builder& f) {
				return f.add(der::tag::Sequence, [&](der::Builder& list) {
					for (const Bytes& token : req.nego_tokens)
						list.add(der::tag::Sequence, [&](der::Builder& item) {
							return item.add(der::tag::context(0),
							                [&](der::Builder& o) { return o.add_octet_string(token); });
						});
					return list.ok();
				});
			});
		}
		auto octets = [&](uint32_t n, const std::optional<Bytes>& v) {
			if (v)
				s.add(der::tag::context(n), [&](der::Builder& f) { return f.add_octet_string(*v); });
		};
		octets(2, req.auth_info);
		octets(3, req.pub_key_auth);
		if (req.error_code)
			s.add(der::tag::context(4), [&](der::Builder& f) { return f.add_uint32_as_int32(*req.error_code); });
		octets(5, req.client_nonce);
		return s.ok();
	});
	if (!b.ok())
		return false;
	out = b.take();
	return true;
}

TsRequestFrame frame_ts_request(ByteView stream) noexcept
{
	TsRequestFrame f;
	Reader r(stream);
	uint8_t tag = 0, l0 = 0;
	if (!r.u8(tag)) {
		f.state = TsRequestFrame::State::Incomplete;
		f.missing = 2; // the tag and the first length octet
		return f;
	}
	if (tag != der::tag::Sequence)
		return f;
	if (!r.u8(l0)) {
		f.state = TsRequestFrame::State::Incomplete;
		f.missing = 1;
		return f;
	}
	size_t header = 2, length = 0;
	if (l0 < 0x80) {
		length = l0;
	} else {
		const size_t n = l0 & 0x7f;
		if (n == 0 || n > 4)
			return f;
		header += n;
		for (size_t i = 0; i < n; ++i) {
			uint8_t b = 0;
			if (!r.u8(b)) {
				f.state = TsRequestFrame::State::Incomplete;
				f.missing = n - i;
				return f;
			}
			if (i == 0 && b == 0)
				return f; // not minimal
			length = (length << 8) | b;
		}
		if (length < 0x80)
			return f; // would have fit the short form
	}
	if (length > kMaxTsRequestSize - header)
		return f;
	const size_t total = header + length;
	if (stream.size() < total) {
		f.state = TsRequestFrame::State::Incomplete;
		f.missing = total - stream.size();
		return f;
	}
	f.state = TsRequestFrame::State::Complete;
	f.length = total;
	return f;
}

// ---- TSCredentials ---------------------------------------------------------------------------

bool decode_ts_credentials(ByteView der_bytes, TsCredentials& out)
{
	Reader body;
	if (!read_outer_sequence(der_bytes, body))
		return false;
	TsCredentials c;
	Reader field;
	int64_t type = 0;
	if (!der::read(body, der::tag::context(0), field) || !der::read_integer(field, type) || !field.empty())
		return false;
	if (type < 0 || type > std::numeric_limits<uint32_t>::max())
		return false;
	c.cred_type = static_cast<uint32_t>(type);
	if (!read_explicit_secret(body, 1, c.credentials) || !body.empty())
		return false;
	out = std::move(c);
	return true;
}

bool encode_ts_credentials(const TsCredentials& creds, SecretBytes& out)
{
	if (creds.credentials.size() > kMaxSecretElement)
		return false;
	// credType [0] INTEGER: built by the DER builder (not secret), then copied.
	der::Builder type;
	type.add(der::tag::context(0), [&](der::Builder& f) { return f.add_integer(creds.cred_type); });
	if (!type.ok())
		return false;
	const size_t body = type.view().size() + explicit_octets_size(creds.credentials.size());
	try {
		SecretBytes s;
		put_header(s, static_cast<uint8_t>(der::tag::Sequence), body);
		s.append(type.view());
		put_explicit_octets(s, 1, creds.credentials.view());
		out = std::move(s);
	} catch (const std::bad_alloc&) {
		return false;
	}
	return true;
}

bool decode_ts_password_creds(ByteView der_bytes, TsPasswordCreds& out)
{
	Reader body;
	if (!read_outer_sequence(der_bytes, body))
		return false;
	TsPasswordCreds c;
	if (!read_explicit_octets(body, 0, c.domain) || !read_explicit_octets(body, 1, c.user) ||
	    !read_explicit_secret(body, 2, c.password) || !body.empty())
		return false;
	out = std::move(c);
	return true;
}

bool encode_ts_password_creds(const TsPasswordCreds& creds, SecretBytes& out)
{
	if (creds.domain.size() > kMaxSecretElement / 4 || creds.user.size() > kMaxSecretElement / 4 ||
	    creds.password.size() > kMaxSecretElement / 4)
		return false;
	const size_t body = explicit_octets_size(creds.domain.size()) + explicit_octets_size(creds.user.size()) +
	                    explicit_octets_size(creds.password.size());
	try {
		SecretBytes s;
		put_header(s, static_cast<uint8_t>(der::tag::Sequence), body);
		put_explicit_octets(s, 0, creds.domain);
		put_explicit_octets(s, 1, creds.user);
		put_explicit_octets(s, 2, creds.password.view());
		out = std::move(s);
	} catch (const std::bad_alloc&) {
		return false;
	}
	return true;
}

bool decode_ts_smart_card_creds(ByteView der_bytes, TsSmartCardCreds& out)
{
	Reader body;
	if (!read_outer_sequence(der_bytes, body))
		return false;
	TsSmartCardCreds c;
	if (!read_explicit_secret(body, 0, c.pin))
		return false;
	Reader csp_field, csp;
	if (!der::read(body, der::tag::context(1), csp_field) || !der::read(csp_field, der::tag::Sequence, csp) ||
	    !csp_field.empty())
		return false;
	Reader key_spec;
	if (!der::read(csp, der::tag::context(0), key_spec) || !der::read_integer(key_spec, c.csp_data.key_spec) ||
	    !key_spec.empty())
		return false;
	if (!read_optional_octets(csp, 1, c.csp_data.card_name) || !read_optional_octets(csp, 2, c.csp_data.reader_name) ||
	    !read_optional_octets(csp, 3, c.csp_data.container_name) ||
	    !read_optional_octets(csp, 4, c.csp_data.csp_name) || !csp.empty())
		return false;
	if (!read_optional_octets(body, 2, c.user_hint) || !read_optional_octets(body, 3, c.domain_hint) || !body.empty())
		return false;
	out = std::move(c);
	return true;
}

namespace {
bool read_package_cred(Reader& r, TsRemoteGuardPackageCred& out)
{
	Reader seq;
	if (!der::read(r, der::tag::Sequence, seq))
		return false;
	if (!read_explicit_octets(seq, 0, out.package_name) || !read_explicit_secret(seq, 1, out.cred_buffer) ||
	    !seq.empty())
		return false;
	return true;
}
} // namespace

bool decode_ts_remote_guard_creds(ByteView der_bytes, TsRemoteGuardCreds& out)
{
	Reader body;
	if (!read_outer_sequence(der_bytes, body))
		return false;
	TsRemoteGuardCreds c;
	Reader logon;
	if (!der::read(body, der::tag::context(0), logon) || !read_package_cred(logon, c.logon_cred) || !logon.empty())
		return false;
	bool present = false;
	Reader supp_field;
	if (!der::read_optional(body, der::tag::context(1), present, supp_field))
		return false;
	if (present) {
		Reader list;
		if (!der::read(supp_field, der::tag::Sequence, list) || !supp_field.empty())
			return false;
		c.has_supplemental = true;
		while (!list.empty()) {
			TsRemoteGuardPackageCred p;
			if (!read_package_cred(list, p))
				return false;
			c.supplemental_creds.push_back(std::move(p));
		}
	}
	if (!body.empty())
		return false;
	out = std::move(c);
	return true;
}

namespace {
// TSRemoteGuardPackageCred ::= SEQUENCE { packageName [0] OCTET STRING, credBuffer [1] OCTET STRING }
size_t package_cred_size(const TsRemoteGuardPackageCred& p) noexcept
{
	return element_size(explicit_octets_size(p.package_name.size()) + explicit_octets_size(p.cred_buffer.size()));
}
void put_package_cred(SecretBytes& out, const TsRemoteGuardPackageCred& p)
{
	put_header(out, static_cast<uint8_t>(der::tag::Sequence),
	           explicit_octets_size(p.package_name.size()) + explicit_octets_size(p.cred_buffer.size()));
	put_explicit_octets(out, 0, p.package_name);
	put_explicit_octets(out, 1, p.cred_buffer.view());
}
} // namespace

bool encode_ts_remote_guard_creds(const TsRemoteGuardCreds& creds, SecretBytes& out)
{
	size_t total = package_cred_size(creds.logon_cred);
	size_t list = 0;
	for (const auto& p : creds.supplemental_creds)
		list += package_cred_size(p);
	const bool supplemental = creds.has_supplemental || !creds.supplemental_creds.empty();
	if (total > kMaxSecretElement || list > kMaxSecretElement)
		return false;
	const size_t logon_field = element_size(total);
	const size_t supp_field = supplemental ? element_size(element_size(list)) : 0;
	try {
		SecretBytes s;
		put_header(s, static_cast<uint8_t>(der::tag::Sequence), logon_field + supp_field);
		put_header(s, static_cast<uint8_t>(der::tag::context(0)), total);
		put_package_cred(s, creds.logon_cred);
		if (supplemental) {
			put_header(s, static_cast<uint8_t>(der::tag::context(1)), element_size(list));
			put_header(s, static_cast<uint8_t>(der::tag::Sequence), list);
			for (const auto& p : creds.supplemental_creds)
				put_package_cred(s, p);
		}
		out = std::move(s);
	} catch (const std::bad_alloc&) {
		return false;
	}
	return true;
}

} // namespace nlassp::credssp
