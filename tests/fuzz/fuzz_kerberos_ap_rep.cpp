// Fuzzes what an initiator reads from the acceptor's AP-REP to take its RC4 subkey
// (kerberos/ap_rep.h): the GSS token around the AP-REP, and the decrypted EncAPRepPart (which
// comes from the acceptor too). Invariants: no crash; what is read points inside the input; the
// same input gives the same answer.
#include "kerberos/ap_rep.h"

#include <cstddef>
#include <cstdint>

using namespace nlassp;
using namespace nlassp::kerberos;

namespace {

void check(bool condition)
{
	if (!condition)
		__builtin_trap();
}

bool inside(ByteView part, const uint8_t* data, size_t size)
{
	return part.empty() || (part.data() >= data && part.data() + part.size() <= data + size);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const ByteView in(data, size);
	ap_rep::EncPart ep, again;
	const bool token = ap_rep::read_token(in, ep);
	check(token == ap_rep::read_token(in, again));
	if (token)
		check(inside(ep.cipher, data, size) && ep.cipher.size() == again.cipher.size() && ep.etype == again.etype);
	ap_rep::Subkey s;
	if (ap_rep::read_enc_part(in, s)) {
		check(size >= 2 && data[0] == 0x7b);
		check(!s.present ? s.value.empty() : inside(s.value, data, size));
	}
	return 0;
}
