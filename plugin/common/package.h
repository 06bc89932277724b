// The mechanism-neutral interface between the SSPI boundary (plugin/sspi), the negotiator
// (plugin/negotiate) and the mechanisms (plugin/ntlm, plugin/kerberos, plugin/credssp).
// Nothing here knows SecBufferDesc, CredHandle or CtxtHandle: the boundary translates those
// into these types before any package code runs.
#pragma once

#include "common/bytes.h"
#include "common/error.h"
#include "common/secret.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace nlassp {

enum class PackageId : uint8_t { Negotiate, Ntlm, Kerberos, CredSsp };

// The package name as SSPI callers spell it: "Negotiate", "NTLM", "Kerberos", "CREDSSP".
const char* package_name(PackageId id) noexcept;

enum class Role : uint8_t { Initiator, Acceptor };

// Requested / granted context attributes, independent of the ISC_/ASC_ bit values (the boundary
// translates). Packages report in flags() only what is really in force.
namespace ctx {
enum : uint32_t {
	Delegate = 1u << 0,
	MutualAuth = 1u << 1,
	ReplayDetect = 1u << 2,
	SequenceDetect = 1u << 3,
	Confidentiality = 1u << 4,
	Integrity = 1u << 5,
	Connection = 1u << 6,
	Identify = 1u << 7,
	UseSessionKey = 1u << 8,
	ExtendedError = 1u << 9,
	NullSession = 1u << 10,
	Datagram = 1u << 11,
	AllocateMemory = 1u << 12,   // handled by the boundary; packages may ignore it
	ManualCredValidation = 1u << 13,
	UseSuppliedCreds = 1u << 14,
	Stream = 1u << 15,
};
} // namespace ctx
using ContextFlags = uint32_t;

// Channel bindings as the caller supplied them (SEC_CHANNEL_BINDINGS, already validated).
struct ChannelBindings {
	uint32_t initiator_addr_type = 0;
	Bytes initiator_addr;
	uint32_t acceptor_addr_type = 0;
	Bytes acceptor_addr;
	Bytes application_data;

	// The gss_channel_bindings_struct serialization that MS-NLMP (MsvAvChannelBindings) and
	// RFC 4121 hash: each address type and length as 32-bit little endian, then the bytes.
	[[nodiscard]] Bytes serialize() const;
};

// Where an NTLM acceptor finds a user's NT hash (MD4 of the UTF-16LE password).
struct NtlmLookup {
	std::u16string user;
	std::u16string domain;
	ByteView nt_proof;          // NTProofStr of the AUTHENTICATE message (for callbacks)
	ByteView encrypted_random_session_key;
	ByteView mic;
	// For WinPR hash callbacks (SEC_WINPR_NTLM_SETTINGS::hashCallback), filled by the NTLM
	// acceptor when it can: what WinPR passes as `ntproofvalue` (ServerChallenge || the client's
	// NTLMv2 blob, the input of NTProofStr) and `micvalue` (NEGOTIATE || CHALLENGE || AUTHENTICATE
	// with the MIC field zeroed). Empty if not provided.
	ByteView proof_input;
	ByteView mic_input;
};
// The account a store found for an NtlmLookup.
struct NtlmAccount {
	// Who logged on, as the store spells the account: what the server is told
	// (SECPKG_ATTR_NAMES, _AUTH_IDENTITY), never the client's spelling. A SAM file gives its
	// line's user and domain (an empty domain for a line without one); a WinPR hash callback has
	// no way to name the account, so it confirms the (checked) name it was asked about.
	std::u16string user;
	std::u16string domain;
	SecretBytes key;              // 16 bytes, of the store's hash_kind()
	bool refusal_logged = false;  // with Error::LogonDenied: the store logged the one line saying why
};
class NtlmUserStore {
public:
	virtual ~NtlmUserStore() = default;
	// What lookup() puts into NtlmAccount::key: the NT hash (MD4 of the UTF-16LE password), or,
	// for a WinPR hash callback, NTOWFv2 itself (HMAC-MD5(NT hash, UPPER(user) || domain)), which
	// the NTLM acceptor then uses as the NTLMv2 response key as is.
	enum class HashKind : uint8_t { NtHash, NtowfV2 };
	[[nodiscard]] virtual HashKind hash_kind() const noexcept { return HashKind::NtHash; }
	// Error::None with `account` filled (user non-empty, key 16 bytes); Error::LogonDenied for an
	// unknown or refused user; another error if the store itself failed (unreadable file:
	// Error::NoCredentials). The names in `who` were checked by the acceptor: no NUL, no
	// backslash, well-formed UTF-16, user not empty.
	virtual Error lookup(const NtlmLookup& who, NtlmAccount& account) const = 0;
};

struct KerberosSettings {
	std::string kdc_url;        // "https://proxy/KdcProxy" or "tcp://host:88" style, as FreeRDP passes it
	std::string keytab;
	std::string cache;
	std::string armor_cache;
	std::string pkinit_anchors;
	std::string pkinit_identity;
	bool with_pac = false;
	int32_t start_time = 0;
	int32_t renew_life_time = 0;
	int32_t life_time = 0;
};

// An identity as AcquireCredentialsHandle received it. Strings are UTF-16 (SSPI's own form);
// plugin/wire/utf16.h converts.
struct Identity {
	std::u16string user;
	std::u16string domain;
	SecretBytes password;        // UTF-16LE bytes, no terminator
	bool has_password = false;
	std::string package_list;    // "!kerberos,ntlm" from /auth-pkg-list, UTF-8, may be empty
};

enum class CredentialUse : uint8_t { Outbound = 1, Inbound = 2, Both = 3 };

struct Credential {
	PackageId package = PackageId::Negotiate;
	CredentialUse use = CredentialUse::Outbound;
	std::optional<Identity> identity;            // nullopt: default credentials (ccache, keytab)
	std::shared_ptr<const NtlmUserStore> ntlm_users;   // acceptor: SAM file or hash callback
	KerberosSettings kerberos;
	std::string kdc_proxy_server;                // SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, UTF-8
	std::u16string workstation;                  // NTLM workstation name to send (may be empty)

	[[nodiscard]] bool outbound() const noexcept { return static_cast<uint8_t>(use) & 1; }
	[[nodiscard]] bool inbound() const noexcept { return static_cast<uint8_t>(use) & 2; }
};
using CredentialPtr = std::shared_ptr<const Credential>;

// A smartcard logon's credential: a PKINIT identity (kerberosSettings.pkinitX509Identity), or a
// user name starting with "@@" (reserved for Windows' marshalled credentials: FreeRDP on Windows
// names the card's certificate so). Its password is the card's PIN: only Kerberos (PKINIT) may
// use it, and nothing sends, hashes or delegates it as a password. The second form asks about the
// handle `cred` (may be null) used with `identity` (may be null) in place of its own.
[[nodiscard]] bool smartcard_credential(const Credential& cred) noexcept;
[[nodiscard]] bool smartcard_credential(const Credential* cred, const Identity* identity) noexcept;

struct StepInput {
	ByteView token;                         // the peer's token; empty on an initiator's first call
	const ChannelBindings* bindings = nullptr;
	ContextFlags requested = 0;
	std::u16string target;                  // initiator: the SPN, e.g. u"TERMSRV/host"
	// Package parameters from extra input buffers (CREDSSP): the bytes of an
	// NLASSP_SECBUFFER_CREDSSP_PARAMS buffer (include/nlassp/credssp.h), empty if none; and, with
	// ISC_REQ_USE_SUPPLIED_CREDS, the identity parsed from the SECBUFFER_PKG_PARAMS buffer.
	ByteView package_params;
	const Identity* supplied_identity = nullptr;
};

struct StepOutput {
	Bytes token;                            // to send to the peer (may be empty); after a failed
	                                        // step, an error token for the peer if non-empty
	                                        // (ISC/ASC_RET_EXTENDED_ERROR)
	bool complete = false;                  // true: context established (SEC_E_OK)
	bool presents_credentials = false;      // initiator: `token` is the one the acceptor judges the
	                                        // user's credentials by (an NTLM AUTHENTICATE, a
	                                        // Kerberos AP-REQ); a refusal answers this token
	size_t missing = 0;                     // with Error::IncompleteMessage: bytes still needed
	                                        // (SECBUFFER_MISSING); the context is unchanged
};

struct Sizes {
	uint32_t max_token = 0;
	uint32_t max_signature = 0;
	uint32_t block_size = 0;
	uint32_t security_trailer = 0;
};

// One buffer of a message for sign/verify/encrypt/decrypt, in the caller's order.
enum class MessageBufferKind : uint8_t {
	Data,       // signed, and sealed by encrypt/decrypt
	SignOnly,   // signed but not sealed (SECBUFFER_READONLY_WITH_CHECKSUM)
	Padding,    // SECBUFFER_PADDING (Kerberos)
};
struct MessageBuffer {
	MessageBufferKind kind = MessageBufferKind::Data;
	MutableByteView bytes;
};

// What an established context can say about the peer / itself.
struct ContextNames {
	std::u16string user;                    // acceptor: the client's user; initiator: our user
	std::u16string domain;
	std::u16string workstation;             // NTLM: the client's workstation, if known
};

// Remote Credential Guard (MS-CSSP TSRemoteGuardCreds): what a Kerberos initiator hands the
// server instead of a password - the two buffers of a KERB_TICKET_LOGON (LsaLogonUser's Kerberos
// ticket logon). plugin/kerberos/ticket_logon.h encodes it as TSRemoteGuardPackageCred carries it.
struct TicketLogon {
	uint32_t flags = 0;                  // KERB_TICKET_LOGON.Flags (KERB_LOGON_FLAG_REDIRECTED)
	SecretBytes service_ticket;          // DER Ticket ([APPLICATION 1]) for host/<target>
	SecretBytes ticket_granting_ticket;  // DER KRB-CRED ([APPLICATION 22]) holding the forwarded TGT
};

class SecurityContext {
public:
	virtual ~SecurityContext() = default;

	// One round of the handshake. Returns Error::None with out.complete set when established.
	virtual Error step(const StepInput& in, StepOutput& out) = 0;
	[[nodiscard]] virtual bool established() const noexcept = 0;
	[[nodiscard]] virtual ContextFlags flags() const noexcept = 0;
	// The package doing the work: for Negotiate, the mechanism it chose (Negotiate until chosen).
	[[nodiscard]] virtual PackageId package() const noexcept = 0;
	[[nodiscard]] virtual Sizes sizes() const noexcept = 0;

	// Message protection with the context's own per-direction sequence numbers.
	// sign/encrypt write the signature (or header/trailer) into `token`, sized to what was produced.
	virtual Error sign(std::span<const MessageBuffer> msg, Bytes& token);
	virtual Error verify(std::span<const MessageBuffer> msg, ByteView token);
	virtual Error encrypt(std::span<MessageBuffer> msg, Bytes& token);
	// The size of the token encrypt() would produce for `msg` now: sizes().security_trailer unless
	// the package's tokens vary (Kerberos with an RC4-HMAC key in RFC 4757's layout). The SSPI
	// boundary checks the caller's token buffer against it before anything is encrypted.
	[[nodiscard]] virtual uint32_t wrap_token_size(std::span<const MessageBuffer> msg) const noexcept
	{
		(void)msg;
		return sizes().security_trailer;
	}
	// Where the token ends in a received message sent as token + data (CredSSP's sealed fields):
	// sizes().security_trailer unless the package's tokens say their own size.
	[[nodiscard]] virtual size_t received_token_size(ByteView message) const noexcept
	{
		(void)message;
		return sizes().security_trailer;
	}
	virtual Error decrypt(std::span<MessageBuffer> msg, ByteView token);

	virtual Error session_key(SecretBytes& key) const;
	virtual Error names(ContextNames& names) const;
	virtual Error set_workstation(std::u16string name);

	// SPNEGO's mechListMIC, computed/verified by the mechanism (RFC 4178 §5). A mechanism whose
	// own token carried a MIC (NTLM MsvAvFlags 0x2) makes the mechListMIC mandatory.
	[[nodiscard]] virtual bool negotiation_mic_required() const noexcept { return false; }
	virtual Error make_negotiation_mic(ByteView mech_types_der, Bytes& mic);
	virtual Error verify_negotiation_mic(ByteView mech_types_der, ByteView mic);
	// Called once the mechListMICs are done (NTLM restarts the RC4 sealing state of each direction
	// that carried a MIC since the previous call).
	virtual void negotiation_mic_complete() {}

	// Remote Credential Guard: on an established initiator, a KERB_TICKET_LOGON for the target's
	// host (Kerberos, and Negotiate when it chose Kerberos). Error::Unsupported otherwise.
	virtual Error ticket_logon(TicketLogon& out);
};
using ContextPtr = std::unique_ptr<SecurityContext>;

// Creates a context of one package; the SSPI boundary and the negotiator both use this.
using ContextFactory = std::function<ContextPtr(Role role, const CredentialPtr& cred, Error& err)>;

} // namespace nlassp
