#include "sspi/ticket_logon.h"

#include "common/log.h"
#include "sspi/status.h"

#include <winpr/secapi.h>

#include <cstdlib>
#include <cstring>

namespace nlassp::sspi {

namespace {

const log::Logger logger("com.nlassp.sspi");

// A malloc'd copy (FreeRDP free()s it); nullptr for an empty buffer or on failure.
PUCHAR malloc_copy(const SecretBytes& b, bool& ok)
{
	if (b.empty())
		return nullptr;
	auto* p = static_cast<PUCHAR>(std::malloc(b.size()));
	if (!p) {
		ok = false;
		return nullptr;
	}
	std::memcpy(p, b.data(), b.size());
	return p;
}

} // namespace

SECURITY_STATUS query_ticket_logon(SecurityContext& ctx, Role role, void* buffer)
{
	auto* out = static_cast<KERB_TICKET_LOGON*>(buffer);
	out->ServiceTicket = nullptr;
	out->TicketGrantingTicket = nullptr;
	out->ServiceTicketLength = 0;
	out->TicketGrantingTicketLength = 0;
	if (role != Role::Initiator) {
		NLASSP_LOG(logger, Warn, "SECPKG_CRED_ATTR_TICKET_LOGON: only a client context makes a ticket logon");
		return SEC_E_UNSUPPORTED_FUNCTION;
	}
	if (ctx.package() == PackageId::CredSsp) {
		NLASSP_LOG(logger, Warn,
		           "SECPKG_CRED_ATTR_TICKET_LOGON on a CREDSSP context: the CREDSSP package sends Remote Credential "
		           "Guard credentials itself (NLASSP_CREDSSP_REMOTE_GUARD in its parameters); ask a Kerberos or "
		           "Negotiate context for the ticket logon");
		return SEC_E_UNSUPPORTED_FUNCTION;
	}
	if (!ctx.established()) {
		NLASSP_LOG(logger, Warn,
		           "SECPKG_CRED_ATTR_TICKET_LOGON before the context is established: ask for the ticket logon once "
		           "InitializeSecurityContext has returned SEC_E_OK");
		return to_status(Error::NotEstablished);
	}
	if (ctx.package() == PackageId::Ntlm) {
		NLASSP_LOG(logger, Error,
		           "Remote Credential Guard needs Kerberos, but this logon used NTLM: connect by the host name the "
		           "realm knows, with a Kerberos ticket (kinit -f) or '/auth-pkg-list:!ntlm'");
		return SEC_E_UNSUPPORTED_FUNCTION;
	}
	TicketLogon t;
	if (const Error e = ctx.ticket_logon(t); e != Error::None)
		return to_status(e);
	bool ok = true;
	PUCHAR st = malloc_copy(t.service_ticket, ok);
	PUCHAR tgt = malloc_copy(t.ticket_granting_ticket, ok);
	if (!ok) {
		if (st)
			secure_wipe(st, t.service_ticket.size());
		std::free(st);
		if (tgt)
			secure_wipe(tgt, t.ticket_granting_ticket.size());
		std::free(tgt);
		return SEC_E_INSUFFICIENT_MEMORY;
	}
	out->MessageType = KerbTicketLogon;
	out->Flags = t.flags;
	out->ServiceTicketLength = static_cast<ULONG>(t.service_ticket.size());
	out->TicketGrantingTicketLength = static_cast<ULONG>(t.ticket_granting_ticket.size());
	out->ServiceTicket = st;
	out->TicketGrantingTicket = tgt;
	return SEC_E_OK;
}

} // namespace nlassp::sspi
