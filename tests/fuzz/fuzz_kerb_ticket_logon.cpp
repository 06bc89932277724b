// Fuzzes the KERB_TICKET_LOGON decoder (Remote Credential Guard's logonCred for "Kerberos",
// kerberos/ticket_logon.h). Whatever decodes re-encodes to the same bytes (the wire form has one
// encoding); whatever does not decode left the output untouched.
#include "kerberos/ticket_logon.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

using namespace nlassp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	TicketLogon t;
	t.flags = 0xdeadbeef;
	const Error e = kerberos::decode_ticket_logon(ByteView(data, size), t);
	if (e != Error::None) {
		if (e != Error::InvalidToken || t.flags != 0xdeadbeef || !t.service_ticket.empty())
			std::abort();
		return 0;
	}
	SecretBytes again;
	if (!kerberos::encode_ticket_logon(t, again) || again.size() != size || std::memcmp(again.data(), data, size) != 0)
		std::abort();
	return 0;
}
