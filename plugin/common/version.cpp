#include "common/version.h"

// The only file of the module that includes the generated header, so that a new revision
// recompiles this file alone.
#include "nlassp_version.h"

namespace nlassp {

const char* version_string() noexcept
{
	return NLASSP_VERSION_STRING;
}

} // namespace nlassp
