// Message protection on a context whose per-message key is RC4-HMAC (the KDC chose an RC4
// session key and no AES subkey was negotiated). MIT's GSSAPI then speaks RFC 1964/4757 tokens
// with a one-byte pad that SSPI callers have no buffer for, and nothing else; the peers a FreeRDP
// module meets use one of two layouts, both in SSPI's two-buffer form (token, then data):
//
//   Rfc4121Layout — what WinPR's Kerberos (FreeRDP's built-in client and server) produces for
//     every key type: the RFC 4121 wrap token (05 04, rotated E(header) in the token buffer) and
//     MIC token (04 04) with the RC4 key doing RFC 3961's encrypt/checksum (krb5_c_*_iov, key
//     usages 22..25). 56-byte wrap tokens, 32-byte MICs.
//   Rfc4757 — RFC 4757 tokens (02 01 / 01 01 behind the RFC 2743 framing), as Windows' SSPI uses
//     them: unwrapped by MIT (gss_unwrap_iov takes the unpadded form), built by kerberos/rfc4757.
//
// Received tokens say which layout the peer uses (framing or not); what we send follows the
// peer's last token. Before any, both roles speak WinPR's layout: its wrap tokens are always 56
// bytes, which is what FreeRDP's CredSSP code (credssp_auth.c, 3.10 and 3.15) can carry - it
// cuts every received message at cbSecurityTrailer and hands EncryptMessage a token buffer of
// the size the last token had. RFC 4757's header is 45 to 49 bytes, depending on the data's
// length (the RFC 2743 framing's DER length counts the data; DER allows no padding), so through
// FreeRDP it can neither be received (the cut falls inside the data) nor reliably sent (a longer
// message needs a longer header than the buffer FreeRDP shrank to the first token). We send it
// only after the peer did, and only when the caller's token buffer fits it (token_size); a
// received RFC 4757 token cut at the wrong place is named as such. A caller that sizes tokens per
// message may set NLASSP_KERBEROS_RC4_LAYOUT=rfc4757 to have the initiator start in RFC 4757's
// layout, as a Windows server that kept RC4 expects.
//
// Sequence numbers: our own counters, starting where MIT's context stands at establishment
// (its lucid export), checked as MIT checks them: only with sequence or replay detection on.
#pragma once

#include "common/package.h"
#include "common/secret.h"
#include "kerberos/gss.h"

#include <memory>

namespace nlassp::kerberos::detail {

// The 16-byte header of an RFC 4121 wrap (05 04) or MIC (04 04) token, as read from a peer.
struct Rfc4121Header {
	uint16_t tok = 0;
	uint8_t flags = 0;
	uint8_t filler[5] = {};   // a MIC's ff x5; a wrap token's ff, EC (2), RRC (2)
	uint16_t ec = 0, rrc = 0;
	uint64_t seq = 0;
};
// False if fewer than 16 bytes; reads only the header (untrusted bytes: fuzz_kerberos_rc4_token).
[[nodiscard]] bool read_rfc4121_header(ByteView token, Rfc4121Header& h) noexcept;

class Rc4Protection {
public:
	enum class Layout : uint8_t { Rfc4121Layout, Rfc4757 };

	// For an established context: out = nullptr (and Error::None) unless its per-message key is
	// RC4-HMAC; then the state to protect messages with it.
	static Error create(gss_ctx_id_t ctx, OM_uint32 ret_flags, std::unique_ptr<Rc4Protection>& out);

	Error encrypt(krb5_context k, std::span<MessageBuffer> msg, Bytes& token);
	Error decrypt(krb5_context k, gss_ctx_id_t ctx, std::span<MessageBuffer> msg, ByteView token);
	Error sign(krb5_context k, std::span<const MessageBuffer> msg, Bytes& token);
	Error verify(krb5_context k, gss_ctx_id_t ctx, std::span<const MessageBuffer> msg, ByteView token);

	// The largest token encrypt/sign produce (the bigger of the two layouts).
	[[nodiscard]] static uint32_t max_trailer() noexcept;
	// The size of the wrap token encrypt() would produce for `msg` now (the current layout).
	[[nodiscard]] uint32_t token_size(std::span<const MessageBuffer> msg) const noexcept;
	// The acceptor's RC4 subkey from its AP-REP (initiator only): used for every message from now on
	// if it differs from the context key. True if adopted.
	bool adopt_acceptor_subkey(ByteView key);
	// Where the token ends in a received token + data: an RFC 4757 token's framing says; else 56.
	[[nodiscard]] static size_t received_token_size(ByteView message) noexcept;
	[[nodiscard]] static uint32_t max_signature() noexcept;
	[[nodiscard]] Layout layout() const noexcept { return send_layout_; }

private:
	Rc4Protection() = default;
	krb5_keyblock keyblock() const noexcept;
	Error check_sequence(uint64_t seq);
	Error wrap_4121(krb5_context k, std::span<MessageBuffer> msg, Bytes& token);
	Error unwrap_4121(krb5_context k, std::span<MessageBuffer> msg, ByteView token);
	Error mic_4121(krb5_context k, std::span<const MessageBuffer> msg, Bytes& token);
	Error verify_mic_4121(krb5_context k, std::span<const MessageBuffer> msg, ByteView token);

	bool initiator_ = false;
	bool check_order_ = false;      // sequence or replay detection negotiated
	krb5_enctype enctype_ = 0;
	SecretBytes key_;
	uint64_t send_seq_ = 0;
	uint64_t recv_seq_ = 0;
	Layout send_layout_ = Layout::Rfc4121Layout;
};

} // namespace nlassp::kerberos::detail
