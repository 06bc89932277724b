// Remote Credential Guard at the SSPI boundary: QueryContextAttributes(SECPKG_CRED_ATTR_TICKET_LOGON)
// on a client context, as FreeRDP's nla.c asks for it with +remoteGuard (nla_get_KERB_TICKET_LOGON).
#pragma once

#include "common/package.h"

#include <winpr/sspi.h>

namespace nlassp::sspi {

// Fills the caller's KERB_TICKET_LOGON (winpr/secapi.h): MessageType KerbTicketLogon, the
// package's Flags, and ServiceTicket / TicketGrantingTicket allocated with malloc(), because
// FreeRDP releases both with free() (they are not context buffers: FreeContextBuffer must not be
// used on them). Kerberos, and Negotiate when it chose Kerberos, on an established initiator;
// SEC_E_UNSUPPORTED_FUNCTION (one log line) after an NTLM logon or on an acceptor. On any failure
// both pointers are NULL and both lengths 0.
SECURITY_STATUS query_ticket_logon(SecurityContext& ctx, Role role, void* buffer);

} // namespace nlassp::sspi
