// Known-answer vectors from the tree: tests/vectors/ms-nlmp.json, ms-cssp.json, spnego.json
// (tests/vectors/README.md says where each value comes from). Every value sits in an object
// that carries the spec section it comes from ("section"), its own or an enclosing one's; a
// value without one is refused like a missing value.
#pragma once

#include "common/bytes.h"

#include <string>

namespace nlassp::test {

// $NLASSP_VECTORS_DIR (only for testing the failure message), else the source tree's
// tests/vectors.
std::string vectors_dir();

// The value at a dotted path in one of the vector files, e.g.
//   vector_hex("ms-nlmp.json", "ntlmv2.NTOWFv2", out)   (an object with "hex" yields its hex)
//   vector_hex("ms-cssp.json", "der.1.hex", out)         (array elements by index)
//   vector_string("ms-nlmp.json", "common.User", s)
// False if the file cannot be read or parsed, the path does not exist, the value has another
// type or carries no section; each such failure prints one line naming the file and the path.
[[nodiscard]] bool vector_hex(const std::string& file, const std::string& dotted_path, Bytes& out);
[[nodiscard]] bool vector_string(const std::string& file, const std::string& dotted_path, std::string& out);
[[nodiscard]] bool vector_int(const std::string& file, const std::string& dotted_path, long long& out);
// Number of elements of an array (or members of an object) at the path; -1 if absent.
[[nodiscard]] long vector_count(const std::string& file, const std::string& dotted_path);
// The spec section a value comes from (its own "section" or the nearest enclosing one's), e.g.
// "MS-NLMP 4.2.4.1.1"; empty (and one line printed) if there is none.
[[nodiscard]] std::string vector_section(const std::string& file, const std::string& dotted_path);

} // namespace nlassp::test
