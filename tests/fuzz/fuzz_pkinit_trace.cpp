// Fuzzes the reading of MIT's trace lines during a PKINIT exchange (they carry the KDC's error
// texts) and the classification that follows. Invariants: no crash, a bounded message, and a
// classification is either a failure with a line or none at all (the caller's usual mapping).
#include "kerberos/pkinit.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace nlassp;
using namespace nlassp::kerberos::pkinit;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	ExchangeTrace t;
	std::string_view all(reinterpret_cast<const char*>(data), size);
	while (!all.empty()) {
		const size_t nl = all.find('\n');
		observe_trace_line(all.substr(0, nl), t);
		all = nl == std::string_view::npos ? std::string_view() : all.substr(nl + 1);
	}
	if (t.pkinit_message.size() > 300)
		__builtin_trap();
	static const krb5_error_code kCodes[] = {KRB5KDC_ERR_PREAUTH_FAILED, KRB5_KDC_UNREACH, KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN,
	                                         KRB5KDC_ERR_CLIENT_REVOKED, KRB5_PREAUTH_FAILED};
	const krb5_error_code code = kCodes[size % (sizeof(kCodes) / sizeof(kCodes[0]))];
	const Failure f = classify_exchange(code, t, size % 2 == 0, "why", "alice@LAB.TEST");
	if ((f.error == Error::None) != f.detail.empty())
		__builtin_trap();
	return 0;
}
