// nlassp's version, as project(VERSION) in CMakeLists.txt sets it, with the git revision when the
// module was built from a git checkout (cmake/version.cmake).
#pragma once

namespace nlassp {

// "0.1.0", or "0.1.0 (git 1a2b3c4d5e6f)" / "0.1.0 (git 1a2b3c4d5e6f-dirty)" from a git checkout.
const char* version_string() noexcept;

} // namespace nlassp
