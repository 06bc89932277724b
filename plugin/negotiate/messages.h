// SPNEGO (RFC 4178, MS-SPNG) messages as plain types with strict DER decoders and encoders.
//
//   InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE {
//       thisMech MechType (1.3.6.1.5.5.2), innerContextToken NegotiationToken }
//   NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit, negTokenResp [1] NegTokenResp }
//   NegTokenInit  ::= SEQUENCE { mechTypes [0], reqFlags [1] OPTIONAL, mechToken [2] OPTIONAL,
//                                mechListMIC [3] OPTIONAL, ... }
//   NegTokenInit2 ::= SEQUENCE { mechTypes [0], reqFlags [1] OPTIONAL, mechToken [2] OPTIONAL,
//                                negHints [3] NegHints OPTIONAL, mechListMIC [4] OPTIONAL, ... }
//   NegTokenResp  ::= SEQUENCE { negState [0] ENUMERATED OPTIONAL, supportedMech [1] OPTIONAL,
//                                responseToken [2] OPTIONAL, mechListMIC [3] OPTIONAL, ... }
//
// A NegTokenInit is always carried inside the InitialContextToken, a NegTokenResp never is.
// Decoded values are copies, so a decoded message outlives the input buffer.
#pragma once

#include "common/bytes.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nlassp::negotiate {

// DER contents octets (no tag, no length) of the OIDs SPNEGO deals with.
namespace oid {
ByteView spnego() noexcept;        // 1.3.6.1.5.5.2
ByteView ntlmssp() noexcept;       // 1.3.6.1.4.1.311.2.2.10
ByteView kerberos() noexcept;      // 1.2.840.113554.1.2.2
ByteView ms_kerberos() noexcept;   // 1.2.840.48018.1.2.2 (Windows' historical Kerberos OID)
ByteView kerberos_u2u() noexcept;  // 1.2.840.113554.1.2.2.3 (MS-KILE user-to-user)
ByteView negoex() noexcept;        // 1.3.6.1.4.1.311.2.2.30

[[nodiscard]] bool equal(ByteView a, ByteView b) noexcept;
// Either Kerberos OID (the standard one or Microsoft's); not user-to-user.
[[nodiscard]] bool is_kerberos(ByteView oid) noexcept;
// Structurally valid OID contents: 1..64 octets, minimal sub-identifiers, last one complete.
[[nodiscard]] bool valid(ByteView oid) noexcept;
// Dotted form for log lines ("1.3.6.1.4.1.311.2.2.10"); "<invalid>" if not valid().
std::string to_string(ByteView oid);
// A short human name for log lines: "NTLM", "Kerberos", "Kerberos (MS OID)", "Kerberos U2U",
// "NegoEx", "SPNEGO", or the dotted form.
std::string name(ByteView oid);
} // namespace oid

enum class NegState : uint8_t {
	AcceptCompleted = 0,
	AcceptIncomplete = 1,
	Reject = 2,
	RequestMic = 3,
};
const char* neg_state_name(NegState s) noexcept;

// MS-SPNG NegHints (only in the NegTokenInit2 a Windows acceptor may send first).
struct NegHints {
	std::optional<Bytes> hint_name;     // GeneralString contents
	std::optional<Bytes> hint_address;  // OCTET STRING contents
};

struct SpnegoNegTokenInit {
	std::vector<Bytes> mech_types;        // OID contents octets, initiator's preference order
	// The exact DER of the MechTypeList (SEQUENCE header included): the mechListMIC input.
	// Set by decode; on encode, used verbatim when non-empty, else built from mech_types.
	Bytes mech_types_der;
	std::optional<Bytes> req_flags;       // BIT STRING contents (unused-bits octet first)
	std::optional<Bytes> mech_token;
	std::optional<NegHints> neg_hints;    // present: this is the NegTokenInit2 form
	std::optional<Bytes> mech_list_mic;   // [3] in NegTokenInit, [4] in NegTokenInit2
};

struct SpnegoNegTokenResp {
	std::optional<NegState> neg_state;
	std::optional<Bytes> supported_mech;  // OID contents octets
	std::optional<Bytes> response_token;
	std::optional<Bytes> mech_list_mic;
};

struct NegotiationToken {
	enum class Kind : uint8_t { Init, Resp } kind = Kind::Resp;
	SpnegoNegTokenInit init;   // valid when kind == Init
	SpnegoNegTokenResp resp;   // valid when kind == Resp
};

// Upper bounds applied by the decoders (a real token is far below them).
inline constexpr size_t kMaxMechTypes = 32;
inline constexpr size_t kMaxOidLength = 64;

// Decodes a whole token: an InitialContextToken holding a NegTokenInit(2), or a bare
// NegTokenResp. Fails on anything else, on any DER violation and on trailing bytes.
[[nodiscard]] bool decode_negotiation_token(ByteView in, NegotiationToken& out);

// The DER MechTypeList (SEQUENCE OF OBJECT IDENTIFIER) for these OIDs; false if one is invalid.
[[nodiscard]] bool encode_mech_type_list(const std::vector<Bytes>& oids, Bytes& out);
// The InitialContextToken { SPNEGO OID, [0] NegTokenInit(2) }.
[[nodiscard]] bool encode_neg_token_init(const SpnegoNegTokenInit& init, Bytes& out);
// The bare [1] NegTokenResp.
[[nodiscard]] bool encode_neg_token_resp(const SpnegoNegTokenResp& resp, Bytes& out);

// True when the bytes start with the NTLMSSP signature "NTLMSSP\0" (a raw NTLM message).
[[nodiscard]] bool is_raw_ntlmssp(ByteView in) noexcept;

// For an InitialContextToken (tag 0x60) whose thisMech is not SPNEGO, e.g. a raw Kerberos
// AP-REQ: gives the mechanism OID. False if the bytes are not such a token.
[[nodiscard]] bool peek_initial_context_mech(ByteView in, Bytes& mech_oid);

} // namespace nlassp::negotiate
