// The acceptor's subkey in a KRB_AP_REP (RFC 4120 5.5.2), read by us in the one case MIT's GSSAPI
// drops it: WinPR's Kerberos acceptor always puts a subkey into its AP-REP and seals with it; when
// that subkey has the enctype of our own authenticator subkey (RC4, for a client limited to RC4),
// MIT's initiator keeps its own key (RFC 1964 contexts), and the two ends seal with different keys.
//
// Untrusted bytes (fuzz_kerberos_ap_rep): the acceptor's GSS token, and the decrypted enc-part.
#pragma once

#include "common/bytes.h"

#include <cstdint>

namespace nlassp::kerberos::ap_rep {

// The enc-part of the AP-REP in an acceptor's GSS token:
// 60 <len> 06 09 <krb5 OID> 02 00 [APPLICATION 15] SEQUENCE { pvno 5, msg-type 15, enc-part }.
struct EncPart {
	int32_t etype = 0;
	ByteView cipher;   // points into the token
};
// False unless the whole token is exactly that (strict DER).
[[nodiscard]] bool read_token(ByteView token, EncPart& out) noexcept;

// The subkey of a decrypted EncAPRepPart ([APPLICATION 27] SEQUENCE { ctime, cusec, subkey
// [2] OPTIONAL, seq-number [3] OPTIONAL }); present=false when it has none.
struct Subkey {
	bool present = false;
	int32_t keytype = 0;
	ByteView value;    // points into the plaintext
};
// False unless the plaintext is an EncAPRepPart (strict DER; trailing bytes refused).
[[nodiscard]] bool read_enc_part(ByteView plain, Subkey& out) noexcept;

} // namespace nlassp::kerberos::ap_rep
