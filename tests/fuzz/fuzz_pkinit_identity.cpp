// Fuzzes the X509_user_identity parser (kerberosSettings.pkinitX509Identity, which names the
// PKCS#11 module the smartcard logon then loads). Invariants: a refusal says why; an accepted
// string writes back (format_x509_identity) to a string that parses to the same identity and
// writes back identically (one canonical form), and never exceeds the length limit by more than
// what formatting adds.
#include "kerberos/pkinit_identity.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace nlassp::kerberos::pkinit;

namespace {

void check(bool condition)
{
	if (!condition)
		__builtin_trap();
}

bool same(const X509Identity& a, const X509Identity& b)
{
	return a.kind == b.kind && a.cert_file == b.cert_file && a.key_file == b.key_file && a.path == b.path &&
	       a.module == b.module && a.slot == b.slot && a.token_label == b.token_label && a.cert_id == b.cert_id &&
	       a.cert_label == b.cert_label;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const std::string text(reinterpret_cast<const char*>(data), size);
	X509Identity id;
	std::string why;
	if (!parse_x509_identity(text, id, why)) {
		check(!why.empty());
		return 0;
	}
	check(size <= kMaxIdentityLength);
	const std::string canonical = format_x509_identity(id);
	X509Identity again;
	std::string why2;
	if (canonical.size() <= kMaxIdentityLength) {
		check(parse_x509_identity(canonical, again, why2));
		check(same(id, again));
		check(format_x509_identity(again) == canonical);
	}
	return 0;
}
