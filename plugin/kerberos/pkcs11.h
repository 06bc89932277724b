// A PKCS#11 module, opened by us for the smartcard logon's look at the token before MIT's PKINIT
// uses it: which slots hold tokens, which certificates they hold, the token's PIN state, and one
// C_Login to tell a wrong or locked PIN apart from everything else. The module is loaded with
// dlopen, initialised, and finalised and unloaded again by the destructor (MIT loads it afresh
// for the AS exchange). One Module exists at a time in the process (a lock is held), since
// C_Initialize/C_Finalize are process-wide.
#pragma once

#include "common/bytes.h"
#include "common/secret.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nlassp::kerberos::pkcs11 {

struct TokenInfo {
	uint64_t slot = 0;
	std::string label;            // trailing blanks removed, control characters replaced by '?'
	bool label_exact = true;      // `label` is the token's label as MIT compares it (nothing replaced)
	uint64_t flags = 0;           // CKF_* token flags
	[[nodiscard]] bool login_required() const noexcept;
	[[nodiscard]] bool protected_path() const noexcept;   // a PIN pad: the PIN never passes through us
	[[nodiscard]] bool pin_locked() const noexcept;
	[[nodiscard]] bool pin_final_try() const noexcept;
	[[nodiscard]] bool pin_count_low() const noexcept;
};

struct TokenCertificate {
	Bytes der;                    // CKA_VALUE
	Bytes id;                     // CKA_ID (what ties it to its private key)
	std::string label;            // CKA_LABEL, control characters replaced by '?', trailing blanks removed
	bool label_exact = true;      // `label` is CKA_LABEL byte for byte (nothing replaced or removed)
};

enum class LoginResult : uint8_t { Ok, WrongPin, PinLocked, Failed };

class Module {
public:
	Module();
	~Module();
	Module(const Module&) = delete;
	Module& operator=(const Module&) = delete;

	// dlopen + C_GetFunctionList + C_Initialize. False with `why` (dlerror text, CKR_ name).
	[[nodiscard]] bool load(const std::string& path, std::string& why);
	// Slots with a token present, with their token information.
	[[nodiscard]] bool tokens(std::vector<TokenInfo>& out, std::string& why);
	[[nodiscard]] bool token_info(uint64_t slot, TokenInfo& out, std::string& why);
	// The X.509 certificate objects on the token in `slot` (public objects: no login).
	[[nodiscard]] bool certificates(uint64_t slot, std::vector<TokenCertificate>& out, std::string& why);
	// C_Login as the user with `pin` (UTF-8, no terminator), then C_Logout. `why` names the CKR_.
	LoginResult login(uint64_t slot, ByteView pin, std::string& why);

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
};

// Held across everything one smartcard logon does with a PKCS#11 module: our look at the token
// (Module) and MIT's PKINIT exchange, which loads the same module again. Two logons in one process
// must not use a module at once: MIT's pkinit treats CKR_CRYPTOKI_ALREADY_INITIALIZED from
// C_Initialize as a failure and calls C_Finalize when its exchange ends, which would pull the
// module from under the other logon (or our slot search). One lock per module: the path's real
// path when it resolves, else the name as given (a bare name found by dlopen's search and the
// same file named by its path are two locks).
class ModuleUse {
public:
	explicit ModuleUse(const std::string& path);
	ModuleUse(const ModuleUse&) = delete;
	ModuleUse& operator=(const ModuleUse&) = delete;

private:
	std::unique_lock<std::mutex> lock_;
};

// "CKR_PIN_INCORRECT" for a return value, "CKR_0x..." for others.
std::string rv_name(unsigned long rv);

} // namespace nlassp::kerberos::pkcs11
