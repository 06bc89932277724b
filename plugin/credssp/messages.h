// MS-CSSP 2.2.1 messages as plain types with strict DER decoders and encoders.
//
//   TSRequest ::= SEQUENCE {
//       version [0] INTEGER, negoTokens [1] NegoData OPTIONAL, authInfo [2] OCTET STRING OPTIONAL,
//       pubKeyAuth [3] OCTET STRING OPTIONAL, errorCode [4] INTEGER OPTIONAL,
//       clientNonce [5] OCTET STRING OPTIONAL }
//   NegoData ::= SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }
//   TSCredentials ::= SEQUENCE { credType [0] INTEGER, credentials [1] OCTET STRING }
//   TSPasswordCreds ::= SEQUENCE { domainName [0] OCTET STRING, userName [1] OCTET STRING,
//                                  password [2] OCTET STRING }
//   TSSmartCardCreds ::= SEQUENCE { pin [0] OCTET STRING, cspData [1] TSCspDataDetail,
//                                   userHint [2] OCTET STRING OPTIONAL,
//                                   domainHint [3] OCTET STRING OPTIONAL }
//   TSCspDataDetail ::= SEQUENCE { keySpec [0] INTEGER, cardName [1] OCTET STRING OPTIONAL,
//                                  readerName [2] .. OPTIONAL, containerName [3] .. OPTIONAL,
//                                  cspName [4] .. OPTIONAL }
//   TSRemoteGuardCreds ::= SEQUENCE { logonCred [0] TSRemoteGuardPackageCred,
//                                     supplementalCreds [1] SEQUENCE OF TSRemoteGuardPackageCred OPTIONAL }
//   TSRemoteGuardPackageCred ::= SEQUENCE { packageName [0] OCTET STRING, credBuffer [1] OCTET STRING }
//
// INTEGERs that carry 32-bit values (version, errorCode) are written as FreeRDP and Windows write
// them: an NTSTATUS >= 0x80000000 as 4-byte two's complement (0xC000006D is 02 04 c0 00 00 6d);
// both that and the 5-byte unsigned form are read. Decoded values are copies, so a decoded message
// outlives its input. Anything holding a password lives in SecretBytes.
#pragma once

#include "common/bytes.h"
#include "common/secret.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace nlassp::credssp {

inline constexpr uint32_t kMinVersion = 2;
inline constexpr uint32_t kMaxVersion = 6;
// The largest TSRequest we accept or wait for (a Kerberos AP-REQ with a large PAC, wrapped twice,
// stays far below this); a longer length field is an invalid token, not a reason to wait.
inline constexpr size_t kMaxTsRequestSize = 256 * 1024;
inline constexpr size_t kNonceSize = 32;

struct TsRequest {
	uint32_t version = kMaxVersion;
	std::vector<Bytes> nego_tokens;        // NegoData; absent when empty (never encoded as empty)
	std::optional<Bytes> auth_info;
	std::optional<Bytes> pub_key_auth;
	std::optional<uint32_t> error_code;    // an NTSTATUS
	std::optional<Bytes> client_nonce;
};

[[nodiscard]] bool decode_ts_request(ByteView der, TsRequest& out);
[[nodiscard]] bool encode_ts_request(const TsRequest& req, Bytes& out);

// Framing of a TSRequest arriving in pieces (SEC_E_INCOMPLETE_MESSAGE + SECBUFFER_MISSING).
struct TsRequestFrame {
	enum class State : uint8_t {
		Complete,    // `length` bytes at the front are one whole DER element (maybe more follows)
		Incomplete,  // `missing` more bytes are needed: exact once the length octets are in,
		             // else the bytes still needed to read the length octets
		Invalid,     // not the start of a TSRequest (wrong tag, bad or oversized length)
	};
	State state = State::Invalid;
	size_t length = 0;
	size_t missing = 0;
};
[[nodiscard]] TsRequestFrame frame_ts_request(ByteView stream) noexcept;

enum class CredType : uint32_t { Password = 1, SmartCard = 2, RemoteGuard = 6 };

struct TsCredentials {
	uint32_t cred_type = 0;
	SecretBytes credentials;               // the DER of the TS*Creds structure
};
[[nodiscard]] bool decode_ts_credentials(ByteView der, TsCredentials& out);
[[nodiscard]] bool encode_ts_credentials(const TsCredentials& creds, SecretBytes& out);

// UTF-16LE, no terminators; all three empty = restricted-admin style logon (nothing delegated).
struct TsPasswordCreds {
	Bytes domain;
	Bytes user;
	SecretBytes password;
};
[[nodiscard]] bool decode_ts_password_creds(ByteView der, TsPasswordCreds& out);
[[nodiscard]] bool encode_ts_password_creds(const TsPasswordCreds& creds, SecretBytes& out);

struct TsCspDataDetail {
	int64_t key_spec = 0;
	std::optional<Bytes> card_name, reader_name, container_name, csp_name;
};
struct TsSmartCardCreds {
	SecretBytes pin;
	TsCspDataDetail csp_data;
	std::optional<Bytes> user_hint, domain_hint;
};
[[nodiscard]] bool decode_ts_smart_card_creds(ByteView der, TsSmartCardCreds& out);

struct TsRemoteGuardPackageCred {
	Bytes package_name;
	SecretBytes cred_buffer;
};
struct TsRemoteGuardCreds {
	TsRemoteGuardPackageCred logon_cred;
	std::vector<TsRemoteGuardPackageCred> supplemental_creds;
	bool has_supplemental = false;         // the optional SEQUENCE OF was present (maybe empty)
};
[[nodiscard]] bool decode_ts_remote_guard_creds(ByteView der, TsRemoteGuardCreds& out);
// supplementalCreds is written when has_supplemental or the list is non-empty (MS-CSSP makes it
// OPTIONAL; none means absent: FreeRDP's 3.10/3.15 clients send an empty SEQUENCE OF instead).
[[nodiscard]] bool encode_ts_remote_guard_creds(const TsRemoteGuardCreds& creds, SecretBytes& out);

} // namespace nlassp::credssp
