#include "common/failure.h"

#include <utility>

namespace nlassp::failure {

namespace {

thread_local std::string t_reason;
thread_local unsigned t_guards = 0;

} // namespace

void record(std::string reason)
{
	t_reason = std::move(reason);
}

std::string take()
{
	return std::exchange(t_reason, std::string());
}

void clear() noexcept
{
	t_reason.clear();
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
