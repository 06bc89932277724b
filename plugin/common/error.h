// The internal error vocabulary. Packages return Error; plugin/sspi/status.cpp is the one place
// that maps it to SECURITY_STATUS.
#pragma once

#include <cstdint>

namespace nlassp {

enum class Error : uint8_t {
	None = 0,
	InvalidToken,          // malformed or unexpected bytes from the peer
	InvalidParameter,      // the caller passed something unusable
	InvalidHandle,
	LogonDenied,           // wrong password, unknown user, refused by the peer
	NoCredentials,         // nothing to authenticate with
	MessageAltered,        // MIC, signature or checksum does not verify
	OutOfSequence,         // replayed or reordered message
	OutputTooSmall,        // the caller's output token buffer cannot hold the token
	BufferTooSmall,        // a message buffer (signature/trailer) is too small
	InsufficientMemory,
	Unsupported,           // a function, flag or attribute we do not support
	PackageUnavailable,    // the mechanism cannot work here (e.g. no MD4/RC4 provider)
	Internal,
	TargetUnknown,         // the service principal is not known
	WrongPrincipal,
	TimeSkew,
	NoAuthority,           // no KDC / domain controller reachable
	BadBindings,           // channel bindings missing or do not match
	MutualAuthFailed,
	ContextExpired,
	IncompleteMessage,
	IncompleteCredentials,
	PasswordExpired,       // logon denied because the password must change
	DelegationPolicy,
	PolicyNtlmOnly,
	DowngradeDetected,     // SPNEGO mechListMIC missing or mismatched
	NotEstablished,        // message protection asked before the context is complete
	// The account itself may not log on (the KDC's verdict, not the password's): Negotiate never
	// falls back on these, and no other mechanism is tried with the same password.
	AccountRevoked,        // KDC_ERR_CLIENT_REVOKED with no reason given: disabled or locked out
	AccountDisabled,       // STATUS_ACCOUNT_DISABLED (AD's KERB-EXT-ERROR)
	AccountLockedOut,      // STATUS_ACCOUNT_LOCKED_OUT
	AccountExpired,        // KDC_ERR_NAME_EXP, STATUS_ACCOUNT_EXPIRED
	InvalidLogonHours,     // STATUS_INVALID_LOGON_HOURS: outside the account's logon hours
	InvalidWorkstation,    // STATUS_INVALID_WORKSTATION: not allowed from this computer
	// Smartcard logon (Kerberos PKINIT):
	SmartcardWrongPin,      // the token (or the key file) refused the PIN
	SmartcardPinLocked,     // the token's user PIN is blocked
	SmartcardNoCertificate, // no usable certificate (with its key) on the token / in the files
	SmartcardUnavailable,   // the token or its PKCS#11 module cannot be used
	SmartcardUntrusted,     // the card's certificate is not trusted (by the KDC, or by our anchors)
	KdcCertUntrusted,       // the KDC's certificate is not trusted (PKINIT anchors)
	PkinitUnavailable,      // MIT's PKINIT plugin (krb5-pkinit) is missing or disabled
	PkinitNameMismatch,     // the certificate does not name the requested principal
};

// A stable, lower-case name for log lines ("invalid token", "logon denied", ...).
const char* error_name(Error e) noexcept;

} // namespace nlassp
