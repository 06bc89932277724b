#include "outcome.h"

#include "common/failure.h"

#include <cinttypes>
#include <cstdio>

namespace nlassp::probe {

namespace {

// What an error means for a probe, whoever produced it.
const char* describe(Error e, const credssp::Info& info)
{
	switch (e) {
	case Error::None: return "logged in: the server accepted the credentials and proved it holds the TLS key";
	case Error::LogonDenied: return "wrong user name or password, or the account may not log on";
	case Error::PasswordExpired: return "the password has expired or must be changed";
	case Error::AccountRevoked:
		return "the account may not log on (disabled, locked out or otherwise restricted): ask an administrator";
	case Error::AccountDisabled: return "the account is disabled: ask an administrator to enable it";
	case Error::AccountLockedOut:
		return "the account is locked out after too many wrong passwords: wait for the lockout to end or have it "
		       "unlocked";
	case Error::AccountExpired: return "the account has expired: ask an administrator to extend it";
	case Error::InvalidLogonHours: return "the account may not log on at this time (its logon hours)";
	case Error::InvalidWorkstation: return "the account may not log on from this computer (its workstation list)";
	case Error::NoCredentials: return "no usable credentials: give --user/--password, or a Kerberos ccache";
	case Error::IncompleteCredentials: return "there is no password to delegate: give --password, or leave out --delegate";
	case Error::MutualAuthFailed:
		return info.echo_defect_refused
		           ? "the server's public-key echo has the known defect of FreeRDP's CredSSP server at versions 2-4; "
		             "use --credssp-version 6, or --tolerate-freerdp-echo-bug"
		           : "the server could not prove it owns the TLS key: possible man-in-the-middle; no credentials were sent";
	case Error::MessageAltered: return "a protected CredSSP field failed its integrity check: tampering or a man-in-the-middle";
	case Error::TimeSkew: return "the clocks of this machine and the KDC/server differ too much";
	case Error::NoAuthority: return "no Kerberos KDC or domain controller could be reached";
	case Error::TargetUnknown: return "the KDC does not know the service principal (try --target or NTLM)";
	case Error::WrongPrincipal: return "the server is not the principal we asked for";
	case Error::DelegationPolicy:
		return "credentials may not be delegated here: the delegation policy refuses this target, or (--remote-guard) "
		       "the Kerberos TGT cannot be forwarded (kinit -f)";
	case Error::PolicyNtlmOnly: return "only NTLM authenticated the server and the policy forbids delegating then";
	case Error::Unsupported:
		return "the server's CredSSP version is below --min-credssp-version, or an option is unsupported "
		       "(--remote-guard needs Kerberos)";
	case Error::InvalidToken: return "the server sent a malformed or unexpected CredSSP message";
	case Error::DowngradeDetected: return "the SPNEGO mechanism list was tampered with (downgrade)";
	case Error::PackageUnavailable:
		return "the mechanism cannot work on this machine (a broken krb5 configuration, or no MD4/RC4 for NTLM: "
		       "the module's log line says which)";
	case Error::InvalidParameter: return "the TLS server key could not be used";
	default: return "the CredSSP exchange failed";
	}
}

// "errorCode 0xC007052E, FreeRDP server: ERROR_LOGON_FAILURE"; empty when the server sent none.
std::string error_code_text(uint32_t code)
{
	if (code == 0)
		return {};
	char hex[16];
	std::snprintf(hex, sizeof(hex), "0x%08" PRIX32, code);
	return std::string("errorCode ") + hex + ", " + credssp::ntstatus_name(code);
}

} // namespace

bool wants_delegation(Delegation d, bool have_password) noexcept
{
	return d == Delegation::Always || (d == Delegation::Auto && have_password);
}

Verdict judge(const Ending& e)
{
	Verdict v;
	if (e.error == Error::None) {
		v.reason = describe(e.error, e.info);
		return v;
	}
	v.refused = failure::is_refusal(e.error);
	if (e.error == Error::Unsupported && e.info.peer_version && e.info.peer_version < e.min_version) {
		v.reason = "the server speaks CredSSP version " + std::to_string(e.info.peer_version) +
		           (e.info.peer_version < credssp::kDefaultMinVersion
		                ? ", which is insecure (below 5: no nonce-bound public-key hash, CVE-2018-0886); not "
		                  "connected - use --min-credssp-version 2 to connect anyway"
		                : ", below --min-credssp-version");
		return v;
	}
	if (!e.net_error.empty()) {
		if (v.refused)
			v.refused_by = "server";
		v.reason = e.net_error;
		return v;
	}
	if (!e.sent_to_server) {
		// Nothing reached the RDP server: the failure is ours, or the KDC's (a Kerberos logon gets
		// its tickets before the first TSRequest is sent).
		if (v.refused) {
			v.refused_by = "kdc";
			v.reason = std::string("the KDC refused the logon before anything was sent to the server: ") +
			           describe(e.error, e.info);
		} else {
			v.reason = std::string(describe(e.error, e.info)) + "; nothing was sent to the server";
		}
		return v;
	}
	const std::string code = error_code_text(e.info.peer_error_code);
	if (v.refused) {
		v.refused_by = "server";
		v.reason = "the server refused the logon" + (code.empty() ? std::string() : " (" + code + ")") + ": " +
		           describe(e.error, e.info);
	} else {
		v.reason = describe(e.error, e.info) + (code.empty() ? std::string() : " (the server's " + code + ")");
	}
	return v;
}

std::string delegation_text(const Ending& e)
{
	if (e.info.remote_guard)
		return "Remote Credential Guard (a Kerberos ticket logon, no password)";
	if (e.info.delegated)
		return "yes (the user name and password)";
	if (e.delegation == Delegation::Never)
		return "no (--no-delegate: empty credentials sent)";
	if (!e.have_password)
		return "no (no password to delegate: empty credentials sent; --delegate makes this an error)";
	return "no (empty credentials sent)";
}

} // namespace nlassp::probe
