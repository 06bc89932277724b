// The krb5 configuration files as MIT Kerberos reads them, for log lines a user can act on: the
// files ($KRB5_CONFIG, a colon-separated list, else /etc/krb5.conf), the ones KRB5_CONFIG names
// that MIT silently skips (missing or unreadable), and the file a syntax error is in.
#pragma once

#include <krb5/krb5.h>

#include <string>
#include <vector>

namespace nlassp::kerberos::config {

// $KRB5_CONFIG split at ':' (empty entries dropped), else {"/etc/krb5.conf"}.
std::vector<std::string> files();

// For a failed krb5_init_context: MIT's message, as kinit prints it ("Improper format of
// Kerberos configuration file"), and, when one of the files does not parse on its own, that file
// with the profile library's finer message ("Syntax error in profile section header").
std::string describe_init_failure(krb5_error_code code);

// Empty, or one sentence naming the files KRB5_CONFIG lists that do not exist or cannot be read
// (MIT skips them without a word) and what MIT reads instead.
std::string skipped_files_note();

} // namespace nlassp::kerberos::config
