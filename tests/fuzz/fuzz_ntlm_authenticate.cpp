// Fuzzes the NTLM AUTHENTICATE_MESSAGE decoder (with the NTLMv2 response and its AV_PAIR list)
// and encoder. Invariants: raw keeps the input; whatever decodes re-encodes, and the
// re-encoding decodes to the same fields, MIC included.
#include "ntlm/messages.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

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
	AuthenticateMessage m;
	if (!m.decode(ByteView(data, size)))
		return 0;
	check(m.raw.size() == size && (size == 0 || std::memcmp(m.raw.data(), data, size) == 0));
	check(!m.has_mic || m.ntlmv2.has_value());
	check(!m.ntlmv2 || m.nt_response.size() >= Ntlmv2Response::kMinSize);
	AuthenticateMessage copy = m;
	const Bytes enc = copy.encode();
	check(!enc.empty() && copy.raw == enc);
	AuthenticateMessage again;
	check(again.decode(enc));
	check(again.flags == m.flags && again.lm_response == m.lm_response && again.nt_response == m.nt_response &&
	      again.domain == m.domain && again.user == m.user && again.workstation == m.workstation &&
	      again.encrypted_random_session_key == m.encrypted_random_session_key && again.version == m.version &&
	      again.has_mic == m.has_mic && (!m.has_mic || again.mic == m.mic));
	return 0;
}
