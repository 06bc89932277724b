// Fuzzes the marshalled certificate user name parser ("@@B" + 27 characters: Windows'
// CredMarshalCredential of a certificate's SHA-1). The input is read as UTF-16LE, as user names
// reach the module. Invariants: a refusal says why; an accepted name is exactly what
// marshal_certificate makes of its hash (one encoding per hash), and every name that does not
// start with "@@" is an ordinary user name.
#include "kerberos/marshalled_name.h"

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

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	std::u16string name;
	for (size_t i = 0; i + 1 < size; i += 2)
		name.push_back(static_cast<char16_t>(data[i] | (data[i + 1] << 8)));
	CertHash hash{};
	std::string why;
	const MarshalledName m = parse_marshalled_name(name, hash, why);
	const bool marker = name.size() >= 2 && name[0] == u'@' && name[1] == u'@';
	check((m == MarshalledName::NotMarshalled) == !marker);
	switch (m) {
	case MarshalledName::Certificate: check(marshal_certificate(hash) == name); break;
	case MarshalledName::Unsupported:
	case MarshalledName::Malformed: check(!why.empty()); break;
	case MarshalledName::NotMarshalled: break;
	}
	return 0;
}
