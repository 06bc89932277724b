// RFC 4757 (RC4-HMAC) GSS-API per-message tokens as Windows' SSPI produces them: the wrap token
// (TOK_ID 02 01, SGN_ALG 11 00 HMAC, SEAL_ALG 10 00 RC4) and the MIC token (TOK_ID 01 01), each
// behind the RFC 2743 framing (60 len 06 09 <krb5 OID>) whose length, for a wrap token, counts the
// data that follows in its own buffer. The data is sealed in place and not padded (MIT's
// gss_wrap_iov insists on a one-byte pad that SSPI callers have no buffer for; MIT's
// gss_unwrap_iov accepts the unpadded form, which is how WinRM's tokens look).
//
// Pure functions over the context key (16 bytes), the sequence number and the direction; the
// confounder is an input so that the tokens can be checked against MIT's gss_unwrap_iov and
// gss_verify_mic_iov (tests/kerberos/test_kerberos_rc4.cpp). RC4 needs OpenSSL's legacy provider
// (crypto::legacy_available()).
//
// The direction bytes follow MIT and Windows (RFC 1964's convention): 00 00 00 00 from the
// initiator, ff ff ff ff from the acceptor (draft-jaganathan-rc4-hmac had them swapped).
#pragma once

#include "common/bytes.h"
#include "common/error.h"
#include "common/package.h"

#include <cstdint>
#include <span>

namespace nlassp::kerberos::rfc4757 {

constexpr size_t kKeySize = 16;
constexpr size_t kConfounderSize = 8;
constexpr size_t kWrapBodySize = 32;    // TOK_ID .. Confounder
constexpr size_t kMicBodySize = 24;     // TOK_ID .. SGN_CKSUM

// The framing plus the 32-byte wrap body, for `data_size` bytes of sealed data after it.
[[nodiscard]] size_t wrap_header_size(size_t data_size) noexcept;
// The whole MIC token (37 bytes).
[[nodiscard]] size_t mic_size() noexcept;

// Seals the Data buffers of `msg` in place (SignOnly buffers are signed, not sealed; Padding
// buffers are ignored) and writes the wrap token header into `token`.
[[nodiscard]] Error wrap(ByteView key, uint32_t seq, bool sender_is_acceptor, ByteView confounder,
                         std::span<MessageBuffer> msg, Bytes& token);

// The MIC token over the Data and SignOnly buffers of `msg`.
[[nodiscard]] Error mic(ByteView key, uint32_t seq, bool sender_is_acceptor, std::span<const MessageBuffer> msg,
                        Bytes& token);

// The size of the wrap token header at the start of `token` as its own framing states it: the
// framing, the OID and the 32-byte body, for the data the framing's length says follows. 0 when
// the framing is not a wrap token's (untrusted bytes: fuzz_kerberos_rc4_token). `data_size` gets
// the number of sealed bytes the framing announces.
[[nodiscard]] size_t framed_header_size(ByteView token, size_t& data_size) noexcept;

// True when `token` starts with the RFC 2743 framing around the krb5 mechanism OID: a token of
// this format rather than an RFC 4121 one (which has no framing).
[[nodiscard]] bool is_framed(ByteView token) noexcept;

} // namespace nlassp::kerberos::rfc4757
