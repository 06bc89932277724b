// The smartcard logon (see pkinit.h): who logs on, the look at the card, then one AS exchange
// with MIT's PKINIT into the same private memory ccache a password logon uses. The PIN goes to
// MIT only through the responder, as the answer to PKINIT's own question; there is no prompter,
// so no other pre-authentication (encrypted timestamp, SPAKE, ...) can ever obtain it as a
// password. SEC_E_OK follows only a ticket whose AS exchange PKINIT did (the ccache's pa_type).
#include "kerberos/context_impl.h"
#include "kerberos/pkinit.h"

#include <profile.h>

#include <fcntl.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <type_traits>

namespace nlassp::kerberos {

namespace pkinit {

bool requested(const Credential& cred)
{
	// The one definition the dispatcher's NTLM guard and CREDSSP's delegation check use too
	// (parse_marshalled_name reserves every "@@" name the same way).
	return smartcard_credential(cred);
}

} // namespace pkinit

bool smartcard_logon(const Credential& cred)
{
	return pkinit::requested(cred);
}

namespace detail {

namespace {

constexpr const char* kWhat = "smartcard logon";

// Answers PKINIT's question (the token or key file wanting a PIN) and nothing else.
struct Responder {
	const SecretBytes* pin = nullptr;   // NUL-terminated UTF-8, or empty
	bool locked = false;                // MIT saw the token report its PIN locked
};

krb5_error_code respond(krb5_context k, void* data, krb5_responder_context rctx)
{
	auto* r = static_cast<Responder*>(data);
	krb5_responder_pkinit_challenge* chl = nullptr;
	if (krb5_responder_pkinit_get_challenge(k, rctx, &chl) != 0 || !chl)
		return 0;
	for (krb5_responder_pkinit_identity** id = chl->identities; id && *id; ++id) {
		if ((*id)->token_flags & KRB5_RESPONDER_PKINIT_FLAGS_TOKEN_USER_PIN_LOCKED) {
			r->locked = true;
			continue;
		}
		if (r->pin && !r->pin->empty())
			(void)krb5_responder_pkinit_set_answer(k, rctx, (*id)->identity,
			                                       reinterpret_cast<const char*>(r->pin->data()));
	}
	krb5_responder_pkinit_challenge_free(k, rctx, chl);
	return 0;
}

// Reads the exchange's trace (pkinit::observe_trace_line), hands every line on to the KDC proxy's
// watcher when there is one (kdc_url.cpp: its diagnosis needs this exchange's TLS lines too), and
// still writes it to $KRB5_TRACE when the user asked for that. Afterwards the context traces as
// before: to the watcher, or to the user's file.
class TraceCapture {
public:
	TraceCapture(krb5_context k, pkinit::ExchangeTrace& trace, KdcTrace* chain) : k_(k), trace_(trace), chain_(chain)
	{
		const char* file = getauxval(AT_SECURE) ? nullptr : std::getenv("KRB5_TRACE");
		if (file && *file) {
			file_ = file;
			fd_ = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		}
		if (chain_)
			chain_->lines.clear();   // the proxy's trouble, if any, is this exchange's
		(void)krb5_set_trace_callback(k_, &TraceCapture::on_line, this);
	}
	~TraceCapture()
	{
		if (!file_.empty())
			(void)krb5_set_trace_filename(k_, file_.c_str());
		else
			(void)krb5_set_trace_callback(k_, chain_ ? &KdcTrace::callback : nullptr, chain_);
		if (fd_ >= 0)
			(void)close(fd_);
	}
	TraceCapture(const TraceCapture&) = delete;
	TraceCapture& operator=(const TraceCapture&) = delete;

private:
	static void on_line(krb5_context k, const krb5_trace_info* info, void* data)
	{
		auto* self = static_cast<TraceCapture*>(data);
		if (!info || !info->message)
			return;
		pkinit::observe_trace_line(info->message, self->trace_);
		if (self->chain_)
			KdcTrace::callback(k, info, self->chain_);
		if (self->fd_ >= 0)
			(void)!write(self->fd_, info->message, std::strlen(info->message));
	}

	krb5_context k_;
	pkinit::ExchangeTrace& trace_;
	KdcTrace* chain_;
	std::string file_;
	int fd_ = -1;
};

struct OptFree {
	krb5_context k;
	void operator()(krb5_get_init_creds_opt* o) const noexcept { krb5_get_init_creds_opt_free(k, o); }
};
using OptPtr = std::unique_ptr<krb5_get_init_creds_opt, OptFree>;

struct IccFree {
	krb5_context k;
	void operator()(krb5_init_creds_context c) const noexcept { krb5_init_creds_free(k, c); }
};
using IccPtr = std::unique_ptr<std::remove_pointer_t<krb5_init_creds_context>, IccFree>;

// The AS exchange's options: the caller's ticket times and FAST armor, the ccache, the PKINIT
// identity and anchors, and the responder (the only way the PIN reaches MIT). A private cache's
// TGT is asked forwardable, as a password logon's is (as_exchange.cpp), so that Remote Credential
// Guard can forward it whatever krb5.conf says; a named cache keeps krb5.conf's choice.
krb5_error_code exchange_options(krb5_context k, const KerberosSettings& ks, krb5_ccache out, bool private_cache,
                                 const std::string& identity, Responder& responder, OptPtr& opt)
{
	krb5_get_init_creds_opt* raw = nullptr;
	krb5_error_code code = krb5_get_init_creds_opt_alloc(k, &raw);
	if (code)
		return code;
	opt = OptPtr(raw, OptFree{k});
	if (ks.life_time > 0)
		krb5_get_init_creds_opt_set_tkt_life(raw, ks.life_time);
	if (ks.renew_life_time > 0)
		krb5_get_init_creds_opt_set_renew_life(raw, ks.renew_life_time);
	if (private_cache)
		krb5_get_init_creds_opt_set_forwardable(raw, 1);
	if (!ks.armor_cache.empty())
		code = krb5_get_init_creds_opt_set_fast_ccache_name(k, raw, ks.armor_cache.c_str());
	if (code == 0)
		code = krb5_get_init_creds_opt_set_out_ccache(k, raw, out);
	if (code == 0)
		code = krb5_get_init_creds_opt_set_pa(k, raw, "X509_user_identity", identity.c_str());
	if (code == 0 && !ks.pkinit_anchors.empty())
		code = krb5_get_init_creds_opt_set_pa(k, raw, "X509_anchors", ks.pkinit_anchors.c_str());
	if (code == 0)
		code = krb5_get_init_creds_opt_set_responder(k, raw, respond, &responder);
	return code;
}

// Whether krb5.conf gives PKINIT anchors for the realm ([realms] or [libdefaults] pkinit_anchors).
bool profile_has_anchors(krb5_context k, const std::string& realm)
{
	profile_t profile = nullptr;
	if (krb5_get_profile(k, &profile) != 0 || !profile)
		return true;   // cannot tell: let MIT decide
	const char* in_realm[] = {"realms", realm.c_str(), "pkinit_anchors", nullptr};
	const char* in_defaults[] = {"libdefaults", "pkinit_anchors", nullptr};
	bool found = false;
	for (const char** path : {in_realm, in_defaults}) {
		char** values = nullptr;
		found = found || (profile_get_values(profile, path, &values) == 0 && values && values[0]);
		profile_free_list(values);
	}
	profile_release(profile);
	return found;
}

// The ticket's AS exchange used PKINIT: MIT records the pre-authentication type in the ccache.
bool issued_by_pkinit(krb5_context k, krb5_ccache cc, krb5_principal client)
{
	krb5_principal tgs = nullptr;
	const krb5_data* realm = krb5_princ_realm(k, client);
	if (krb5_build_principal_ext(k, &tgs, realm->length, realm->data, KRB5_TGS_NAME_SIZE, KRB5_TGS_NAME,
	                             realm->length, realm->data, 0) != 0)
		return false;
	krb5_data value{};
	const bool ok = krb5_cc_get_config(k, cc, tgs, "pa_type", &value) == 0 &&
	                std::string(value.data ? value.data : "", value.length) == std::to_string(KRB5_PADATA_PK_AS_REQ);
	krb5_free_data_contents(k, &value);
	krb5_free_principal(k, tgs);
	return ok;
}

} // namespace

Error KerberosContext::acquire_with_pkinit(const std::string& default_realm)
{
	const auto& ks = cred_->kerberos;
	const auto& id = cred_->identity;
	pkinit::CardRequest req;
	std::string why;
	auto fail = [&](Error e, const std::string& detail) {
		log_failure(kWhat, e, detail);
		return e;
	};

	// Who: a marshalled certificate, a user the caller named, or whoever the certificate names.
	std::string user, domain;
	if (id && (!utf16_to_utf8_str(id->user, user) || !utf16_to_utf8_str(id->domain, domain)))
		return fail(Error::InvalidParameter, "the user or domain name is not valid UTF-16");
	pkinit::CertHash hash{};
	switch (id ? pkinit::parse_marshalled_name(id->user, hash, why) : pkinit::MarshalledName::NotMarshalled) {
	case pkinit::MarshalledName::Certificate: req.hash = hash; break;
	case pkinit::MarshalledName::Unsupported:
	case pkinit::MarshalledName::Malformed:
		return fail(Error::InvalidParameter, "the user name is not a usable marshalled certificate credential: " + why);
	case pkinit::MarshalledName::NotMarshalled:
		if (!user.empty() && !client_principal(user, domain, default_realm, req.principal,
		                                        user.find('@') != std::string::npos ? configured_realms(krb5_.get())
		                                                                            : std::vector<std::string>{}))
			return fail(Error::NoAuthority, "no Kerberos realm for user '" + user + "' (no domain given and no default_realm in krb5.conf)");
		break;
	}
	if (ks.pkinit_identity.empty())
		return fail(Error::SmartcardNoCertificate, "the user name is a marshalled certificate, but no PKINIT identity says "
		                                           "where the certificate is (/smartcard-logon:cert:..,key:.. or "
		                                           "/kerberos:pkcs11-module:..)");
	if (!pkinit::parse_x509_identity(ks.pkinit_identity, req.identity, why))
		return fail(Error::InvalidParameter, why + " (pkinitX509Identity)");

	// The PIN, only ever as PKINIT's answer.
	SecretBytes pin;
	if (id && id->has_password && !id->password.empty() && !password_utf8(id->password.view(), pin))
		return fail(Error::InvalidParameter, "the PIN is not valid UTF-16 or contains NUL");
	if (!pin.empty())
		req.pin = pin.view().first(pin.size() - 1);

	std::string plugin_why;
	if (pkinit::plugin_disabled(krb5_.get(), plugin_why))
		return fail(Error::PkinitUnavailable, "MIT's PKINIT client plugin is not available: " + plugin_why);

	// A token's module is ours alone from the look at the card to the end of MIT's exchange.
	std::optional<pkcs11::ModuleUse> module_use;
	if (req.identity.kind == pkinit::X509Identity::Kind::Pkcs11)
		module_use.emplace(req.identity.module);
	pkinit::Card card;
	if (pkinit::Failure f = pkinit::inspect_card(req, card))
		return fail(f.error, f.detail);
	if (card.slot_asked)
		NLASSP_LOG(logger, Info,
		           "Kerberos: the caller named PKCS#11 slot %" PRIu64 ", which %s does not have (FreeRDP writes slot "
		           "ids as 16 bits); using %s, which holds the certificate",
		           *card.slot_asked, card.identity.module.c_str(), card.where.c_str());

	std::string principal = req.principal;
	if (principal.empty() && card.names_known)
		principal = pkinit::certificate_principal(card.names);
	if (principal.empty())
		return fail(Error::NoCredentials, "the certificate in " + card.where + " names no Kerberos principal (no "
		                                  "id-pkinit-san or UPN); give the user name (/u:user /d:REALM)");
	std::string name, realm;
	split_principal(principal, name, realm);
	if (Error e = check_realm(realm); e != Error::None)
		return e;
	if (kdc_url_wanted())
		if (Error e = use_kdc_url(realm); e != Error::None)
			return e;
	if (ks.pkinit_anchors.empty() && !profile_has_anchors(krb5_.get(), realm))
		return fail(Error::KdcCertUntrusted, "no PKINIT trust anchors for realm " + realm + " (nothing to verify the "
		                                     "KDC's certificate with)");
	return pkinit_exchange(principal, card, pin);
}

Error KerberosContext::pkinit_exchange(const std::string& principal, const pkinit::Card& card, const SecretBytes& pin)
{
	krb5_context k = krb5_.get();
	const auto& ks = cred_->kerberos;
	gss::Principal client;
	if (krb5_error_code code = parse_client(k, principal, client); code)
		return fail_krb5(kWhat, code);
	if (Error e = open_logon_ccache(kWhat); e != Error::None)
		return e;
	krb5_error_code code = 0;

	// Only an identity MIT reads back as meant (a token's label could hold MIT's separators).
	std::string identity, why;
	if (!pkinit::format_for_mit(card.identity, identity, why)) {
		log_failure(kWhat, Error::SmartcardUnavailable, "MIT's PKINIT cannot be told where the card is: " + why,
		            "name the token with its slot (/kerberos:pkcs11-module:) and give its certificate an ID");
		return Error::SmartcardUnavailable;
	}
	Responder responder{&pin};
	OptPtr opt;
	if ((code = exchange_options(k, ks, ccache_.get(), private_ccache_, identity, responder, opt)) != 0)
		return fail_krb5(kWhat, code);
	if (krb5_princ_type(k, client.get()) == KRB5_NT_ENTERPRISE_PRINCIPAL)
		krb5_get_init_creds_opt_set_canonicalize(opt.get(), 1);

	pkinit::ExchangeTrace trace;
	IccPtr icc(nullptr, IccFree{k});
	{
		TraceCapture capture(k, trace, trace_.get());
		krb5_init_creds_context raw = nullptr;
		// No prompter: nothing but the responder's PKINIT answer can reach MIT.
		code = krb5_init_creds_init(k, client.get(), nullptr, nullptr, ks.start_time > 0 ? ks.start_time : 0, opt.get(), &raw);
		icc.reset(raw);
		if (code == 0)
			code = krb5_init_creds_get(k, icc.get());
	}
	if (code)
		return pkinit_failure(icc.get(), code, trace, responder.locked, principal, card);
	if (!issued_by_pkinit(k, ccache_.get(), client.get())) {
		log_failure(kWhat, Error::Internal, "the KDC issued a ticket without PKINIT; refusing it");
		return Error::Internal;
	}
	return adopt_logon_ccache(kWhat, principal, " with PKINIT (certificate from " + card.where + ")");
}

// A failed exchange: the smartcard logon's own failures by what MIT's trace said, everything else
// (a KDC that cannot be reached, a KDC proxy's trouble, an account that may not log on) mapped as
// a password logon's AS exchange is.
Error KerberosContext::pkinit_failure(krb5_init_creds_context icc, krb5_error_code code, pkinit::ExchangeTrace& trace,
                                      bool pin_locked, const std::string& principal, const pkinit::Card& card)
{
	krb5_context k = krb5_.get();
	krb5_error* kerr = nullptr;
	if (icc && krb5_init_creds_get_error(k, icc, &kerr) == 0 && kerr) {
		trace.kdc_error = static_cast<krb5_error_code>(kerr->error) + ERROR_TABLE_BASE_krb5;
		krb5_free_error(k, kerr);
	}
	if (pin_locked && trace.kdc_error == 0) {
		log_failure(kWhat, Error::SmartcardPinLocked, card.where + " reports its user PIN locked");
		return Error::SmartcardPinLocked;
	}
	std::string plugin_why;
	const bool plugin = pkinit::plugin_available(k, plugin_why);
	if (const pkinit::Failure f = pkinit::classify_exchange(code, trace, plugin, plugin_why, principal)) {
		log_failure(kWhat, f.error, f.detail, f.fix);
		return f.error;
	}
	return icc ? fail_as_exchange(icc, code, principal) : fail_krb5(kWhat, code);
}

} // namespace detail

} // namespace nlassp::kerberos
