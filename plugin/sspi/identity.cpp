#include "sspi/identity.h"

#include "common/log.h"
#include "crypto/crypto.h"
#include "sspi/buffers.h"
#include "sspi/packages.h"
#include "wire/utf16.h"

#include <cinttypes>
#include <cstring>

namespace nlassp::sspi {

static const log::Logger logger("com.nlassp.sspi");

namespace {

// The fields every identity layout shares, as pointers into the caller's memory.
struct RawIdentity {
	const void* user = nullptr;
	uint32_t user_len = 0;
	const void* domain = nullptr;
	uint32_t domain_len = 0;
	const void* password = nullptr;
	uint32_t password_len = 0;
	uint32_t flags = 0;
	const void* package_list = nullptr;
	uint32_t package_list_len = 0;
};

bool check_field(const char* what, const void* p, uint32_t len)
{
	if (!p && len != 0) {
		NLASSP_LOG(logger, Warn, "AcquireCredentialsHandle: identity %s is NULL with length %" PRIu32, what, len);
		return false;
	}
	if (len > kMaxStringChars) {
		NLASSP_LOG(logger, Warn, "AcquireCredentialsHandle: identity %s length %" PRIu32 " exceeds %zu characters",
		           what, len, kMaxStringChars);
		return false;
	}
	return true;
}

bool read_wide(const char* what, const void* p, uint32_t len, std::u16string& out)
{
	if (!check_field(what, p, len))
		return false;
	out.clear();
	if (len)
		out.assign(static_cast<const char16_t*>(p), len);
	return true;
}

bool read_ansi(const char* what, const void* p, uint32_t len, std::u16string& out)
{
	if (!check_field(what, p, len))
		return false;
	out.clear();
	if (len && !wire::utf8_to_utf16(std::string_view(static_cast<const char*>(p), len), out)) {
		NLASSP_LOG(logger, Warn, "AcquireCredentialsHandle: identity %s is not valid UTF-8", what);
		return false;
	}
	return true;
}

// A user or domain name must be text a C caller reads the same way we do: well-formed UTF-16 and
// no NUL inside. Lengths exclude the terminator, but some WinPR callers count it: exactly one NUL
// at the very end is that terminator and is dropped; any other NUL is refused ("alice\0x" would
// be "alice" to C code). Passwords are not checked: they are opaque.
bool check_name(const char* what, std::u16string& name)
{
	if (!name.empty() && name.back() == u'\0')
		name.pop_back();
	if (const size_t nul = name.find(u'\0'); nul != std::u16string::npos) {
		NLASSP_LOG(logger, Warn, "AcquireCredentialsHandle: identity %s has a NUL at character %zu of %zu; "
		           "a name may end with one terminator, never hold one", what, nul, name.size() + 1);
		return false;
	}
	if (!wire::utf16_well_formed(name)) {
		NLASSP_LOG(logger, Warn, "AcquireCredentialsHandle: identity %s is not valid UTF-16 (an unpaired "
		           "surrogate)", what);
		return false;
	}
	return true;
}

bool read_password(const RawIdentity& raw, bool wide, SecretBytes& out)
{
	if (!check_field("password", raw.password, raw.password_len))
		return false;
	if (raw.password_len == 0) {
		out.clear();
		return true;
	}
	if (wide) {
		// UTF-16 code units straight into little-endian secret bytes, no temporary copy.
		out.resize(size_t(raw.password_len) * 2);
		const auto* src = static_cast<const char16_t*>(raw.password);
		for (size_t i = 0; i < raw.password_len; ++i) {
			out[2 * i] = static_cast<uint8_t>(src[i] & 0xff);
			out[2 * i + 1] = static_cast<uint8_t>(src[i] >> 8);
		}
		return true;
	}
	if (!wire::utf8_to_utf16le_secret(std::string_view(static_cast<const char*>(raw.password), raw.password_len),
	                                  out)) {
		out.clear();
		NLASSP_LOG(logger, Warn, "AcquireCredentialsHandle: identity password is not valid UTF-8");
		return false;
	}
	return true;
}

bool read_setting(const char* what, const char* s, std::string& out)
{
	out.clear();
	if (!s)
		return true;
	const size_t n = strnlen(s, 65536);
	if (n > 65535) {
		NLASSP_LOG(logger, Warn, "AcquireCredentialsHandle: Kerberos setting %s is not a terminated string", what);
		return false;
	}
	out.assign(s, n);
	return true;
}

class HashCallbackStore final : public NtlmUserStore {
public:
	HashCallbackStore(psSspiNtlmHashCallback cb, void* arg) : cb_(cb), arg_(arg) {}

	// The callback is asked about the client's names (checked by the acceptor: no NUL, no
	// backslash, well-formed) and confirms them or not: it cannot name the account another way, so
	// the name it confirmed is the one reported.
	Error lookup(const NtlmLookup& who, NtlmAccount& account) const override
	{
		std::u16string user = who.user;
		std::u16string domain = who.domain;
		SEC_WINNT_AUTH_IDENTITY_W id{};
		id.User = reinterpret_cast<UINT16*>(user.data());
		id.UserLength = static_cast<ULONG>(user.size());
		id.Domain = reinterpret_cast<UINT16*>(domain.data());
		id.DomainLength = static_cast<ULONG>(domain.size());
		id.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;

		Bytes proof(who.proof_input.begin(), who.proof_input.end());
		Bytes micvalue(who.mic_input.begin(), who.mic_input.end());
		SecBuffer proof_buf{static_cast<ULONG>(proof.size()), SECBUFFER_TOKEN, proof.empty() ? nullptr : proof.data()};
		SecBuffer mic_buf{static_cast<ULONG>(micvalue.size()), SECBUFFER_TOKEN,
		                  micvalue.empty() ? nullptr : micvalue.data()};
		// WinPR always passes 16-byte arrays for the key and the MIC.
		uint8_t randkey[16] = {};
		uint8_t mic[16] = {};
		if (who.encrypted_random_session_key.size() == sizeof(randkey))
			std::memcpy(randkey, who.encrypted_random_session_key.data(), sizeof(randkey));
		if (who.mic.size() == sizeof(mic))
			std::memcpy(mic, who.mic.data(), sizeof(mic));

		// WinPR changed what the return value means: 3.10/3.15 take non-zero (TRUE) as "hash
		// written" and 0 (FALSE) as a refusal, 3.30 takes SEC_E_OK (0) as "hash written". 0 is
		// therefore ambiguous; a sentinel in the hash buffer settles it: 0 counts as success only if
		// the callback really wrote the hash. A refusal must never pass as a success: the buffer
		// would hold a key any client can compute (all zeros).
		uint8_t sentinel[16];
		if (crypto::random_bytes(sentinel) != Error::None)
			return Error::Internal;
		SecretBytes hash(ByteView(sentinel, sizeof(sentinel)));
		const SECURITY_STATUS rc = cb_(arg_, &id, &proof_buf, randkey, mic, &mic_buf, hash.data());
		const bool written = !constant_time_equal(hash.view(), ByteView(sentinel, sizeof(sentinel)));
		static const uint8_t kZero[16] = {};
		const bool zero = constant_time_equal(hash.view(), ByteView(kZero, sizeof(kZero)));
		const bool success_code = rc == SEC_E_OK || rc == TRUE;
		if (!success_code || !written || zero) {
			NLASSP_LOG(logger, Info, "NTLM hash callback refused the user (returned 0x%08" PRIx32 "%s)",
			           static_cast<uint32_t>(rc), !success_code ? "" : zero ? ", all-zero hash" : ", no hash written");
			return Error::LogonDenied;
		}
		account.user = who.user;
		account.domain = who.domain;
		account.key = std::move(hash);
		return Error::None;
	}
	[[nodiscard]] HashKind hash_kind() const noexcept override { return HashKind::NtowfV2; }

private:
	psSspiNtlmHashCallback cb_;
	void* arg_;
};

} // namespace

std::shared_ptr<const NtlmUserStore> make_hash_callback_store(psSspiNtlmHashCallback cb, void* arg)
{
	return std::make_shared<HashCallbackStore>(cb, arg);
}

static Error parse_winpr_settings(const SEC_WINNT_AUTH_IDENTITY_WINPR& w, Credential& cred)
{
	if (const SEC_WINPR_NTLM_SETTINGS* ntlm = w.ntlmSettings) {
		if (ntlm->hashCallback) {
			cred.ntlm_users = make_hash_callback_store(ntlm->hashCallback, ntlm->hashCallbackArg);
		} else if (ntlm->samFile && ntlm->samFile[0]) {
			std::string path;
			if (!read_setting("samFile", ntlm->samFile, path))
				return Error::InvalidParameter;
			cred.ntlm_users = registry().sam_store(path);
			if (!cred.ntlm_users) {
				NLASSP_LOG(logger, Warn, "AcquireCredentialsHandle: no NTLM package to read SAM file %s",
				           path.c_str());
				return Error::PackageUnavailable;
			}
		}
	}
	if (const SEC_WINPR_KERBEROS_SETTINGS* k = w.kerberosSettings) {
		KerberosSettings& ks = cred.kerberos;
		if (!read_setting("kdcUrl", k->kdcUrl, ks.kdc_url) || !read_setting("keytab", k->keytab, ks.keytab) ||
		    !read_setting("cache", k->cache, ks.cache) || !read_setting("armorCache", k->armorCache, ks.armor_cache) ||
		    !read_setting("pkinitX509Anchors", k->pkinitX509Anchors, ks.pkinit_anchors) ||
		    !read_setting("pkinitX509Identity", k->pkinitX509Identity, ks.pkinit_identity))
			return Error::InvalidParameter;
		ks.with_pac = k->withPac != FALSE;
		ks.start_time = k->startTime;
		ks.renew_life_time = k->renewLifeTime;
		ks.life_time = k->lifeTime;
	}
	return Error::None;
}

Error parse_auth_data(const void* auth_data, Credential& cred)
{
	if (!auth_data)
		return Error::None;

	uint32_t version = 0;
	std::memcpy(&version, auth_data, sizeof(version));

	RawIdentity raw;
	const SEC_WINNT_AUTH_IDENTITY_WINPR* winpr = nullptr;
	if (version == SEC_WINNT_AUTH_IDENTITY_VERSION) {
		SEC_WINNT_AUTH_IDENTITY_EXW ex;
		std::memcpy(&ex, auth_data, sizeof(ex));
		if (ex.Length < sizeof(SEC_WINNT_AUTH_IDENTITY_EXW)) {
			NLASSP_LOG(logger, Warn, "AcquireCredentialsHandle: SEC_WINNT_AUTH_IDENTITY_EX Length %" PRIu32
			           " is smaller than the structure (%zu)", ex.Length, sizeof(SEC_WINNT_AUTH_IDENTITY_EXW));
			return Error::InvalidParameter;
		}
		raw = {ex.User, ex.UserLength, ex.Domain, ex.DomainLength, ex.Password, ex.PasswordLength,
		       ex.Flags, ex.PackageList, ex.PackageListLength};
		if (ex.Flags & SEC_WINNT_AUTH_IDENTITY_EXTENDED)
			winpr = static_cast<const SEC_WINNT_AUTH_IDENTITY_WINPR*>(auth_data);
	} else if (version == SEC_WINNT_AUTH_IDENTITY_VERSION_2) {
		NLASSP_LOG(logger, Warn, "AcquireCredentialsHandle: SEC_WINNT_AUTH_IDENTITY_EX2 (packed credentials) "
		           "is not supported; pass SEC_WINNT_AUTH_IDENTITY_EXW");
		return Error::Unsupported;
	} else {
		SEC_WINNT_AUTH_IDENTITY_W id;
		std::memcpy(&id, auth_data, sizeof(id));
		raw = {id.User, id.UserLength, id.Domain, id.DomainLength, id.Password, id.PasswordLength, id.Flags,
		       nullptr, 0};
	}

	const bool ansi = raw.flags & SEC_WINNT_AUTH_IDENTITY_ANSI;
	const bool wide = raw.flags & SEC_WINNT_AUTH_IDENTITY_UNICODE;
	if (ansi == wide) {
		NLASSP_LOG(logger, Warn, "AcquireCredentialsHandle: identity Flags 0x%08" PRIx32
		           " must have exactly one of SEC_WINNT_AUTH_IDENTITY_ANSI and _UNICODE", raw.flags);
		return Error::InvalidParameter;
	}

	Identity id;
	const auto read = wide ? read_wide : read_ansi;
	std::u16string package_list;
	if (!read("user", raw.user, raw.user_len, id.user) || !read("domain", raw.domain, raw.domain_len, id.domain) ||
	    !check_name("user", id.user) || !check_name("domain", id.domain) ||
	    !read("package list", raw.package_list, raw.package_list_len, package_list) ||
	    !read_password(raw, wide, id.password))
		return Error::InvalidParameter;
	if (!wire::utf16_to_utf8(package_list, id.package_list)) {
		NLASSP_LOG(logger, Warn, "AcquireCredentialsHandle: identity package list is not valid UTF-16");
		return Error::InvalidParameter;
	}
	id.has_password = raw.password != nullptr;

	if (winpr) {
		const Error e = parse_winpr_settings(*winpr, cred);
		if (e != Error::None)
			return e;
	}

	// A server passes an all-empty identity alongside its SAM file: that is no identity at all.
	if (raw.user || raw.domain || raw.password || !id.package_list.empty())
		cred.identity = std::move(id);
	return Error::None;
}

} // namespace nlassp::sspi
