// The NTLM SecurityContext: NTLMv2 initiator and acceptor (MS-NLMP 3.1.5, 3.2.5) with
// extended session security, key exchange, MIC and channel bindings, then message protection
// with per-direction sequence numbers and RC4 sealing handles kept in the context.
#pragma once

#include "common/package.h"

#include <cstdint>

namespace nlassp::ntlm {

// How far the client's NTLMv2 timestamp may be from the acceptor's clock.
constexpr int64_t kMaxClockSkewSeconds = 300;
// cbMaxToken as Windows and WinPR report it for NTLM.
constexpr uint32_t kMaxToken = 2888;

// The NegotiateFlags an initiator sends in NEGOTIATE (SEAL is added when confidentiality is
// requested). Matches what WinPR 3.x and Windows send, without the LM/OEM legacy bits.
uint32_t initiator_negotiate_flags(bool confidentiality) noexcept;

} // namespace nlassp::ntlm
