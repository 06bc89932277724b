// Which packages the SSPI boundary offers and how it creates their contexts. The module fills the
// registry with the real packages (register_builtin_packages); unit tests fill it with fakes, so
// the boundary is testable without any package.
#pragma once

#include "common/package.h"

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nlassp::sspi {

// What QuerySecurityPackageInfo reports, as Windows reports it.
struct PackageInfo {
	PackageId id;
	const char* name;       // "Negotiate", "NTLM", "Kerberos", "CREDSSP"
	const char* comment;
	uint32_t capabilities;  // SECPKG_FLAG_*
	uint16_t version;
	uint16_t rpc_id;
	uint32_t max_token;
};
const PackageInfo& package_info(PackageId id) noexcept;
// QuerySecurityPackageInfo's Comment: Windows' comment, then which nlassp answered, e.g.
// "NTLM Security Package; nlassp 0.1.0 (git 1a2b3c4d5e6f)".
std::string package_comment(PackageId id);

// Creates the acceptor user store for a WinPR SAM file (ntlm::make_sam_file_store in the module).
using SamStoreFactory = std::function<std::shared_ptr<const NtlmUserStore>(std::string path)>;

class PackageRegistry {
public:
	void add(PackageId id, ContextFactory factory);
	void set_sam_store_factory(SamStoreFactory factory);
	void clear();

	[[nodiscard]] bool has(PackageId id) const;
	// Registered packages in the order EnumerateSecurityPackages lists them.
	[[nodiscard]] std::vector<PackageId> ids() const;
	// nullopt if the package is not registered.
	[[nodiscard]] std::optional<ContextFactory> factory(PackageId id) const;
	// nullptr if no SAM store factory is registered.
	[[nodiscard]] std::shared_ptr<const NtlmUserStore> sam_store(std::string path) const;

private:
	mutable std::mutex mu_;
	std::vector<std::pair<PackageId, ContextFactory>> packages_;
	SamStoreFactory sam_;
};

PackageRegistry& registry();

// Case-insensitive (ASCII) lookup of a registered package by the name SSPI callers pass.
std::optional<PackageId> find_package(std::u16string_view name);

// Fills registry() with NTLM, Negotiate (Kerberos + NTLM) and, when built, Kerberos. Called once
// by InitSecurityInterfaceA/W. Lives in its own object file so that tests using fakes do not pull
// the real packages in.
void register_builtin_packages();

} // namespace nlassp::sspi
