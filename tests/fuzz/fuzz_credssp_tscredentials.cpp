// Fuzzes the TSCredentials decoder and, on its credentials, each TS*Creds decoder that the
// acceptor applies after decrypting authInfo. Whatever decodes as TSCredentials re-encodes to
// the same bytes (DER is canonical).
#include "credssp/messages.h"

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
	(void)decode_ts_remote_guard_creds(c.credentials.view(), rg);
	return 0;
}
