#include "ntlm/messages.h"

#include "wire/reader.h"
#include "wire/writer.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace nlassp::ntlm {

namespace {

constexpr uint8_t kSignature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
constexpr size_t kMaxField = std::numeric_limits<uint16_t>::max();

// A security buffer header (Len, MaxLen, BufferOffset) as read from the fixed part.
struct SecBuf {
	uint16_t len = 0;
	uint16_t max_len = 0;
	uint32_t offset = 0;
};

[[nodiscard]] bool read_secbuf(wire::Reader& r, SecBuf& b) noexcept
{
	return r.u16le(b.len) && r.u16le(b.max_len) && r.u32le(b.offset);
}

// The field's bytes inside the whole message; an empty field's offset is not checked (peers
// write anything there).
[[nodiscard]] bool resolve(ByteView message, const SecBuf& b, Bytes& out)
{
	if (b.len == 0) {
		out.clear();
		return true;
	}
	ByteView v;
	if (!wire::Reader::field(message, b.offset, b.len, v))
		return false;
	out.assign(v.begin(), v.end());
	return true;
}

[[nodiscard]] bool read_header(wire::Reader& r, MessageType expected) noexcept
{
	ByteView sig;
	uint32_t type = 0;
	if (!r.bytes(sizeof(kSignature), sig) || std::memcmp(sig.data(), kSignature, sizeof(kSignature)) != 0)
		return false;
	return r.u32le(type) && type == static_cast<uint32_t>(expected);
}

void write_header(wire::Writer& w, MessageType type) noexcept
{
	w.bytes(ByteView(kSignature, sizeof(kSignature)));
	w.u32le(static_cast<uint32_t>(type));
}

[[nodiscard]] bool read_version(wire::Reader& r, Version& v) noexcept
{
	return r.u8(v.major) && r.u8(v.minor) && r.u16le(v.build) && r.skip(3) && r.u8(v.ntlm_revision);
}

void write_version(wire::Writer& w, const Version& v) noexcept
{
	w.u8(v.major);
	w.u8(v.minor);
	w.u16le(v.build);
	w.zeros(3);
	w.u8(v.ntlm_revision);
}

void write_secbuf(wire::Writer& w, size_t len, size_t offset) noexcept
{
	w.u16le(static_cast<uint16_t>(len));
	w.u16le(static_cast<uint16_t>(len));
	w.u32le(static_cast<uint32_t>(offset));
}

[[nodiscard]] bool fits(std::initializer_list<const Bytes*> fields) noexcept
{
	for (const Bytes* f : fields)
		if (f->size() > kMaxField)
			return false;
	return true;
}

} // namespace

bool peek_message_type(ByteView data, uint32_t& type)
{
	wire::Reader r(data);
	ByteView sig;
	if (!r.bytes(sizeof(kSignature), sig) || std::memcmp(sig.data(), kSignature, sizeof(kSignature)) != 0)
		return false;
	return r.u32le(type);
}

// ---- AV_PAIR list -----------------------------------------------------------------------------

bool AvPairList::decode(ByteView data)
{
	pairs.clear();
	wire::Reader r(data);
	for (;;) {
		uint16_t id = 0, len = 0;
		ByteView value;
		if (!r.u16le(id) || !r.u16le(len) || !r.bytes(len, value)) {
			pairs.clear();
			return false;
		}
		const auto av = static_cast<AvId>(id);
		if (av == AvId::Eol) {
			if (len != 0) {
				pairs.clear();
				return false;
			}
			return true;
		}
		const bool bad_size = (av == AvId::Flags && len != 4) || (av == AvId::Timestamp && len != 8) ||
		                      (av == AvId::ChannelBindings && len != 16);
		if (bad_size) {
			pairs.clear();
			return false;
		}
		pairs.push_back(AvPair{av, Bytes(value.begin(), value.end())});
	}
}

Bytes AvPairList::encode() const
{
	wire::Writer w;
	for (const AvPair& p : pairs) {
		if (p.id == AvId::Eol)
			continue;
		if (p.value.size() > kMaxField)
			return {};
		w.u16le(static_cast<uint16_t>(p.id));
		w.u16le(static_cast<uint16_t>(p.value.size()));
		w.bytes(p.value);
	}
	w.u16le(0);
	w.u16le(0);
	if (!w.ok())
		return {};
	return w.take();
}

const AvPair* AvPairList::find(AvId id) const noexcept
{
	for (const AvPair& p : pairs)
		if (p.id == id)
			return &p;
	return nullptr;
}

void AvPairList::set(AvId id, ByteView value)
{
	for (AvPair& p : pairs) {
		if (p.id == id) {
			p.value.assign(value.begin(), value.end());
			return;
		}
	}
	pairs.push_back(AvPair{id, Bytes(value.begin(), value.end())});
}

void AvPairList::remove(AvId id)
{
	pairs.erase(std::remove_if(pairs.begin(), pairs.end(), [id](const AvPair& p) { return p.id == id; }),
	            pairs.end());
}

bool AvPairList::flags(uint32_t& out) const noexcept
{
	const AvPair* p = find(AvId::Flags);
	if (!p)
		return false;
	wire::Reader r(p->value);
	return r.u32le(out);
}

bool AvPairList::timestamp(uint64_t& out) const noexcept
{
	const AvPair* p = find(AvId::Timestamp);
	if (!p)
		return false;
	wire::Reader r(p->value);
	return r.u64le(out);
}

// ---- NEGOTIATE --------------------------------------------------------------------------------

bool NegotiateMessage::decode(ByteView data)
{
	wire::Reader r(data);
	SecBuf dom, ws;
	if (!read_header(r, MessageType::Negotiate) || !r.u32le(flags) || !read_secbuf(r, dom) ||
	    !read_secbuf(r, ws))
		return false;
	version.reset();
	if (flags & flag::Version) {
		Version v;
		if (!read_version(r, v))
			return false;
		version = v;
	}
	return resolve(data, dom, domain) && resolve(data, ws, workstation);
}

Bytes NegotiateMessage::encode() const
{
	if (!fits({&domain, &workstation}))
		return {};
	const size_t payload = 32 + (version ? 8 : 0);
	wire::Writer w;
	write_header(w, MessageType::Negotiate);
	w.u32le(flags);
	write_secbuf(w, domain.size(), domain.empty() ? 0 : payload);
	write_secbuf(w, workstation.size(), workstation.empty() ? 0 : payload + domain.size());
	if (version)
		write_version(w, *version);
	w.bytes(domain);
	w.bytes(workstation);
	if (!w.ok())
		return {};
	return w.take();
}

// ---- CHALLENGE --------------------------------------------------------------------------------

bool ChallengeMessage::decode(ByteView data)
{
	wire::Reader r(data);
	SecBuf tn, ti;
	if (!read_header(r, MessageType::Challenge) || !read_secbuf(r, tn) || !r.u32le(flags) ||
	    !r.copy(server_challenge) || !r.copy(reserved) || !read_secbuf(r, ti))
		return false;
	version.reset();
	if (flags & flag::Version) {
		Version v;
		if (!read_version(r, v))
			return false;
		version = v;
	}
	if (!resolve(data, tn, target_name) || !resolve(data, ti, target_info_raw))
		return false;
	target_info.pairs.clear();
	if (!target_info_raw.empty() && !target_info.decode(target_info_raw))
		return false;
	return true;
}

Bytes ChallengeMessage::encode() const
{
	const Bytes info = (flags & flag::TargetInfo) ? target_info.encode() : Bytes{};
	if ((flags & flag::TargetInfo) && info.empty())
		return {};
	if (!fits({&target_name, &info}))
		return {};
	const size_t payload = 48 + (version ? 8 : 0);
	wire::Writer w;
	write_header(w, MessageType::Challenge);
	write_secbuf(w, target_name.size(), payload);
	w.u32le(flags);
	w.bytes(server_challenge);
	w.bytes(reserved);
	write_secbuf(w, info.size(), payload + target_name.size());
	if (version)
		write_version(w, *version);
	w.bytes(target_name);
	w.bytes(info);
	if (!w.ok())
		return {};
	return w.take();
}

// ---- NTLMv2 response --------------------------------------------------------------------------

bool Ntlmv2Response::decode(ByteView nt_response)
{
	wire::Reader r(nt_response);
	if (nt_response.size() < kMinSize)
		return false;
	if (!r.copy(nt_proof) || !r.u8(resp_type) || !r.u8(hi_resp_type) || !r.skip(6) ||
	    !r.u64le(timestamp) || !r.copy(client_challenge) || !r.skip(4))
		return false;
	if (resp_type != 1)
		return false;
	return av_pairs.decode(r.rest());
}

// ---- AUTHENTICATE -----------------------------------------------------------------------------

bool AuthenticateMessage::decode(ByteView data)
{
	wire::Reader r(data);
	SecBuf lm, nt, dom, usr, ws, esk;
	if (!read_header(r, MessageType::Authenticate) || !read_secbuf(r, lm) || !read_secbuf(r, nt) ||
	    !read_secbuf(r, dom) || !read_secbuf(r, usr) || !read_secbuf(r, ws) || !read_secbuf(r, esk) ||
	    !r.u32le(flags))
		return false;
	version.reset();
	if (flags & flag::Version) {
		Version v;
		if (!read_version(r, v))
			return false;
		version = v;
	}
	if (!resolve(data, lm, lm_response) || !resolve(data, nt, nt_response) || !resolve(data, dom, domain) ||
	    !resolve(data, usr, user) || !resolve(data, ws, workstation) ||
	    !resolve(data, esk, encrypted_random_session_key))
		return false;

	ntlmv2.reset();
	has_mic = false;
	mic.fill(0);
	if (nt_response.size() > 24) {
		Ntlmv2Response v2;
		if (!v2.decode(nt_response))
			return false;
		uint32_t av_flags = 0;
		has_mic = v2.av_pairs.flags(av_flags) && (av_flags & kAvFlagMicPresent);
		ntlmv2 = std::move(v2);
	}
	if (has_mic) {
		ByteView m;
		if (!wire::Reader::field(data, mic_offset(), mic.size(), m))
			return false;
		std::memcpy(mic.data(), m.data(), mic.size());
		// The MIC must not overlap a payload field.
		const size_t end = mic_offset() + mic.size();
		for (const SecBuf* b : {&lm, &nt, &dom, &usr, &ws, &esk})
			if (b->len != 0 && b->offset < end)
				return false;
	}
	raw.assign(data.begin(), data.end());
	return true;
}

Bytes AuthenticateMessage::encode()
{
	raw.clear();
	if (!fits({&lm_response, &nt_response, &domain, &user, &workstation, &encrypted_random_session_key}))
		return {};
	size_t offset = 64 + (version ? 8 : 0) + (has_mic ? 16 : 0);
	const size_t dom_off = offset;
	const size_t usr_off = dom_off + domain.size();
	const size_t ws_off = usr_off + user.size();
	const size_t lm_off = ws_off + workstation.size();
	const size_t nt_off = lm_off + lm_response.size();
	const size_t esk_off = nt_off + nt_response.size();

	wire::Writer w;
	write_header(w, MessageType::Authenticate);
	write_secbuf(w, lm_response.size(), lm_off);
	write_secbuf(w, nt_response.size(), nt_off);
	write_secbuf(w, domain.size(), dom_off);
	write_secbuf(w, user.size(), usr_off);
	write_secbuf(w, workstation.size(), ws_off);
	write_secbuf(w, encrypted_random_session_key.size(), esk_off);
	w.u32le(flags);
	if (version)
		write_version(w, *version);
	if (has_mic)
		w.bytes(mic);
	w.bytes(domain);
	w.bytes(user);
	w.bytes(workstation);
	w.bytes(lm_response);
	w.bytes(nt_response);
	w.bytes(encrypted_random_session_key);
	if (!w.ok())
		return {};
	raw = w.take();
	return raw;
}

} // namespace nlassp::ntlm
