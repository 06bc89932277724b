#include "kerberos/gss.h"

#include "common/secret.h"

namespace nlassp::kerberos::gss {

void free_name(gss_name_t& h) noexcept
{
	OM_uint32 minor = 0;
	(void)gss_release_name(&minor, &h);
}

void free_cred(gss_cred_id_t& h) noexcept
{
	OM_uint32 minor = 0;
	(void)gss_release_cred(&minor, &h);
}

void free_ctx(gss_ctx_id_t& h) noexcept
{
	OM_uint32 minor = 0;
	(void)gss_delete_sec_context(&minor, &h, GSS_C_NO_BUFFER);
}

void free_krb5(krb5_context& h) noexcept
{
	krb5_free_context(h);
}

Buffer::~Buffer()
{
	OM_uint32 minor = 0;
	if (b_.value)
		(void)gss_release_buffer(&minor, &b_);
}

gss_buffer_t Buffer::out() noexcept
{
	OM_uint32 minor = 0;
	if (b_.value)
		(void)gss_release_buffer(&minor, &b_);
	b_ = gss_buffer_desc{0, nullptr};
	return &b_;
}

BufferSet::~BufferSet()
{
	OM_uint32 minor = 0;
	if (s_ != GSS_C_NO_BUFFER_SET)
		(void)gss_release_buffer_set(&minor, &s_);
}

void Principal::reset() noexcept
{
	if (p_)
		krb5_free_principal(ctx_, p_);
	p_ = nullptr;
}

void Ccache::close() noexcept
{
	if (cc_)
		(void)krb5_cc_close(ctx_, cc_);
	cc_ = nullptr;
}

void Ccache::destroy() noexcept
{
	if (cc_)
		(void)krb5_cc_destroy(ctx_, cc_);
	cc_ = nullptr;
}

void free_creds(krb5_context k, krb5_creds* p) noexcept { krb5_free_creds(k, p); }
void free_init_creds_opt(krb5_context k, krb5_get_init_creds_opt* p) noexcept { krb5_get_init_creds_opt_free(k, p); }
void free_init_creds(krb5_context k, krb5_init_creds_context p) noexcept { krb5_init_creds_free(k, p); }
void free_error(krb5_context k, krb5_error* p) noexcept { krb5_free_error(k, p); }
void free_auth_context(krb5_context k, krb5_auth_context p) noexcept { (void)krb5_auth_con_free(k, p); }

CredContents::~CredContents()
{
	if (filled)
		krb5_free_cred_contents(k_, &c);
}

SecretData::~SecretData()
{
	if (d.data) {
		secure_wipe(d.data, d.length);
		krb5_free_data_contents(k_, &d);
	}
}

gss_OID_set krb5_mech_set() noexcept
{
	static gss_OID_desc oid = {9, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02")};
	static gss_OID_set_desc set = {1, &oid};
	return &set;
}

static void append_status(std::string& out, OM_uint32 code, int type)
{
	OM_uint32 ctx = 0;
	do {
		OM_uint32 minor = 0;
		gss_buffer_desc msg{0, nullptr};
		OM_uint32 major = gss_display_status(&minor, code, type, gss_mech_krb5, &ctx, &msg);
		if (GSS_ERROR(major))
			break;
		if (!out.empty())
			out += ": ";
		out.append(static_cast<const char*>(msg.value), msg.length);
		(void)gss_release_buffer(&minor, &msg);
	} while (ctx != 0);
}

std::string describe(OM_uint32 major, OM_uint32 minor)
{
	std::string out;
	if (GSS_ROUTINE_ERROR(major) != 0)
		append_status(out, GSS_ROUTINE_ERROR(major), GSS_C_GSS_CODE);
	if (minor != 0) {
		std::string mech;
		append_status(mech, minor, GSS_C_MECH_CODE);
		if (!mech.empty() && mech != "Success")
			out = (out.empty() || GSS_ROUTINE_ERROR(major) == GSS_S_FAILURE) ? mech : mech + " (" + out + ")";
	}
	if (out.empty())
		out = "unspecified GSSAPI failure";
	return out;
}

std::string describe_krb5(krb5_context ctx, krb5_error_code code)
{
	const char* msg = krb5_get_error_message(ctx, code);
	std::string out = msg ? msg : "unknown Kerberos error";
	krb5_free_error_message(ctx, msg);
	return out;
}

Error map_krb5(krb5_error_code code) noexcept
{
	switch (code) {
	case 0: return Error::None;
	case KRB5KDC_ERR_PREAUTH_FAILED:
	case KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN:
	case KRB5KRB_AP_ERR_BAD_INTEGRITY:     // AS reply not decryptable with our key: wrong password
	case KRB5KDC_ERR_POLICY:
	case KRB5KRB_AP_ERR_MODIFIED:          // acceptor: ticket does not decrypt with our key
	case KRB5KRB_AP_ERR_REPEAT:            // acceptor: replayed authenticator
	case KRB5KRB_AP_ERR_BADMATCH:
	case KRB5KRB_AP_ERR_TKT_NYV:
	case KRB5KRB_AP_ERR_TKT_EXPIRED:
		return Error::LogonDenied;
	case KRB5KDC_ERR_KEY_EXP:
		return Error::PasswordExpired;
	case KRB5KDC_ERR_CLIENT_REVOKED:       // disabled or locked out (AS and TGS, MS-KILE 3.3.5.7.1)
		return Error::AccountRevoked;
	case KRB5KDC_ERR_NAME_EXP:
		return Error::AccountExpired;
	case KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN:
	case KRB5_NO_TKT_IN_RLM:
		return Error::TargetUnknown;
	case KRB5KRB_AP_ERR_SKEW:
		return Error::TimeSkew;
	case KRB5_KDC_UNREACH:
	case KRB5_REALM_UNKNOWN:
	case KRB5_REALM_CANT_RESOLVE:
	case KRB5_CONFIG_NODEFREALM:
	case KRB5_ERR_HOST_REALM_UNKNOWN:
		return Error::NoAuthority;
	case KRB5_KDCREP_SKEW:
		return Error::TimeSkew;
	case KRB5_CC_NOTFOUND:
	case KRB5_FCC_NOFILE:
	case KRB5_CC_NOSUPP:
	case KRB5_CC_BADNAME:
	case KRB5_CC_UNKNOWN_TYPE:
	case KRB5_CC_END:
	case KRB5_KT_NOTFOUND:
	case KRB5_KT_END:
	case KRB5_KT_NAME_TOOLONG:
	case KRB5_KT_UNKNOWN_TYPE:
	case KRB5_LIBOS_PWDINTR:
	case KRB5_LIBOS_CANTREADPWD:
		return Error::NoCredentials;
	case KRB5KRB_AP_WRONG_PRINC:
	case KRB5KRB_AP_ERR_NOKEY:
	case KRB5KRB_AP_ERR_BADKEYVER:
		return Error::WrongPrincipal;
	case KRB5KRB_AP_ERR_MSG_TYPE:
	case KRB5KRB_AP_ERR_BADVERSION:
	case KRB5KRB_AP_ERR_INAPP_CKSUM:
	case KRB5KRB_AP_ERR_BADDIRECTION:
	case KRB5KRB_AP_ERR_BADSEQ:
	case KRB5_BADMSGTYPE:
	case KRB5KDC_ERR_BADOPTION:
	case KRB5_BAD_ENCTYPE:
	case KRB5_BAD_MSIZE:
		return Error::InvalidToken;
	case KRB5KDC_ERR_ETYPE_NOSUPP:
	case KRB5_PROG_ETYPE_NOSUPP:
		return Error::PackageUnavailable;
	case ENOMEM:
		return Error::InsufficientMemory;
	default:
		break;
	}
	// ASN.1 decoding errors (the asn1 error table): malformed bytes from the peer.
	const auto c = static_cast<long>(code);
	if (c >= ASN1_BAD_TIMEFORMAT && c < ASN1_BAD_TIMEFORMAT + 64)
		return Error::InvalidToken;
	return Error::Internal;
}

Error map_gss(OM_uint32 major, OM_uint32 minor) noexcept
{
	const OM_uint32 routine = GSS_ROUTINE_ERROR(major);
	if (routine == GSS_S_BAD_SIG)
		return Error::MessageAltered;
	if (routine == GSS_S_DEFECTIVE_TOKEN)
		return Error::InvalidToken;
	if (routine == GSS_S_BAD_BINDINGS)
		return Error::BadBindings;
	if (minor != 0) {
		Error e = map_krb5(static_cast<krb5_error_code>(minor));
		if (e != Error::Internal)
			return e;
	}
	switch (routine) {
	case GSS_S_NO_CRED:
	case GSS_S_CREDENTIALS_EXPIRED:
	case GSS_S_DEFECTIVE_CREDENTIAL:
		return Error::NoCredentials;
	case GSS_S_BAD_NAME:
	case GSS_S_BAD_NAMETYPE:
		return Error::TargetUnknown;
	case GSS_S_CONTEXT_EXPIRED:
		return Error::ContextExpired;
	case GSS_S_NO_CONTEXT:
		return Error::NotEstablished;
	case GSS_S_BAD_MECH:
	case GSS_S_UNAVAILABLE:
		return Error::PackageUnavailable;
	case GSS_S_BAD_QOP:
		return Error::Unsupported;
	case GSS_S_DUPLICATE_ELEMENT:
	case GSS_S_NAME_NOT_MN:
		return Error::InvalidParameter;
	default:
		break;
	}
	if (major & (GSS_S_DUPLICATE_TOKEN | GSS_S_OLD_TOKEN | GSS_S_UNSEQ_TOKEN | GSS_S_GAP_TOKEN))
		return Error::OutOfSequence;
	return Error::Internal;
}

Error map_supplementary(OM_uint32 major) noexcept
{
	if (major & (GSS_S_DUPLICATE_TOKEN | GSS_S_OLD_TOKEN | GSS_S_UNSEQ_TOKEN | GSS_S_GAP_TOKEN))
		return Error::OutOfSequence;
	return Error::None;
}

} // namespace nlassp::kerberos::gss
