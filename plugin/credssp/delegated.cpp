// What a CREDSSP acceptor hands its caller: the decrypted TSCredentials as DelegatedCredentials.
// Names (user, domain, smart card hints) must be text C code reads the same way we do: well-formed
// UTF-16 without a NUL ("alice\0x" would be "alice" to strcmp/wcscmp). Passwords and PINs are
// opaque: any code units, passed on as received.
#include "credssp/credssp.h"

#include "common/log.h"
#include "credssp/messages.h"
#include "wire/utf16.h"

#include <cinttypes>

namespace nlassp::credssp {

namespace {

const log::Logger logger("com.nlassp.credssp");

// UTF-16LE name bytes -> text; false on odd length, an unpaired surrogate or a NUL.
bool read_name(ByteView bytes, std::u16string& out)
{
	std::u16string s;
	if (!wire::utf16le_decode(bytes, s) || s.find(u'\0') != std::u16string::npos)
		return false;
	out = std::move(s);
	return true;
}

void names_refused(const char* what)
{
	NLASSP_LOG(logger, Warn, "CredSSP acceptor: the client's %s carries a user or domain name that is not plain "
	                         "text (a NUL or an unpaired surrogate); refusing it", what);
}

Error from_password_creds(const TsCredentials& tc, DelegatedCredentials& d)
{
	TsPasswordCreds pc;
	if (!decode_ts_password_creds(tc.credentials.view(), pc) || pc.password.size() % 2 != 0) {
		NLASSP_LOG(logger, Warn, "CredSSP acceptor: malformed TSPasswordCreds");
		return Error::InvalidToken;
	}
	if (!read_name(pc.user, d.user) || !read_name(pc.domain, d.domain)) {
		names_refused("TSPasswordCreds");
		return Error::InvalidToken;
	}
	d.password = std::move(pc.password);
	d.empty = d.user.empty() && d.domain.empty() && d.password.empty();
	return Error::None;
}

Error from_smart_card_creds(const TsCredentials& tc, DelegatedCredentials& d)
{
	TsSmartCardCreds sc;
	if (!decode_ts_smart_card_creds(tc.credentials.view(), sc) || sc.pin.size() % 2 != 0) {
		NLASSP_LOG(logger, Warn, "CredSSP acceptor: malformed TSSmartCardCreds");
		return Error::InvalidToken;
	}
	if ((sc.user_hint && !read_name(*sc.user_hint, d.user)) || (sc.domain_hint && !read_name(*sc.domain_hint, d.domain))) {
		names_refused("TSSmartCardCreds hints");
		return Error::InvalidToken;
	}
	d.password = std::move(sc.pin);
	return Error::None;
}

} // namespace

Error decode_delegated(ByteView ts_credentials, DelegatedCredentials& out)
{
	TsCredentials tc;
	if (!decode_ts_credentials(ts_credentials, tc)) {
		NLASSP_LOG(logger, Warn, "CredSSP acceptor: the decrypted authInfo is not a TSCredentials");
		return Error::InvalidToken;
	}
	DelegatedCredentials d;
	d.cred_type = tc.cred_type;
	d.raw = tc.credentials;
	Error e = Error::None;
	switch (static_cast<CredType>(tc.cred_type)) {
	case CredType::Password:
		e = from_password_creds(tc, d);
		break;
	case CredType::SmartCard:
		e = from_smart_card_creds(tc, d);
		break;
	case CredType::RemoteGuard: {
		TsRemoteGuardCreds rg;
		if (!decode_ts_remote_guard_creds(tc.credentials.view(), rg)) {
			NLASSP_LOG(logger, Warn, "CredSSP acceptor: malformed TSRemoteGuardCreds");
			e = Error::InvalidToken;
		}
		break;
	}
	default:
		NLASSP_LOG(logger, Warn, "CredSSP acceptor: unknown TSCredentials credType %" PRIu32, tc.cred_type);
		e = Error::InvalidToken;
	}
	if (e == Error::None)
		out = std::move(d);
	return e;
}

} // namespace nlassp::credssp
