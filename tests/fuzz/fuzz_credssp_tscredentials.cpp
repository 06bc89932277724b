// Fuzzes the TSCredentials decoder and, on its credentials, each TS*Creds decoder that the
// acceptor applies after decrypting authInfo, then the acceptor's own conversion
// (decode_delegated). Whatever decodes as TSCredentials re-encodes to the same bytes (DER is
// canonical), and so does a TSRemoteGuardCreds (the KERB_TICKET_LOGON decoder runs on its
// logonCred); whatever decode_delegated accepts has user and domain names without a NUL or an
// unpaired surrogate, and a password of whole UTF-16 code units.
#include "credssp/credssp.h"
#include "credssp/messages.h"
#include "kerberos/ticket_logon.h"
#include "wire/utf16.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

using namespace nlassp;
using namespace nlassp::credssp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const ByteView in(data, size);
	TsCredentials c;
	if (!decode_ts_credentials(in, c))
		return 0;
	SecretBytes again;
	if (!encode_ts_credentials(c, again) || again.size() != size || std::memcmp(again.data(), data, size) != 0)
		std::abort();
	TsPasswordCreds pc;
	TsSmartCardCreds sc;
	TsRemoteGuardCreds rg;
	(void)decode_ts_password_creds(c.credentials.view(), pc);
	(void)decode_ts_smart_card_creds(c.credentials.view(), sc);
	if (decode_ts_remote_guard_creds(c.credentials.view(), rg)) {
		SecretBytes rg_again;
		const ByteView creds = c.credentials.view();
		if (!encode_ts_remote_guard_creds(rg, rg_again) || rg_again.size() != creds.size() ||
		    std::memcmp(rg_again.data(), creds.data(), creds.size()) != 0)
			std::abort();
		TicketLogon t;
		(void)kerberos::decode_ticket_logon(rg.logon_cred.cred_buffer.view(), t);
	}

	DelegatedCredentials d;
	if (decode_delegated(in, d) == Error::None) {
		for (const std::u16string* name : {&d.user, &d.domain})
			if (name->find(u'\0') != std::u16string::npos || !wire::utf16_well_formed(*name))
				std::abort();
		if (d.password.size() % 2 != 0 || d.cred_type != c.cred_type)
			std::abort();
	}
	return 0;
}
