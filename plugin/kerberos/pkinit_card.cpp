// The look at the card before the AS exchange (see pkinit.h): everything that can be told from
// here without the KDC - a file or token that is not there, no certificate, a wrong or locked
// PIN - fails with its own Error before any request is sent.
#include "kerberos/pkinit.h"

#include "crypto/crypto.h"
#include "kerberos/pkcs11.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>

namespace nlassp::kerberos::pkinit {

namespace {

constexpr size_t kMaxFile = 1024 * 1024;

struct BioFree {
	void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct X509Free {
	void operator()(X509* x) const noexcept { X509_free(x); }
};
struct PkeyFree {
	void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};

// A regular file's bytes, at most kMaxFile. What the file is and how large is checked before a
// byte is read (a FIFO would block, a device never end); the bytes go straight into SecretBytes
// (a key file's are wiped when done). False with `why` if it cannot be read.
bool read_file(const std::string& path, SecretBytes& out, std::string& why)
{
	const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		why = std::strerror(errno);
		return false;
	}
	struct stat st {};
	bool ok = fstat(fd, &st) == 0;
	if (!ok)
		why = std::strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > kMaxFile)
		why = "larger than 1 MiB";
	ok = ok && why.empty();
	// One byte more than fstat said: a file that grew meanwhile is refused, not cut short.
	SecretBytes buf(ok ? static_cast<size_t>(st.st_size) + 1 : 0);
	size_t n = 0;
	while (ok && n < buf.size()) {
		const ssize_t r = read(fd, buf.data() + n, buf.size() - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			why = std::strerror(errno);
			ok = false;
		} else if (r == 0) {
			break;
		} else {
			n += static_cast<size_t>(r);
		}
	}
	(void)close(fd);
	if (ok && n > static_cast<size_t>(st.st_size)) {
		why = "it changed while being read";
		ok = false;
	}
	if (ok)
		out = SecretBytes(buf.data(), n);
	return ok;
}

std::string_view as_text(const SecretBytes& b)
{
	return {reinterpret_cast<const char*>(b.data()), b.size()};
}

bool is_pem(std::string_view text)
{
	return text.find("-----BEGIN ") != std::string_view::npos;
}

// The first CERTIFICATE block of a PEM text, or the bytes themselves when they are not PEM.
bool certificate_der(const SecretBytes& file, Bytes& der)
{
	if (!is_pem(as_text(file))) {
		der.assign(file.data(), file.data() + file.size());
		return !der.empty();
	}
	std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(file.data(), static_cast<int>(file.size())));
	bool found = false;
	while (bio && !found) {
		char* name = nullptr;
		char* header = nullptr;
		unsigned char* data = nullptr;
		long len = 0;
		if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1)
			break;
		if (std::strcmp(name, "CERTIFICATE") == 0 && len > 0) {
			der.assign(data, data + len);
			found = true;
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
	}
	ERR_clear_error();
	return found;
}

int pin_callback(char* buf, int size, int /*rwflag*/, void* u)
{
	const auto* pin = static_cast<const ByteView*>(u);
	if (!pin || pin->empty() || size <= 0)
		return -1;
	const int n = static_cast<int>(std::min<size_t>(pin->size(), static_cast<size_t>(size)));
	std::memcpy(buf, pin->data(), static_cast<size_t>(n));
	return n;
}


void learn_names(Card& card)
{
	std::string ignored;
	card.names_known = parse_certificate_names(card.certificate, card.names, ignored);
}

// FILE:cert[,key]: the certificate decodes, the key opens (with the PIN when it is encrypted)
// and belongs to the certificate.
Failure inspect_files(const CardRequest& req, Card& card)
{
	const X509Identity& id = req.identity;
	SecretBytes text;
	std::string why;
	if (!read_file(id.cert_file, text, why))
		return {Error::SmartcardNoCertificate, "cannot read the certificate file " + id.cert_file + ": " + why};
	if (!certificate_der(text, card.certificate))
		return {Error::SmartcardNoCertificate, id.cert_file + " holds no certificate (PEM or DER)"};
	const unsigned char* p = card.certificate.data();
	std::unique_ptr<X509, X509Free> x509(X509_new_ex(crypto::libctx(), nullptr));
	X509* into = x509.get();
	if (!x509 || !d2i_X509(&into, &p, static_cast<long>(card.certificate.size())))
		x509.reset();
	ERR_clear_error();
	if (!x509)
		return {Error::SmartcardNoCertificate, id.cert_file + " holds no valid X.509 certificate"};
	learn_names(card);
	card.where = "certificate file " + id.cert_file;

	const std::string& key_file = id.key_file.empty() ? id.cert_file : id.key_file;
	SecretBytes key_text;
	if (!read_file(key_file, key_text, why))
		return {Error::SmartcardNoCertificate, "cannot read the private key file " + key_file + ": " + why};
	const bool encrypted = as_text(key_text).find("ENCRYPTED PRIVATE KEY") != std::string_view::npos ||
	                       as_text(key_text).find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos;
	std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(key_text.data(), static_cast<int>(key_text.size())));
	ByteView pin = req.pin;
	std::unique_ptr<EVP_PKEY, PkeyFree> key(
	    bio ? PEM_read_bio_PrivateKey_ex(bio.get(), nullptr, pin_callback, &pin, crypto::libctx(), nullptr) : nullptr);
	ERR_clear_error();
	if (!key && encrypted)
		return {Error::SmartcardWrongPin, req.pin.empty() ? "the key file " + key_file + " is encrypted and no PIN was given"
		                                                  : "the key file " + key_file + " does not open with this PIN"};
	if (!key)
		return {Error::SmartcardNoCertificate, key_file + " holds no PEM private key"};
	if (X509_check_private_key(x509.get(), key.get()) != 1) {
		ERR_clear_error();
		return {Error::SmartcardNoCertificate, "the key in " + key_file + " does not belong to the certificate in " + id.cert_file};
	}
	if (req.hash) {
		CertHash h{};
		if (!certificate_hash(card.certificate, h) || h != *req.hash)
			return {Error::SmartcardNoCertificate,
			        "the certificate in " + id.cert_file + " is not the one the marshalled user name names"};
	}
	card.identity = id;
	return {};
}

// Whether a token certificate is one the logon may use (the caller's certid, certlabel and
// marshalled hash); `rank` is how well it fits (certificate_rank).
bool acceptable(const CardRequest& req, const pkcs11::TokenCertificate& c, int& rank)
{
	const X509Identity& id = req.identity;
	if (!id.cert_id.empty() && c.id != id.cert_id)
		return false;
	if (!id.cert_label.empty() && c.label != id.cert_label)
		return false;
	if (req.hash) {
		CertHash h{};
		if (!certificate_hash(c.der, h) || h != *req.hash)
			return false;
	}
	rank = certificate_rank(c.der, req.principal);
	return true;
}

// The slots to look in, best first: the caller's slot if it exists; otherwise the slots whose
// low 16 bits are the caller's number (what FreeRDP's 16-bit slotid= makes of a 32-bit slot
// id), then every other slot. A token label narrows the list.
std::vector<pkcs11::TokenInfo> candidate_slots(const X509Identity& id, const std::vector<pkcs11::TokenInfo>& tokens)
{
	std::vector<pkcs11::TokenInfo> first, rest;
	for (const pkcs11::TokenInfo& t : tokens) {
		if (!id.token_label.empty() && t.label != id.token_label)
			continue;
		if (id.slot && t.slot == *id.slot)
			return {t};
		if (id.slot && (t.slot & 0xffffu) == *id.slot)
			first.push_back(t);
		else
			rest.push_back(t);
	}
	first.insert(first.end(), rest.begin(), rest.end());
	return first;
}

std::string tries_left(const pkcs11::TokenInfo& t)
{
	if (t.pin_locked())
		return "; the token now reports the PIN locked";
	if (t.pin_final_try())
		return "; the token reports one try left before the PIN locks";
	if (t.pin_count_low())
		return "; the token reports few tries left before the PIN locks";
	return "";   // the token does not say
}

Failure check_pin(pkcs11::Module& m, const CardRequest& req, const pkcs11::TokenInfo& token, const std::string& where)
{
	if (token.pin_locked())
		return {Error::SmartcardPinLocked, "the user PIN of " + where + " is locked"};
	if (!token.login_required() || token.protected_path())
		return {};
	if (req.pin.empty())
		return {Error::SmartcardWrongPin, where + " needs a PIN and none was given"};
	std::string why;
	switch (m.login(token.slot, req.pin, why)) {
	case pkcs11::LoginResult::Ok: return {};
	case pkcs11::LoginResult::WrongPin: {
		pkcs11::TokenInfo now;
		std::string ignored;
		const std::string left = m.token_info(token.slot, now, ignored) ? tries_left(now) : std::string();
		return {Error::SmartcardWrongPin, where + " refused the PIN (" + why + ")" + left};
	}
	case pkcs11::LoginResult::PinLocked: return {Error::SmartcardPinLocked, where + " reports its user PIN locked (" + why + ")"};
	case pkcs11::LoginResult::Failed: break;
	}
	return {Error::SmartcardUnavailable, "logging in to " + where + " failed: " + why};
}

Failure inspect_token(const CardRequest& req, Card& card)
{
	const X509Identity& id = req.identity;
	pkcs11::Module m;
	std::string why;
	if (!m.load(id.module, why))
		return {Error::SmartcardUnavailable, why};
	std::vector<pkcs11::TokenInfo> tokens;
	if (!m.tokens(tokens, why))
		return {Error::SmartcardUnavailable, "the PKCS#11 module " + id.module + " cannot list its slots: " + why};
	if (tokens.empty())
		return {Error::SmartcardUnavailable, "no token is present in any slot of " + id.module};
	const std::vector<pkcs11::TokenInfo> slots = candidate_slots(id, tokens);
	if (slots.empty())
		return {Error::SmartcardUnavailable, "no token labelled '" + id.token_label + "' in " + id.module};

	// The best-fitting certificate, the first of equals (slots best first).
	const pkcs11::TokenInfo* chosen_token = nullptr;
	pkcs11::TokenCertificate chosen;
	int chosen_rank = -1;
	const int best = req.principal.empty() ? 1 : 2;
	size_t seen = 0;
	for (const pkcs11::TokenInfo& t : slots) {
		std::vector<pkcs11::TokenCertificate> certs;
		if (!m.certificates(t.slot, certs, why))
			continue;
		seen += certs.size();
		for (pkcs11::TokenCertificate& c : certs) {
			int rank = 0;
			if (!acceptable(req, c, rank) || rank <= chosen_rank)
				continue;
			chosen_token = &t;
			chosen = std::move(c);
			chosen_rank = rank;
		}
		if (chosen_rank >= best)
			break;
	}
	if (!chosen_token) {
		const std::string scope = slots.size() == 1 ? "token '" + slots[0].label + "' (slot " + std::to_string(slots[0].slot) + ")"
		                                            : std::to_string(slots.size()) + " tokens";
		return {Error::SmartcardNoCertificate,
		        seen == 0 ? "no certificate on " + scope + " of " + id.module
		                  : "none of the " + std::to_string(seen) + " certificates on " + scope + " of " + id.module +
		                        " is the one asked for" + (req.hash ? " (marshalled certificate hash)" : "")};
	}
	card.certificate = std::move(chosen.der);
	learn_names(card);
	card.token_label = chosen_token->label;
	card.where = "token '" + chosen_token->label + "' (slot " + std::to_string(chosen_token->slot) + ")";
	if (id.slot && *id.slot != chosen_token->slot)
		card.slot_asked = id.slot;
	std::vector<pkcs11::TokenCertificate> on_token;
	if (!m.certificates(chosen_token->slot, on_token, why))
		on_token.clear();
	if (Failure f = token_identity(id.module, *chosen_token, tokens, chosen, on_token.size(), card.identity))
		return f;
	return check_pin(m, req, *chosen_token, card.where);
}

} // namespace

int certificate_rank(ByteView der, const std::string& principal)
{
	CertificateNames names;
	std::string ignored;
	if (!parse_certificate_names(der, names, ignored))
		return 0;
	if (!principal.empty() && certificate_names_principal(names, principal))
		return 2;
	const bool logon = !names.principals.empty() || !names.upns.empty() || names.smartcard_logon_eku || names.pkinit_client_eku;
	return logon ? 1 : 0;
}

Failure token_identity(const std::string& module, const pkcs11::TokenInfo& token, const std::vector<pkcs11::TokenInfo>& tokens,
                       const pkcs11::TokenCertificate& cert, size_t certificates_on_token, X509Identity& out)
{
	const std::string where = "token '" + token.label + "' (slot " + std::to_string(token.slot) + ")";
	out = X509Identity{};
	out.kind = X509Identity::Kind::Pkcs11;
	out.module = module;
	// The token: by its slot, but MIT refuses slot ids beyond INT_MAX; such a token is named by
	// its label instead, when that label is one MIT may be given and no other token has it.
	if (token.slot <= static_cast<uint64_t>(std::numeric_limits<int>::max())) {
		out.slot = token.slot;
	} else {
		size_t same = 0;
		for (const pkcs11::TokenInfo& t : tokens)
			same += t.label == token.label ? 1 : 0;
		if (!token.label_exact || !mit_label_safe(token.label) || same != 1)
			return {Error::SmartcardUnavailable,
			        where + ": MIT's PKINIT takes slot ids up to " + std::to_string(std::numeric_limits<int>::max()) +
			            " only, and the token's label cannot name it instead (" +
			            (same > 1 ? "another token has the same label" : "empty, or with ':', '=' or control characters") + ")",
			        "give the token a unique plain label (e.g. softhsm2-util --init-token --label) or use a module with "
			        "smaller slot ids"};
		out.token_label = token.label;
	}
	// The certificate: by its CKA_ID (which also ties it to its key), else by its label - only a
	// label MIT gets as it is: MIT splits the identity at ':', so a label such as
	// "x:module_name=/tmp/evil.so" would make it load another module - else by nothing, when it
	// is the token's only certificate.
	out.cert_id = cert.id;
	if (out.cert_id.empty() && cert.label_exact && mit_label_safe(cert.label))
		out.cert_label = cert.label;
	else if (out.cert_id.empty() && certificates_on_token > 1)
		return {Error::SmartcardNoCertificate,
		        "the certificate chosen on " + where + " has no CKA_ID and a label MIT's PKINIT cannot be given (empty, or "
		        "with ':', '=' or control characters), and the token holds other certificates",
		        "give the certificate and its key an ID (pkcs11-tool --id) or a plain label"};
	return {};
}

bool certificate_hash(ByteView der, CertHash& out)
{
	size_t len = 0;
	const int ok = EVP_Q_digest(crypto::libctx(), "SHA1", nullptr, der.data(), der.size(), out.data(), &len);
	ERR_clear_error();
	return ok == 1 && len == out.size();
}

Failure inspect_card(const CardRequest& req, Card& card)
{
	card = Card{};
	switch (req.identity.kind) {
	case X509Identity::Kind::File: return inspect_files(req, card);
	case X509Identity::Kind::Pkcs11: return inspect_token(req, card);
	case X509Identity::Kind::Pkcs12:
	case X509Identity::Kind::Dir:
	case X509Identity::Kind::Env: break;
	}
	if (req.hash)
		return {Error::SmartcardNoCertificate, "a marshalled certificate user name needs a FILE: or PKCS11: identity to find "
		                                       "the certificate in"};
	card.identity = req.identity;
	card.where = format_x509_identity(req.identity);
	return {};
}

} // namespace nlassp::kerberos::pkinit
