// The module's only exports (nlassp.map). FreeRDP's auth_resolve_sspi_table loads the module and
// calls InitSecurityInterfaceA once per authentication: register the packages once, say once
// (DEBUG) which nlassp this is and where it was loaded from, hand out the same static table every
// time.
#include "common/log.h"
#include "common/version.h"
#include "sspi/packages.h"
#include "sspi/table.h"

#include <winpr/sspi.h>

#include <dlfcn.h>

#include <mutex>

// WINPR_API is empty outside WinPR's own build; the module is built with hidden visibility.
#define NLASSP_EXPORT __attribute__((visibility("default")))

namespace {

const nlassp::log::Logger logger("com.nlassp.sspi");

void log_version()
{
	Dl_info info{};
	const bool found = dladdr(reinterpret_cast<void*>(&log_version), &info) != 0 && info.dli_fname;
	NLASSP_LOG(logger, Debug, "nlassp %s loaded from %s", nlassp::version_string(),
	           found ? info.dli_fname : "(unknown path)");
}

void loaded()
{
	static std::once_flag once;
	std::call_once(once, log_version);
	nlassp::sspi::register_builtin_packages();
}

} // namespace

extern "C" {

NLASSP_EXPORT PSecurityFunctionTableA SEC_ENTRY InitSecurityInterfaceA(void)
{
	loaded();
	return nlassp::sspi::table_a();
}

NLASSP_EXPORT PSecurityFunctionTableW SEC_ENTRY InitSecurityInterfaceW(void)
{
	loaded();
	return nlassp::sspi::table_w();
}

}
