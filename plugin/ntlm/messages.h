// NTLM wire messages (MS-NLMP 2.2): NEGOTIATE, CHALLENGE, AUTHENTICATE, the AV_PAIR list, VERSION
// and the NTLMv2 response. Plain structs; decode() parses untrusted bytes only through
// wire::Reader (security buffers through Reader::field), encode() builds through wire::Writer.
#pragma once

#include "common/bytes.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace nlassp::ntlm {

// NegotiateFlags (MS-NLMP 2.2.2.5).
namespace flag {
constexpr uint32_t Unicode = 0x00000001;
constexpr uint32_t Oem = 0x00000002;
constexpr uint32_t RequestTarget = 0x00000004;
constexpr uint32_t Sign = 0x00000010;
constexpr uint32_t Seal = 0x00000020;
constexpr uint32_t Datagram = 0x00000040;
constexpr uint32_t LmKey = 0x00000080;
constexpr uint32_t Ntlm = 0x00000200;
constexpr uint32_t Anonymous = 0x00000800;
constexpr uint32_t DomainSupplied = 0x00001000;
constexpr uint32_t WorkstationSupplied = 0x00002000;
constexpr uint32_t AlwaysSign = 0x00008000;
constexpr uint32_t TargetTypeDomain = 0x00010000;
constexpr uint32_t TargetTypeServer = 0x00020000;
constexpr uint32_t ExtendedSessionSecurity = 0x00080000;
constexpr uint32_t Identify = 0x00100000;
constexpr uint32_t RequestNonNtSessionKey = 0x00400000;
constexpr uint32_t TargetInfo = 0x00800000;
constexpr uint32_t Version = 0x02000000;
constexpr uint32_t Negotiate128 = 0x20000000;
constexpr uint32_t KeyExch = 0x40000000;
constexpr uint32_t Negotiate56 = 0x80000000;
} // namespace flag

enum class MessageType : uint32_t { Negotiate = 1, Challenge = 2, Authenticate = 3 };

// AV_PAIR ids (MS-NLMP 2.2.2.1).
enum class AvId : uint16_t {
	Eol = 0,
	NbComputerName = 1,
	NbDomainName = 2,
	DnsComputerName = 3,
	DnsDomainName = 4,
	DnsTreeName = 5,
	Flags = 6,
	Timestamp = 7,
	SingleHost = 8,
	TargetName = 9,
	ChannelBindings = 10,
};

// MsvAvFlags bits.
constexpr uint32_t kAvFlagConstrained = 0x1;
constexpr uint32_t kAvFlagMicPresent = 0x2;
constexpr uint32_t kAvFlagUntrustedSpn = 0x4;

struct AvPair {
	AvId id = AvId::Eol;
	Bytes value;
};

// An AV_PAIR list without its MsvAvEOL terminator (encode() adds it).
struct AvPairList {
	std::vector<AvPair> pairs;

	// Parses pairs up to and including MsvAvEOL (which must be there, with length 0). Bytes after
	// the EOL are ignored (NTLMv2 clients pad the list). Fails on a truncated pair or a fixed-size
	// pair (Flags, Timestamp, ChannelBindings) of the wrong length.
	[[nodiscard]] bool decode(ByteView data);
	// The pairs followed by MsvAvEOL; empty on overflow (a value longer than 65535 bytes).
	[[nodiscard]] Bytes encode() const;

	[[nodiscard]] const AvPair* find(AvId id) const noexcept;
	// Replaces the first pair with this id, or appends one.
	void set(AvId id, ByteView value);
	void remove(AvId id);

	// Typed accessors: false when absent.
	[[nodiscard]] bool flags(uint32_t& out) const noexcept;
	[[nodiscard]] bool timestamp(uint64_t& out) const noexcept;
};

// VERSION (MS-NLMP 2.2.2.10).
struct Version {
	uint8_t major = 10;
	uint8_t minor = 0;
	uint16_t build = 20348;
	uint8_t ntlm_revision = 0x0f;   // NTLMSSP_REVISION_W2K3

	bool operator==(const Version&) const = default;
};

// NEGOTIATE_MESSAGE (2.2.1.1). Domain and workstation are OEM strings, as sent.
struct NegotiateMessage {
	uint32_t flags = 0;
	Bytes domain;
	Bytes workstation;
	std::optional<Version> version;   // written/read when flags has Version

	[[nodiscard]] bool decode(ByteView data);
	[[nodiscard]] Bytes encode() const;
};

// CHALLENGE_MESSAGE (2.2.1.2). target_name is UTF-16LE when flags has Unicode.
struct ChallengeMessage {
	uint32_t flags = 0;
	Bytes target_name;
	std::array<uint8_t, 8> server_challenge{};
	std::array<uint8_t, 8> reserved{};
	Bytes target_info_raw;           // the AV_PAIR bytes as carried (decode) — see target_info
	AvPairList target_info;          // decoded (decode) / to encode (encode)
	std::optional<Version> version;

	// Payload: TargetName then TargetInfo, directly after the fixed part (as Windows/WinPR do,
	// which matters because WinPR's MIC covers exactly that length).
	[[nodiscard]] bool decode(ByteView data);
	[[nodiscard]] Bytes encode() const;
};

// NTLMv2_RESPONSE (2.2.2.8) with its NTLMv2_CLIENT_CHALLENGE (2.2.2.7).
struct Ntlmv2Response {
	std::array<uint8_t, 16> nt_proof{};
	uint8_t resp_type = 1;
	uint8_t hi_resp_type = 1;
	uint64_t timestamp = 0;          // FILETIME
	std::array<uint8_t, 8> client_challenge{};
	AvPairList av_pairs;             // the client's temp = nt_response[16..] (what NTProofStr covers)

	static constexpr size_t kMinSize = 16 + 28 + 4;   // proof, fixed blob, MsvAvEOL
	[[nodiscard]] bool decode(ByteView nt_response);
};

// AUTHENTICATE_MESSAGE (2.2.1.3). Strings are UTF-16LE when Unicode was negotiated.
struct AuthenticateMessage {
	uint32_t flags = 0;
	Bytes lm_response;
	Bytes nt_response;
	Bytes domain;
	Bytes user;
	Bytes workstation;
	Bytes encrypted_random_session_key;
	std::optional<Version> version;
	bool has_mic = false;
	std::array<uint8_t, 16> mic{};

	// decode(): the NTLMv2 response when nt_response is longer than 24 bytes (an NTLMv1 response
	// has exactly 24). has_mic follows its MsvAvFlags bit 0x2.
	std::optional<Ntlmv2Response> ntlmv2;
	// decode(): the whole message as received; encode(): as produced. The MIC covers it with the
	// MIC field zeroed (see mic_offset()).
	Bytes raw;

	// Offset of the MIC field: right after the fixed part and VERSION.
	[[nodiscard]] size_t mic_offset() const noexcept { return version ? 72 : 64; }

	// Fails on anything malformed, including an NtChallengeResponse that is neither empty, nor
	// 24 bytes, nor a well-formed NTLMv2 response, and a MIC flag with no room for the MIC.
	[[nodiscard]] bool decode(ByteView data);
	// Payload order: domain, user, workstation, LM, NT, session key (as Windows sends it).
	// Returns the bytes and also stores them in raw.
	[[nodiscard]] Bytes encode();
};

// The message type of an NTLMSSP message; false if it does not start with the signature.
[[nodiscard]] bool peek_message_type(ByteView data, uint32_t& type);

} // namespace nlassp::ntlm
