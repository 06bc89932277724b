// The harness's internal view of one end of the connection (harness.cpp) and the identity
// structures FreeRDP's credssp_auth.c hands to AcquireCredentialsHandle (party.cpp).
#pragma once

#include "interop/harness.h"

#include <winpr/ntlm.h>
#include <winpr/sspi.h>

#include <cstdlib>
#include <string>

namespace nlassp::interop::detail {

// One end of the connection: what credssp_auth.c keeps in rdpCredsspAuth.
struct Party {
	enum class State { Initial, Creds, InProgress, Final };

	Side side = Side::Client;
	SecurityFunctionTableA* table = nullptr;
	SecPkgInfoA* info = nullptr;
	CredHandle credentials{};
	CtxtHandle context{};
	SecBuffer input{};   // owned (malloc)
	SecBuffer output{};  // owned (calloc, cbMaxToken)
	void* bindings = nullptr;
	ULONG bindings_length = 0;
	ULONG flags = 0;
	SecPkgContext_Sizes sizes{};
	ULONG send_seq = 0, recv_seq = 0;
	State state = State::Initial;
	std::string spn;

	// Identity storage (must outlive AcquireCredentialsHandle; kept for the whole run).
	std::u16string user16, domain16, password16, packages16;
	std::string user8, domain8, password8, packages8;
	std::string sam_file;
	std::string keytab;
	bool password_not_null = false;
	std::string kerberos_cache;
	std::string pkinit_identity, pkinit_anchors;
	SEC_WINPR_NTLM_SETTINGS ntlm{};
	SEC_WINPR_KERBEROS_SETTINGS kerberos{};
	SEC_WINNT_AUTH_IDENTITY_WINPR winpr{};
	SEC_WINNT_AUTH_IDENTITY_A id_a{};
	SEC_WINNT_AUTH_IDENTITY_W id_w{};
	SEC_WINNT_AUTH_IDENTITY_EXA id_exa{};
	SEC_WINNT_AUTH_IDENTITY_EXW id_exw{};

	Party() = default;
	Party(const Party&) = delete;
	Party& operator=(const Party&) = delete;

	~Party()
	{
		if (table) {
			// credssp_auth_free: the context only once a call succeeded, then the credentials.
			if (state == State::InProgress || state == State::Final)
				table->DeleteSecurityContext(&context);
			if (state != State::Initial)
				table->FreeCredentialsHandle(&credentials);
			if (info)
				table->FreeContextBuffer(info);
		}
		std::free(input.pvBuffer);
		std::free(output.pvBuffer);
		std::free(bindings);
	}

	[[nodiscard]] bool have_context() const { return context.dwLower || context.dwUpper; }
};

// Heap copy of exactly `n` bytes, so that AddressSanitizer sees any read past the end.
void* heap_copy(const uint8_t* data, size_t n);

// credssp_auth_setup_client's pAuthData for an identity in the form the test asks for (kept in p).
void* client_auth_data(Party& p, const ClientIdentity& id);

// credssp_auth_setup_server: pAuthData only when there is something to pass (a SAM file, a
// keytab or a hash callback).
void* server_auth_data(Party& p, const ServerSettings& s);

} // namespace nlassp::interop::detail
