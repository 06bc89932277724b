// The CREDSSP package's entry points for the SSPI dispatcher (plugin/sspi) and the probe.
//
// A CREDSSP context runs MS-CSSP over an inner Negotiate context that the dispatcher creates
// with the same mechanism list it gives the Negotiate package (pass `inner`). Its tokens are
// TSRequest PDUs; TLS stays with the caller, who passes the TLS server public key through
// StepInput::package_params (the NLASSP_SECBUFFER_CREDSSP_PARAMS buffer of
// include/nlassp/credssp.h).
#pragma once

#include "common/package.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nlassp::credssp {

// The lowest TSRequest version accepted unless a caller lowers it (MinVersion): 5, the first with
// the nonce-bound public-key hash (CVE-2018-0886). Versions 2-4 must be asked for explicitly.
inline constexpr uint32_t kDefaultMinVersion = 5;

struct Options {
	uint32_t min_version = kDefaultMinVersion;
	uint32_t max_version = 6;
	bool tolerate_freerdp_echo_defect = false;
	bool allow_ntlm_only_delegation = true;
	bool remote_guard = false;      // initiator: send TSRemoteGuardCreds (NLASSP_CREDSSP_REMOTE_GUARD)
	bool remote_guard_freerdp_compat = false;  // ... with a keyless NTLM supplemental credential
	// SPN patterns credentials may be delegated to ('*' = any run, ASCII case-insensitive).
	std::vector<std::u16string> delegate_targets = {u"TERMSRV/*"};
};

// The parameters buffer, parsed. `options` has unset fields at their defaults; the raw fields
// say what was set (a later buffer changes only what it sets). `subject_public_key` is the
// SubjectPublicKey (taken out of a SubjectPublicKeyInfo if that was given); nullopt when the
// buffer carries none.
struct Params {
	Options options;
	uint32_t min_version = 0;      // MinVersion as given (0: unset)
	uint32_t max_version = 0;      // MaxVersion as given (0: unset)
	uint32_t flags = 0;            // NLASSP_CREDSSP_* as given
	bool targets_given = false;    // DelegateTargetsLength > 0
	std::optional<Bytes> subject_public_key;
};
// Error::InvalidParameter (and one log line) for a malformed buffer.
Error parse_params(ByteView buffer, Params& out);

// The policy a context lives by, for its whole life, re-authentication included: set by its first
// call (that call's parameters buffer, else the defaults it was created with), then only ever
// tightened by later parameters buffers.
class Policy {
public:
	Policy() = default;
	explicit Policy(Options first) : options_(std::move(first)) {}

	// The first call's buffer: Error::InvalidParameter (one log line) if its versions leave
	// nothing (MaxVersion below the default minimum without a MinVersion, say).
	Error set_first(const Params& p);
	// A later buffer: what it sets may only narrow the policy (a higher MinVersion, a lower
	// MaxVersion, NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION, one more target list a target must also
	// match, NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT left out where it was on); what else it
	// leaves unset changes nothing. A buffer asking for less (a lower MinVersion, a
	// higher MaxVersion, NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT where it was off) or leaving
	// no version fails with Error::InvalidParameter and one log line, and changes nothing.
	Error tighten(const Params& p);

	[[nodiscard]] const Options& options() const noexcept { return options_; }
	// Whether credentials may be delegated to `target`: it matches a pattern of the first list
	// and of every list a later buffer added.
	[[nodiscard]] bool delegation_allowed(std::u16string_view target) const;

private:
	Options options_;
	std::vector<std::vector<std::u16string>> more_targets_;
};

// Creates a CREDSSP initiator or acceptor. `inner` creates the Negotiate context for the same
// role (with the credential given, or the USE_SUPPLIED_CREDS identity). `defaults` are the policy
// when the first call brings no parameters buffer.
ContextPtr create_context(Role role, const CredentialPtr& cred, ContextFactory inner, Error& err,
                          Options defaults = {});

// What the acceptor received in TSCredentials. User and domain names are well-formed UTF-16 with
// no NUL (anything else is refused as an invalid token); the password or PIN is opaque UTF-16
// code units, passed on as received. The names are whatever the client put there: an acceptor's
// caller compares them with the authenticated name (SECPKG_ATTR_NAMES) before using them.
struct DelegatedCredentials {
	uint32_t cred_type = 0;
	bool empty = false;             // password credentials, all fields empty
	std::u16string user;            // user name, or the smart card user hint
	std::u16string domain;          // domain, or the smart card domain hint
	SecretBytes password;           // UTF-16LE: the password, or the smart card PIN
	SecretBytes raw;                // the TS*Creds DER as received
};

struct Info {
	uint32_t version = 0;           // negotiated (0 until the peer's is known)
	uint32_t peer_version = 0;
	bool established = false;
	bool delegated = false;
	bool echo_defect_seen = false;     // FreeRDP's v2-4 echo defect, tolerated
	bool echo_defect_refused = false;  // FreeRDP's v2-4 echo defect, refused (strict)
	bool remote_guard = false;         // TSRemoteGuardCreds were sent (initiator) or received (acceptor)
	uint32_t peer_error_code = 0;      // initiator: the server's TSRequest errorCode (NTSTATUS); 0: none
	PackageId mechanism = PackageId::Negotiate;
};

// The decrypted TSCredentials -> DelegatedCredentials; Error::InvalidToken (one log line) for a
// malformed structure, an unknown credType, or a user/domain name (smart card hints included)
// with a NUL or an unpaired surrogate.
Error decode_delegated(ByteView ts_credentials, DelegatedCredentials& out);

// nullopt unless `ctx` is a CREDSSP context.
std::optional<Info> query_info(const SecurityContext& ctx);
// Error::Unsupported unless `ctx` is a CREDSSP acceptor; Error::NotEstablished before the
// TSCredentials arrived.
Error query_delegated_credentials(const SecurityContext& ctx, DelegatedCredentials& out);

// NTSTATUS <-> Error as errorCode carries them.
uint32_t error_to_ntstatus(Error e) noexcept;
Error ntstatus_to_error(uint32_t status) noexcept;
const char* ntstatus_name(uint32_t status) noexcept;

} // namespace nlassp::credssp
