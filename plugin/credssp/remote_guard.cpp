// Remote Credential Guard, initiator side of CREDSSP (NLASSP_CREDSSP_REMOTE_GUARD): TSCredentials
// of credType 6 carrying TSRemoteGuardCreds whose logonCred is the inner Kerberos context's
// KERB_TICKET_LOGON (kerberos/ticket_logon.h) for the package "Kerberos", instead of a password.
// supplementalCreds is left out (MS-CSSP: OPTIONAL), unless the caller asked for the keyless NTLM
// credential FreeRDP's servers require (NLASSP_CREDSSP_REMOTE_GUARD_FREERDP_COMPAT: they refuse
// supplementalCreds left out, and before 3.19 also an empty list).
#include "credssp/context.h"

#include "common/log.h"
#include "kerberos/ticket_logon.h"
#include "wire/utf16.h"
#include "wire/writer.h"

namespace nlassp::credssp {

namespace {

const log::Logger logger("com.nlassp.credssp");

// An MSV1_0_REMOTE_SUPPLEMENTAL_CREDENTIAL that carries no key: Version MSV1_0_CRED_VERSION_REMOTE,
// Flags 0, a zero 20-byte CredentialKey of type InvalidCredKey (0), no EncryptedCreds.
TsRemoteGuardPackageCred keyless_ntlm_credential()
{
	TsRemoteGuardPackageCred p;
	p.package_name = wire::utf16le_bytes(u"NTLM");
	wire::Writer w;
	w.u32le(0xffff0002u);
	w.u32le(0);
	w.zeros(20);
	w.u32le(0);
	w.u32le(0);
	p.cred_buffer = SecretBytes(w.view());
	return p;
}

} // namespace

Error CredSspContext::make_remote_guard_credentials(Bytes& auth_info)
{
	if (inner_->package() != PackageId::Kerberos) {
		NLASSP_LOG(logger, Error,
		           "CredSSP initiator: Remote Credential Guard needs Kerberos, but the logon used %s; no credentials "
		           "were sent (connect by the host name the realm knows, with a Kerberos ticket)",
		           package_name(inner_->package()));
		return Error::Unsupported;
	}
	TicketLogon logon;
	if (const Error e = inner_->ticket_logon(logon); e != Error::None)
		return e;   // the Kerberos package logged why
	TsRemoteGuardCreds rg;
	rg.logon_cred.package_name = wire::utf16le_bytes(u"Kerberos");
	if (!kerberos::encode_ticket_logon(logon, rg.logon_cred.cred_buffer))
		return Error::Internal;
	if (policy_.options().remote_guard_freerdp_compat)
		rg.supplemental_creds.push_back(keyless_ntlm_credential());
	TsCredentials tc;
	tc.cred_type = static_cast<uint32_t>(CredType::RemoteGuard);
	SecretBytes der;
	if (!encode_ts_remote_guard_creds(rg, tc.credentials) || !encode_ts_credentials(tc, der))
		return Error::Internal;
	delegated_ = true;
	remote_guard_ = true;
	return seal(der.view(), auth_info);
}

} // namespace nlassp::credssp
