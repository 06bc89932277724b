#include "kerberos/marshalled_name.h"

namespace nlassp::kerberos::pkinit {

namespace {

constexpr char16_t kAlphabet[] = u"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789#-";
constexpr size_t kEncodedHashSize = 27;   // ceil(20 * 8 / 6)

// Windows' CRED_MARSHAL_TYPE values as the third character ('A' + type).
constexpr uint8_t kCertCredential = 1;
constexpr uint8_t kLastCredType = 5;   // BinaryBlobForSystem

// The 6-bit value of one character, or -1.
int sextet(char16_t c)
{
	if (c >= u'A' && c <= u'Z')
		return c - u'A';
	if (c >= u'a' && c <= u'z')
		return c - u'a' + 26;
	if (c >= u'0' && c <= u'9')
		return c - u'0' + 52;
	if (c == u'#')
		return 62;
	if (c == u'-')
		return 63;
	return -1;
}

// Decodes exactly out.size() bytes from the characters, least significant bits first; every
// character must be in the alphabet and the bits past the last byte must be zero (one encoding
// per hash).
bool decode(std::u16string_view text, std::span<uint8_t> out)
{
	if (text.size() != (out.size() * 8 + 5) / 6)
		return false;
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;
	for (char16_t c : text) {
		const int v = sextet(c);
		if (v < 0)
			return false;
		acc |= static_cast<uint32_t>(v) << bits;
		bits += 6;
		while (bits >= 8 && n < out.size()) {
			out[n++] = static_cast<uint8_t>(acc & 0xff);
			acc >>= 8;
			bits -= 8;
		}
	}
	return n == out.size() && acc == 0;
}

} // namespace

MarshalledName parse_marshalled_name(std::u16string_view user, CertHash& hash, std::string& why)
{
	if (user.size() < 2 || user[0] != u'@' || user[1] != u'@')
		return MarshalledName::NotMarshalled;
	if (user.size() < 3) {
		why = "nothing follows the \"@@\" of a marshalled credential";
		return MarshalledName::Malformed;
	}
	const int type = sextet(user[2]);
	if (type < 0 || type == 0 || type > kLastCredType) {
		why = "the credential type after \"@@\" is not one Windows defines";
		return MarshalledName::Malformed;
	}
	if (type != kCertCredential) {
		why = "a marshalled credential of type " + std::to_string(type) + " (only certificates, type 1, name a smartcard)";
		return MarshalledName::Unsupported;
	}
	const std::u16string_view body = user.substr(3);
	if (body.size() != kEncodedHashSize) {
		why = "a marshalled certificate has " + std::to_string(kEncodedHashSize) + " characters after \"@@B\", this one " +
		      std::to_string(body.size());
		return MarshalledName::Malformed;
	}
	CertHash out{};
	if (!decode(body, out)) {
		why = "the marshalled certificate hash has characters outside Windows' alphabet or stray bits";
		return MarshalledName::Malformed;
	}
	hash = out;
	return MarshalledName::Certificate;
}

std::u16string marshal_certificate(const CertHash& hash)
{
	std::u16string out = u"@@";
	out += kAlphabet[kCertCredential];
	uint32_t acc = 0;
	unsigned bits = 0;
	for (uint8_t b : hash) {
		acc |= static_cast<uint32_t>(b) << bits;
		bits += 8;
		while (bits >= 6) {
			out += kAlphabet[acc & 0x3f];
			acc >>= 6;
			bits -= 6;
		}
	}
	if (bits > 0)
		out += kAlphabet[acc & 0x3f];
	return out;
}

} // namespace nlassp::kerberos::pkinit
