#include "kerberos/pkinit_identity.h"

#include <charconv>
#include <limits>

namespace nlassp::kerberos::pkinit {

namespace {

bool has_control_characters(std::string_view s)
{
	for (char c : s)
		if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
			return true;
	return false;
}

bool starts_with(std::string_view s, std::string_view prefix)
{
	return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// A certid: an even number of hex digits, at most 128 bytes.
bool parse_cert_id(std::string_view s, Bytes& out)
{
	return !s.empty() && s.size() <= 256 && from_hex(s, out);
}

bool parse_slot(std::string_view s, uint64_t& slot)
{
	if (s.empty() || s.size() > 20)
		return false;
	for (char c : s)
		if (c < '0' || c > '9')
			return false;
	const auto r = std::from_chars(s.data(), s.data() + s.size(), slot);
	return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_file(std::string_view rest, X509Identity& out, std::string& why)
{
	const size_t comma = rest.find(',');
	out.cert_file = std::string(rest.substr(0, comma));
	if (comma != std::string_view::npos) {
		out.key_file = std::string(rest.substr(comma + 1));
		if (out.key_file.empty()) {
			why = "FILE: has a comma but no key file after it";
			return false;
		}
		if (out.key_file.find(',') != std::string::npos) {
			why = "FILE: takes one certificate file and one key file";
			return false;
		}
	}
	if (out.cert_file.empty()) {
		why = "FILE: names no certificate file";
		return false;
	}
	return true;
}

// One PKCS11 attribute "name=value" (the first may be a bare module name).
bool parse_pkcs11_attribute(std::string_view item, bool first, X509Identity& out, unsigned& seen, std::string& why)
{
	const size_t eq = item.find('=');
	std::string_view name = eq == std::string_view::npos ? std::string_view() : item.substr(0, eq);
	std::string_view value = eq == std::string_view::npos ? item : item.substr(eq + 1);
	if (eq == std::string_view::npos) {
		if (!first) {
			why = "PKCS11: attribute \"" + std::string(item) + "\" has no '='";
			return false;
		}
		name = "module_name";
	}
	static constexpr std::string_view kNames[] = {"module_name", "slotid", "token", "certid", "certlabel"};
	unsigned bit = 0;
	for (; bit < std::size(kNames); ++bit)
		if (name == kNames[bit])
			break;
	if (bit == std::size(kNames)) {
		why = "PKCS11: unknown attribute \"" + std::string(name) + "\" (known: module_name, slotid, token, certid, certlabel)";
		return false;
	}
	if (seen & (1u << bit)) {
		why = "PKCS11: attribute " + std::string(name) + " given twice";
		return false;
	}
	seen |= 1u << bit;
	if (value.empty()) {
		why = "PKCS11: attribute " + std::string(name) + " is empty";
		return false;
	}
	switch (bit) {
	case 0: out.module = std::string(value); return true;
	case 1: {
		uint64_t slot = 0;
		if (!parse_slot(value, slot)) {
			why = "PKCS11: slotid \"" + std::string(value) + "\" is not a decimal slot number";
			return false;
		}
		out.slot = slot;
		return true;
	}
	case 2: out.token_label = std::string(value); return true;
	case 3:
		if (!parse_cert_id(value, out.cert_id)) {
			why = "PKCS11: certid \"" + std::string(value) + "\" is not an even number of hex digits (at most 128 bytes)";
			return false;
		}
		return true;
	default: out.cert_label = std::string(value); return true;
	}
}

bool parse_pkcs11(std::string_view rest, X509Identity& out, std::string& why)
{
	unsigned seen = 0;
	bool first = true;
	while (true) {
		const size_t colon = rest.find(':');
		if (!parse_pkcs11_attribute(rest.substr(0, colon), first, out, seen, why))
			return false;
		first = false;
		if (colon == std::string_view::npos)
			break;
		rest = rest.substr(colon + 1);
	}
	if (out.module.empty()) {
		why = "PKCS11: names no module (module_name=/path/to/pkcs11.so)";
		return false;
	}
	return true;
}

} // namespace

bool parse_x509_identity(std::string_view text, X509Identity& out, std::string& why)
{
	out = X509Identity{};
	if (text.empty()) {
		why = "the PKINIT identity is empty";
		return false;
	}
	if (text.size() > kMaxIdentityLength) {
		why = "the PKINIT identity is longer than " + std::to_string(kMaxIdentityLength) + " bytes";
		return false;
	}
	if (has_control_characters(text)) {
		why = "the PKINIT identity contains control characters";
		return false;
	}
	struct Prefix {
		std::string_view text;
		X509Identity::Kind kind;
	};
	static constexpr Prefix kPrefixes[] = {{"FILE:", X509Identity::Kind::File},
	                                       {"PKCS11:", X509Identity::Kind::Pkcs11},
	                                       {"PKCS12:", X509Identity::Kind::Pkcs12},
	                                       {"DIR:", X509Identity::Kind::Dir},
	                                       {"ENV:", X509Identity::Kind::Env}};
	for (const Prefix& p : kPrefixes) {
		if (!starts_with(text, p.text))
			continue;
		out.kind = p.kind;
		const std::string_view rest = text.substr(p.text.size());
		switch (p.kind) {
		case X509Identity::Kind::File: return parse_file(rest, out, why);
		case X509Identity::Kind::Pkcs11: return parse_pkcs11(rest, out, why);
		default:
			if (rest.empty()) {
				why = std::string(p.text) + " names nothing";
				return false;
			}
			out.path = std::string(rest);
			return true;
		}
	}
	why = "the PKINIT identity does not start with FILE:, PKCS11:, PKCS12:, DIR: or ENV:";
	return false;
}

std::string format_x509_identity(const X509Identity& id)
{
	switch (id.kind) {
	case X509Identity::Kind::File: return "FILE:" + id.cert_file + (id.key_file.empty() ? "" : "," + id.key_file);
	case X509Identity::Kind::Pkcs12: return "PKCS12:" + id.path;
	case X509Identity::Kind::Dir: return "DIR:" + id.path;
	case X509Identity::Kind::Env: return "ENV:" + id.path;
	case X509Identity::Kind::Pkcs11: break;
	}
	std::string s = "PKCS11:module_name=" + id.module;
	if (id.slot)
		s += ":slotid=" + std::to_string(*id.slot);
	if (!id.token_label.empty())
		s += ":token=" + id.token_label;
	if (!id.cert_id.empty())
		s += ":certid=" + to_hex(id.cert_id);
	if (!id.cert_label.empty())
		s += ":certlabel=" + id.cert_label;
	return s;
}

bool mit_label_safe(std::string_view value)
{
	return !value.empty() && !has_control_characters(value) && value.find_first_of(":=") == std::string_view::npos;
}

bool format_for_mit(const X509Identity& id, std::string& out, std::string& why)
{
	if (id.kind == X509Identity::Kind::Pkcs11) {
		if ((!id.token_label.empty() && !mit_label_safe(id.token_label)) ||
		    (!id.cert_label.empty() && !mit_label_safe(id.cert_label))) {
			why = "a token or certificate label contains ':', '=' or control characters, which MIT's PKCS11: syntax "
			      "cannot hold";
			return false;
		}
		if (id.slot && *id.slot > static_cast<uint64_t>(std::numeric_limits<int>::max())) {
			why = "slot id " + std::to_string(*id.slot) + " is larger than MIT's PKINIT accepts (" +
			      std::to_string(std::numeric_limits<int>::max()) + ")";
			return false;
		}
	}
	std::string text = format_x509_identity(id);
	X509Identity again;
	std::string ignored;
	if (!parse_x509_identity(text, again, ignored) || !(again == id)) {
		why = "the PKINIT identity would not reach MIT as it is meant (" + ignored + ")";
		return false;
	}
	out = std::move(text);
	return true;
}

} // namespace nlassp::kerberos::pkinit
