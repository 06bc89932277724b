// Internals of the Kerberos package shared by its source files: the KerberosContext class and
// the small helpers its parts use. Not a public interface: only plugin/kerberos/*.cpp include it.
//
// The context's work is split by responsibility:
//   context.cpp      construction, the handshake steps, names, logging of failures
//   credentials.cpp  initiator credentials: realm checks, password logon, ccache
//   as_exchange.cpp  the password's one AS exchange and the KDC's reasons for refusing an account
//   kdc_url.cpp      a per-logon KDC URL / KDC proxy through a private krb5 profile
//   protect.cpp      message protection (wrap/unwrap, MIC) and SPNEGO's mechListMIC
//   rc4_protect.cpp  ... when the per-message key is RC4-HMAC (WinPR's and RFC 4757's layouts)
//   names.cpp        the pure principal / target-name helpers of kerberos/context.h
//   remote_guard.cpp Remote Credential Guard: the KERB_TICKET_LOGON (host ticket + forwarded TGT)
//   pkinit*.cpp      the smartcard logon (PKINIT): see kerberos/pkinit.h
#pragma once

#include "common/log.h"
#include "common/package.h"
#include "kerberos/context.h"
#include "kerberos/gss.h"
#include "kerberos/rc4_protect.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nlassp::kerberos::pkinit {
struct Card;
struct ExchangeTrace;
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
// The realms krb5.conf lists in [realms] (credentials.cpp), for telling "user@REALM" from a UPN.
std::vector<std::string> configured_realms(krb5_context k);
// krb5_parse_name of a client principal, typed KRB5_NT_ENTERPRISE_PRINCIPAL when it is an enterprise
// name (kerberos::enterprise_principal): the KDC then looks the UPN up and canonicalizes it.
krb5_error_code parse_client(krb5_context k, const std::string& principal, gss::Principal& out);

// Trace lines of MIT's sendto_kdc / k5tls about a KDC proxy (kdc_url.cpp), for the failure line.
struct KdcTrace {
	std::vector<std::string> lines;
	static void KRB5_CALLCONV callback(krb5_context, const krb5_trace_info* info, void* data);
};

class KerberosContext final : public SecurityContext {
public:
	KerberosContext(Role role, CredentialPtr cred) : role_(role), cred_(std::move(cred)) {}
	~KerberosContext() override
	{
		rc4_.reset();
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
	[[nodiscard]] uint32_t wrap_token_size(std::span<const MessageBuffer> msg) const noexcept override
	{
		return rc4_ ? rc4_->token_size(msg) : sizes_.security_trailer;
	}
	[[nodiscard]] size_t received_token_size(ByteView message) const noexcept override
	{
		return rc4_ ? Rc4Protection::received_token_size(message) : sizes_.security_trailer;
	}
	Error decrypt(std::span<MessageBuffer> msg, ByteView token) override;
	Error session_key(SecretBytes& key) const override;
	Error names(ContextNames& names) const override;
	Error make_negotiation_mic(ByteView mech_types_der, Bytes& mic) override;
	Error verify_negotiation_mic(ByteView mech_types_der, ByteView mic) override;
	Error ticket_logon(TicketLogon& out) override;

private:
	enum class State : uint8_t { Start, InProgress, Established, Failed };

	Error init_initiator();
	Error init_acceptor();
	Error acquire_with_password(const std::string& principal, ByteView password_utf16le);
	Error acquire_from_ccache(const std::string& principal);
	// A logon's ccache (credentials.cpp): opened before its AS exchange, adopted by GSSAPI after it.
	Error open_logon_ccache(const char* what);
	Error adopt_logon_ccache(const char* what, const std::string& principal, const std::string& how);
	Error password_as_exchange(krb5_principal client, const SecretBytes& password, const std::string& principal);
	Error fail_as_exchange(krb5_init_creds_context icc, krb5_error_code code, const std::string& principal);
	// Smartcard logon (PKINIT), in pkinit.cpp.
	Error acquire_with_pkinit(const std::string& default_realm);
	Error pkinit_exchange(const std::string& principal, const pkinit::Card& card, const SecretBytes& pin);
	Error pkinit_failure(krb5_init_creds_context icc, krb5_error_code code, pkinit::ExchangeTrace& trace, bool pin_locked,
	                     const std::string& principal, const pkinit::Card& card);
	[[nodiscard]] bool kdc_url_wanted() const noexcept
	{
		return !cred_->kerberos.kdc_url.empty() || !cred_->kdc_proxy_server.empty();
	}
	Error use_kdc_url(const std::string& realm);
	// The realm's KDC is an MS-KKDCP proxy at `url`: trace our krb5 context's traffic to it, so
	// that a failure can say why (TLS trust, k5tls missing).
	void watch_kdc_proxy(const std::string& url, const std::string& realm);
	// Error::None unless the trace explains `code` (then the one line is logged).
	Error explain_kdc_proxy_failure(const char* what, krb5_error_code code);
	Error prefetch_service_ticket(const std::string& spn);
	Error check_realm(const std::string& realm);
	Error step_initiator(const StepInput& in, StepOutput& out);
	Error step_acceptor(const StepInput& in, StepOutput& out);
	Error finish_establishment();
	// Initiator with an RC4 context key: the acceptor's own RC4 subkey from its AP-REP `token`, as
	// WinPR's acceptor seals with it (acceptor_subkey.cpp); nothing when there is none.
	void adopt_acceptor_subkey(ByteView token);
	Error fail_gss(const char* what, OM_uint32 major, OM_uint32 minor);
	// A refused TGS exchange (the service ticket): the KDC's policy or the account's state, never
	// the password (that was judged by the AS exchange, or not asked for at all with a ccache).
	Error fail_service_ticket(const std::string& what, krb5_error_code code, const std::string& detail, Error e);
	Error fail_krb5(const char* what, krb5_error_code code);
	// One line: what failed, why (detail), and the fix (`fix`, else the advice for `e`).
	void log_failure(const char* what, Error e, const std::string& detail, const std::string& fix = {}) const;
	Error fail_remote_guard(Error e, const std::string& detail);
	Error remote_guard_ccache(gss::Ccache& mem, gss::Principal& client);
	Error remote_guard_host_ticket(const std::string& host, krb5_ccache cc, krb5_principal client,
	                               gss::Principal& server, SecretBytes& ticket);

	Role role_;
	CredentialPtr cred_;
	State state_ = State::Start;
	std::unique_ptr<KdcTrace> trace_;   // outlives krb5_, whose trace callback points at it
	std::string proxy_url_;
	std::string proxy_realm_;
	gss::Krb5Context krb5_;
	std::string private_config_;   // krb5.conf fragment naming the KDC URL (removed on destruction)
	bool prefetch_ = false;         // KDC traffic must go through krb5_ (KDC URL in force)
	gss::Ccache ccache_;
	bool private_ccache_ = false;
	gss::Cred gcred_;
	gss::Ctx ctx_;
	std::unique_ptr<Rc4Protection> rc4_;   // the per-message key is RC4-HMAC (rc4_protect.h)
	gss::Name target_;
	std::string target_text_;
	std::string client_;       // "alice@LAB.TEST" (initiator: us; acceptor: the peer)
	OM_uint32 ret_flags_ = 0;
	Sizes sizes_{kMaxToken, 0, 1, 0};
};

} // namespace nlassp::kerberos::detail
