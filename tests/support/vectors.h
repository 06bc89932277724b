// Known-answer vectors from ../shared/vectors (ms-nlmp.json, ms-cssp.json, spnego.json).
#pragma once

#include "common/bytes.h"

#include <string>

namespace nlassp::test {

// $NLASSP_VECTORS_DIR, else the directory configured at build time.
std::string vectors_dir();

// The value at a dotted path in one of the vector files, e.g.
//   vector_hex("ms-nlmp.json", "ntlmv2.NTOWFv2", out)   (an object with "hex" yields its hex)
//   vector_hex("ms-cssp.json", "der.1.hex", out)         (array elements by index)
//   vector_string("ms-nlmp.json", "common.User", s)
[[nodiscard]] bool vector_hex(const std::string& file, const std::string& dotted_path, Bytes& out);
[[nodiscard]] bool vector_string(const std::string& file, const std::string& dotted_path, std::string& out);
[[nodiscard]] bool vector_int(const std::string& file, const std::string& dotted_path, long long& out);
// Number of elements of an array (or members of an object) at the path; -1 if absent.
[[nodiscard]] long vector_count(const std::string& file, const std::string& dotted_path);

} // namespace nlassp::test
