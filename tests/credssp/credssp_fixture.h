// What the in-process CREDSSP tests share: an NTLM user store, credentials, the parameters buffer
// as a caller builds it, an initiator/acceptor pair run through a message filter (the man in the
// middle), and a scripted server standing in for FreeRDP's CredSSP server and for lying ones.
//
// Checks run in bool helpers (destructors run); CMocka bodies only assert.
#pragma once

#include "credssp/context.h"
#include "credssp/credssp.h"
#include "credssp/messages.h"

#include <cstdio>
#include <functional>
#include <string>

#define CHECK(expr)                                                                       \
	do {                                                                                  \
		if (!(expr)) {                                                                    \
			std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
			return false;                                                                 \
		}                                                                                 \
	} while (0)

namespace nlassp::credssp::test {

inline constexpr char16_t kPassword[] = u"Passw0rd!";

// Inner contexts: our Negotiate over NTLM (what the dispatcher gives CREDSSP), or raw NTLM (which
// completes on the initiator's AUTHENTICATE, so pubKeyAuth travels with the last negoToken).
ContextPtr make_negotiate(Role role, const CredentialPtr& cred, Error& err);
ContextPtr make_raw_ntlm(Role role, const CredentialPtr& cred, Error& err);

// alice@LAB with `password` (the acceptor's user store knows alice / kPassword).
CredentialPtr client_cred(const std::u16string& password = kPassword, const std::u16string& user = u"alice",
                          const std::u16string& domain = u"LAB");
CredentialPtr server_cred();

// A SubjectPublicKeyInfo from the ms-cssp vectors ("rsa2048", "p256").
bool key(const char* name, Bytes& spki);

// An NLASSP_CREDSSP_PARAMS buffer as a caller builds it (0 = the package's default).
Bytes params(ByteView key_bytes, uint32_t format, uint32_t min_v = 0, uint32_t max_v = 0, uint32_t flags = 0,
             const std::string& targets = "");
// The same with the rsa2048 SubjectPublicKeyInfo.
Bytes rsa_params(uint32_t min_v = 0, uint32_t max_v = 0, uint32_t flags = 0, const std::string& targets = "");

struct Side {
	ContextPtr ctx;
	Bytes params;                 // given on the side's first call of a run (none if empty)
	ContextFlags requested = 0;
	std::u16string target;
	Error error = Error::None;
	bool complete = false;
	Bytes last_token;             // the last token this side produced (also after a failure)
};

// A message filter between the two sides (the man in the middle); returns the bytes delivered.
using Filter = std::function<Bytes(bool to_server, size_t index, const Bytes& token)>;

struct Pair {
	Side client, server;
	size_t messages = 0;
	Bytes last_server_error_token;
};

// A pair at the given maximum versions; both sides lower their minimum to 2 explicitly.
bool make_pair(Pair& p, uint32_t client_max, uint32_t server_max, ContextFlags client_req,
               const char* client_key = "rsa2048", const char* server_key = "rsa2048",
               const CredentialPtr& ccred = client_cred());

Error step(Side& s, ByteView token, StepOutput& out, bool first);

// Runs a handshake from the client's first call (a new context, or re-authentication of an
// established one); stops at the first error (recorded in the side's `error`).
void run(Pair& p, const Filter& filter = {});

// ---- a scripted server ----------------------------------------------------------------------------

enum class Script {
	Correct,
	FreeRdpEchoDefect,   // v2-4: echo 01 00 00 ... instead of key + 1
	WrongEcho,           // v2-4: the key itself
	WrongHash,           // v5+: a wrong ServerClientHash
	OwnPubKeyAuthBack,   // answers the client's pubKeyAuth with that very pubKeyAuth
	ErrorCode,           // answers pubKeyAuth with errorCode STATUS_LOGON_FAILURE
	FreeRdpRepeat,       // repeats its final negoToken beside its pubKeyAuth
	ZeroNegoToken,       // answers the client's second negoToken with cbMaxToken zero bytes
	NewNegoToken,        // a new negoToken beside its pubKeyAuth
	FreeRdpFailure,      // a failed AcceptSecurityContext answered as FreeRDP's nla.c does
	FreeRdpFailureNoCode,  // the same when its SSPI provider left GetLastError() at 0: no errorCode
};

struct ScriptedServer {
	ContextFactory inner = make_negotiate;
	ContextPtr nego;
	Bytes key;      // SubjectPublicKey
	uint32_t version = 6;
	Script script = Script::Correct;
	Bytes nonce;
	Bytes last_nego;
	size_t nego_seen = 0;

	bool init();
	bool seal(ByteView plain, Bytes& wire_out);
	bool answer(ByteView in, Bytes& out);   // one reply to the client's TSRequest
};

// An initiator against a scripted server.
struct ScriptRun {
	Script script = Script::Correct;
	uint32_t version = 6;                 // the server's, and the client's maximum
	uint32_t flags = 0;                   // NLASSP_CREDSSP_* of the client
	uint32_t min_version = 2;             // the client's MinVersion (0: the default)
	ContextFactory client_inner = make_negotiate;
	ContextFactory server_inner = make_negotiate;
	std::u16string password = kPassword;
	// Results.
	Error result = Error::Internal;
	bool echo_defect_seen = false;
	bool sent_after_failure = false;      // the failing call produced a token
};
bool run_scripted(ScriptRun& r);

} // namespace nlassp::credssp::test
