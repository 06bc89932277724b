// The KERB_TICKET_LOGON wire form (ticket_logon.h) and the host of a target name.
#include "kerberos/ticket_logon.h"

#include "kerberos/context.h"
#include "wire/der.h"
#include "wire/reader.h"
#include "wire/writer.h"

namespace nlassp::kerberos {

namespace {

constexpr uint32_t kTicketTag = wire::der::tag::application(1);    // Ticket
constexpr uint32_t kKrbCredTag = wire::der::tag::application(22);  // KRB-CRED

// One DER element of `tag` and nothing after it.
bool single_element(ByteView der, uint32_t tag)
{
	wire::Reader r(der);
	wire::Reader contents;
	return wire::der::read(r, tag, contents) && r.empty();
}

bool valid_buffers(ByteView ticket, ByteView krb_cred)
{
	if (ticket.empty() || ticket.size() > kMaxTicketLogonBuffer || krb_cred.size() > kMaxTicketLogonBuffer)
		return false;
	return single_element(ticket, kTicketTag) && (krb_cred.empty() || single_element(krb_cred, kKrbCredTag));
}

} // namespace

bool encode_ticket_logon(const TicketLogon& in, SecretBytes& out)
{
	const ByteView ticket = in.service_ticket.view();
	const ByteView tgt = in.ticket_granting_ticket.view();
	if (!valid_buffers(ticket, tgt))
		return false;
	try {
		SecretBytes s(kTicketLogonHeaderSize + ticket.size() + tgt.size());
		wire::Writer w(s.span());
		w.u32le(kKerbTicketLogon);
		w.u32le(in.flags);
		w.u32le(static_cast<uint32_t>(ticket.size()));
		w.u32le(static_cast<uint32_t>(tgt.size()));
		w.u64le(kTicketLogonHeaderSize);
		w.u64le(kTicketLogonHeaderSize + ticket.size());
		w.bytes(ticket);
		w.bytes(tgt);
		if (!w.ok() || w.size() != s.size())
			return false;
		out = std::move(s);
	} catch (const std::bad_alloc&) {
		return false;
	}
	return true;
}

Error decode_ticket_logon(ByteView in, TicketLogon& out)
{
	wire::Reader r(in);
	uint32_t type = 0, flags = 0, ticket_len = 0, tgt_len = 0;
	uint64_t ticket_at = 0, tgt_at = 0;
	if (!r.u32le(type) || !r.u32le(flags) || !r.u32le(ticket_len) || !r.u32le(tgt_len) || !r.u64le(ticket_at) ||
	    !r.u64le(tgt_at))
		return Error::InvalidToken;
	if (type != kKerbTicketLogon || ticket_at != kTicketLogonHeaderSize ||
	    tgt_at != kTicketLogonHeaderSize + static_cast<uint64_t>(ticket_len))
		return Error::InvalidToken;
	ByteView ticket, tgt;
	if (!r.bytes(ticket_len, ticket) || !r.bytes(tgt_len, tgt) || !r.empty() || !valid_buffers(ticket, tgt))
		return Error::InvalidToken;
	try {
		TicketLogon t;
		t.flags = flags;
		t.service_ticket = SecretBytes(ticket);
		t.ticket_granting_ticket = SecretBytes(tgt);
		out = std::move(t);
	} catch (const std::bad_alloc&) {
		return Error::InsufficientMemory;
	}
	return Error::None;
}

bool target_host(std::string_view spn, std::string& host)
{
	TargetName t;
	if (!target_name(spn, t))
		return false;
	std::string_view h;
	if (t.hostbased) {
		h = std::string_view(t.name).substr(t.name.find('@') + 1);
	} else if (const auto slash = spn.find('/'); slash != std::string_view::npos) {
		// "service/host@REALM" (or "service/host/extra@REALM"): the second component.
		h = spn.substr(slash + 1);
		h = h.substr(0, h.find_first_of("/@:"));
	} else if (const auto at = spn.find('@'); at != std::string_view::npos) {
		h = spn.substr(at + 1);   // GSSAPI's "service@host"
	}
	if (h.empty())
		return false;
	host = std::string(h);
	return true;
}

} // namespace nlassp::kerberos
