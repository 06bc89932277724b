#include "kerberos/cert_names.h"

#include "wire/der.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

namespace nlassp::kerberos::pkinit {

namespace {

using wire::Reader;
namespace der = wire::der;

// DER contents octets of the object identifiers looked for.
constexpr std::array<uint8_t, 3> kSubjectAltName = {0x55, 0x1d, 0x11};   // 2.5.29.17
constexpr std::array<uint8_t, 3> kExtKeyUsage = {0x55, 0x1d, 0x25};      // 2.5.29.37
constexpr std::array<uint8_t, 6> kPkinitSan = {0x2b, 0x06, 0x01, 0x05, 0x02, 0x02};   // 1.3.6.1.5.2.2
constexpr std::array<uint8_t, 10> kUpn = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03};
constexpr std::array<uint8_t, 10> kSmartcardLogon = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x02};
constexpr std::array<uint8_t, 7> kPkinitClientAuth = {0x2b, 0x06, 0x01, 0x05, 0x02, 0x03, 0x04};

constexpr size_t kMaxComponents = 8;
constexpr size_t kMaxNameLength = 256;
constexpr size_t kMaxNames = 32;

constexpr uint32_t kOtherName = der::tag::context(0);   // GeneralName otherName [0] IMPLICIT SEQUENCE

template <size_t N>
bool oid_is(ByteView oid, const std::array<uint8_t, N>& want)
{
	return oid.size() == N && std::memcmp(oid.data(), want.data(), N) == 0;
}

// A name part: printable, no Kerberos separators (we do not escape), not empty, bounded.
bool plain_text(ByteView v, bool allow_at)
{
	if (v.empty() || v.size() > kMaxNameLength)
		return false;
	for (uint8_t c : v) {
		if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || (!allow_at && c == '@'))
			return false;
	}
	return true;
}

std::string text(ByteView v)
{
	return {reinterpret_cast<const char*>(v.data()), v.size()};
}

// KRB5PrincipalName ::= SEQUENCE { realm [0] Realm, principalName [1] PrincipalName }
bool read_krb5_principal_name(Reader value, std::string& out)
{
	Reader seq, realm_ctx, realm, pn_ctx, pn, type_ctx, strings_ctx, strings;
	int64_t name_type = 0;
	if (!der::read(value, der::tag::Sequence, seq) || !value.empty() ||
	    !der::read(seq, der::tag::context(0), realm_ctx) || !der::read(realm_ctx, der::tag::GeneralString, realm) ||
	    !realm_ctx.empty() || !der::read(seq, der::tag::context(1), pn_ctx) || !seq.empty() ||
	    !der::read(pn_ctx, der::tag::Sequence, pn) || !pn_ctx.empty() || !der::read(pn, der::tag::context(0), type_ctx) ||
	    !der::read_integer(type_ctx, name_type) || !type_ctx.empty() ||
	    !der::read(pn, der::tag::context(1), strings_ctx) || !pn.empty() ||
	    !der::read(strings_ctx, der::tag::Sequence, strings) || !strings_ctx.empty())
		return false;
	if (!plain_text(realm.rest(), false))
		return false;
	std::string name;
	size_t n = 0;
	while (!strings.empty()) {
		Reader component;
		if (++n > kMaxComponents || !der::read(strings, der::tag::GeneralString, component) ||
		    !plain_text(component.rest(), false))
			return false;
		if (!name.empty())
			name += '/';
		name += text(component.rest());
	}
	if (name.empty())
		return false;
	out = name + "@" + text(realm.rest());
	return true;
}

// otherName ::= SEQUENCE { type-id OBJECT IDENTIFIER, value [0] EXPLICIT ANY }
bool read_other_name(Reader other, CertificateNames& out, std::string& why)
{
	Reader oid, value;
	if (!der::read(other, der::tag::Oid, oid) || !der::read(other, der::tag::context(0), value) || !other.empty()) {
		why = "a subject alternative name of type otherName does not decode";
		return false;
	}
	if (oid_is(oid.rest(), kPkinitSan)) {
		std::string principal;
		if (!read_krb5_principal_name(value, principal)) {
			why = "the id-pkinit-san subject alternative name is not a valid KRB5PrincipalName";
			return false;
		}
		if (out.principals.size() < kMaxNames)
			out.principals.push_back(std::move(principal));
	} else if (oid_is(oid.rest(), kUpn)) {
		Reader upn;
		if (!der::read(value, der::tag::Utf8String, upn) || !value.empty() || !plain_text(upn.rest(), true)) {
			why = "the UPN subject alternative name is not a plain UTF8String";
			return false;
		}
		if (out.upns.size() < kMaxNames)
			out.upns.push_back(text(upn.rest()));
	}
	return true;
}

bool read_subject_alt_names(Reader value, CertificateNames& out, std::string& why)
{
	Reader names;
	if (!der::read(value, der::tag::Sequence, names) || !value.empty()) {
		why = "the subject alternative name extension is not a SEQUENCE of GeneralName";
		return false;
	}
	while (!names.empty()) {
		uint32_t tag = 0;
		Reader name;
		if (!der::read_any(names, tag, name)) {
			why = "a subject alternative name does not decode";
			return false;
		}
		if (tag == kOtherName && !read_other_name(name, out, why))
			return false;
	}
	return true;
}

bool read_ext_key_usage(Reader value, CertificateNames& out, std::string& why)
{
	Reader usages;
	if (!der::read(value, der::tag::Sequence, usages) || !value.empty()) {
		why = "the extended key usage extension is not a SEQUENCE of OIDs";
		return false;
	}
	while (!usages.empty()) {
		Reader oid;
		if (!der::read(usages, der::tag::Oid, oid)) {
			why = "an extended key usage is not an OID";
			return false;
		}
		out.smartcard_logon_eku |= oid_is(oid.rest(), kSmartcardLogon);
		out.pkinit_client_eku |= oid_is(oid.rest(), kPkinitClientAuth);
	}
	return true;
}

// Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
bool read_extensions(Reader exts, CertificateNames& out, std::string& why)
{
	Reader list;
	if (!der::read(exts, der::tag::Sequence, list) || !exts.empty()) {
		why = "the certificate's extensions are not a SEQUENCE";
		return false;
	}
	while (!list.empty()) {
		Reader ext, oid, critical, value;
		bool has_critical = false;
		if (!der::read(list, der::tag::Sequence, ext) || !der::read(ext, der::tag::Oid, oid) ||
		    !der::read_optional(ext, der::tag::Boolean, has_critical, critical) ||
		    !der::read(ext, der::tag::OctetString, value) || !ext.empty()) {
			why = "a certificate extension does not decode";
			return false;
		}
		if (oid_is(oid.rest(), kSubjectAltName) && !read_subject_alt_names(value, out, why))
			return false;
		if (oid_is(oid.rest(), kExtKeyUsage) && !read_ext_key_usage(value, out, why))
			return false;
	}
	return true;
}

} // namespace

bool parse_certificate_names(ByteView bytes, CertificateNames& out, std::string& why)
{
	out = CertificateNames{};
	if (bytes.size() > kMaxCertificateSize) {
		why = "the certificate is larger than " + std::to_string(kMaxCertificateSize) + " bytes";
		return false;
	}
	Reader all(bytes), cert, tbs;
	if (!der::read(all, der::tag::Sequence, cert) || !all.empty() || !der::read(cert, der::tag::Sequence, tbs)) {
		why = "not a DER X.509 certificate";
		return false;
	}
	// version [0] EXPLICIT, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
	Reader skip;
	bool present = false;
	if (!der::read_optional(tbs, der::tag::context(0), present, skip) || !der::read(tbs, der::tag::Integer, skip) ||
	    !der::read(tbs, der::tag::Sequence, skip) || !der::read(tbs, der::tag::Sequence, skip) ||
	    !der::read(tbs, der::tag::Sequence, skip) || !der::read(tbs, der::tag::Sequence, skip) ||
	    !der::read(tbs, der::tag::Sequence, skip)) {
		why = "the certificate's TBSCertificate does not decode";
		return false;
	}
	// issuerUniqueID [1], subjectUniqueID [2] (IMPLICIT BIT STRING), extensions [3] EXPLICIT
	while (!tbs.empty()) {
		uint32_t tag = 0;
		Reader field;
		if (!der::read_any(tbs, tag, field) || (tag != 0x81 && tag != 0x82 && tag != der::tag::context(3))) {
			why = "the certificate's TBSCertificate has an unexpected field";
			return false;
		}
		if (tag == der::tag::context(3) && !read_extensions(field, out, why))
			return false;
	}
	return true;
}

std::string certificate_principal(const CertificateNames& names)
{
	if (!names.principals.empty())
		return names.principals.front();
	for (const std::string& upn : names.upns) {
		const size_t at = upn.rfind('@');
		if (at == 0 || at == std::string::npos || at + 1 == upn.size())
			continue;
		std::string realm = upn.substr(at + 1);
		for (char& c : realm)
			c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
		return upn.substr(0, at) + "@" + realm;
	}
	return {};
}

bool certificate_names_principal(const CertificateNames& names, std::string_view principal)
{
	const size_t at = principal.rfind('@');
	if (at == std::string_view::npos)
		return false;
	auto iequal = [](std::string_view a, std::string_view b) {
		return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
			       return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
		       });
	};
	const std::string_view user = principal.substr(0, at), realm = principal.substr(at + 1);
	for (const std::string& p : names.principals) {
		const size_t pat = p.rfind('@');
		if (std::string_view(p).substr(0, pat) == user && iequal(std::string_view(p).substr(pat + 1), realm))
			return true;
	}
	for (const std::string& upn : names.upns) {
		const size_t uat = upn.rfind('@');
		if (uat != std::string::npos && std::string_view(upn).substr(0, uat) == user &&
		    iequal(std::string_view(upn).substr(uat + 1), realm))
			return true;
	}
	return false;
}

} // namespace nlassp::kerberos::pkinit
