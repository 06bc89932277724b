// Why a KDC refused an AS exchange, as Active Directory tells it: the NTSTATUS of MS-KILE's
// KERB-EXT-ERROR in the e-data of a KRB-ERROR, and the Error (and words) a refusal of the
// account itself becomes.
//
// AD puts KERB-EXT-ERROR (MS-KILE 2.2.1: status, reserved, flags; 32-bit little endian each)
// into the e-data in one of two DER forms:
//   KERB-ERROR-DATA ::= SEQUENCE { data-type [1] INTEGER (3 = KERB_ERR_TYPE_EXTENDED),
//                                  data-value [2] OCTET STRING OPTIONAL }      (MS-KILE 2.2.2)
//   METHOD-DATA ::= SEQUENCE OF PA-DATA { padata-type [1] INTEGER, padata-value [2] OCTET STRING }
//     with the structure as the value of padata-type 3 (PA-PW-SALT), as AD sends it with
//     KDC_ERR_CLIENT_REVOKED and KDC_ERR_POLICY.
// MIT's KDC never sends one; these bytes are untrusted input (tests/fuzz/fuzz_kerberos_ext_error).
#pragma once

#include "common/bytes.h"
#include "common/error.h"

#include <cstdint>

namespace nlassp::kerberos {

enum class ExtErrorParse : uint8_t {
	Found,       // `status` holds the KDC's NTSTATUS
	Absent,      // well-formed e-data without a KERB-EXT-ERROR (or no e-data at all)
	Malformed,   // not DER of either form, trailing bytes, or a KERB-EXT-ERROR of the wrong size
};

// The NTSTATUS of the KERB-EXT-ERROR in `e_data` (a KRB-ERROR's e-data octets).
[[nodiscard]] ExtErrorParse parse_ext_error(ByteView e_data, uint32_t& status) noexcept;

// NTSTATUS values AD reports for an account that may not log on (MS-ERREF 2.3).
namespace ntstatus {
constexpr uint32_t AccountRestriction = 0xC000006Eu;
constexpr uint32_t InvalidLogonHours = 0xC000006Fu;
constexpr uint32_t InvalidWorkstation = 0xC0000070u;
constexpr uint32_t PasswordExpired = 0xC0000071u;
constexpr uint32_t AccountDisabled = 0xC0000072u;
constexpr uint32_t AccountExpired = 0xC0000193u;
constexpr uint32_t PasswordMustChange = 0xC0000224u;
constexpr uint32_t AccountLockedOut = 0xC0000234u;
} // namespace ntstatus

// The Error for a refused AS exchange: the KERB-EXT-ERROR status when it names an account state
// (has_status), else the KRB-ERROR code (a krb5_error_code such as KRB5KDC_ERR_CLIENT_REVOKED).
// Error::None when neither says anything about the account (the caller keeps its own mapping).
[[nodiscard]] Error account_error(long krb5_code, bool has_status, uint32_t status) noexcept;

// The one-line explanation and fix for an account Error ("" for any other Error).
[[nodiscard]] const char* account_advice(Error e) noexcept;

} // namespace nlassp::kerberos
