#include "common/error.h"

namespace nlassp {

const char* error_name(Error e) noexcept
{
	switch (e) {
	case Error::None: return "success";
	case Error::InvalidToken: return "invalid token";
	case Error::InvalidParameter: return "invalid parameter";
	case Error::InvalidHandle: return "invalid handle";
	case Error::LogonDenied: return "logon denied";
	case Error::NoCredentials: return "no credentials";
	case Error::MessageAltered: return "message altered";
	case Error::OutOfSequence: return "out of sequence";
	case Error::OutputTooSmall: return "output buffer too small";
	case Error::BufferTooSmall: return "buffer too small";
	case Error::InsufficientMemory: return "insufficient memory";
	case Error::Unsupported: return "unsupported";
	case Error::PackageUnavailable: return "package unavailable";
	case Error::Internal: return "internal error";
	case Error::TargetUnknown: return "target unknown";
	case Error::WrongPrincipal: return "wrong principal";
	case Error::TimeSkew: return "clock skew too great";
	case Error::NoAuthority: return "no authenticating authority";
	case Error::BadBindings: return "bad channel bindings";
	case Error::MutualAuthFailed: return "mutual authentication failed";
	case Error::ContextExpired: return "context expired";
	case Error::IncompleteMessage: return "incomplete message";
	case Error::IncompleteCredentials: return "incomplete credentials";
	case Error::PasswordExpired: return "password expired";
	case Error::DelegationPolicy: return "delegation policy";
	case Error::PolicyNtlmOnly: return "policy: NTLM only";
	case Error::DowngradeDetected: return "downgrade detected";
	case Error::NotEstablished: return "context not established";
	case Error::AccountRevoked: return "account disabled or locked out";
	case Error::AccountDisabled: return "account disabled";
	case Error::AccountLockedOut: return "account locked out";
	case Error::AccountExpired: return "account expired";
	case Error::InvalidLogonHours: return "outside the account's logon hours";
	case Error::InvalidWorkstation: return "not allowed from this workstation";
	case Error::SmartcardWrongPin: return "wrong smartcard PIN";
	case Error::SmartcardPinLocked: return "smartcard PIN locked";
	case Error::SmartcardNoCertificate: return "no smartcard certificate";
	case Error::SmartcardUnavailable: return "smartcard unavailable";
	case Error::SmartcardUntrusted: return "smartcard certificate not trusted";
	case Error::KdcCertUntrusted: return "KDC certificate not trusted";
	case Error::PkinitUnavailable: return "PKINIT unavailable";
	case Error::PkinitNameMismatch: return "certificate does not match the principal";
	}
	return "unknown error";
}

} // namespace nlassp
