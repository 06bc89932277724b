// Negotiate's rules that need no context: the package list and the initiator's fallback rule.
#include "negotiate/policy.h"

#include "common/log.h"
#include "negotiate/context.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

namespace nlassp::negotiate {

namespace {

const log::Logger logger("com.nlassp.negotiate");

std::string lower(std::string_view s)
{
	std::string out(s);
	for (char& c : out)
		c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
	return out;
}

std::string_view trim(std::string_view s)
{
	while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
		s.remove_prefix(1);
	while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
		s.remove_suffix(1);
	return s;
}

std::optional<PackageId> package_by_name(std::string_view name)
{
	const std::string n = lower(name);
	if (n == "ntlm")
		return PackageId::Ntlm;
	if (n == "kerberos")
		return PackageId::Kerberos;
	return std::nullopt;
}

} // namespace

// The initiator's fallback rule. A mechanism that fails before it has sent anything (its
// context cannot be created, or its first step fails) is passed over for the next one only when
// the failure means "this mechanism cannot work here": no realm or KDC (NoAuthority), no ticket
// or key (NoCredentials), unknown service principal (TargetUnknown, e.g. connecting by IP),
// clock skew, a missing provider, its own setup failing (InvalidToken, Internal, ...). When the
// mechanism's authority has judged the user's credentials (LogonDenied: wrong password, unknown
// or locked user; PasswordExpired), Negotiate stops with that error instead: trying the same
// password again with the next mechanism would count twice toward an account lockout and could
// not succeed anyway. Decided on the Error value alone, so that Negotiate stays
// mechanism-neutral. Every Error is listed, so that a new one must be classified here.
bool may_fall_back(Error e) noexcept
{
	switch (e) {
	case Error::LogonDenied:
	case Error::PasswordExpired:
	// The account itself may not log on (disabled, locked out, expired, logon hours, workstation):
	// the same verdict awaits every mechanism, and NTLM would count another failed attempt.
	case Error::AccountRevoked:
	case Error::AccountDisabled:
	case Error::AccountLockedOut:
	case Error::AccountExpired:
	case Error::InvalidLogonHours:
	case Error::InvalidWorkstation:
	// A smartcard logon's own failures: its "password" is a PIN that no other mechanism may see.
	case Error::SmartcardWrongPin:
	case Error::SmartcardPinLocked:
	case Error::SmartcardNoCertificate:
	case Error::SmartcardUnavailable:
	case Error::SmartcardUntrusted:
	case Error::KdcCertUntrusted:
	case Error::PkinitUnavailable:
	case Error::PkinitNameMismatch:
		return false;
	case Error::None:
	case Error::InvalidToken:
	case Error::InvalidParameter:
	case Error::InvalidHandle:
	case Error::NoCredentials:
	case Error::MessageAltered:
	case Error::OutOfSequence:
	case Error::OutputTooSmall:
	case Error::BufferTooSmall:
	case Error::InsufficientMemory:
	case Error::Unsupported:
	case Error::PackageUnavailable:
	case Error::Internal:
	case Error::TargetUnknown:
	case Error::WrongPrincipal:
	case Error::TimeSkew:
	case Error::NoAuthority:
	case Error::BadBindings:
	case Error::MutualAuthFailed:
	case Error::ContextExpired:
	case Error::IncompleteMessage:
	case Error::IncompleteCredentials:
	case Error::DelegationPolicy:
	case Error::PolicyNtlmOnly:
	case Error::DowngradeDetected:
	case Error::NotEstablished:
		return true;
	}
	return true;
}

std::vector<Mechanism> apply_package_list(std::vector<Mechanism> mechanisms, std::string_view list)
{
	std::vector<PackageId> wanted;
	std::vector<PackageId> excluded;
	while (!list.empty()) {
		const size_t comma = list.find(',');
		std::string_view item = trim(list.substr(0, comma));
		list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
		if (item.empty())
			continue;
		const bool exclude = item.front() == '!';
		if (exclude)
			item = trim(item.substr(1));
		const std::optional<PackageId> id = package_by_name(item);
		if (!id) {
			NLASSP_LOG(logger, Warn, "Negotiate: unknown package \"%.*s\" in the package list (known: ntlm, kerberos)",
			           static_cast<int>(item.size()), item.data());
			continue;
		}
		auto& target = exclude ? excluded : wanted;
		if (std::find(target.begin(), target.end(), *id) == target.end())
			target.push_back(*id);
	}

	auto is_excluded = [&](PackageId id) {
		return std::find(excluded.begin(), excluded.end(), id) != excluded.end();
	};
	std::vector<Mechanism> result;
	if (wanted.empty()) {
		for (Mechanism& m : mechanisms)
			if (!is_excluded(m.id))
				result.push_back(std::move(m));
		return result;
	}
	for (PackageId id : wanted) {
		if (is_excluded(id))
			continue;
		for (Mechanism& m : mechanisms)
			if (m.id == id && m.create)
				result.push_back(m);
	}
	return result;
}

} // namespace nlassp::negotiate
