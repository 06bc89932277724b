// Remote Credential Guard's logon credential: the KERB_TICKET_LOGON that MS-CSSP's
// TSRemoteGuardPackageCred for the "Kerberos" package carries instead of a password.
//
// Wire form (the 64-bit self-relative layout FreeRDP's nla.c writes and reads, and WinPR's and
// Windows' clients send), all integers little endian:
//    0  MessageType                  u32  10 (KerbTicketLogon)
//    4  Flags                        u32  0x2 (KERB_LOGON_FLAG_REDIRECTED) from Kerberos initiators
//    8  ServiceTicketLength          u32
//   12  TicketGrantingTicketLength   u32  (0: no TGT)
//   16  ServiceTicket offset         u64  0x20
//   24  TicketGrantingTicket offset  u64  0x20 + ServiceTicketLength
//   32  ServiceTicket                DER Ticket ([APPLICATION 1]) for host/<server>
//   ..  TicketGrantingTicket         DER KRB-CRED ([APPLICATION 22]) holding the forwarded TGT
//
// How the Kerberos package makes one is KerberosContext::ticket_logon (remote_guard.cpp).
#pragma once

#include "common/package.h"

#include <string>
#include <string_view>

namespace nlassp::kerberos {

inline constexpr uint32_t kKerbTicketLogon = 10;            // KERB_LOGON_SUBMIT_TYPE KerbTicketLogon
inline constexpr uint32_t kLogonFlagAllowExpiredTicket = 0x1; // KERB_LOGON_FLAG_ALLOW_EXPIRED_TICKET
inline constexpr uint32_t kLogonFlagRedirected = 0x2;       // KERB_LOGON_FLAG_REDIRECTED
inline constexpr size_t kTicketLogonHeaderSize = 32;
// The largest ticket or KRB-CRED accepted or produced (a ticket with a large PAC stays far below).
inline constexpr size_t kMaxTicketLogonBuffer = 96 * 1024;

// Encodes `in` (a service ticket and, unless empty, a KRB-CRED) in the wire form above. false if
// the service ticket is empty or either buffer is not one DER element of its tag or too large.
[[nodiscard]] bool encode_ticket_logon(const TicketLogon& in, SecretBytes& out);

// Decodes the wire form strictly: MessageType 10, the self-relative offsets above, the lengths
// covering the input exactly, a non-empty service ticket that is one DER [APPLICATION 1]
// element, and a TGT that is empty or one DER [APPLICATION 22] element. Error::InvalidToken
// otherwise (nothing written to `out`).
Error decode_ticket_logon(ByteView in, TicketLogon& out);

// The host a service principal name names: "TERMSRV/host", "TERMSRV/host:port",
// "TERMSRV/host@REALM", "TERMSRV@host" give "host". false if there is none.
[[nodiscard]] bool target_host(std::string_view spn, std::string& host);

} // namespace nlassp::kerberos
