// The CREDSSP security context (MS-CSSP 3.1.5) over an inner Negotiate context.
//
// Initiator                                   Acceptor
//   Start:  TSRequest{negoTokens}  ------->     Negotiating
//   Negotiating  <------- TSRequest{negoTokens}
//   ... until the inner context completes, then
//   TSRequest{negoTokens?, pubKeyAuth, clientNonce(v5+)} --->   verify the client's pubKeyAuth
//   AwaitServerKey <--- TSRequest{negoTokens?, pubKeyAuth}      (echo v2-4 / ServerClientHash v5+)
//   verify, then TSRequest{authInfo} (SEC_E_OK) --->            AwaitCredentials: decrypt (SEC_E_OK)
//
// Either side may see the final SPNEGO token and pubKeyAuth in one TSRequest or in two: WinPR's
// Negotiate completes on the initiator's last token, ours one round later.
#pragma once

#include "credssp/credssp.h"
#include "credssp/messages.h"

#include <array>

namespace nlassp::credssp {

class CredSspContext final : public SecurityContext {
public:
	CredSspContext(Role role, CredentialPtr cred, ContextFactory inner, Options defaults);

	Error step(const StepInput& in, StepOutput& out) override;
	[[nodiscard]] bool established() const noexcept override { return state_ == State::Done; }
	[[nodiscard]] ContextFlags flags() const noexcept override;
	[[nodiscard]] PackageId package() const noexcept override { return PackageId::CredSsp; }
	[[nodiscard]] Sizes sizes() const noexcept override;
	Error session_key(SecretBytes& key) const override;
	Error names(ContextNames& names) const override;
	Error set_workstation(std::u16string name) override;

	[[nodiscard]] Info info() const;
	[[nodiscard]] Role role() const noexcept { return role_; }
	Error delegated(DelegatedCredentials& out) const;

private:
	enum class State : uint8_t { Start, Negotiating, AwaitPubKeyAuth, AwaitCredentials, Done, Failed };

	Error initiator_start(const StepInput& in, StepOutput& out);
	Error initiator_negotiating(const StepInput& in, const TsRequest& req, StepOutput& out);
	Error initiator_server_key(const TsRequest& req, StepOutput& out);
	Error reflected_pub_key_auth(const TsRequest& req);
	Error acceptor_negotiating(const StepInput& in, const TsRequest& req, StepOutput& out);
	Error acceptor_pub_key_auth(const TsRequest& req, StepOutput& out);
	Error acceptor_credentials(const TsRequest& req, StepOutput& out);

	Error apply_params(const StepInput& in);
	Error create_inner(const StepInput& in);
	Error read_request(const StepInput& in, TsRequest& req, StepOutput& out);
	Error check_peer_version(uint32_t version);
	Error step_inner(const StepInput& in, ByteView token, StepOutput& inner_out);
	Error seal(ByteView plaintext, Bytes& wire);
	Error unseal(ByteView wire, SecretBytes& plaintext);
	Error make_pub_key_auth(Bytes& out);
	Error verify_pub_key_auth(ByteView wire);
	Error make_credentials(Bytes& auth_info);
	Error make_remote_guard_credentials(Bytes& auth_info);
	Error read_credentials(ByteView auth_info);
	Error send(TsRequest& req, StepOutput& out);
	Error fail(Error e);
	Error fail_with_token(Error e, StepOutput& out, const Bytes& nego_token = {});
	void reset();

	[[nodiscard]] bool sends_error_code() const noexcept;
	[[nodiscard]] bool hash_binding() const noexcept { return version_ >= 5; }

	Role role_;
	CredentialPtr cred_;
	ContextFactory inner_factory_;
	Options defaults_;                   // the policy if the first call brings no parameters buffer
	Policy policy_;                      // fixed by the first call, then only tightened
	bool policy_set_ = false;
	std::optional<Bytes> key_;           // SubjectPublicKey
	std::optional<Identity> supplied_;   // USE_SUPPLIED_CREDS identity of the first call

	State state_ = State::Start;
	ContextPtr inner_;
	ContextFlags requested_ = 0;
	std::u16string target_;
	uint32_t version_ = 0;               // negotiated
	uint32_t peer_version_ = 0;
	std::array<uint8_t, kNonceSize> nonce_{};
	bool have_nonce_ = false;
	Bytes sent_pub_key_auth_;            // initiator: what we sent (a refusal may echo it back)
	bool pub_key_auth_with_token_ = false;   // ... together with a negoToken
	Bytes last_nego_token_;              // initiator: the server's last negoToken (FreeRDP repeats it)
	bool delegated_ = false;
	bool remote_guard_ = false;          // TSRemoteGuardCreds sent (initiator) / received (acceptor)
	bool echo_defect_seen_ = false;
	bool echo_defect_refused_ = false;
	uint32_t peer_error_code_ = 0;       // initiator: the server's errorCode
	bool mutual_ = false;
	std::optional<DelegatedCredentials> received_;
};

} // namespace nlassp::credssp
