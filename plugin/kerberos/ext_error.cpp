#include "kerberos/ext_error.h"

#include "wire/der.h"

#include <krb5/krb5.h>

namespace nlassp::kerberos {

namespace der = wire::der;
using wire::Reader;

namespace {

constexpr int64_t kKerbErrTypeExtended = 3;   // KERB-ERROR-DATA data-type
constexpr int64_t kPaPwSalt = 3;              // PA-DATA padata-type carrying KERB-EXT-ERROR
constexpr size_t kExtErrorSize = 12;          // status, reserved, flags
constexpr size_t kMaxElements = 64;           // PA-DATA entries we are willing to walk

// KERB-EXT-ERROR: three 32-bit little-endian values; only the status matters.
bool read_ext_error(ByteView value, uint32_t& status) noexcept
{
	if (value.size() != kExtErrorSize)
		return false;
	Reader r(value);
	uint32_t s = 0, reserved = 0, flags = 0;
	if (!r.u32le(s) || !r.u32le(reserved) || !r.u32le(flags))
		return false;
	status = s;
	return true;
}

// { [1] INTEGER, [2] OCTET STRING OPTIONAL } — the body of KERB-ERROR-DATA and of PA-DATA.
bool read_type_value(Reader& body, int64_t& type, bool& have_value, ByteView& value) noexcept
{
	Reader t, v;
	if (!der::read(body, der::tag::context(1), t) || !der::read_integer(t, type) || !t.empty())
		return false;
	if (!der::read_optional(body, der::tag::context(2), have_value, v))
		return false;
	if (have_value && (!der::read_octet_string(v, value) || !v.empty()))
		return false;
	return body.empty();
}

ExtErrorParse parse_kerb_error_data(Reader body, uint32_t& status) noexcept
{
	int64_t type = 0;
	bool have_value = false;
	ByteView value;
	if (!read_type_value(body, type, have_value, value))
		return ExtErrorParse::Malformed;
	if (type != kKerbErrTypeExtended)
		return ExtErrorParse::Absent;
	if (!have_value || !read_ext_error(value, status))
		return ExtErrorParse::Malformed;
	return ExtErrorParse::Found;
}

ExtErrorParse parse_method_data(Reader list, uint32_t& status) noexcept
{
	bool found = false;
	uint32_t first = 0;   // written to `status` only once the whole list has been read
	for (size_t n = 0; !list.empty(); ++n) {
		Reader item;
		if (n == kMaxElements || !der::read(list, der::tag::Sequence, item))
			return ExtErrorParse::Malformed;
		int64_t type = 0;
		bool have_value = false;
		ByteView value;
		if (!read_type_value(item, type, have_value, value))
			return ExtErrorParse::Malformed;
		// A PA-PW-SALT that is a real salt (any other length) is not an extended error.
		uint32_t s = 0;
		if (!found && type == kPaPwSalt && have_value && read_ext_error(value, s)) {
			first = s;
			found = true;
		}
	}
	if (!found)
		return ExtErrorParse::Absent;
	status = first;
	return ExtErrorParse::Found;
}

} // namespace

ExtErrorParse parse_ext_error(ByteView e_data, uint32_t& status) noexcept
{
	if (e_data.empty())
		return ExtErrorParse::Absent;
	Reader r(e_data);
	Reader body;
	if (!der::read(r, der::tag::Sequence, body) || !r.empty())
		return ExtErrorParse::Malformed;
	uint32_t first = 0;
	if (!der::peek_tag(body, first))
		return ExtErrorParse::Absent;   // an empty METHOD-DATA
	if (first == der::tag::context(1))
		return parse_kerb_error_data(body, status);
	if (first == der::tag::Sequence)
		return parse_method_data(body, status);
	return ExtErrorParse::Malformed;
}

Error account_error(long krb5_code, bool has_status, uint32_t status) noexcept
{
	if (has_status) {
		switch (status) {
		case ntstatus::AccountDisabled: return Error::AccountDisabled;
		case ntstatus::AccountLockedOut: return Error::AccountLockedOut;
		case ntstatus::AccountExpired: return Error::AccountExpired;
		case ntstatus::InvalidLogonHours: return Error::InvalidLogonHours;
		case ntstatus::InvalidWorkstation: return Error::InvalidWorkstation;
		case ntstatus::PasswordExpired:
		case ntstatus::PasswordMustChange: return Error::PasswordExpired;
		default: break;   // another status: judge by the KRB-ERROR code
		}
	}
	switch (krb5_code) {
	case KRB5KDC_ERR_CLIENT_REVOKED: return Error::AccountRevoked;
	case KRB5KDC_ERR_NAME_EXP: return Error::AccountExpired;
	default: return Error::None;
	}
}

const char* account_advice(Error e) noexcept
{
	switch (e) {
	case Error::AccountRevoked:
		return "the account is disabled or locked out (the KDC does not say which): ask an administrator to enable or "
		       "unlock it; more attempts may extend a lockout";
	case Error::AccountDisabled: return "the account is disabled: ask an administrator to enable it";
	case Error::AccountLockedOut:
		return "the account is locked out after too many wrong passwords: wait until the lockout ends or ask an "
		       "administrator to unlock it";
	case Error::AccountExpired: return "the account has expired: ask an administrator to extend it";
	case Error::InvalidLogonHours:
		return "the account may not log on at this time (logon hours): log on within its allowed hours or ask an "
		       "administrator";
	case Error::InvalidWorkstation:
		return "the account may not log on from this computer (workstation restriction): ask an administrator to "
		       "allow it";
	default: return "";
	}
}

} // namespace nlassp::kerberos
