// Placeholder until the SSPI boundary lands (plugin/sspi owner replaces this file).
#include <winpr/sspi.h>
extern "C" {
WINPR_API PSecurityFunctionTableA SEC_ENTRY InitSecurityInterfaceA(void) { return nullptr; }
WINPR_API PSecurityFunctionTableW SEC_ENTRY InitSecurityInterfaceW(void) { return nullptr; }
}
