// Fuzzes the parser of AD's KERB-EXT-ERROR in a KRB-ERROR's e-data (kerberos/ext_error.h), the
// bytes a KDC (or whoever answers in its place) sends with a refused AS exchange. Invariants: no
// crash; the result is one of the three values and the same on a second parse; `status` is only
// written when an extended error is found; whatever is found is a 12-byte structure the input
// really contains (its status little endian); and the Error chosen for any status and any KDC
// code is an account Error, PasswordExpired or None, with advice for the account Errors.
#include "kerberos/ext_error.h"

#include <krb5/krb5.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

using namespace nlassp;
using namespace nlassp::kerberos;

namespace {

void check(bool condition)
{
	if (!condition)
		__builtin_trap();
}

bool contains_status(ByteView in, uint32_t status)
{
	const uint8_t le[4] = {static_cast<uint8_t>(status), static_cast<uint8_t>(status >> 8),
	                       static_cast<uint8_t>(status >> 16), static_cast<uint8_t>(status >> 24)};
	for (size_t i = 0; i + 4 <= in.size(); ++i)
		if (std::memcmp(in.data() + i, le, 4) == 0)
			return true;
	return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const ByteView in(data, size);
	uint32_t status = 0xA5A5A5A5u;
	const ExtErrorParse r = parse_ext_error(in, status);
	check(r == ExtErrorParse::Found || r == ExtErrorParse::Absent || r == ExtErrorParse::Malformed);
	uint32_t again = 0xA5A5A5A5u;
	check(parse_ext_error(in, again) == r && again == status);
	if (r != ExtErrorParse::Found)
		check(status == 0xA5A5A5A5u);
	else
		check(size >= 12 && contains_status(in, status));

	const long codes[] = {KRB5KDC_ERR_CLIENT_REVOKED, KRB5KDC_ERR_NAME_EXP, KRB5KDC_ERR_POLICY,
	                      KRB5KDC_ERR_PREAUTH_FAILED, KRB5KDC_ERR_KEY_EXP};
	for (long code : codes) {
		const Error e = account_error(code, r == ExtErrorParse::Found, status);
		const bool account = e == Error::AccountRevoked || e == Error::AccountDisabled || e == Error::AccountLockedOut ||
		                     e == Error::AccountExpired || e == Error::InvalidLogonHours ||
		                     e == Error::InvalidWorkstation;
		check(account || e == Error::PasswordExpired || e == Error::None);
		check(!account || *account_advice(e) != '\0');
	}
	return 0;
}
