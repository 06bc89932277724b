// The password's AS exchange, exactly once: MIT's krb5_init_creds_* step API (not
// krb5_get_init_creds_password, which repeats a refused exchange against the realm's primary KDC
// and so would count the same wrong password twice toward a lockout), and the KDC's reason when
// it refuses the account itself (KRB-ERROR code and AD's KERB-EXT-ERROR, kerberos/ext_error.h).
#include "kerberos/context_impl.h"

#include "common/failure.h"
#include "kerberos/ext_error.h"

#include <cinttypes>
#include <cstdio>

namespace nlassp::kerberos::detail {

namespace {

const char* status_name(uint32_t s)
{
	switch (s) {
	case ntstatus::AccountDisabled: return "STATUS_ACCOUNT_DISABLED";
	case ntstatus::AccountLockedOut: return "STATUS_ACCOUNT_LOCKED_OUT";
	case ntstatus::AccountExpired: return "STATUS_ACCOUNT_EXPIRED";
	case ntstatus::InvalidLogonHours: return "STATUS_INVALID_LOGON_HOURS";
	case ntstatus::InvalidWorkstation: return "STATUS_INVALID_WORKSTATION";
	case ntstatus::PasswordExpired: return "STATUS_PASSWORD_EXPIRED";
	case ntstatus::PasswordMustChange: return "STATUS_PASSWORD_MUST_CHANGE";
	case ntstatus::AccountRestriction: return "STATUS_ACCOUNT_RESTRICTION";
	default: return "NTSTATUS";
	}
}

} // namespace

// A refused AS exchange: the account's state when the KDC names one, else the usual mapping.
Error KerberosContext::fail_as_exchange(krb5_init_creds_context icc, krb5_error_code code,
                                        const std::string& principal)
{
	krb5_context k = krb5_.get();
	const std::string kdc_text = gss::describe_krb5(k, code);
	bool has_status = false;
	uint32_t status = 0;
	gss::KrbError reply(k);
	if (krb5_init_creds_get_error(k, icc, reply.out()) == 0 && reply.get() && reply->e_data.length > 0) {
		const ByteView e_data(reinterpret_cast<const uint8_t*>(reply->e_data.data), reply->e_data.length);
		const ExtErrorParse parsed = parse_ext_error(e_data, status);
		has_status = parsed == ExtErrorParse::Found;
		if (parsed == ExtErrorParse::Malformed)
			NLASSP_LOG(logger, Debug, "Kerberos: the KDC's error carries %u bytes of e-data that are not a KERB-EXT-ERROR; ignored",
			           static_cast<unsigned>(e_data.size()));
	}
	const Error e = account_error(code, has_status, status);
	if (e == Error::None || e == Error::PasswordExpired) {
		if (has_status)
			NLASSP_LOG(logger, Debug, "Kerberos: the KDC's extended error is %s (0x%08" PRIX32 ")", status_name(status), status);
		const Error mapped = gss::map_krb5(code);
		if (!failure::is_refusal(mapped))
			return fail_krb5("logon", code);
		// A wrong password, an unknown user, an expired password: the line names the principal.
		log_failure("logon", mapped, "the KDC refused " + principal + ": " + kdc_text);
		return mapped;
	}
	std::string detail = "the KDC refused " + principal + ": ";
	if (has_status) {
		char hex[16];
		(void)std::snprintf(hex, sizeof(hex), "0x%08" PRIX32, status);
		detail += std::string(status_name(status)) + " (" + hex + ") with " + kdc_text;
	} else {
		detail += kdc_text;
	}
	log_failure("logon", e, detail);
	return e;
}

// One AS exchange for `client` with `password` into ccache_ (already resolved by the caller),
// with the caller's lifetimes and armor cache.
Error KerberosContext::password_as_exchange(krb5_principal client, const SecretBytes& password,
                                            const std::string& principal)
{
	krb5_context k = krb5_.get();
	const auto& ks = cred_->kerberos;
	gss::InitCredsOpt o(k);
	krb5_error_code code = krb5_get_init_creds_opt_alloc(k, o.out());
	if (code)
		return fail_krb5("logon", code);
	if (ks.life_time > 0)
		krb5_get_init_creds_opt_set_tkt_life(o.get(), ks.life_time);
	if (ks.renew_life_time > 0)
		krb5_get_init_creds_opt_set_renew_life(o.get(), ks.renew_life_time);
	// A private cache's TGT is asked forwardable, so that Remote Credential Guard can forward it
	// (remote_guard.cpp); it never leaves this context otherwise.
	if (private_ccache_)
		krb5_get_init_creds_opt_set_forwardable(o.get(), 1);
	// A UPN asked as an enterprise name: the KDC answers with the account's own name.
	if (krb5_princ_type(k, client) == KRB5_NT_ENTERPRISE_PRINCIPAL)
		krb5_get_init_creds_opt_set_canonicalize(o.get(), 1);
	if (!ks.armor_cache.empty())
		code = krb5_get_init_creds_opt_set_fast_ccache_name(k, o.get(), ks.armor_cache.c_str());
	if (code == 0)
		code = krb5_get_init_creds_opt_set_out_ccache(k, o.get(), ccache_.get());
	if (code)
		return fail_krb5("logon", code);

	gss::InitCreds ic(k);
	code = krb5_init_creds_init(k, client, nullptr, nullptr, ks.start_time > 0 ? ks.start_time : 0, o.get(), ic.out());
	if (code == 0)
		code = krb5_init_creds_set_password(k, ic.get(), reinterpret_cast<const char*>(password.data()));
	if (code)
		return fail_krb5("logon", code);
	if (trace_)
		trace_->lines.clear();   // a KDC proxy's trouble, if any, is this exchange's
	code = krb5_init_creds_get(k, ic.get());
	if (code)
		return fail_as_exchange(ic.get(), code, principal);
	return Error::None;
}

} // namespace nlassp::kerberos::detail
