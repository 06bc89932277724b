// Names from the wire or from a caller (user, domain, target, a SAM file's fields) made safe for
// a log line: one line per event means no name may break it, start a fake one or hide text.
#pragma once

#include <string>
#include <string_view>

namespace nlassp::text {

// UTF-16 as UTF-8 with every control character replaced by '?': C0 (line breaks, ESC, ...),
// DEL, C1, U+2028/U+2029 and the bidirectional embeddings, overrides and isolates
// (U+202A-U+202E, U+2066-U+2069). "<invalid UTF-16>" when not well-formed.
std::string printable(std::u16string_view s);

// The same for UTF-8. Bytes that are not valid UTF-8 keep only their printable ASCII; every
// other byte becomes '?'.
std::string printable(std::string_view s);

} // namespace nlassp::text
