#include "common/package.h"

namespace nlassp {

const char* package_name(PackageId id) noexcept
{
	switch (id) {
	case PackageId::Negotiate: return "Negotiate";
	case PackageId::Ntlm: return "NTLM";
	case PackageId::Kerberos: return "Kerberos";
	case PackageId::CredSsp: return "CREDSSP";
	}
	return "?";
}

static void put_u32le(Bytes& out, uint32_t v)
{
	for (int i = 0; i < 4; ++i)
		out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

Bytes ChannelBindings::serialize() const
{
	Bytes out;
	put_u32le(out, initiator_addr_type);
	put_u32le(out, static_cast<uint32_t>(initiator_addr.size()));
	out.insert(out.end(), initiator_addr.begin(), initiator_addr.end());
	put_u32le(out, acceptor_addr_type);
	put_u32le(out, static_cast<uint32_t>(acceptor_addr.size()));
	out.insert(out.end(), acceptor_addr.begin(), acceptor_addr.end());
	put_u32le(out, static_cast<uint32_t>(application_data.size()));
	out.insert(out.end(), application_data.begin(), application_data.end());
	return out;
}

bool smartcard_credential(const Credential* cred, const Identity* identity) noexcept
{
	return (cred && !cred->kerberos.pkinit_identity.empty()) || (identity && identity->user.starts_with(u"@@"));
}

bool smartcard_credential(const Credential& cred) noexcept
{
	return smartcard_credential(&cred, cred.identity ? &*cred.identity : nullptr);
}

Error SecurityContext::sign(std::span<const MessageBuffer>, Bytes&) { return Error::Unsupported; }
Error SecurityContext::verify(std::span<const MessageBuffer>, ByteView) { return Error::Unsupported; }
Error SecurityContext::encrypt(std::span<MessageBuffer>, Bytes&) { return Error::Unsupported; }
Error SecurityContext::decrypt(std::span<MessageBuffer>, ByteView) { return Error::Unsupported; }
Error SecurityContext::session_key(SecretBytes&) const { return Error::Unsupported; }
Error SecurityContext::names(ContextNames&) const { return Error::Unsupported; }
Error SecurityContext::set_workstation(std::u16string) { return Error::Unsupported; }
Error SecurityContext::make_negotiation_mic(ByteView, Bytes&) { return Error::Unsupported; }
Error SecurityContext::verify_negotiation_mic(ByteView, ByteView) { return Error::Unsupported; }
Error SecurityContext::ticket_logon(TicketLogon&) { return Error::Unsupported; }

} // namespace nlassp
