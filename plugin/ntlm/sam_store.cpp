// The WinPR SAM file as an NTLM acceptor's user store: one "user:domain:LMhash:NThash:::" a line,
// as `winpr-hash3 -f sam` writes it. Matching follows WinPR's SamLookupUserW — first the user
// with the domain the client sent, then the user on a line with an empty domain — but compares
// names case-insensitively, as Windows does (WinPR 3.10 compares them byte for byte). The account
// found is named as its line spells it (an empty domain for a line without one), whatever the
// client sent. Lines whose NT hash is all zeros, or (unless NLASSP_NTLM_ALLOW_BLANK_PASSWORDS)
// that of the empty password, are refused with one line naming the file's line and user.
#include "common/log.h"
#include "common/secret.h"
#include "common/text.h"
#include "ntlm/ntlm.h"
#include "wire/utf16.h"

#include <fcntl.h>
#include <unistd.h>

#include <strings.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace nlassp::ntlm {

namespace {

const log::Logger kLog("com.nlassp.ntlm");

constexpr size_t kMaxFileSize = 16u * 1024 * 1024;
constexpr size_t kMaxLine = 4096;

// A file's contents in a buffer that is wiped when done (read with read(2), so no stdio buffer
// keeps a copy of the hashes behind).
[[nodiscard]] bool read_file(const std::string& path, SecretBytes& out, int& err)
{
	const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		return false;
	}
	SecretBytes buf;
	uint8_t chunk[4096];
	bool ok = true;
	for (;;) {
		const ssize_t n = ::read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			ok = false;
			break;
		}
		if (n == 0)
			break;
		if (buf.size() + static_cast<size_t>(n) > kMaxFileSize) {
			err = EFBIG;
			ok = false;
			break;
		}
		buf.append(ByteView(chunk, static_cast<size_t>(n)));
	}
	secure_wipe(chunk, sizeof(chunk));
	::close(fd);
	if (ok)
		out = std::move(buf);
	return ok;
}

int hex_digit(char c) noexcept
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

[[nodiscard]] bool parse_hash(std::string_view hex, SecretBytes& out)
{
	if (hex.size() != 32)
		return false;
	out.resize(16);
	for (size_t i = 0; i < 16; ++i) {
		const int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			out.clear();
			return false;
		}
		out[i] = static_cast<uint8_t>((hi << 4) | lo);
	}
	return true;
}

bool is_hash(std::string_view hex) noexcept
{
	if (hex.size() != 32)
		return false;
	for (char c : hex)
		if (hex_digit(c) < 0)
			return false;
	return true;
}

bool same_name(std::string_view utf8, const std::u16string& upper_wanted)
{
	std::u16string name;
	if (!wire::utf8_to_utf16(utf8, name))
		return false;
	return wire::to_upper(name) == upper_wanted;
}

struct SamLine {
	size_t number = 0;   // 1-based, as an editor shows it
	std::string_view user, domain, nt_hash;
};

// "user:domain:LM:NT:..." — at least four colons, hashes empty or 32 hex digits.
[[nodiscard]] bool split_line(std::string_view line, SamLine& out)
{
	std::string_view f[4];
	size_t start = 0;
	for (int i = 0; i < 4; ++i) {
		const size_t colon = line.find(':', start);
		if (colon == std::string_view::npos)
			return false;
		f[i] = line.substr(start, colon - start);
		start = colon + 1;
	}
	if (!f[2].empty() && f[2].size() != 32)
		return false;
	out.user = f[0];
	out.domain = f[1];
	out.nt_hash = f[3];
	return !out.user.empty();
}

// The first line for UPPER(user) and UPPER(domain) as sent (pass 0), else for the user on a line
// without a domain (pass 1); false if none.
[[nodiscard]] bool find_line(std::string_view text, const std::u16string& user, const std::u16string& domain,
                             SamLine& found)
{
	for (int pass = 0; pass < 2; ++pass) {
		if (pass == 1 && domain.empty())
			break;
		size_t pos = 0, number = 0;
		while (pos < text.size()) {
			size_t end = text.find('\n', pos);
			if (end == std::string_view::npos)
				end = text.size();
			std::string_view line = text.substr(pos, end - pos);
			pos = end + 1;
			++number;
			if (!line.empty() && line.back() == '\r')
				line.remove_suffix(1);
			if (line.empty() || line.front() == '#' || line.size() > kMaxLine)
				continue;
			SamLine sl;
			if (!split_line(line, sl) || !same_name(sl.user, user))
				continue;
			const bool domain_ok = pass == 0 ? (sl.domain.empty() ? domain.empty() : same_name(sl.domain, domain))
			                                 : sl.domain.empty();
			if (!domain_ok || !is_hash(sl.nt_hash))
				continue;
			sl.number = number;
			found = sl;
			return true;
		}
	}
	return false;
}

// MD4 of the empty password, 31d6cfe0d16ae931b73c59d7e0c089c0.
constexpr uint8_t kBlankPasswordHash[16] = {0x31, 0xd6, 0xcf, 0xe0, 0xd1, 0x6a, 0xe9, 0x31,
                                            0xb7, 0x3c, 0x59, 0xd7, 0xe0, 0xc0, 0x89, 0xc0};

class SamFileStore final : public NtlmUserStore {
public:
	explicit SamFileStore(std::string path) : path_(std::move(path)) {}

	Error lookup(const NtlmLookup& who, NtlmAccount& account) const override
	{
		SecretBytes contents;
		int err = 0;
		if (!read_file(path_, contents, err)) {
			NLASSP_LOG(kLog, Warn, "NTLM: cannot read the SAM file %s: %s; check the path and its permissions",
			           path_.c_str(), std::strerror(err));
			return Error::NoCredentials;
		}
		const std::string_view text(reinterpret_cast<const char*>(contents.data()), contents.size());
		SamLine sl;
		if (!find_line(text, wire::to_upper(who.user), wire::to_upper(who.domain), sl))
			return Error::LogonDenied;
		SecretBytes hash;
		NtlmAccount found;
		if (!parse_hash(sl.nt_hash, hash) || !wire::utf8_to_utf16(sl.user, found.user) ||
		    !wire::utf8_to_utf16(sl.domain, found.domain)) {
			NLASSP_LOG(kLog, Warn, "NTLM: logon denied: line %zu of the SAM file %s (user %s) is not UTF-8; "
			           "rewrite it with winpr-hash3 -f sam", sl.number, path_.c_str(), text::printable(sl.user).c_str());
			account.refusal_logged = true;
			return Error::LogonDenied;
		}
		if (const Error e = refuse_weak(sl, hash); e != Error::None) {
			account.refusal_logged = true;
			return e;
		}
		found.key = std::move(hash);
		account = std::move(found);
		return Error::None;
	}

private:
	// An all-zero NT hash lets any client log on without a password (the response is computed
	// from the hash); the empty password's hash does the same, unless blank passwords are allowed.
	Error refuse_weak(const SamLine& sl, const SecretBytes& hash) const
	{
		static const uint8_t kZero[16] = {};
		if (constant_time_equal(hash.view(), ByteView(kZero, sizeof(kZero)))) {
			NLASSP_LOG(kLog, Warn, "NTLM: logon denied for %s: line %zu of the SAM file %s has an all-zero NT hash, "
			           "which lets anyone log on without a password; set a password with winpr-hash3 -f sam",
			           text::printable(sl.user).c_str(), sl.number, path_.c_str());
			return Error::LogonDenied;
		}
		if (constant_time_equal(hash.view(), ByteView(kBlankPasswordHash, sizeof(kBlankPasswordHash))) &&
		    !detail::blank_passwords_allowed()) {
			NLASSP_LOG(kLog, Warn, "NTLM: logon denied for %s: line %zu of the SAM file %s is an empty password, "
			           "refused for network logons as on Windows; set a password, or allow blank passwords "
			           "with NLASSP_NTLM_ALLOW_BLANK_PASSWORDS=1", text::printable(sl.user).c_str(), sl.number,
			           path_.c_str());
			return Error::LogonDenied;
		}
		return Error::None;
	}

	std::string path_;
};

} // namespace

// NLASSP_NTLM_ALLOW_BLANK_PASSWORDS=1 (or yes/true): the administrator allows accounts without
// a password to log on over the network, which Windows refuses by default.
bool detail::blank_passwords_allowed()
{
	const char* v = secure_getenv("NLASSP_NTLM_ALLOW_BLANK_PASSWORDS");
	if (!v)
		return false;
	const std::string_view s(v);
	return s == "1" || strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0;
}

std::shared_ptr<const NtlmUserStore> make_sam_file_store(std::string path)
{
	return std::make_shared<SamFileStore>(std::move(path));
}

} // namespace nlassp::ntlm
