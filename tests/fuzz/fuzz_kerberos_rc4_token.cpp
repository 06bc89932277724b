// Fuzzes what the RC4-HMAC message protection reads from a peer's token before any key is used
// (kerberos/rc4_protect.h, kerberos/rfc4757.h): the RFC 4121 token header and the test for RFC
// 2743 framing that picks RFC 4757's layout. Invariants: no crash; a header is read exactly when
// there are 16 bytes and its fields are those bytes (big endian); framing is only ever seen on a
// token that starts with 60 and holds the whole krb5 OID element; the header sizes rfc4757 gives
// grow with the data and stay within 45..49 bytes for data below 16 MiB; the header size a wrap
// token's own framing states (framed_header_size, where a caller's token/data split is checked)
// is 0 or exactly what wrap_header_size gives for the data it announces.
#include "kerberos/rc4_protect.h"
#include "kerberos/rfc4757.h"

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

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const ByteView in(data, size);
	detail::Rfc4121Header h;
	const bool read = detail::read_rfc4121_header(in, h);
	check(read == (size >= 16));
	if (read) {
		check(h.tok == (data[0] << 8 | data[1]) && h.flags == data[2]);
		check(h.ec == (data[4] << 8 | data[5]) && h.rrc == (data[6] << 8 | data[7]));
		uint64_t seq = 0;
		for (size_t i = 8; i < 16; ++i)
			seq = seq << 8 | data[i];
		check(h.seq == seq);
	}
	if (rfc4757::is_framed(in))
		check(size >= 13 && data[0] == 0x60);
	size_t announced = 0;
	const size_t stated = rfc4757::framed_header_size(in, announced);
	if (stated != 0) {
		check(rfc4757::is_framed(in) && stated >= 45 && stated <= 49);
		check(stated == rfc4757::wrap_header_size(announced));
	} else {
		check(announced == 0);
	}
	size_t n = 0;
	for (size_t i = 0; i < size && i < 3; ++i)
		n = n << 8 | data[i];
	const size_t header = rfc4757::wrap_header_size(n);
	check(header >= 45 && header <= 49 && rfc4757::wrap_header_size(n + 1) >= header);
	return 0;
}
