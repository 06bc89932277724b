// Fuzzes the TSRequest decoder and the framing helper: arbitrary bytes never crash, the framing
// never promises more than the input holds, and whatever decodes re-encodes and decodes to the
// same message (encode(decode(x)) is a fixed point). Then the same bytes go to the first step of
// two fresh CREDSSP acceptors, one with the default minimum version 5 and one lowered to 2
// (framing, version check, Negotiate on the negoToken).
#include "credssp/credssp.h"
#include "credssp/messages.h"
#include "negotiate/negotiate.h"
#include "ntlm/ntlm.h"

#include <cstdint>
#include <cstdlib>

using namespace nlassp;
using namespace nlassp::credssp;

namespace {

class NoUsers final : public NtlmUserStore {
public:
	Error lookup(const NtlmLookup&, NtlmAccount&) const override { return Error::LogonDenied; }
};

ContextPtr make_negotiate(Role role, const CredentialPtr& cred, Error& err)
{
	negotiate::Mechanism m;
	m.id = PackageId::Ntlm;
	m.oid = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
	m.create = [](Role r, const CredentialPtr& c, Error& e) { return ntlm::create_context(r, c, e); };
	return negotiate::create_context(role, cred, {m}, err);
}

bool same(const TsRequest& a, const TsRequest& b)
{
	return a.version == b.version && a.nego_tokens == b.nego_tokens && a.auth_info == b.auth_info &&
	       a.pub_key_auth == b.pub_key_auth && a.error_code == b.error_code && a.client_nonce == b.client_nonce;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const ByteView in(data, size);
	const TsRequestFrame f = frame_ts_request(in);
	if (f.state == TsRequestFrame::State::Complete && f.length > size)
		std::abort();
	TsRequest req;
	if (decode_ts_request(in, req)) {
		if (f.state != TsRequestFrame::State::Complete || f.length != size)
			std::abort();
		Bytes again;
		TsRequest back;
		if (!encode_ts_request(req, again) || !decode_ts_request(again, back) || !same(req, back))
			std::abort();
	}

	static const CredentialPtr cred = [] {
		auto c = std::make_shared<Credential>();
		c->package = PackageId::CredSsp;
		c->use = CredentialUse::Inbound;
		c->ntlm_users = std::make_shared<NoUsers>();
		return c;
	}();
	// The acceptor's first step with the default policy (versions 5-6) and with versions 2-6.
	Options lowered;
	lowered.min_version = kMinVersion;
	for (const Options& defaults : {Options{}, lowered}) {
		Error err = Error::None;
		ContextPtr ctx = create_context(Role::Acceptor, cred, make_negotiate, err, defaults);
		if (!ctx)
			return 0;
		StepInput si;
		si.token = in;
		StepOutput so;
		const Error e = ctx->step(si, so);
		if (e == Error::IncompleteMessage && so.missing == 0)
			std::abort();
	}
	return 0;
}
