#include "sspi/packages.h"

#include "common/version.h"

#include <algorithm>
#include <array>

namespace nlassp::sspi {

// Values as Windows reports them (QuerySecurityPackageInfo on Windows Server 2019/2022); WinPR
// 3.10 reports the same except Negotiate's cbMaxToken (WinPR: 12256, Windows: 48256) and the
// comments (package_comment() adds "; nlassp <version>" to ours). cbMaxToken sizes every output buffer FreeRDP preallocates, so the larger Windows value
// is the safe one for a Negotiate token carrying a Kerberos AP-REQ with a PAC. CREDSSP is the
// exception the other way: Windows reports 37032, but our TSRequest can wrap a whole Negotiate
// token (48256) plus its own framing, so a caller sizing buffers by cbMaxToken must get room for
// that (credssp/context.cpp kMaxToken).
static constexpr std::array<PackageInfo, 4> kPackages = {{
    {PackageId::Negotiate, "Negotiate", "Microsoft Package Negotiator", 0x00083BB3, 1, 9, 48256},
    {PackageId::Ntlm, "NTLM", "NTLM Security Package", 0x00082B37, 1, 10, 2888},
    {PackageId::Kerberos, "Kerberos", "Microsoft Kerberos V1.0", 0x000F3BBF, 1, 16, 48000},
    {PackageId::CredSsp, "CREDSSP", "Microsoft CredSSP Security Provider", 0x00110733, 1, 0xFFFF,
     48256 + 4096},
}};

const PackageInfo& package_info(PackageId id) noexcept
{
	for (const auto& p : kPackages)
		if (p.id == id)
			return p;
	return kPackages[0];
}

std::string package_comment(PackageId id)
{
	return std::string(package_info(id).comment) + "; nlassp " + version_string();
}

void PackageRegistry::add(PackageId id, ContextFactory factory)
{
	std::lock_guard lock(mu_);
	for (auto& p : packages_) {
		if (p.first == id) {
			p.second = std::move(factory);
			return;
		}
	}
	packages_.emplace_back(id, std::move(factory));
}

void PackageRegistry::set_sam_store_factory(SamStoreFactory factory)
{
	std::lock_guard lock(mu_);
	sam_ = std::move(factory);
}

void PackageRegistry::clear()
{
	std::lock_guard lock(mu_);
	packages_.clear();
	sam_ = nullptr;
}

bool PackageRegistry::has(PackageId id) const
{
	std::lock_guard lock(mu_);
	return std::any_of(packages_.begin(), packages_.end(), [id](const auto& p) { return p.first == id; });
}

std::vector<PackageId> PackageRegistry::ids() const
{
	std::lock_guard lock(mu_);
	std::vector<PackageId> out;
	for (const auto& info : kPackages)
		for (const auto& p : packages_)
			if (p.first == info.id)
				out.push_back(info.id);
	return out;
}

std::optional<ContextFactory> PackageRegistry::factory(PackageId id) const
{
	std::lock_guard lock(mu_);
	for (const auto& p : packages_)
		if (p.first == id)
			return p.second;
	return std::nullopt;
}

std::shared_ptr<const NtlmUserStore> PackageRegistry::sam_store(std::string path) const
{
	SamStoreFactory f;
	{
		std::lock_guard lock(mu_);
		f = sam_;
	}
	if (!f)
		return nullptr;
	return f(std::move(path));
}

PackageRegistry& registry()
{
	static PackageRegistry r;
	return r;
}

static char16_t ascii_lower(char16_t c) noexcept
{
	return (c >= u'A' && c <= u'Z') ? static_cast<char16_t>(c - u'A' + u'a') : c;
}

std::optional<PackageId> find_package(std::u16string_view name)
{
	for (const auto& info : kPackages) {
		const std::string_view n(info.name);
		if (n.size() != name.size())
			continue;
		bool same = true;
		for (size_t i = 0; i < n.size() && same; ++i)
			same = ascii_lower(name[i]) == ascii_lower(static_cast<char16_t>(n[i]));
		if (same && registry().has(info.id))
			return info.id;
	}
	return std::nullopt;
}

} // namespace nlassp::sspi
