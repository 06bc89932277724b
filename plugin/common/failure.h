// The reason for a mechanism's last failure, per thread, for a caller that reports it itself.
//
// A mechanism that fails because it "cannot work here" (no realm, no KDC, no ticket, unknown
// service principal) records one human-readable sentence with its fix through record(); one
// whose authority refused the credentials (is_refusal()) records the sentence without the fix,
// which the caller gives for the logon it knows. Alone, the mechanism also logs that sentence (at
// INFO or above). A negotiator (plugin/negotiate) that tries a mechanism and may move on to
// another holds a CallerReports guard while it creates the mechanism's context and runs its
// first step: the mechanism then logs both kinds at DEBUG only, and the negotiator takes() the
// reason and puts it into its one line: what it chose instead, or which logon (user, server) was
// refused and what to check. Other errors (a clock skew, bad tokens) keep their own WARN/ERROR
// lines whether or not a guard is held.
//
// Mechanism-neutral: nothing here names a package.
#pragma once

#include "common/error.h"

#include <string>

namespace nlassp::failure {

// The authority judged the credentials: wrong password or unknown user (LogonDenied), an expired
// password, or an account that may not log on (revoked, disabled, locked out, expired, outside
// its logon hours or workstations). A caller holding CallerReports reports these itself.
[[nodiscard]] bool is_refusal(Error e) noexcept;

// Replaces this thread's recorded reason ("no KDC for realm LAB (set the realm's kdc in
// krb5.conf or pass /kerberos:kdc-url)"). Never pass a secret. `has_fix`: a refusal whose
// reason already says what to do (a KDC policy, not a wrong password), so the caller adds no
// fix of its own.
void record(std::string reason, bool has_fix = false);

// Returns this thread's recorded reason (empty if none) and forgets it; `has_fix` (if given)
// receives what record() was told.
[[nodiscard]] std::string take(bool* has_fix = nullptr);

// Forgets this thread's recorded reason.
void clear() noexcept;

// True while this thread holds at least one CallerReports guard.
[[nodiscard]] bool caller_reports() noexcept;

// While alive: "the caller will report a failure of what it calls; log it at DEBUG". Nests.
class CallerReports {
public:
	CallerReports() noexcept;
	~CallerReports();
	CallerReports(const CallerReports&) = delete;
	CallerReports& operator=(const CallerReports&) = delete;
};

} // namespace nlassp::failure
