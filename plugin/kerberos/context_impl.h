// Internals of the Kerberos package shared by its source files: the KerberosContext class and
// the small helpers its parts use. Not a public interface: only plugin/kerberos/*.cpp include it.
//
// The context's work is split by responsibility:
//   context.cpp      construction, the handshake steps, names, logging of failures
//   credentials.cpp  initiator credentials: realm checks, password (AS exchange), ccache
//   kdc_url.cpp      a per-logon KDC URL / KDC proxy through a private krb5 profile
//   protect.cpp      message protection (wrap/unwrap, MIC) and SPNEGO's mechListMIC
//   names.cpp        the pure principal / target-name helpers of kerberos/context.h
//   pkinit*.cpp      the smartcard logon (PKINIT): see kerberos/pkinit.h
#pragma once

#include "common/log.h"
#include "common/package.h"
#include "kerberos/context.h"
#include "kerberos/gss.h"

#include <string>
#include <string_view>

namespace nlassp::kerberos::pkinit {
struct Card;
}

namespace nlassp::kerberos::detail {

extern const log::Logger logger;

constexpr uint32_t kMaxToken = 48000;

std::string upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
// UTF-16LE password bytes -> NUL-terminated UTF-8 in SecretBytes. False on invalid UTF-16 or NUL.
bool password_utf8(ByteView in, SecretBytes& out);
std::string utc_now();
// The advice that goes with an error in the one log line a failure produces.
const char* advice(Error e);
ContextFlags from_gss(OM_uint32 f);
OM_uint32 to_gss(ContextFlags f);
bool utf16_to_utf8_str(const std::u16string& in, std::string& out);

class KerberosContext final : public SecurityContext {
public:
	KerberosContext(Role role, CredentialPtr cred) : role_(role), cred_(std::move(cred)) {}
	~KerberosContext() override
	{
		ctx_.reset();
		gcred_.reset();
		if (private_ccache_)
			ccache_.destroy();
		ccache_.close();
		krb5_.reset();
		if (!private_config_.empty())
			(void)unlink(private_config_.c_str());
	}

	Error init();

	Error step(const StepInput& in, StepOutput& out) override;
	[[nodiscard]] bool established() const noexcept override { return state_ == State::Established; }
	[[nodiscard]] ContextFlags flags() const noexcept override { return from_gss(ret_flags_); }
	[[nodiscard]] PackageId package() const noexcept override { return PackageId::Kerberos; }
	[[nodiscard]] Sizes sizes() const noexcept override { return sizes_; }

	Error sign(std::span<const MessageBuffer> msg, Bytes& token) override;
	Error verify(std::span<const MessageBuffer> msg, ByteView token) override;
	Error encrypt(std::span<MessageBuffer> msg, Bytes& token) override;
	Error decrypt(std::span<MessageBuffer> msg, ByteView token) override;
	Error session_key(SecretBytes& key) const override;
	Error names(ContextNames& names) const override;
	Error make_negotiation_mic(ByteView mech_types_der, Bytes& mic) override;
	Error verify_negotiation_mic(ByteView mech_types_der, ByteView mic) override;

private:
	enum class State : uint8_t { Start, InProgress, Established, Failed };

	Error init_initiator();
	Error init_acceptor();
	Error acquire_with_password(const std::string& principal, ByteView password_utf16le);
	Error acquire_from_ccache(const std::string& principal);
	// Smartcard logon (PKINIT), in pkinit.cpp.
	Error acquire_with_pkinit(const std::string& default_realm);
	Error pkinit_exchange(const std::string& principal, const pkinit::Card& card, const SecretBytes& pin);
	Error pkinit_adopt_ccache(const std::string& principal, const pkinit::Card& card);
	[[nodiscard]] bool kdc_url_wanted() const noexcept
	{
		return !cred_->kerberos.kdc_url.empty() || !cred_->kdc_proxy_server.empty();
	}
	Error use_kdc_url(const std::string& realm);
	Error prefetch_service_ticket(const std::string& spn);
	Error check_realm(const std::string& realm);
	Error step_initiator(const StepInput& in, StepOutput& out);
	Error step_acceptor(const StepInput& in, StepOutput& out);
	void finish_establishment();
	Error fail_gss(const char* what, OM_uint32 major, OM_uint32 minor);
	Error fail_krb5(const char* what, krb5_error_code code);
	void log_failure(const char* what, Error e, const std::string& detail) const;

	Role role_;
	CredentialPtr cred_;
	State state_ = State::Start;
	gss::Krb5Context krb5_;
	std::string private_config_;   // krb5.conf fragment naming the KDC URL (removed on destruction)
	bool prefetch_ = false;         // KDC traffic must go through krb5_ (KDC URL in force)
	gss::Ccache ccache_;
	bool private_ccache_ = false;
	gss::Cred gcred_;
	gss::Ctx ctx_;
	gss::Name target_;
	std::string target_text_;
	std::string client_;       // "alice@LAB.TEST" (initiator: us; acceptor: the peer)
	OM_uint32 ret_flags_ = 0;
	Sizes sizes_{kMaxToken, 0, 1, 0};
};

} // namespace nlassp::kerberos::detail
