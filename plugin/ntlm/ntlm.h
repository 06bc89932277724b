// The NTLM package's entry points for the SSPI dispatcher and the negotiator.
#pragma once

#include "common/package.h"

#include <memory>
#include <string>

namespace nlassp::ntlm {

// Creates an NTLM initiator or acceptor context. Fails with Error::PackageUnavailable (and one
// log line) when MD4/RC4 cannot be had, Error::NoCredentials when the credential cannot serve
// the role (no identity or no password for an initiator: an empty password is none unless
// blank passwords are allowed; no user store for an acceptor).
ContextPtr create_context(Role role, const CredentialPtr& cred, Error& err);

// An acceptor user store reading a WinPR SAM file ("user:domain:LMhash:NThash:::" per line, as
// `winpr-hash3 -f sam` writes it). The file is read on each lookup, so edits apply at once.
std::shared_ptr<const NtlmUserStore> make_sam_file_store(std::string path);

namespace detail {
// NLASSP_NTLM_ALLOW_BLANK_PASSWORDS=1 (or yes/true), read at each use: an acceptor accepts SAM
// lines holding the empty password's hash, an initiator sends an empty password.
[[nodiscard]] bool blank_passwords_allowed();
} // namespace detail

} // namespace nlassp::ntlm
