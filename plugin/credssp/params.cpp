// The CREDSSP parameters buffer (NLASSP_CREDSSP_PARAMS of include/nlassp/credssp.h) and the
// policy a context lives by: set by its first call, then only ever tightened.
#include "credssp/credssp.h"

#include "common/log.h"
#include "credssp/crypto.h"
#include "credssp/messages.h"
#include "nlassp/credssp.h"
#include "wire/reader.h"
#include "wire/utf16.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>

namespace nlassp::credssp {

namespace {

const log::Logger logger("com.nlassp.credssp");

constexpr uint32_t kKnownFlags = NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT | NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION |
                                  NLASSP_CREDSSP_REMOTE_GUARD | NLASSP_CREDSSP_REMOTE_GUARD_FREERDP_COMPAT;

bool ascii_ieq(char16_t a, char16_t b) noexcept
{
	auto lower = [](char16_t c) { return (c >= u'A' && c <= u'Z') ? static_cast<char16_t>(c + 32) : c; };
	return lower(a) == lower(b);
}

// '*' matches any run of characters (also none); everything else ASCII case-insensitively.
bool glob_match(std::u16string_view pattern, std::u16string_view text) noexcept
{
	size_t p = 0, t = 0, star = std::u16string_view::npos, mark = 0;
	while (t < text.size()) {
		if (p < pattern.size() && pattern[p] == u'*') {
			star = p++;
			mark = t;
		} else if (p < pattern.size() && ascii_ieq(pattern[p], text[t])) {
			++p;
			++t;
		} else if (star != std::u16string_view::npos) {
			p = star + 1;
			t = ++mark;
		} else {
			return false;
		}
	}
	while (p < pattern.size() && pattern[p] == u'*')
		++p;
	return p == pattern.size();
}

bool any_match(const std::vector<std::u16string>& patterns, std::u16string_view target)
{
	return std::any_of(patterns.begin(), patterns.end(),
	                   [&](const std::u16string& p) { return glob_match(p, target); });
}

bool valid_version(uint32_t v) noexcept
{
	return v == 0 || (v >= kMinVersion && v <= kMaxVersion);
}

Error parse_key(ByteView buffer, const NLASSP_CREDSSP_PARAMS& p, Params& out)
{
	ByteView key;
	if (!wire::Reader::field(buffer, p.PublicKeyOffset, p.PublicKeyLength, key)) {
		NLASSP_LOG(logger, Warn, "CredSSP: the public key (offset %" PRIu32 ", %" PRIu32
		                         " bytes) lies outside the %zu-byte parameters buffer",
		           p.PublicKeyOffset, p.PublicKeyLength, buffer.size());
		return Error::InvalidParameter;
	}
	switch (p.KeyFormat) {
	case NLASSP_CREDSSP_KEY_NONE:
		return Error::None;
	case NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO: {
		ByteView spk;
		if (!subject_public_key_from_spki(key, spk)) {
			NLASSP_LOG(logger, Warn, "CredSSP: the public key is not a DER SubjectPublicKeyInfo");
			return Error::InvalidParameter;
		}
		out.subject_public_key.emplace(spk.begin(), spk.end());
		return Error::None;
	}
	case NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY:
		if (key.empty()) {
			NLASSP_LOG(logger, Warn, "CredSSP: the public key is empty");
			return Error::InvalidParameter;
		}
		out.subject_public_key.emplace(key.begin(), key.end());
		return Error::None;
	default:
		NLASSP_LOG(logger, Warn, "CredSSP: unknown KeyFormat %" PRIu32, p.KeyFormat);
		return Error::InvalidParameter;
	}
}

// "TERMSRV/*; HTTP/gw.lab" -> {"TERMSRV/*", "HTTP/gw.lab"}.
Error parse_targets(ByteView buffer, const NLASSP_CREDSSP_PARAMS& p, Params& out)
{
	ByteView targets;
	if (!wire::Reader::field(buffer, p.DelegateTargetsOffset, p.DelegateTargetsLength, targets)) {
		NLASSP_LOG(logger, Warn, "CredSSP: the delegation targets lie outside the parameters buffer");
		return Error::InvalidParameter;
	}
	if (targets.empty())
		return Error::None;
	std::u16string all;
	if (!wire::utf8_to_utf16(std::string_view(reinterpret_cast<const char*>(targets.data()), targets.size()), all)) {
		NLASSP_LOG(logger, Warn, "CredSSP: the delegation targets are not UTF-8");
		return Error::InvalidParameter;
	}
	std::vector<std::u16string>& list = out.options.delegate_targets;
	list.clear();
	size_t start = 0;
	while (start <= all.size()) {
		size_t end = all.find(u';', start);
		if (end == std::u16string::npos)
			end = all.size();
		std::u16string item = all.substr(start, end - start);
		while (!item.empty() && item.front() == u' ')
			item.erase(item.begin());
		while (!item.empty() && item.back() == u' ')
			item.pop_back();
		if (!item.empty())
			list.push_back(std::move(item));
		start = end + 1;
	}
	out.targets_given = true;
	return Error::None;
}

} // namespace

Error parse_params(ByteView buffer, Params& out)
{
	NLASSP_CREDSSP_PARAMS p{};
	uint32_t cb = 0, version = 0;
	wire::Reader r(buffer);
	if (!r.u32le(cb) || !r.u32le(version)) {
		NLASSP_LOG(logger, Warn, "CredSSP: the NLASSP_SECBUFFER_CREDSSP_PARAMS buffer is too short (%zu bytes)",
		           buffer.size());
		return Error::InvalidParameter;
	}
	if (version != NLASSP_CREDSSP_PARAMS_VERSION || cb < sizeof(p) || cb > buffer.size()) {
		NLASSP_LOG(logger, Warn,
		           "CredSSP: NLASSP_CREDSSP_PARAMS has Version %" PRIu32 " and cbSize %" PRIu32
		           " in a %zu-byte buffer; expected Version %u and cbSize >= %zu",
		           version, cb, buffer.size(), NLASSP_CREDSSP_PARAMS_VERSION, sizeof(p));
		return Error::InvalidParameter;
	}
	// The struct is the caller's own C struct in this process: copy it in host layout.
	std::memcpy(&p, buffer.data(), sizeof(p));

	Params result;
	if (!valid_version(p.MinVersion) || !valid_version(p.MaxVersion) ||
	    (p.MinVersion && p.MaxVersion && p.MinVersion > p.MaxVersion)) {
		NLASSP_LOG(logger, Warn, "CredSSP: MinVersion %" PRIu32 ", MaxVersion %" PRIu32 " asked; this package speaks "
		           "2..6 (0 = the default: 5 and 6)", p.MinVersion, p.MaxVersion);
		return Error::InvalidParameter;
	}
	if (p.Flags & ~kKnownFlags) {
		NLASSP_LOG(logger, Warn, "CredSSP: unknown NLASSP_CREDSSP_PARAMS flags 0x%08" PRIx32, p.Flags);
		return Error::InvalidParameter;
	}
	result.min_version = p.MinVersion;
	result.max_version = p.MaxVersion;
	result.flags = p.Flags;
	Options& o = result.options;
	o.min_version = p.MinVersion ? p.MinVersion : kDefaultMinVersion;
	o.max_version = p.MaxVersion ? p.MaxVersion : kMaxVersion;
	o.tolerate_freerdp_echo_defect = p.Flags & NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT;
	o.allow_ntlm_only_delegation = !(p.Flags & NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION);
	o.remote_guard = p.Flags & NLASSP_CREDSSP_REMOTE_GUARD;
	o.remote_guard_freerdp_compat = p.Flags & NLASSP_CREDSSP_REMOTE_GUARD_FREERDP_COMPAT;
	if (const Error e = parse_key(buffer, p, result); e != Error::None)
		return e;
	if (const Error e = parse_targets(buffer, p, result); e != Error::None)
		return e;
	out = std::move(result);
	return Error::None;
}

// ---- the policy ---------------------------------------------------------------------------------

Error Policy::set_first(const Params& p)
{
	if (p.options.min_version > p.options.max_version) {
		NLASSP_LOG(logger, Warn,
		           "CredSSP: MaxVersion %" PRIu32 " is below the default minimum version %" PRIu32
		           "; versions below 5 are open to CVE-2018-0886 and must be asked for: set MinVersion too",
		           p.options.max_version, kDefaultMinVersion);
		return Error::InvalidParameter;
	}
	options_ = p.options;
	more_targets_.clear();
	return Error::None;
}

Error Policy::tighten(const Params& p)
{
	Options next = options_;
	const char* looser = nullptr;
	if (p.min_version && p.min_version < options_.min_version)
		looser = "a lower MinVersion";
	else if (p.max_version && p.max_version > options_.max_version)
		looser = "a higher MaxVersion";
	else if ((p.flags & NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT) && !options_.tolerate_freerdp_echo_defect)
		looser = "NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT";
	if (p.min_version)
		next.min_version = p.min_version;
	if (p.max_version)
		next.max_version = p.max_version;
	if (!looser && next.min_version > next.max_version)
		looser = "versions that leave none";
	if (looser) {
		NLASSP_LOG(logger, Warn,
		           "CredSSP: a later parameters buffer asks for %s than the context's policy (versions %" PRIu32
		           "..%" PRIu32 "); a context keeps the policy it was created with and may only tighten it - "
		           "create a new context for a looser one",
		           looser, options_.min_version, options_.max_version);
		return Error::InvalidParameter;
	}
	if (p.flags & NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION)
		next.allow_ntlm_only_delegation = false;
	// Tolerating FreeRDP's echo defect is a loosening a context is created with: a later buffer
	// without the flag withdraws it (a tightening), one with it keeps it.
	if (!(p.flags & NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT) && next.tolerate_freerdp_echo_defect) {
		NLASSP_LOG(logger, Debug, "CredSSP: a later parameters buffer without NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT: "
		                          "FreeRDP's echo defect is no longer tolerated");
		next.tolerate_freerdp_echo_defect = false;
	}
	// Remote Credential Guard sends a ticket logon instead of a password: asking for it later
	// tightens what is delegated; a buffer without the flag leaves it as it is.
	if (p.flags & NLASSP_CREDSSP_REMOTE_GUARD)
		next.remote_guard = true;
	if (p.flags & NLASSP_CREDSSP_REMOTE_GUARD_FREERDP_COMPAT)
		next.remote_guard_freerdp_compat = true;
	options_ = std::move(next);
	// A list already in force (the same buffer passed again) narrows nothing: keep one copy.
	const std::vector<std::u16string>& list = p.options.delegate_targets;
	if (p.targets_given && list != options_.delegate_targets &&
	    std::find(more_targets_.begin(), more_targets_.end(), list) == more_targets_.end())
		more_targets_.push_back(list);
	return Error::None;
}

bool Policy::delegation_allowed(std::u16string_view target) const
{
	if (!any_match(options_.delegate_targets, target))
		return false;
	return std::all_of(more_targets_.begin(), more_targets_.end(),
	                   [&](const std::vector<std::u16string>& list) { return any_match(list, target); });
}

} // namespace nlassp::credssp
