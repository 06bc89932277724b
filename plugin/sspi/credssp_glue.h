// The CREDSSP package's part of the SSPI boundary (include/nlassp/credssp.h), kept apart from the
// generic table code: the extra input buffers a CREDSSP step takes, SECBUFFER_MISSING after
// SEC_E_INCOMPLETE_MESSAGE, and the QueryContextAttributes ids for what was negotiated and what
// the client delegated.
#pragma once

#include "common/package.h"

#include <winpr/sspi.h>

#include <optional>
#include <span>

namespace nlassp::sspi {

// Points in.package_params at an NLASSP_SECBUFFER_CREDSSP_PARAMS input buffer and, when
// `use_supplied` (ISC_REQ_USE_SUPPLIED_CREDS), parses a SECBUFFER_PKG_PARAMS buffer holding a
// SEC_WINNT_AUTH_IDENTITY_{A,W,EXA,EXW,WINPR} into `supplied` and points in.supplied_identity at
// it. Error::InvalidParameter for a malformed identity.
Error collect_package_inputs(std::span<SecBuffer> inputs, bool use_supplied, StepInput& in,
                             std::optional<Identity>& supplied);

// After SEC_E_INCOMPLETE_MESSAGE: the first SECBUFFER_EMPTY (or SECBUFFER_MISSING) input buffer
// becomes SECBUFFER_MISSING with cbBuffer = the bytes still needed.
void report_missing(std::span<SecBuffer> inputs, size_t missing);

// NLASSP_ATTR_CREDSSP_INFO and NLASSP_ATTR_CREDSSP_DELEGATED_CREDENTIALS; nullopt for any other
// attribute id.
std::optional<SECURITY_STATUS> query_credssp_attribute(const SecurityContext& ctx, ULONG attr, void* buffer);

} // namespace nlassp::sspi
