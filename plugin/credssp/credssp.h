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
#include <vector>

namespace nlassp::credssp {

struct Options {
	uint32_t min_version = 2;
	uint32_t max_version = 6;
	bool tolerate_freerdp_echo_defect = false;
	bool allow_ntlm_only_delegation = true;
	// SPN patterns credentials may be delegated to ('*' = any run, ASCII case-insensitive).
	std::vector<std::u16string> delegate_targets = {u"TERMSRV/*"};
};

// The parameters buffer, parsed. `key` is the SubjectPublicKey (taken out of a
// SubjectPublicKeyInfo if that was given); nullopt when the buffer carries none.
struct Params {
	Options options;
	std::optional<Bytes> subject_public_key;
};
// Error::InvalidParameter (and one log line) for a malformed buffer.
Error parse_params(ByteView buffer, Params& out);

// Creates a CREDSSP initiator or acceptor. `inner` creates the Negotiate context for the same
// role (with the credential given, or the USE_SUPPLIED_CREDS identity). `defaults` apply until
// a parameters buffer overrides them.
ContextPtr create_context(Role role, const CredentialPtr& cred, ContextFactory inner, Error& err,
                          Options defaults = {});

// What the acceptor received in TSCredentials.
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
	uint32_t peer_error_code = 0;      // initiator: the server's TSRequest errorCode (NTSTATUS); 0: none
	PackageId mechanism = PackageId::Negotiate;
};

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
