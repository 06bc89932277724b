// Remote Credential Guard, initiator side: the KERB_TICKET_LOGON a FreeRDP client sends in
// TSRemoteGuardCreds instead of a password (SECPKG_CRED_ATTR_TICKET_LOGON; ticket_logon.h).
//
// What GSSAPI cannot do is done with libkrb5 beside it, on a private MEMORY ccache holding a copy
// of the GSSAPI credential's tickets (so the user's ccache is never written):
//   1. the TGT must be forwardable (checked locally: a clear refusal instead of a KDC error);
//   2. a service ticket for host/<target host> (the computer's own service, as LsaLogonUser's
//      KERB_TICKET_LOGON wants; "HOST/<host>", WinPR's spelling, if the KDC does not know "host");
//   3. krb5_fwd_tgt_creds: a TGS exchange for a TGT flagged forwarded, as a KRB-CRED.
// The KRB-CRED's enc-part is *not* sealed (etype 0, RFC 6448), as WinPR's built-in Kerberos - the
// implementation known to work against Windows servers - sends it, and as MIT makes it when the
// auth context has no key: the whole TSCredentials is already encrypted for the server by the
// CredSSP context inside TLS, and whoever can read it (the server's TERMSRV key holder) is the
// same machine as the host/ key holder. Receivers must accept both forms (MIT's krb5_rd_cred
// does: without a key it reads the plain form).
#include "kerberos/context_impl.h"

#include "common/failure.h"
#include "kerberos/pkinit.h"
#include "kerberos/ticket_logon.h"

#include <cstring>

namespace nlassp::kerberos::detail {

namespace {

constexpr const char* kForwardableFix =
    "run kinit -f (or set forwardable = true in krb5.conf [libdefaults]); if the ticket is still not "
    "forwardable, the realm forbids it for this user (MIT: modprinc +allow_forwardable; Active Directory: "
    "\"Account is sensitive and cannot be delegated\" or Protected Users)";
constexpr const char* kAskedFix =
    "the ticket was asked forwardable and the KDC did not make it so: the realm's policy forbids forwarding this "
    "user's tickets (MIT: modprinc +allow_forwardable; Active Directory: \"Account is sensitive and cannot be "
    "delegated\" or Protected Users)";
constexpr const char* kNamedCacheFix =
    "set forwardable = true in krb5.conf [libdefaults] (a logon into kerberosSettings.cache keeps krb5.conf's "
    "choice); if the ticket is still not forwardable, the realm forbids it for this user (MIT: modprinc "
    "+allow_forwardable; Active Directory: \"Account is sensitive and cannot be delegated\" or Protected Users)";
constexpr const char* kRealmPolicyFix =
    "the realm's policy forbids forwarding this user's ticket (MIT: +allow_forwardable on the user, "
    "+allow_tgs_req on krbtgt; Active Directory: \"Account is sensitive and cannot be delegated\" or Protected "
    "Users); with a plain kinit, run kinit -f (or set forwardable = true in krb5.conf [libdefaults])";

} // namespace

Error KerberosContext::fail_remote_guard(Error e, const std::string& detail)
{
	// One line a user can act on; Remote Credential Guard was asked for explicitly, so a refusal
	// is an error of the login (FreeRDP gives up without sending credentials).
	NLASSP_LOG(logger, Error, "Kerberos: Remote Credential Guard is not possible for %s: %s", client_.c_str(),
	           detail.c_str());
	failure::record(detail);
	return e;
}

// Step 1: a private copy of the credential's tickets; the TGT must be there and forwardable.
Error KerberosContext::remote_guard_ccache(gss::Ccache& mem, gss::Principal& client)
{
	krb5_context k = krb5_.get();
	// The cache is the tickets' client's: the name the GSSAPI credential holds (its ccache's
	// principal, which MIT's AS exchange sets from the KDC's reply), not a name we made from the
	// user name (a UPN, or a KDC that canonicalizes, makes the two differ).
	OM_uint32 minor = 0;
	gss::Name name;
	gss::Buffer text;
	OM_uint32 major = gss_inquire_cred(&minor, gcred_.get(), name.out(), nullptr, nullptr, nullptr);
	if (!GSS_ERROR(major))
		major = gss_display_name(&minor, name.get(), text.out(), nullptr);
	if (GSS_ERROR(major))
		return fail_gss("Remote Credential Guard", major, minor);
	if (krb5_error_code code = parse_client(k, text.str(), client); code)
		return fail_krb5("Remote Credential Guard", code);
	krb5_error_code code = krb5_cc_new_unique(k, "MEMORY", nullptr, mem.out(k));
	if (code == 0)
		code = krb5_cc_initialize(k, mem.get(), client.get());
	if (code)
		return fail_krb5("Remote Credential Guard", code);
	if ((major = gss_krb5_copy_ccache(&minor, gcred_.get(), mem.get())); GSS_ERROR(major))
		return fail_gss("Remote Credential Guard", major, minor);

	gss::Principal tgs;
	const krb5_data* realm = krb5_princ_realm(k, client.get());
	if ((code = krb5_build_principal_ext(k, tgs.out(k), realm->length, realm->data, KRB5_TGS_NAME_SIZE, KRB5_TGS_NAME,
	                                     realm->length, realm->data, 0)) != 0)
		return fail_krb5("Remote Credential Guard", code);
	krb5_creds match;
	std::memset(&match, 0, sizeof(match));
	match.client = client.get();
	match.server = tgs.get();
	gss::CredContents tgt(k);
	if (krb5_cc_retrieve_cred(k, mem.get(), 0, &match, &tgt.c) != 0)
		return fail_remote_guard(Error::NoCredentials,
		                         "the credential cache holds no ticket-granting ticket to forward; " +
		                             std::string(kForwardableFix));
	tgt.filled = true;
	if (!(tgt.c.ticket_flags & TKT_FLG_FORWARDABLE)) {
		// Whose choice it was: a logon of ours into a private cache asked for forwardable (only the
		// realm says no), one into a named cache followed krb5.conf, a kinit ticket kinit's flags.
		const auto& id = cred_->identity;
		const bool logged_on = pkinit::requested(*cred_) || (id && id->has_password && !id->password.empty());
		const char* fix = private_ccache_ ? kAskedFix : logged_on ? kNamedCacheFix : kForwardableFix;
		return fail_remote_guard(Error::DelegationPolicy, std::string(pkinit::requested(*cred_) ? "the smartcard logon's " : "the ") +
		                                                      "ticket-granting ticket is not forwardable; " + fix);
	}
	return Error::None;
}

// Step 2: the service ticket for host/<host> (or HOST/<host>).
Error KerberosContext::remote_guard_host_ticket(const std::string& host, krb5_ccache cc, krb5_principal client,
                                                gss::Principal& server, SecretBytes& ticket)
{
	krb5_context k = krb5_.get();
	krb5_error_code code = 0;
	for (const char* service : {"host", "HOST"}) {
		if ((code = krb5_sname_to_principal(k, host.c_str(), service, KRB5_NT_SRV_HST, server.out(k))) != 0)
			break;
		krb5_creds in;
		std::memset(&in, 0, sizeof(in));
		in.client = client;
		in.server = server.get();
		gss::Creds out(k);
		code = krb5_get_credentials(k, 0, cc, &in, out.out());
		if (code == 0) {
			ticket = SecretBytes(reinterpret_cast<const uint8_t*>(out->ticket.data), out->ticket.length);
			// The principal the ticket really is for (referrals may have filled in the realm).
			if ((code = krb5_copy_principal(k, out->server, server.out(k))) != 0)
				break;
			return Error::None;
		}
		if (code != KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN)
			break;
	}
	const std::string what = "Remote Credential Guard: service ticket for host/" + host;
	return fail_krb5(what.c_str(), code);
}

Error KerberosContext::ticket_logon(TicketLogon& out)
{
	if (role_ != Role::Initiator)
		return Error::Unsupported;
	if (state_ != State::Established)
		return Error::NotEstablished;
	std::string host;
	if (!target_host(target_text_, host)) {
		log_failure("Remote Credential Guard", Error::TargetUnknown, "no host in the target name '" + target_text_ + "'");
		return Error::TargetUnknown;
	}
	krb5_context k = krb5_.get();
	gss::Ccache mem;
	const gss::DestroyCcache destroy_mem{mem};
	gss::Principal client;
	if (const Error e = remote_guard_ccache(mem, client); e != Error::None)
		return e;
	gss::Principal server;
	TicketLogon t;
	t.flags = kLogonFlagRedirected;
	if (const Error e = remote_guard_host_ticket(host, mem.get(), client.get(), server, t.service_ticket);
	    e != Error::None)
		return e;

	gss::AuthContext ac(k);
	krb5_error_code code = krb5_auth_con_init(k, ac.out());
	gss::SecretData cred(k);
	if (code == 0)
		// rhost: the target host itself, as WinPR's does, not one MIT would read back out of the
		// ticket's server name (which it refuses unless that name is typed NT-SRV-HST).
		code = krb5_fwd_tgt_creds(k, ac.get(), host.c_str(), client.get(), server.get(), mem.get(), 1, &cred.d);
	if (code == KRB5KDC_ERR_BADOPTION || code == KRB5KDC_ERR_POLICY)
		return fail_remote_guard(Error::DelegationPolicy,
		                         "the KDC refused to forward the ticket-granting ticket (" +
		                             gss::describe_krb5(k, code) + "): " + kRealmPolicyFix);
	if (code)
		return fail_krb5("Remote Credential Guard: forwarding the ticket-granting ticket", code);
	t.ticket_granting_ticket = SecretBytes(reinterpret_cast<const uint8_t*>(cred.d.data), cred.d.length);
	SecretBytes check;
	if (!encode_ticket_logon(t, check)) {
		log_failure("Remote Credential Guard", Error::Internal, "the tickets do not fit a KERB_TICKET_LOGON");
		return Error::Internal;
	}
	NLASSP_LOG(logger, Info,
	           "Kerberos: Remote Credential Guard: a ticket for host/%s and %s's forwarded ticket-granting ticket "
	           "go to the server instead of a password",
	           host.c_str(), client_.c_str());
	out = std::move(t);
	return Error::None;
}

} // namespace nlassp::kerberos::detail
