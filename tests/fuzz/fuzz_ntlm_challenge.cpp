// Fuzzes the NTLM CHALLENGE_MESSAGE decoder (with its AV_PAIR list) and encoder. Invariant:
// whatever decodes re-encodes (unless its TargetInfo flag is off while pairs were carried, which
// the encoder then drops), and the re-encoding decodes to the same fields.
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

bool same_pairs(const AvPairList& a, const AvPairList& b)
{
	if (a.pairs.size() != b.pairs.size())
		return false;
	for (size_t i = 0; i < a.pairs.size(); ++i)
		if (a.pairs[i].id != b.pairs[i].id || a.pairs[i].value != b.pairs[i].value)
			return false;
	return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	ChallengeMessage m;
	if (!m.decode(ByteView(data, size)))
		return 0;
	// Typed accessors on whatever was carried.
	uint32_t f = 0;
	uint64_t ts = 0;
	(void)m.target_info.flags(f);
	(void)m.target_info.timestamp(ts);
	const Bytes enc = m.encode();
	check(!enc.empty());
	ChallengeMessage again;
	check(again.decode(enc));
	check(again.flags == m.flags && again.target_name == m.target_name &&
	      again.server_challenge == m.server_challenge && again.reserved == m.reserved &&
	      again.version == m.version);
	if (m.flags & flag::TargetInfo)
		check(same_pairs(again.target_info, m.target_info));
	else
		check(again.target_info.pairs.empty());
	check(again.encode() == enc);
	return 0;
}
