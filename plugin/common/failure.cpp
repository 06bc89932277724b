#include "common/failure.h"

#include <utility>

namespace nlassp::failure {

namespace {

thread_local std::string t_reason;
thread_local bool t_has_fix = false;
thread_local unsigned t_guards = 0;

} // namespace

void record(std::string reason, bool has_fix)
{
	t_reason = std::move(reason);
	t_has_fix = has_fix;
}

std::string take(bool* has_fix)
{
	if (has_fix)
		*has_fix = t_has_fix;
	t_has_fix = false;
	return std::exchange(t_reason, std::string());
}

void clear() noexcept
{
	t_reason.clear();
	t_has_fix = false;
}

bool is_refusal(Error e) noexcept
{
	switch (e) {
	case Error::LogonDenied:
	case Error::PasswordExpired:
	case Error::AccountRevoked:
	case Error::AccountDisabled:
	case Error::AccountLockedOut:
	case Error::AccountExpired:
	case Error::InvalidLogonHours:
	case Error::InvalidWorkstation:
		return true;
	default:
		return false;
	}
}

bool caller_reports() noexcept
{
	return t_guards > 0;
}

CallerReports::CallerReports() noexcept
{
	++t_guards;
}

CallerReports::~CallerReports()
{
	--t_guards;
}

} // namespace nlassp::failure
