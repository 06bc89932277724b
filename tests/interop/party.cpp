// Identity structures for AcquireCredentialsHandle, as FreeRDP 3.10's credssp_auth.c fills them
// (credssp_auth_setup_auth_data), in each form a caller of our module may use.
#include "interop/party.h"

#include <cstring>

namespace nlassp::interop::detail {

namespace {

std::u16string utf8_to_utf16(const std::string& in)
{
	std::u16string out;
	size_t i = 0;
	while (i < in.size()) {
		const auto c = static_cast<uint8_t>(in[i]);
		uint32_t cp = 0;
		size_t extra = 0;
		if (c < 0x80) {
			cp = c;
		} else if ((c & 0xe0) == 0xc0) {
			cp = c & 0x1fu;
			extra = 1;
		} else if ((c & 0xf0) == 0xe0) {
			cp = c & 0x0fu;
			extra = 2;
		} else {
			cp = c & 0x07u;
			extra = 3;
		}
		i++;
		for (size_t k = 0; k < extra && i < in.size(); k++, i++)
			cp = (cp << 6) | (static_cast<uint8_t>(in[i]) & 0x3fu);
		if (cp >= 0x10000) {
			cp -= 0x10000;
			out.push_back(static_cast<char16_t>(0xd800 + (cp >> 10)));
			out.push_back(static_cast<char16_t>(0xdc00 + (cp & 0x3ff)));
		} else {
			out.push_back(static_cast<char16_t>(cp));
		}
	}
	return out;
}

UINT16* w(std::u16string& s)
{
	return s.empty() ? nullptr : reinterpret_cast<UINT16*>(s.data());
}

BYTE* a(std::string& s)
{
	return s.empty() ? nullptr : reinterpret_cast<BYTE*>(s.data());
}

// The password's pointer: NULL for an empty one unless the caller gives an empty string (a
// std::string's data() is a NUL terminator then, never NULL).
UINT16* w_password(std::u16string& s, bool not_null)
{
	return not_null ? reinterpret_cast<UINT16*>(s.data()) : w(s);
}
BYTE* a_password(std::string& s, bool not_null)
{
	return not_null ? reinterpret_cast<BYTE*>(s.data()) : a(s);
}

// credssp_auth_setup_auth_data: an EXW identity + ntlmSettings + kerberosSettings.
void fill_winpr_identity(Party& p)
{
	SEC_WINNT_AUTH_IDENTITY_EXW& ex = p.winpr.identity;
	ex.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
	ex.Length = sizeof(SEC_WINNT_AUTH_IDENTITY_EXW);
	ex.User = w(p.user16);
	ex.UserLength = static_cast<UINT32>(p.user16.size());
	ex.Domain = w(p.domain16);
	ex.DomainLength = static_cast<UINT32>(p.domain16.size());
	ex.Password = w_password(p.password16, p.password_not_null);
	ex.PasswordLength = static_cast<UINT32>(p.password16.size());
	ex.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE | SEC_WINNT_AUTH_IDENTITY_EXTENDED;
	if (!p.packages16.empty()) {
		ex.PackageList = w(p.packages16);
		ex.PackageListLength = static_cast<UINT32>(p.packages16.size());
	}
	p.ntlm.samFile = p.sam_file.empty() ? nullptr : p.sam_file.data();
	p.kerberos.keytab = p.keytab.empty() ? nullptr : p.keytab.data();
	p.kerberos.cache = p.kerberos_cache.empty() ? nullptr : p.kerberos_cache.data();
	p.kerberos.pkinitX509Identity = p.pkinit_identity.empty() ? nullptr : p.pkinit_identity.data();
	p.kerberos.pkinitX509Anchors = p.pkinit_anchors.empty() ? nullptr : p.pkinit_anchors.data();
	p.winpr.ntlmSettings = &p.ntlm;
	p.winpr.kerberosSettings = &p.kerberos;
}

} // namespace

void* heap_copy(const uint8_t* data, size_t n)
{
	void* p = std::malloc(n ? n : 1);
	if (p && n)
		std::memcpy(p, data, n);
	return p;
}

void* client_auth_data(Party& p, const ClientIdentity& id)
{
	p.user8 = id.user;
	p.domain8 = id.domain;
	p.password8 = id.password;
	p.packages8 = id.package_list;
	p.user16 = utf8_to_utf16(id.user);
	p.domain16 = utf8_to_utf16(id.domain);
	p.password16 = utf8_to_utf16(id.password);
	p.password_not_null = !id.password.empty() || id.empty_password_not_null;
	p.packages16 = utf8_to_utf16(id.package_list);
	p.kerberos_cache = id.kerberos_cache;
	p.pkinit_identity = id.pkinit_identity;
	p.pkinit_anchors = id.pkinit_anchors;

	switch (id.form) {
		case IdentityForm::Winpr:
			fill_winpr_identity(p);
			return &p.winpr;
		case IdentityForm::WinntA:
			p.id_a.User = a(p.user8);
			p.id_a.UserLength = static_cast<ULONG>(p.user8.size());
			p.id_a.Domain = a(p.domain8);
			p.id_a.DomainLength = static_cast<ULONG>(p.domain8.size());
			p.id_a.Password = a_password(p.password8, p.password_not_null);
			p.id_a.PasswordLength = static_cast<ULONG>(p.password8.size());
			p.id_a.Flags = SEC_WINNT_AUTH_IDENTITY_ANSI;
			return &p.id_a;
		case IdentityForm::WinntW:
			p.id_w.User = w(p.user16);
			p.id_w.UserLength = static_cast<ULONG>(p.user16.size());
			p.id_w.Domain = w(p.domain16);
			p.id_w.DomainLength = static_cast<ULONG>(p.domain16.size());
			p.id_w.Password = w_password(p.password16, p.password_not_null);
			p.id_w.PasswordLength = static_cast<ULONG>(p.password16.size());
			p.id_w.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
			return &p.id_w;
		case IdentityForm::ExA:
			p.id_exa.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
			p.id_exa.Length = sizeof(SEC_WINNT_AUTH_IDENTITY_EXA);
			p.id_exa.User = a(p.user8);
			p.id_exa.UserLength = static_cast<UINT32>(p.user8.size());
			p.id_exa.Domain = a(p.domain8);
			p.id_exa.DomainLength = static_cast<UINT32>(p.domain8.size());
			p.id_exa.Password = a_password(p.password8, p.password_not_null);
			p.id_exa.PasswordLength = static_cast<UINT32>(p.password8.size());
			p.id_exa.Flags = SEC_WINNT_AUTH_IDENTITY_ANSI;
			p.id_exa.PackageList = a(p.packages8);
			p.id_exa.PackageListLength = static_cast<UINT32>(p.packages8.size());
			return &p.id_exa;
		case IdentityForm::ExW:
			p.id_exw.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
			p.id_exw.Length = sizeof(SEC_WINNT_AUTH_IDENTITY_EXW);
			p.id_exw.User = w(p.user16);
			p.id_exw.UserLength = static_cast<UINT32>(p.user16.size());
			p.id_exw.Domain = w(p.domain16);
			p.id_exw.DomainLength = static_cast<UINT32>(p.domain16.size());
			p.id_exw.Password = w_password(p.password16, p.password_not_null);
			p.id_exw.PasswordLength = static_cast<UINT32>(p.password16.size());
			p.id_exw.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
			p.id_exw.PackageList = w(p.packages16);
			p.id_exw.PackageListLength = static_cast<UINT32>(p.packages16.size());
			return &p.id_exw;
		case IdentityForm::None:
			return nullptr;
	}
	return nullptr;
}

void* server_auth_data(Party& p, const ServerSettings& s)
{
	if (s.sam_file.empty() && s.keytab.empty() && !s.hash_callback)
		return nullptr;
	p.sam_file = s.sam_file;
	p.keytab = s.keytab;
	p.ntlm.hashCallback = s.hash_callback;
	p.ntlm.hashCallbackArg = s.hash_callback_arg;
	p.packages16 = utf8_to_utf16(s.package_list);
	fill_winpr_identity(p);
	return &p.winpr;
}

} // namespace nlassp::interop::detail
