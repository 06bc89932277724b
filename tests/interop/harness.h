// In-process interop driver: runs FreeRDP 3.10's CredSSP/NLA use of an SSPI table
// (libfreerdp/core/credssp_auth.c and nla.c) between a client table and a server table,
// with no network. Either table may be WinPR's built-in one (InitSecurityInterfaceExA(0))
// or our module's, loaded the way FreeRDP loads /sspi-module: (dlopen + InitSecurityInterfaceA).
//
// Used by the interop tests (tests/interop) and by the benchmark (tools/bench). It has no
// test-framework dependency; it reports what happened in a Result and never aborts.
#pragma once

#include <winpr/sspi.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace nlassp::interop {

using Bytes = std::vector<uint8_t>;

// ---- Tables --------------------------------------------------------------------------

// What a FreeRDP process has done before any SSPI call: winpr_InitializeSSL (which loads
// OpenSSL 3's legacy provider). Called by winpr_table(), module_table() and write_sam_file().
void prepare_process();

// WinPR's built-in table, as FreeRDP gets it without /sspi-module.
SecurityFunctionTableA* winpr_table();

// Where the module is: $NLASSP_MODULE_PATH, else the path compiled in
// (NLASSP_MODULE_PATH_DEFAULT), else "".
std::string module_path();

// dlopen(module_path()) + dlsym("InitSecurityInterfaceA") + call, once per process (the
// handle is never closed). nullptr if any step fails; *why says which.
SecurityFunctionTableA* module_table(std::string* why = nullptr);

// ---- Identities and settings ------------------------------------------------------------

// How the client identity reaches AcquireCredentialsHandle.
enum class IdentityForm {
	Winpr,   // SEC_WINNT_AUTH_IDENTITY_WINPR exactly as credssp_auth.c builds it (default)
	WinntA,  // SEC_WINNT_AUTH_IDENTITY_A (ANSI)
	WinntW,  // SEC_WINNT_AUTH_IDENTITY_W (UNICODE)
	ExA,     // SEC_WINNT_AUTH_IDENTITY_EXA
	ExW,     // SEC_WINNT_AUTH_IDENTITY_EXW
	None,    // pAuthData = NULL (default credentials)
};
const char* identity_form_name(IdentityForm form);

struct ClientIdentity {
	std::string user = "alice";
	std::string domain = "LAB";
	std::string password = "Passw0rd!";
	// An empty `password` is passed as NULL unless this is set: then as a non-NULL empty string,
	// which is what FreeRDP makes of /p: (sspi_SetAuthIdentityWithLengthW with "").
	bool empty_password_not_null = false;
	std::string package_list;  // "/auth-pkg-list", e.g. "!kerberos"; empty: none
	IdentityForm form = IdentityForm::Winpr;
	std::string kerberos_cache;  // kerberosSettings->cache (Winpr form only); empty: none
	// kerberosSettings->pkinitX509Identity / pkinitX509Anchors (Winpr form only): a smartcard
	// logon as credssp_auth.c sets it up (the password is then the PIN); empty: none.
	std::string pkinit_identity;
	std::string pkinit_anchors;
};

struct ServerSettings {
	std::string sam_file;      // ntlmSettings->samFile
	std::string keytab;        // kerberosSettings->keytab
	psSspiNtlmHashCallback hash_callback = nullptr;  // ntlmSettings->hashCallback
	void* hash_callback_arg = nullptr;
	std::string package_list;  // (pAuthData = NULL unless one of the above is set)
};

// A SEC_CHANNEL_BINDINGS header followed by "tls-server-end-point:" + cert_hash (32 bytes),
// as FreeRDP's TLS layer builds SecPkgContext_Bindings::Bindings.
Bytes make_channel_bindings(const uint8_t (&cert_hash)[32]);
// The same with a fixed hash (0x00, 0x01, ... 0x1f), or 0xa0.. when `other` is true.
Bytes default_channel_bindings(bool other = false);

// ---- The run -----------------------------------------------------------------------------

enum class Side { Client, Server };
const char* side_name(Side side);

// One token in flight: from which side, its number in the exchange (0 = the client's first).
struct TokenEvent {
	Side from;
	int index;
};
// May change the token in any way, including its size. Called on every token before delivery.
using TokenTamper = std::function<void(const TokenEvent&, Bytes& token)>;
// May change a sealed message (token||data as FreeRDP puts it on the wire) before DecryptMessage.
// index counts messages in that direction from 0.
using MessageTamper = std::function<void(Side from, int index, Bytes& wire)>;

struct Config {
	SecurityFunctionTableA* client_table = nullptr;
	SecurityFunctionTableA* server_table = nullptr;
	std::string package = "NTLM";        // passed to QuerySecurityPackageInfo on both sides
	ClientIdentity client;
	ServerSettings server;
	// Raw contents of a SECBUFFER_CHANNEL_BINDINGS input buffer given to every ISC / ASC call
	// of that side (FreeRDP passes the same one on every call); nullopt: no such buffer.
	std::optional<Bytes> client_bindings;
	std::optional<Bytes> server_bindings;
	std::string target = "TERMSRV/localhost";
	int max_calls = 12;                  // ISC + ASC calls before the run counts as a hang
	TokenTamper tamper;
	MessageTamper tamper_message;
	int messages = 3;                    // sealed messages in each direction after the login
	bool query_server = true;            // NAMES / AUTH_IDENTITY / PACKAGE_INFO / Impersonate
	bool query_packages = false;         // PACKAGE_INFO + NEGOTIATION_INFO on both sides (below)
	// QueryContextAttributes(SECPKG_CRED_ATTR_TICKET_LOGON) on the client context after the
	// messages, as FreeRDP's nla.c asks for it with +remoteGuard (Result::ticket_logon); and the
	// same on the server context (Result::server_ticket_logon_status).
	bool query_ticket_logon = false;
};

// What SECPKG_CRED_ATTR_TICKET_LOGON gave (both buffers copied, then free()d as FreeRDP does).
struct TicketLogonQuery {
	SECURITY_STATUS status = SEC_E_INTERNAL_ERROR;
	uint32_t message_type = 0;
	uint32_t flags = 0;
	Bytes service_ticket;
	Bytes ticket_granting_ticket;   // the KRB-CRED
};

struct Step {
	Side side;
	SECURITY_STATUS status;
	uint32_t in_size;
	uint32_t out_size;
	ULONG attributes;  // the flags variable after the call (the next call's request)
};

struct MessageRecord {
	Side from;
	uint32_t plain_size;
	uint32_t signature_size;  // token size EncryptMessage reported
	SECURITY_STATUS encrypt;
	SECURITY_STATUS decrypt;
	bool plaintext_equal;     // decrypted bytes == original
	bool ciphertext_differs;  // sealed data != plaintext (confidentiality really applied)
};

// What one side says about the package in use once established (Config::query_packages):
// QueryContextAttributes(SECPKG_ATTR_PACKAGE_INFO) and (SECPKG_ATTR_NEGOTIATION_INFO).
struct PackageQuery {
	SECURITY_STATUS package_info = SEC_E_INTERNAL_ERROR;
	std::string package_info_name;
	SECURITY_STATUS negotiation_info = SEC_E_INTERNAL_ERROR;
	std::string negotiation_name;
	ULONG negotiation_state = 0;
};

struct Result {
	// Setup, per side.
	SECURITY_STATUS client_package_info = SEC_E_INTERNAL_ERROR;
	SECURITY_STATUS server_package_info = SEC_E_INTERNAL_ERROR;
	std::string client_package_name, server_package_name;  // info->Name
	ULONG client_max_token = 0, server_max_token = 0;
	SECURITY_STATUS client_acquire = SEC_E_INTERNAL_ERROR;
	SECURITY_STATUS server_acquire = SEC_E_INTERNAL_ERROR;

	// The exchange.
	std::vector<Step> steps;
	std::vector<Bytes> tokens;        // tokens as delivered (after tampering), in order
	std::vector<Side> token_from;
	int calls = 0;                    // ISC + ASC calls made
	bool client_done = false;         // ISC returned SEC_E_OK
	bool server_done = false;         // ASC returned SEC_E_OK
	bool established = false;         // both done, no token left undelivered
	bool failed = false;              // a call returned anything but CONTINUE_NEEDED / OK
	Side failed_side = Side::Client;
	SECURITY_STATUS failure_status = SEC_E_OK;
	uint32_t failure_last_error = 0;  // GetLastError() right after the failed call (cleared before it)
	int failed_call = -1;             // index into steps
	bool hang = false;                // max_calls reached, or a side stalled with no token
	std::string protocol_error;       // e.g. "token sent to a side that already finished"
	ULONG client_attributes = 0, server_attributes = 0;

	// SECPKG_ATTR_SIZES right after each side's SEC_E_OK.
	SECURITY_STATUS client_sizes_status = SEC_E_INTERNAL_ERROR;
	SECURITY_STATUS server_sizes_status = SEC_E_INTERNAL_ERROR;
	SecPkgContext_Sizes client_sizes{}, server_sizes{};

	// Message protection, client→server and server→client alternating.
	std::vector<MessageRecord> messages;
	bool messages_ok = false;         // every message sealed, unsealed and equal

	// Server-side queries (after the messages, as nla.c does).
	SECURITY_STATUS names_status = SEC_E_INTERNAL_ERROR;
	std::string names_user;
	SECURITY_STATUS auth_identity_status = SEC_E_INTERNAL_ERROR;
	std::string auth_identity_user, auth_identity_domain;
	SECURITY_STATUS package_info_status = SEC_E_INTERNAL_ERROR;
	std::string package_info_name;
	SECURITY_STATUS impersonate_status = SEC_E_INTERNAL_ERROR;
	SECURITY_STATUS revert_status = SEC_E_INTERNAL_ERROR;

	// Both sides' PACKAGE_INFO / NEGOTIATION_INFO (only with Config::query_packages).
	PackageQuery client_query, server_query;

	// Config::query_ticket_logon.
	TicketLogonQuery ticket_logon;
	SECURITY_STATUS server_ticket_logon_status = SEC_E_INTERNAL_ERROR;

	// The status of the last call a side made (SEC_E_INTERNAL_ERROR if it made none).
	[[nodiscard]] SECURITY_STATUS last_status(Side side) const;
	// Status of the call that received token `index` (SEC_E_INTERNAL_ERROR if none did).
	[[nodiscard]] SECURITY_STATUS status_on_receipt(int index) const;
	// A readable trace for failure messages.
	[[nodiscard]] std::string describe() const;
};

// Runs one login (and, if it succeeds, the message exchange and server queries).
void run_login(const Config& config, Result& result);

// Logs in as run_login does, then seals `count` messages of `message_size` bytes (alternating
// client→server and server→client, FreeRDP's layout) and times EncryptMessage and
// DecryptMessage alone. For the benchmark.
struct Throughput {
	Result login;
	size_t message_size = 0;
	int messages = 0;            // sealed and unsealed correctly
	double encrypt_seconds = 0;  // summed over all EncryptMessage calls
	double decrypt_seconds = 0;
	bool ok = false;
	SECURITY_STATUS failure = SEC_E_OK;
};
void measure_throughput(const Config& config, size_t message_size, int count, Throughput& out);

// "SEC_E_LOGON_DENIED (0x8009030C)".
std::string status_string(SECURITY_STATUS status);

// Writes a WinPR SAM file (user:domain::NThash:::) for the given users; true on success.
struct SamUser {
	std::string user, domain, password;
};
[[nodiscard]] bool write_sam_file(const std::string& path, const std::vector<SamUser>& users);

// Position of "NTLMSSP\0" in a token, or -1.
long find_ntlmssp(const Bytes& token);

} // namespace nlassp::interop
