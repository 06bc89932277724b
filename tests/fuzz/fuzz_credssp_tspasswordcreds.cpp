// Fuzzes the TSPasswordCreds decoder: no crash, and whatever decodes re-encodes to the same bytes.
#include "credssp/messages.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

using namespace nlassp;
using namespace nlassp::credssp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	TsPasswordCreds c;
	if (!decode_ts_password_creds(ByteView(data, size), c))
		return 0;
	SecretBytes again;
	if (!encode_ts_password_creds(c, again) || again.size() != size || std::memcmp(again.data(), data, size) != 0)
		std::abort();
	return 0;
}
