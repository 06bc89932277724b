// The smartcard logon's parsers of untrusted input, and its failure classification:
//   - marshalled certificate user names (Windows' CredMarshalCredential, "@@B" + 27 characters),
//   - MIT X509_user_identity strings (FILE:, PKCS11:, PKCS12:, DIR:, ENV:),
//   - the names in a certificate (id-pkinit-san KRB5PrincipalName, UPN, EKUs),
//   - what a failed PKINIT AS exchange is, from MIT's trace lines.
// Every malformed input is checked for its exact result, including every truncation.
#include "kerberos/cert_names.h"
#include "kerberos/marshalled_name.h"
#include "kerberos/pkinit.h"
#include "kerberos/pkinit_identity.h"
#include "wire/der.h"

#include <cstdio>
#include <string>
#include <vector>

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}
// clang-format on

using namespace nlassp;
using namespace nlassp::kerberos::pkinit;
namespace der = nlassp::wire::der;
namespace pkcs11 = nlassp::kerberos::pkcs11;

#define CHECK(cond)                                                                                \
	do {                                                                                           \
		if (!(cond)) {                                                                             \
			std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
			return false;                                                                          \
		}                                                                                          \
	} while (0)

namespace {

// ---- marshalled names ---------------------------------------------------------------------------

std::u16string u16(const std::string& s)
{
	return std::u16string(s.begin(), s.end());
}

MarshalledName classify(const std::string& name, CertHash& hash)
{
	std::string why;
	const MarshalledName m = parse_marshalled_name(u16(name), hash, why);
	if (m == MarshalledName::Malformed || m == MarshalledName::Unsupported)
		if (why.empty())
			return MarshalledName::NotMarshalled;   // a refusal must say why: fail the check
	return m;
}

// Known answers: a marshalled certificate made by Windows' CredMarshalCredentialW, as recorded
// in WinPR's own test (winpr/libwinpr/credentials/test/TestMarshalUnmarshal.c).
bool marshalled_known_answers()
{
	const CertHash expected = {0x50, 0xef, 0x35, 0x11, 0xad, 0x58, 0x15, 0xf5, 0x0b, 0x13,
	                           0xcf, 0x3e, 0x42, 0xca, 0xcf, 0xf7, 0xfe, 0x38, 0xd9, 0x91};
	CertHash h{};
	CHECK(classify("@@BQ9eNR0KWVU-CT8sPCp8z37POZHJ", h) == MarshalledName::Certificate);
	CHECK(h == expected);
	CHECK(marshal_certificate(expected) == u"@@BQ9eNR0KWVU-CT8sPCp8z37POZHJ");
	const CertHash second = {0x8a, 0x26, 0xff, 0x07, 0x9c, 0xb0, 0x45, 0x36, 0x73, 0xe5,
	                         0x05, 0x58, 0x99, 0x7f, 0x3a, 0x3a, 0x51, 0xba, 0xdc, 0xfe};
	CHECK(classify("@@BKay-HwJsFZzclXAWZ#nO6Eluc7P", h) == MarshalledName::Certificate);
	CHECK(h == second);
	return true;
}

bool marshalled_round_trips()
{
	for (int pattern = 0; pattern < 256; ++pattern) {
		CertHash in{};
		for (size_t i = 0; i < in.size(); ++i)
			in[i] = static_cast<uint8_t>(pattern * 31 + i * 7);
		CertHash out{};
		std::string why;
		CHECK(parse_marshalled_name(marshal_certificate(in), out, why) == MarshalledName::Certificate);
		CHECK(out == in);
	}
	return true;
}

bool marshalled_refusals()
{
	CertHash h{};
	const std::string good = "@@BQ9eNR0KWVU-CT8sPCp8z37POZHJ";
	CHECK(classify("alice", h) == MarshalledName::NotMarshalled);
	CHECK(classify("", h) == MarshalledName::NotMarshalled);
	CHECK(classify("@alice", h) == MarshalledName::NotMarshalled);
	CHECK(classify("a@@B", h) == MarshalledName::NotMarshalled);
	CHECK(classify("@@", h) == MarshalledName::Malformed);
	CHECK(classify("@@A" + good.substr(3), h) == MarshalledName::Malformed);   // type 0
	CHECK(classify("@@G" + good.substr(3), h) == MarshalledName::Malformed);   // type 6
	CHECK(classify("@@!" + good.substr(3), h) == MarshalledName::Malformed);
	CHECK(classify("@@C" + good.substr(3), h) == MarshalledName::Unsupported); // user name target
	CHECK(classify("@@F", h) == MarshalledName::Unsupported);                  // blob for system
	for (size_t n = 3; n < good.size(); ++n)                                    // every truncation
		CHECK(classify(good.substr(0, n), h) == MarshalledName::Malformed);
	CHECK(classify(good + "A", h) == MarshalledName::Malformed);
	for (size_t i = 3; i < good.size(); ++i)                                    // garbage anywhere
		for (char bad : {'!', '+', '/', '=', ' ', '@'}) {
			std::string g = good;
			g[i] = bad;
			CHECK(classify(g, h) == MarshalledName::Malformed);
		}
	// The last character carries 4 bits of the hash: its top 2 bits must be zero.
	CHECK(classify(good.substr(0, 29) + "-", h) == MarshalledName::Malformed);
	std::u16string with_nul = u16(good);
	with_nul[10] = u'\0';
	std::string why;
	CHECK(parse_marshalled_name(with_nul, h, why) == MarshalledName::Malformed);
	std::u16string wide = u16(good);
	wide[10] = u'\u00e9';
	CHECK(parse_marshalled_name(wide, h, why) == MarshalledName::Malformed);
	return true;
}

// ---- identity strings ---------------------------------------------------------------------------

bool identity_round_trip(const std::string& text, X509Identity::Kind kind)
{
	X509Identity id;
	std::string why;
	CHECK(parse_x509_identity(text, id, why));
	CHECK(id.kind == kind);
	CHECK(format_x509_identity(id) == text);
	return true;
}

bool identity_good_forms()
{
	CHECK(identity_round_trip("FILE:/tmp/a b/cert.pem,/tmp/key.pem", X509Identity::Kind::File));
	CHECK(identity_round_trip("FILE:/tmp/both.pem", X509Identity::Kind::File));
	CHECK(identity_round_trip("PKCS11:module_name=/usr/lib/softhsm/libsofthsm2.so", X509Identity::Kind::Pkcs11));
	CHECK(identity_round_trip("PKCS11:module_name=/m.so:slotid=1956304006:token=lab:certid=01ab:certlabel=alice",
	                          X509Identity::Kind::Pkcs11));
	CHECK(identity_round_trip("PKCS12:/tmp/a.p12", X509Identity::Kind::Pkcs12));
	CHECK(identity_round_trip("DIR:/etc/pki/user", X509Identity::Kind::Dir));
	CHECK(identity_round_trip("ENV:X509_USER", X509Identity::Kind::Env));
	X509Identity id;
	std::string why;
	// MIT's bare module name, FreeRDP's form, and the largest slot id.
	CHECK(parse_x509_identity("PKCS11:opensc-pkcs11.so:slotid=3", id, why) && id.module == "opensc-pkcs11.so" &&
	      id.slot && *id.slot == 3);
	CHECK(parse_x509_identity("PKCS11:module_name=/m.so:slotid=18446744073709551615", id, why) && id.slot &&
	      *id.slot == UINT64_MAX);
	CHECK(parse_x509_identity("PKCS11:module_name=/m.so:certid=00FF", id, why) && id.cert_id == Bytes({0x00, 0xff}));
	CHECK(parse_x509_identity("FILE:c.pem,k.pem", id, why) && id.cert_file == "c.pem" && id.key_file == "k.pem");
	return true;
}

bool identity_refusals()
{
	const std::string garbage[] = {
	    "", "nonsense", "file:/a.pem", "FILE:", "FILE:,k.pem", "FILE:c.pem,", "FILE:c.pem,k.pem,x.pem",
	    "PKCS11:", "PKCS11:module_name=", "PKCS11:module_name=/m.so:", "PKCS11::slotid=1",
	    "PKCS11:slotid=1", "PKCS11:module_name=/m.so:slotid=", "PKCS11:module_name=/m.so:slotid=x",
	    "PKCS11:module_name=/m.so:slotid=-1", "PKCS11:module_name=/m.so:slotid=+1",
	    "PKCS11:module_name=/m.so:slotid=18446744073709551616", "PKCS11:module_name=/m.so:slotid=1 ",
	    "PKCS11:module_name=/m.so:certid=1", "PKCS11:module_name=/m.so:certid=xy",
	    "PKCS11:module_name=/m.so:certid=" + std::string(258, 'a'), "PKCS11:module_name=/m.so:token=",
	    "PKCS11:module_name=/m.so:pin=1234", "PKCS11:module_name=/m.so:token=a:token=b",
	    "PKCS11:/m.so:module_name=/n.so", "PKCS11:module_name=/m.so:certlabel", "PKCS12:", "DIR:", "ENV:",
	    "FILE:/a\n.pem", std::string("FILE:/a\0.pem", 12), "FILE:/a\x7f.pem", "FILE:" + std::string(4092, 'a'),
	};
	for (const std::string& g : garbage) {
		X509Identity id;
		std::string why;
		if (parse_x509_identity(g, id, why) || why.empty()) {
			std::fprintf(stderr, "accepted or unexplained: \"%s\"\n", g.c_str());
			return false;
		}
	}
	// The longest string accepted is kMaxIdentityLength bytes.
	X509Identity id;
	std::string why;
	CHECK(parse_x509_identity("FILE:" + std::string(kMaxIdentityLength - 5, 'a'), id, why));
	return true;
}

// What is handed to MIT: only an identity MIT reads as meant. MIT's parse_pkcs11_options splits
// at every ':', so a certificate label from a token such as "alice:module_name=/tmp/evil.so"
// would make MIT load another PKCS#11 module.
bool identity_for_mit()
{
	std::string out, why;
	X509Identity id;
	id.kind = X509Identity::Kind::Pkcs11;
	id.module = "/usr/lib/softhsm/libsofthsm2.so";
	id.slot = 1956304006;
	id.cert_id = {0x01};
	CHECK(format_for_mit(id, out, why) && out == "PKCS11:module_name=/usr/lib/softhsm/libsofthsm2.so:slotid=1956304006:certid=01");
	id.cert_id.clear();
	id.cert_label = "alice";
	CHECK(format_for_mit(id, out, why) && out.ends_with(":certlabel=alice"));
	for (const char* bad : {"alice:module_name=/tmp/evil.so", "a:b", "a=b", "al\x01ice", "al\nice", "a\x7f"}) {
		id.cert_label = bad;
		out.clear();
		if (format_for_mit(id, out, why) || !out.empty() || why.empty()) {
			std::fprintf(stderr, "certlabel \"%s\" handed to MIT\n", bad);
			return false;
		}
		id.cert_label = "alice";
		id.token_label = bad;
		if (format_for_mit(id, out, why) || !out.empty()) {
			std::fprintf(stderr, "token \"%s\" handed to MIT\n", bad);
			return false;
		}
		id.token_label.clear();
	}
	CHECK(mit_label_safe("nlassp-lab") && mit_label_safe("My Card (PIV)") && !mit_label_safe(""));
	// MIT refuses slot ids that do not fit an int.
	id.slot = 2147483647;
	CHECK(format_for_mit(id, out, why));
	id.slot = 2147483648u;
	CHECK(!format_for_mit(id, out, why) && why.find("2147483648") != std::string::npos);
	// Files and the other kinds as they are.
	X509Identity file;
	CHECK(parse_x509_identity("FILE:/tmp/a b/cert.pem,/tmp/key.pem", file, why) && format_for_mit(file, out, why) &&
	      out == "FILE:/tmp/a b/cert.pem,/tmp/key.pem");
	return true;
}

// The identity made for a certificate found on a token: its CKA_ID, else a label MIT may be
// given, else nothing (the token's only certificate), else a refusal.
bool identity_of_a_token_certificate()
{
	pkcs11::TokenInfo token;
	token.slot = 1956304006;
	token.label = "nlassp-lab";
	const std::vector<pkcs11::TokenInfo> tokens{token};
	pkcs11::TokenCertificate cert;
	cert.der = {0x30, 0x00};
	cert.id = {0x01};
	cert.label = "alice:module_name=/tmp/evil.so";
	X509Identity out;
	std::string text, why;
	CHECK(!token_identity("/m.so", token, tokens, cert, 2, out));
	CHECK(out.cert_id == Bytes{0x01} && out.cert_label.empty() && out.slot && *out.slot == token.slot && out.module == "/m.so");
	CHECK(format_for_mit(out, text, why) && text.find("evil") == std::string::npos);
	// No CKA_ID: a plain label names it ...
	cert.id.clear();
	cert.label = "alice";
	CHECK(!token_identity("/m.so", token, tokens, cert, 2, out) && out.cert_label == "alice");
	// ... a label MIT cannot be given does not: nothing when it is the only certificate ...
	for (const char* bad : {"alice:module_name=/tmp/evil.so", "a=b", ""}) {
		cert.label = bad;
		CHECK(!token_identity("/m.so", token, tokens, cert, 1, out));
		CHECK(out.cert_label.empty() && out.cert_id.empty());
		CHECK(format_for_mit(out, text, why) && text.find("evil") == std::string::npos);
		// ... and a refusal when MIT could pick another one.
		const Failure f = token_identity("/m.so", token, tokens, cert, 2, out);
		CHECK(f.error == Error::SmartcardNoCertificate && !f.detail.empty());
	}
	// A slot id beyond INT_MAX (MIT refuses it): the token by its label, if no other has it.
	pkcs11::TokenInfo big = token;
	big.slot = 0x100000000ull + 7;
	big.label = "big-slots";
	pkcs11::TokenInfo other = token;
	cert.label = "alice";
	CHECK(!token_identity("/m.so", big, {other, big}, cert, 1, out));
	CHECK(!out.slot && out.token_label == "big-slots" && format_for_mit(out, text, why) &&
	      text == "PKCS11:module_name=/m.so:token=big-slots:certlabel=alice");
	other.label = "big-slots";
	Failure f = token_identity("/m.so", big, {other, big}, cert, 1, out);
	CHECK(f.error == Error::SmartcardUnavailable && f.detail.find("same label") != std::string::npos);
	for (const char* bad : {"a:module_name=/x.so", "a=b", ""}) {
		big.label = bad;
		f = token_identity("/m.so", big, {big}, cert, 1, out);
		CHECK(f.error == Error::SmartcardUnavailable && f.detail.find("2147483647") != std::string::npos);
	}
	big.label = "big?slots";   // a control character was replaced: not the label MIT compares
	big.label_exact = false;
	CHECK(token_identity("/m.so", big, {big}, cert, 1, out).error == Error::SmartcardUnavailable);
	// A label that is not CKA_LABEL byte for byte (a control character replaced, blanks trimmed).
	cert.label = "alice";
	cert.label_exact = false;
	CHECK(!token_identity("/m.so", token, tokens, cert, 1, out) && out.cert_label.empty());
	return true;
}

// ---- certificate names -----------------------------------------------------------------------------

const Bytes kPkinitSanOid = {0x2b, 0x06, 0x01, 0x05, 0x02, 0x02};
const Bytes kUpnOid = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03};
const Bytes kSanOid = {0x55, 0x1d, 0x11};
const Bytes kEkuOid = {0x55, 0x1d, 0x25};
const Bytes kSmartcardLogonOid = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x02};
const Bytes kPkinitClientOid = {0x2b, 0x06, 0x01, 0x05, 0x02, 0x03, 0x04};

Bytes text(const std::string& s)
{
	return Bytes(s.begin(), s.end());
}

// KRB5PrincipalName { realm [0], principalName [1] { name-type [0], name-string [1] } }
Bytes krb5_principal_name(const std::string& realm, const std::vector<std::string>& components, int64_t type = 1)
{
	der::Builder b;
	(void)b.add(der::tag::Sequence, [&](der::Builder& s) {
		return s.add(der::tag::context(0), [&](der::Builder& r) { return r.add_bytes(der::tag::GeneralString, text(realm)); }) &&
		       s.add(der::tag::context(1), [&](der::Builder& p) {
			       return p.add(der::tag::Sequence, [&](der::Builder& pn) {
				       return pn.add(der::tag::context(0), [&](der::Builder& t) { return t.add_integer(type); }) &&
				              pn.add(der::tag::context(1), [&](der::Builder& ns) {
					              return ns.add(der::tag::Sequence, [&](der::Builder& seq) {
						              for (const std::string& c : components)
							              if (!seq.add_bytes(der::tag::GeneralString, text(c)))
								              return false;
						              return true;
					              });
				              });
			       });
		       });
	});
	return b.take();
}

Bytes utf8_string(const std::string& s)
{
	der::Builder b;
	(void)b.add_bytes(der::tag::Utf8String, text(s));
	return b.take();
}

// otherName [0] { type-id, value [0] EXPLICIT }
bool add_other_name(der::Builder& names, const Bytes& oid, const Bytes& value)
{
	return names.add(der::tag::context(0), [&](der::Builder& o) {
		return o.add_bytes(der::tag::Oid, oid) && o.add(der::tag::context(0), [&](der::Builder& v) { return v.add_raw(value); });
	});
}

struct CertSpec {
	std::vector<Bytes> pkinit_sans;   // encoded KRB5PrincipalName values
	std::vector<Bytes> upns;          // encoded UTF8String values
	std::vector<Bytes> ekus;
	bool dns_name = true;             // a dNSName among the SANs (ignored by the parser)
	bool extensions = true;
};

Bytes make_certificate(const CertSpec& spec)
{
	auto name = [](der::Builder& b) {
		return b.add(der::tag::Sequence, [](der::Builder& rdns) {
			return rdns.add(der::tag::Set, [](der::Builder& set) {
				return set.add(der::tag::Sequence, [](der::Builder& atv) {
					return atv.add_bytes(der::tag::Oid, Bytes{0x55, 0x04, 0x03}) && atv.add_bytes(der::tag::Utf8String, text("alice"));
				});
			});
		});
	};
	auto algorithm = [](der::Builder& b) {
		return b.add(der::tag::Sequence, [](der::Builder& a) {
			return a.add_bytes(der::tag::Oid, Bytes{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b}) &&
			       a.add_bytes(der::tag::Null, {});
		});
	};
	auto extension = [](der::Builder& list, const Bytes& oid, const Bytes& value) {
		return list.add(der::tag::Sequence, [&](der::Builder& e) {
			return e.add_bytes(der::tag::Oid, oid) && e.add_octet_string(value);
		});
	};
	der::Builder san;
	(void)san.add(der::tag::Sequence, [&](der::Builder& names) {
		bool ok = true;
		if (spec.dns_name)
			ok = ok && names.add_bytes(0x82, text("host.lab.test"));
		for (const Bytes& p : spec.pkinit_sans)
			ok = ok && add_other_name(names, kPkinitSanOid, p);
		for (const Bytes& u : spec.upns)
			ok = ok && add_other_name(names, kUpnOid, u);
		return ok;
	});
	der::Builder eku;
	(void)eku.add(der::tag::Sequence, [&](der::Builder& list) {
		for (const Bytes& oid : spec.ekus)
			if (!list.add_bytes(der::tag::Oid, oid))
				return false;
		return true;
	});
	der::Builder cert;
	(void)cert.add(der::tag::Sequence, [&](der::Builder& c) {
		return c.add(der::tag::Sequence, [&](der::Builder& tbs) {
			       bool ok = tbs.add(der::tag::context(0), [](der::Builder& v) { return v.add_integer(2); }) &&
			                 tbs.add_bytes(der::tag::Integer, Bytes{0x00, 0x9a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82}) &&
			                 algorithm(tbs) && name(tbs) &&
			                 tbs.add(der::tag::Sequence, [](der::Builder& validity) {
				                 return validity.add_bytes(0x17, text("250101000000Z")) && validity.add_bytes(0x17, text("350101000000Z"));
			                 }) &&
			                 name(tbs) &&
			                 tbs.add(der::tag::Sequence, [&](der::Builder& spki) {
				                 return algorithm(spki) && spki.add_bytes(der::tag::BitString, Bytes{0x00, 0x30, 0x00});
			                 });
			       if (ok && spec.extensions)
				       ok = tbs.add(der::tag::context(3), [&](der::Builder& x) {
					       return x.add(der::tag::Sequence, [&](der::Builder& list) {
						       return extension(list, kSanOid, san.take()) && extension(list, kEkuOid, eku.take());
					       });
				       });
			       return ok;
		       }) &&
		       algorithm(c) && c.add_bytes(der::tag::BitString, Bytes{0x00, 0x01, 0x02});
	});
	return cert.take();
}

CertSpec alice_spec()
{
	CertSpec s;
	s.pkinit_sans = {krb5_principal_name("LAB.TEST", {"alice"})};
	s.upns = {utf8_string("alice@lab.test")};
	s.ekus = {kPkinitClientOid, kSmartcardLogonOid};
	return s;
}

bool names_of_a_smartcard_certificate()
{
	CertificateNames names;
	std::string why;
	CHECK(parse_certificate_names(make_certificate(alice_spec()), names, why));
	CHECK(names.principals == std::vector<std::string>({"alice@LAB.TEST"}));
	CHECK(names.upns == std::vector<std::string>({"alice@lab.test"}));
	CHECK(names.smartcard_logon_eku && names.pkinit_client_eku);
	CHECK(certificate_principal(names) == "alice@LAB.TEST");
	CHECK(certificate_names_principal(names, "alice@LAB.TEST"));
	CHECK(certificate_names_principal(names, "alice@lab.test"));
	CHECK(!certificate_names_principal(names, "bob@LAB.TEST"));
	CHECK(!certificate_names_principal(names, "alice@OTHER.TEST"));
	CHECK(!certificate_names_principal(names, "alice"));

	// A UPN only: the principal is the UPN with the realm upper-cased.
	CertSpec upn_only;
	upn_only.upns = {utf8_string("carol@corp.example")};
	CHECK(parse_certificate_names(make_certificate(upn_only), names, why));
	CHECK(names.principals.empty() && !names.smartcard_logon_eku);
	CHECK(certificate_principal(names) == "carol@CORP.EXAMPLE");
	CHECK(certificate_names_principal(names, "carol@CORP.EXAMPLE"));

	// A service-style principal and no names at all.
	CertSpec service;
	service.pkinit_sans = {krb5_principal_name("LAB.TEST", {"host", "box.lab.test"}, 3)};
	CHECK(parse_certificate_names(make_certificate(service), names, why));
	CHECK(certificate_principal(names) == "host/box.lab.test@LAB.TEST");
	CertSpec none;
	none.extensions = false;
	CHECK(parse_certificate_names(make_certificate(none), names, why));
	CHECK(certificate_principal(names).empty());
	return true;
}

// Which certificate of a token the logon picks: with no user named, a logon certificate over a
// CA or other certificate that happens to come first; with one named, the certificate naming it.
bool certificate_ranks()
{
	CertSpec ca;
	ca.extensions = false;
	const Bytes ca_cert = make_certificate(ca);
	CHECK(certificate_rank(ca_cert, "") == 0);
	CHECK(certificate_rank(ca_cert, "alice@LAB.TEST") == 0);
	CertSpec server;   // a TLS server certificate: a dNSName and the serverAuth EKU only
	server.ekus = {{0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01}};
	CHECK(certificate_rank(make_certificate(server), "") == 0);
	const Bytes alice = make_certificate(alice_spec());
	CHECK(certificate_rank(alice, "") == 1);
	CHECK(certificate_rank(alice, "alice@LAB.TEST") == 2);
	CHECK(certificate_rank(alice, "bob@LAB.TEST") == 1);
	CertSpec eku_only;   // the smartcard-logon EKU, no names
	eku_only.ekus = {kSmartcardLogonOid};
	CHECK(certificate_rank(make_certificate(eku_only), "") == 1);
	CertSpec kp_client;
	kp_client.ekus = {kPkinitClientOid};
	CHECK(certificate_rank(make_certificate(kp_client), "") == 1);
	CertSpec upn;
	upn.upns = {utf8_string("carol@lab.test")};
	CHECK(certificate_rank(make_certificate(upn), "carol@LAB.TEST") == 2);
	CHECK(certificate_rank(Bytes{0x30, 0x00}, "") == 0);
	return true;
}

bool certificate_refusals()
{
	CertificateNames names;
	std::string why;
	const Bytes good = make_certificate(alice_spec());
	for (size_t n = 0; n < good.size(); ++n) {   // every truncation
		if (parse_certificate_names(ByteView(good).first(n), names, why) || why.empty()) {
			std::fprintf(stderr, "truncation to %zu bytes accepted\n", n);
			return false;
		}
	}
	Bytes trailing = good;
	trailing.push_back(0);
	CHECK(!parse_certificate_names(trailing, names, why));
	Bytes huge(kMaxCertificateSize + 1, 0x30);
	CHECK(!parse_certificate_names(huge, names, why));
	CHECK(!parse_certificate_names(Bytes{0x04, 0x00}, names, why));
	// Names the parser will not take: separators, control characters, empty parts, wrong tags.
	const std::vector<Bytes> bad_sans = {
	    krb5_principal_name("LAB.TEST", {"al/ice"}),   krb5_principal_name("LAB.TEST", {"al@ice"}),
	    krb5_principal_name("LAB.TEST", {"al\nice"}),  krb5_principal_name("", {"alice"}),
	    krb5_principal_name("LAB.TEST", {}),           krb5_principal_name("LAB.TEST", {""}),
	    krb5_principal_name("LAB/TEST", {"alice"}),    krb5_principal_name("LAB.TEST", {std::string(300, 'a')}),
	    krb5_principal_name("LAB.TEST", {"a", "b", "c", "d", "e", "f", "g", "h", "i"}),
	    utf8_string("alice@LAB.TEST"),                  Bytes{0x30, 0x00},
	};
	for (const Bytes& bad : bad_sans) {
		CertSpec s = alice_spec();
		s.pkinit_sans = {bad};
		if (parse_certificate_names(make_certificate(s), names, why) || why.empty()) {
			std::fprintf(stderr, "a bad id-pkinit-san was accepted\n");
			return false;
		}
	}
	for (const Bytes& bad : {utf8_string("al\x01ice@lab.test"), utf8_string(""), krb5_principal_name("L", {"a"})}) {
		CertSpec s = alice_spec();
		s.upns = {bad};
		CHECK(!parse_certificate_names(make_certificate(s), names, why));
	}
	return true;
}

// ---- classification of a failed exchange ---------------------------------------------------------

// Lines as MIT 1.20 writes them (captured on the lab), fed to observe_trace_line.
Error classify_lines(krb5_error_code code, const std::vector<std::string>& lines, bool plugin = true)
{
	ExchangeTrace t;
	for (const std::string& l : lines)
		observe_trace_line(l, t);
	return classify_exchange(code, t, plugin, plugin ? "" : "it is not installed", "alice@LAB.TEST").error;
}

// The whole failure (detail and fix) for one case.
Failure classify_failure(krb5_error_code code, const std::vector<std::string>& lines, bool plugin = true)
{
	ExchangeTrace t;
	for (const std::string& l : lines)
		observe_trace_line(l, t);
	return classify_exchange(code, t, plugin, plugin ? "" : "it is not installed", "carol@LAB.TEST");
}

const std::string kNeeded = "[1] 1.1: Received error from KDC: -1765328359/Additional pre-authentication required";
const std::string kOffers = "[1] 1.2: Processing preauth types: PA-PK-AS-REQ (16), PA-FX-FAST (136), PA-ETYPE-INFO2 (19), "
                            "PA-ENC-TIMESTAMP (2), PA_AS_FRESHNESS (150), PA-FX-COOKIE (133)";
const std::string kNoPkinit = "[1] 1.2: Processing preauth types: PA-FX-FAST (136), PA-ETYPE-INFO2 (19), PA-ENC-TIMESTAMP (2)";
const std::string kSent = "[1] 1.3: Preauth module pkinit (16) (real) returned: 0/Success";

bool classification()
{
	// The KDC refused the card's certificate.
	CHECK(classify_lines(KRB5KDC_ERR_CANT_VERIFY_CERTIFICATE,
	                     {kNeeded, kOffers, kSent, "[1] 1.4: Received error from KDC: -1765328314/Can't verify certificate",
	                      "[1] 1.5: Preauth module pkinit (16) tryagain returned: 0/Success"}) == Error::SmartcardUntrusted);
	CHECK(classify_lines(KRB5KDC_ERR_CLIENT_NAME_MISMATCH,
	                     {kNeeded, kOffers, kSent, "[1] 1.4: Received error from KDC: -1765328309/Client name mismatch"}) ==
	      Error::PkinitNameMismatch);
	// We refused the KDC's certificate; MIT's final code is not PKINIT's.
	CHECK(classify_lines(EIO, {kNeeded, kOffers, kSent,
	                           "[1] 1.6: Preauth module pkinit (17) (real) returned: -1765328314/Failed to verify received "
	                           "certificate (depth 0): unable to get local issuer certificate"}) == Error::KdcCertUntrusted);
	CHECK(classify_lines(EIO, {kNeeded, kOffers, kSent, "[1] 1.6: Preauth module pkinit (17) (real) returned: -1765328308/KDC name mismatch"}) ==
	      Error::KdcCertUntrusted);
	CHECK(classify_lines(EIO, {kNeeded, kOffers, kSent, "[1] 1.6: Preauth module pkinit (17) (real) returned: -1765328360/bad DH"}) ==
	      Error::InvalidToken);
	// MIT would not send a chain it cannot verify itself.
	CHECK(classify_lines(KRB5KDC_ERR_PREAUTH_FAILED,
	                     {kNeeded, kOffers, "[1] 1.3: Preauth module pkinit (16) (real) returned: -1765328360/Failed to "
	                                        "verify own certificate (depth 0): unable to get local issuer certificate"}) ==
	      Error::SmartcardUntrusted);
	CHECK(classify_lines(KRB5_PREAUTH_FAILED,
	                     {kNeeded, kOffers, "[1] 1.3: Preauth module pkinit (16) (real) returned: -1765328174/No pkinit_anchors supplied"}) ==
	      Error::KdcCertUntrusted);
	CHECK(classify_lines(KRB5KDC_ERR_PREAUTH_FAILED,
	                     {kNeeded, kOffers, "[1] 1.3: Preauth module pkinit (16) (real) returned: -1765328360/C_Sign failed"}) ==
	      Error::SmartcardUnavailable);
	// PKINIT never ran: the plugin is missing, or the KDC does not offer it.
	CHECK(classify_lines(EIO, {kNeeded, kOffers, "[1] 1.3: Preauth module encrypted_timestamp (2) (real) returned: 5/EIO"},
	                     false) == Error::PkinitUnavailable);
	CHECK(classify_lines(EIO, {kNeeded, kNoPkinit}) == Error::PkinitUnavailable);
	// Clock skew, from the KDC or the reply.
	CHECK(classify_lines(KRB5KRB_AP_ERR_SKEW, {kNeeded, kOffers, kSent, "[1] 1.4: Received error from KDC: -1765328347/Clock skew too great"}) ==
	      Error::TimeSkew);
	CHECK(classify_lines(KRB5_KDCREP_SKEW, {kNeeded, kOffers, kSent}) == Error::TimeSkew);
	// The KDC's other refusals keep their usual meaning.
	CHECK(classify_lines(KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN,
	                     {"[1] 1.1: Received error from KDC: -1765328378/Client not found in Kerberos database", kSent}) ==
	      Error::LogonDenied);
	// PKINIT offered by the KDC but never run although the plugin's file is there.
	const Failure offered = classify_failure(KRB5_PREAUTH_FAILED, {kNeeded, kOffers});
	CHECK(offered.error == Error::PkinitUnavailable && offered.detail.find("offered PKINIT") != std::string::npos);
	// An unknown principal: refused on the first request, before any pre-authentication. Its
	// line names the principal and the user name to check, not MIT's plugin.
	const Failure unknown = classify_failure(
	    KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN, {"[1] 1.1: Received error from KDC: -1765328378/Client not found in Kerberos database"});
	CHECK(unknown.error == Error::LogonDenied);
	CHECK(unknown.detail.find("does not know carol@LAB.TEST") != std::string::npos);
	CHECK(unknown.fix.find("/u:") != std::string::npos && unknown.detail.find("plugin") == std::string::npos);
	CHECK(classify_failure(KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN, {}).error == Error::LogonDenied);
	// PKINIT ran and the KDC refused it without saying why.
	CHECK(classify_lines(KRB5KDC_ERR_PREAUTH_FAILED,
	                     {kNeeded, kOffers, kSent, "[1] 1.4: Received error from KDC: -1765328360/Preauthentication failed"}) ==
	      Error::LogonDenied);
	// Not the smartcard logon's own: no Failure, so that the caller maps it as a password logon's
	// exchange (a KDC that cannot be reached, an unknown realm, a KDC proxy's TLS trouble, an
	// account that may not log on) - never "MIT's PKINIT plugin did not run".
	CHECK(classify_lines(KRB5_KDC_UNREACH, {}) == Error::None);
	CHECK(classify_lines(KRB5_REALM_UNKNOWN, {}) == Error::None);
	CHECK(classify_lines(KRB5_KDC_UNREACH, {"[1] 1.1: TLS certificate error: unable to get local issuer certificate",
	                                       "[1] 1.2: HTTPS error sending to https://proxy/KdcProxy"}) == Error::None);
	CHECK(classify_lines(KRB5KDC_ERR_CLIENT_REVOKED,
	                     {"[1] 1.1: Received error from KDC: -1765328366/Client's credentials have been revoked"}) == Error::None);
	CHECK(classify_lines(KRB5KDC_ERR_NAME_EXP,
	                     {kNeeded, kOffers, kSent, "[1] 1.4: Received error from KDC: -1765328382/Client's entry in database has expired"}) ==
	      Error::None);
	// ... unless the plugin's file really is missing: that is said whatever else went wrong.
	const Failure missing = classify_failure(KRB5_KDC_UNREACH, {}, false);
	CHECK(missing.error == Error::PkinitUnavailable && missing.detail.find("not installed") != std::string::npos);
	// Unrelated and garbled lines change nothing.
	ExchangeTrace t;
	for (const std::string& l : {std::string("Preauth module pkinit ("), std::string("Preauth module pkinit (x) returned: y"),
	                            std::string("Received error from KDC: "), std::string("Received error from KDC: -"),
	                            std::string("Preauth module pkinit (16) (real) returned: 99999999999999999999/x")})
		observe_trace_line(l, t);
	CHECK(t.kdc_error == 0 && t.request_error == 0 && t.reply_error == 0);
	return true;
}

bool smartcard_requests()
{
	Credential c;
	CHECK(!requested(c));
	c.kerberos.pkinit_anchors = "FILE:/ca.pem";   // anchors alone: a password logon that trusts a CA
	CHECK(!requested(c));
	c.kerberos.pkinit_identity = "FILE:/c.pem,/k.pem";
	CHECK(requested(c));
	c.kerberos.pkinit_identity.clear();
	c.identity = Identity{};
	c.identity->user = u"alice";
	CHECK(!requested(c));
	c.identity->user = u"@@BQ9eNR0KWVU-CT8sPCp8z37POZHJ";
	CHECK(requested(c));
	c.identity->user = u"@@garbage";   // reserved for marshalled credentials: never a password logon
	CHECK(requested(c));
	return true;
}

} // namespace

#define TEST(name) \
	static void test_##name(void**) { assert_true(name()); }
TEST(marshalled_known_answers)
TEST(marshalled_round_trips)
TEST(marshalled_refusals)
TEST(identity_good_forms)
TEST(identity_refusals)
TEST(identity_for_mit)
TEST(identity_of_a_token_certificate)
TEST(names_of_a_smartcard_certificate)
TEST(certificate_refusals)
TEST(certificate_ranks)
TEST(classification)
TEST(smartcard_requests)

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_marshalled_known_answers),  cmocka_unit_test(test_marshalled_round_trips),
	    cmocka_unit_test(test_marshalled_refusals),       cmocka_unit_test(test_identity_good_forms),
	    cmocka_unit_test(test_identity_refusals),         cmocka_unit_test(test_names_of_a_smartcard_certificate),
	    cmocka_unit_test(test_certificate_refusals),      cmocka_unit_test(test_classification),
	    cmocka_unit_test(test_smartcard_requests),        cmocka_unit_test(test_identity_for_mit),
	    cmocka_unit_test(test_identity_of_a_token_certificate), cmocka_unit_test(test_certificate_ranks),
	};
	return cmocka_run_group_tests_name("pkinit_parsers", tests, nullptr, nullptr);
}
