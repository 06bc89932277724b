// Fuzzes the reading of a smartcard certificate's names (a token's CKA_VALUE or a PEM file's
// DER: untrusted): Certificate -> TBSCertificate -> extensions -> subject alternative names
// (id-pkinit-san KRB5PrincipalName, UPN) and extended key usages. Invariants: a refusal says
// why; every name taken is printable and bounded; the principal chosen for the certificate is
// one the certificate names.
#include "kerberos/cert_names.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace nlassp;
using namespace nlassp::kerberos::pkinit;

namespace {

void check(bool condition)
{
	if (!condition)
		__builtin_trap();
}

bool printable(const std::string& s)
{
	if (s.empty() || s.size() > 4096)
		return false;
	for (char c : s)
		if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
			return false;
	return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	CertificateNames names;
	std::string why;
	if (!parse_certificate_names(ByteView(data, size), names, why)) {
		check(!why.empty());
		return 0;
	}
	for (const std::string& p : names.principals)
		check(printable(p) && p.find('@') != std::string::npos);
	for (const std::string& u : names.upns)
		check(printable(u));
	const std::string principal = certificate_principal(names);
	if (!principal.empty())
		check(certificate_names_principal(names, principal));
	else
		check(names.principals.empty());
	return 0;
}
