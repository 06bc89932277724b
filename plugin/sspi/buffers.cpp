#include "sspi/buffers.h"

#include "common/log.h"
#include "common/secret.h"
#include "wire/reader.h"
#include "wire/utf16.h"

#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace nlassp::sspi {

static const log::Logger logger("com.nlassp.sspi");

// ---- context buffers ---------------------------------------------------------------------------

namespace {
struct Allocations {
	std::mutex mu;
	std::unordered_map<void*, size_t> live;
};
Allocations& allocations()
{
	static Allocations* a = new Allocations;   // never destroyed: FreeContextBuffer may run during exit
	return *a;
}
} // namespace

void* alloc_context_buffer(size_t size) noexcept
{
	void* p = std::calloc(1, size ? size : 1);
	if (!p)
		return nullptr;
	try {
		auto& a = allocations();
		std::lock_guard lock(a.mu);
		a.live.emplace(p, size);
	} catch (...) {
		std::free(p);
		return nullptr;
	}
	return p;
}

bool free_context_buffer(void* p) noexcept
{
	size_t size = 0;
	{
		auto& a = allocations();
		std::lock_guard lock(a.mu);
		auto it = a.live.find(p);
		if (it == a.live.end())
			return false;
		size = it->second;
		a.live.erase(it);
	}
	secure_wipe(p, size);
	std::free(p);
	return true;
}

size_t live_context_buffers() noexcept
{
	auto& a = allocations();
	std::lock_guard lock(a.mu);
	return a.live.size();
}

// ---- SecPkgInfo ---------------------------------------------------------------------------------

template <typename Info, typename Char>
static Info* alloc_package_info(std::span<const PackageId> ids) noexcept
{
	std::vector<std::string> comments;
	try {
		for (PackageId id : ids)
			comments.push_back(package_comment(id));
	} catch (const std::bad_alloc&) {
		return nullptr;
	}
	size_t chars = 0;
	for (size_t i = 0; i < ids.size(); ++i)
		chars += std::strlen(package_info(ids[i]).name) + 1 + comments[i].size() + 1;
	const size_t size = ids.size() * sizeof(Info) + chars * sizeof(Char);
	auto* base = static_cast<uint8_t*>(alloc_context_buffer(size));
	if (!base)
		return nullptr;
	auto* infos = reinterpret_cast<Info*>(base);
	auto* str = reinterpret_cast<Char*>(base + ids.size() * sizeof(Info));
	auto put = [&str](const char* s) {
		Char* start = str;
		for (; *s; ++s)
			*str++ = static_cast<Char>(static_cast<unsigned char>(*s)); // names and comments are ASCII
		*str++ = 0;
		return start;
	};
	for (size_t i = 0; i < ids.size(); ++i) {
		const auto& p = package_info(ids[i]);
		infos[i].fCapabilities = p.capabilities;
		infos[i].wVersion = p.version;
		infos[i].wRPCID = p.rpc_id;
		infos[i].cbMaxToken = p.max_token;
		infos[i].Name = put(p.name);
		infos[i].Comment = put(comments[i].c_str());
	}
	return infos;
}

SecPkgInfoA* alloc_package_info_a(std::span<const PackageId> ids) noexcept
{
	return alloc_package_info<SecPkgInfoA, SEC_CHAR>(ids);
}

SecPkgInfoW* alloc_package_info_w(std::span<const PackageId> ids) noexcept
{
	return alloc_package_info<SecPkgInfoW, SEC_WCHAR>(ids);
}

// ---- channel bindings ---------------------------------------------------------------------------

static bool bindings_field(ByteView buffer, const char* what, uint32_t offset, uint32_t length, Bytes& out)
{
	if (length == 0) {
		out.clear();
		return true;
	}
	ByteView v;
	if (!wire::Reader::field(buffer, offset, length, v)) {
		NLASSP_LOG(logger, Warn,
		           "SECBUFFER_CHANNEL_BINDINGS rejected: %s (offset %" PRIu32 ", length %" PRIu32
		           ") lies outside the %zu-byte buffer; the caller built a malformed SEC_CHANNEL_BINDINGS",
		           what, offset, length, buffer.size());
		return false;
	}
	out.assign(v.begin(), v.end());
	return true;
}

Error parse_channel_bindings(ByteView buffer, ChannelBindings& out)
{
	wire::Reader r(buffer);
	uint32_t init_type = 0, init_len = 0, init_off = 0, acc_type = 0, acc_len = 0, acc_off = 0,
	         app_len = 0, app_off = 0;
	if (!r.u32le(init_type) || !r.u32le(init_len) || !r.u32le(init_off) || !r.u32le(acc_type) ||
	    !r.u32le(acc_len) || !r.u32le(acc_off) || !r.u32le(app_len) || !r.u32le(app_off)) {
		NLASSP_LOG(logger, Warn,
		           "SECBUFFER_CHANNEL_BINDINGS rejected: %zu bytes cannot hold the 32-byte "
		           "SEC_CHANNEL_BINDINGS header",
		           buffer.size());
		return Error::InvalidToken;
	}
	ChannelBindings cb;
	cb.initiator_addr_type = init_type;
	cb.acceptor_addr_type = acc_type;
	if (!bindings_field(buffer, "initiator address", init_off, init_len, cb.initiator_addr) ||
	    !bindings_field(buffer, "acceptor address", acc_off, acc_len, cb.acceptor_addr) ||
	    !bindings_field(buffer, "application data", app_off, app_len, cb.application_data))
		return Error::InvalidToken;
	out = std::move(cb);
	return Error::None;
}

// ---- flags --------------------------------------------------------------------------------------

namespace {
struct FlagPair {
	ULONG sspi;
	ContextFlags ours;
};
constexpr FlagPair kIscReq[] = {
    {ISC_REQ_DELEGATE, ctx::Delegate},
    {ISC_REQ_MUTUAL_AUTH, ctx::MutualAuth},
    {ISC_REQ_REPLAY_DETECT, ctx::ReplayDetect},
    {ISC_REQ_SEQUENCE_DETECT, ctx::SequenceDetect},
    {ISC_REQ_CONFIDENTIALITY, ctx::Confidentiality},
    {ISC_REQ_USE_SESSION_KEY, ctx::UseSessionKey},
    {ISC_REQ_USE_SUPPLIED_CREDS, ctx::UseSuppliedCreds},
    {ISC_REQ_ALLOCATE_MEMORY, ctx::AllocateMemory},
    {ISC_REQ_DATAGRAM, ctx::Datagram},
    {ISC_REQ_CONNECTION, ctx::Connection},
    {ISC_REQ_EXTENDED_ERROR, ctx::ExtendedError},
    {ISC_REQ_STREAM, ctx::Stream},
    {ISC_REQ_INTEGRITY, ctx::Integrity},
    {ISC_REQ_IDENTIFY, ctx::Identify},
    {ISC_REQ_NULL_SESSION, ctx::NullSession},
    {ISC_REQ_MANUAL_CRED_VALIDATION, ctx::ManualCredValidation},
};
// ISC_RET_ALLOCATED_MEMORY is reported by the boundary when it really allocated.
constexpr FlagPair kIscRet[] = {
    {ISC_RET_DELEGATE, ctx::Delegate},
    {ISC_RET_MUTUAL_AUTH, ctx::MutualAuth},
    {ISC_RET_REPLAY_DETECT, ctx::ReplayDetect},
    {ISC_RET_SEQUENCE_DETECT, ctx::SequenceDetect},
    {ISC_RET_CONFIDENTIALITY, ctx::Confidentiality},
    {ISC_RET_USE_SESSION_KEY, ctx::UseSessionKey},
    {ISC_RET_USED_SUPPLIED_CREDS, ctx::UseSuppliedCreds},
    {ISC_RET_DATAGRAM, ctx::Datagram},
    {ISC_RET_CONNECTION, ctx::Connection},
    {ISC_RET_EXTENDED_ERROR, ctx::ExtendedError},
    {ISC_RET_STREAM, ctx::Stream},
    {ISC_RET_INTEGRITY, ctx::Integrity},
    {ISC_RET_IDENTIFY, ctx::Identify},
    {ISC_RET_NULL_SESSION, ctx::NullSession},
    {ISC_RET_MANUAL_CRED_VALIDATION, ctx::ManualCredValidation},
};
constexpr FlagPair kAscReq[] = {
    {ASC_REQ_DELEGATE, ctx::Delegate},
    {ASC_REQ_MUTUAL_AUTH, ctx::MutualAuth},
    {ASC_REQ_REPLAY_DETECT, ctx::ReplayDetect},
    {ASC_REQ_SEQUENCE_DETECT, ctx::SequenceDetect},
    {ASC_REQ_CONFIDENTIALITY, ctx::Confidentiality},
    {ASC_REQ_USE_SESSION_KEY, ctx::UseSessionKey},
    {ASC_REQ_ALLOCATE_MEMORY, ctx::AllocateMemory},
    {ASC_REQ_DATAGRAM, ctx::Datagram},
    {ASC_REQ_CONNECTION, ctx::Connection},
    {ASC_REQ_EXTENDED_ERROR, ctx::ExtendedError},
    {ASC_REQ_STREAM, ctx::Stream},
    {ASC_REQ_INTEGRITY, ctx::Integrity},
    {ASC_REQ_IDENTIFY, ctx::Identify},
    {ASC_REQ_ALLOW_NULL_SESSION, ctx::NullSession},
};
constexpr FlagPair kAscRet[] = {
    {ASC_RET_DELEGATE, ctx::Delegate},
    {ASC_RET_MUTUAL_AUTH, ctx::MutualAuth},
    {ASC_RET_REPLAY_DETECT, ctx::ReplayDetect},
    {ASC_RET_SEQUENCE_DETECT, ctx::SequenceDetect},
    {ASC_RET_CONFIDENTIALITY, ctx::Confidentiality},
    {ASC_RET_USE_SESSION_KEY, ctx::UseSessionKey},
    {ASC_RET_DATAGRAM, ctx::Datagram},
    {ASC_RET_CONNECTION, ctx::Connection},
    {ASC_RET_EXTENDED_ERROR, ctx::ExtendedError},
    {ASC_RET_STREAM, ctx::Stream},
    {ASC_RET_INTEGRITY, ctx::Integrity},
    {ASC_RET_IDENTIFY, ctx::Identify},
    {ASC_RET_NULL_SESSION, ctx::NullSession},
};

template <size_t N>
ContextFlags to_ours(const FlagPair (&table)[N], ULONG v) noexcept
{
	ContextFlags f = 0;
	for (const auto& p : table)
		if (v & p.sspi)
			f |= p.ours;
	return f;
}
template <size_t N>
ULONG to_sspi(const FlagPair (&table)[N], ContextFlags f) noexcept
{
	ULONG v = 0;
	for (const auto& p : table)
		if (f & p.ours)
			v |= p.sspi;
	return v;
}
} // namespace

ContextFlags from_isc_req(ULONG req) noexcept { return to_ours(kIscReq, req); }
ContextFlags from_asc_req(ULONG req) noexcept { return to_ours(kAscReq, req); }
ULONG to_isc_ret(ContextFlags f) noexcept { return to_sspi(kIscRet, f); }
ULONG to_asc_ret(ContextFlags f) noexcept { return to_sspi(kAscRet, f); }

// ---- strings ------------------------------------------------------------------------------------

bool c_string_utf16(const char* s, std::u16string& out)
{
	if (!s)
		return false;
	const size_t n = strnlen(s, kMaxStringChars + 1);
	if (n > kMaxStringChars)
		return false;
	return wire::utf8_to_utf16(std::string_view(s, n), out);
}

bool w_string_utf16(const SEC_WCHAR* s, std::u16string& out)
{
	if (!s)
		return false;
	size_t n = 0;
	while (n <= kMaxStringChars && s[n] != 0)
		++n;
	if (n > kMaxStringChars)
		return false;
	std::u16string result(reinterpret_cast<const char16_t*>(s), n);
	if (!wire::utf16_well_formed(result))
		return false;
	out = std::move(result);
	return true;
}

char* alloc_utf8(std::u16string_view s) noexcept
{
	try {
		std::string u8;
		if (!wire::utf16_to_utf8(s, u8))
			return nullptr;
		auto* p = static_cast<char*>(alloc_context_buffer(u8.size() + 1));
		if (p)
			std::memcpy(p, u8.c_str(), u8.size() + 1);
		return p;
	} catch (...) {
		return nullptr;
	}
}

SEC_WCHAR* alloc_utf16(std::u16string_view s) noexcept
{
	auto* p = static_cast<SEC_WCHAR*>(alloc_context_buffer((s.size() + 1) * sizeof(SEC_WCHAR)));
	if (p && !s.empty())
		std::memcpy(p, s.data(), s.size() * sizeof(SEC_WCHAR));
	return p;
}

bool unambiguous_account(std::u16string_view domain, std::u16string_view user) noexcept
{
	return domain.find(u'\0') == std::u16string_view::npos && user.find(u'\0') == std::u16string_view::npos &&
	       domain.find(u'\\') == std::u16string_view::npos;
}

std::u16string qualified_name(std::u16string_view domain, std::u16string_view user)
{
	std::u16string out;
	if (!domain.empty()) {
		out.append(domain);
		out.push_back(u'\\');
	}
	out.append(user);
	return out;
}

void set_never_expires(PTimeStamp ts) noexcept
{
	if (!ts)
		return;
	ts->LowPart = 0xFFFFFFFFu;
	ts->HighPart = 0x7FFFFFFF;
}

} // namespace nlassp::sspi
