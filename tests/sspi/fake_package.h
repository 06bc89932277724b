// A fake package for testing the SSPI boundary on its own. Three-leg handshake:
//   initiator -> "NEG" (or a token of g_fake.first_token_size bytes) -> acceptor
//   acceptor  -> "CHAL" -> initiator
//   initiator -> "AUTH" -> acceptor (acceptor complete, empty token)
// An input token "FAIL" makes the step fail with g_fake.fail_error. Message protection: the
// "signature" is a 16-byte checksum of every signed byte; sealing XORs Data buffers with 0x5a.
#pragma once

#include "common/package.h"

#include <atomic>
#include <mutex>
#include <string>

namespace nlassp::test {

struct FakeState {
	std::mutex mu;
	// What the last step saw.
	bool saw_bindings = false;
	ChannelBindings bindings;
	ContextFlags requested = 0;
	std::u16string target;
	std::string kdc_proxy_server;   // of the credential the last context was created with
	std::u16string workstation;     // last set_workstation
	// Knobs.
	size_t first_token_size = 0;    // 0: "NEG"
	Error fail_error = Error::LogonDenied;
	// A Kerberos initiator's ticket_logon(): this error, or (None) a fixed TicketLogon
	// (kFakeTicket / kFakeKrbCred, Flags 0x2).
	Error ticket_logon_error = Error::None;
	std::atomic<int> contexts_alive{0};
	std::atomic<int> sam_requests{0};
	std::string sam_path;           // last path given to the SAM store factory
	std::u16string names_user = u"alice";   // what an established context's names() reports
	std::u16string names_domain = u"LAB";
};
extern FakeState g_fake;

inline const Bytes kFakeTicket = {0x61, 0x03, 0x02, 0x01, 0x07};
inline const Bytes kFakeKrbCred = {0x76, 0x03, 0x02, 0x01, 0x09};

// Registers the fake as Negotiate, NTLM and Kerberos (each reports its own PackageId; the
// Negotiate fake reports NTLM once complete), plus a SAM store factory that records the path.
void register_fake_packages();

} // namespace nlassp::test
