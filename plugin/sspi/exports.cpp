// The module's only exports (nlassp.map). FreeRDP's auth_resolve_sspi_table loads the module and
// calls InitSecurityInterfaceA once per authentication: register the packages once, hand out the
// same static table every time.
#include "sspi/packages.h"
#include "sspi/table.h"

#include <winpr/sspi.h>

// WINPR_API is empty outside WinPR's own build; the module is built with hidden visibility.
#define NLASSP_EXPORT __attribute__((visibility("default")))

extern "C" {

NLASSP_EXPORT PSecurityFunctionTableA SEC_ENTRY InitSecurityInterfaceA(void)
{
	nlassp::sspi::register_builtin_packages();
	return nlassp::sspi::table_a();
}

NLASSP_EXPORT PSecurityFunctionTableW SEC_ENTRY InitSecurityInterfaceW(void)
{
	nlassp::sspi::register_builtin_packages();
	return nlassp::sspi::table_w();
}

}
