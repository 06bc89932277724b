// Negotiate's rules that need no context: the package list (apply_package_list, declared in
// negotiate/context.h) and the initiator's fallback rule.
#pragma once

#include "common/error.h"

namespace nlassp::negotiate {

// Whether an initiator whose mechanism failed with `e` before sending anything may go on with the
// next mechanism (false: the credentials were judged, stop with `e`).
[[nodiscard]] bool may_fall_back(Error e) noexcept;

} // namespace nlassp::negotiate
