// Fuzzes the NTLM NEGOTIATE_MESSAGE decoder and encoder. Invariant: whatever decodes re-encodes,
// and the re-encoding decodes to the same fields (and encodes to the same bytes again).
#include "ntlm/messages.h"

#include <cstddef>
#include <cstdint>

using namespace nlassp;
using namespace nlassp::ntlm;

namespace {

void check(bool condition)
{
	if (!condition)
		__builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	NegotiateMessage m;
	if (!m.decode(ByteView(data, size)))
		return 0;
	const Bytes enc = m.encode();
	check(!enc.empty());
	NegotiateMessage again;
	check(again.decode(enc));
	check(again.flags == m.flags && again.domain == m.domain && again.workstation == m.workstation &&
	      again.version == m.version);
	check(again.encode() == enc);
	return 0;
}
