// Fuzzes the SPNEGO decoder. Invariants: no crash; whatever decodes re-encodes to exactly the
// input (the decoder accepts only canonical DER and keeps nothing it cannot write back), and the
// re-encoding decodes to the same fields.
#include "negotiate/messages.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

using namespace nlassp;
using namespace nlassp::negotiate;

namespace {

void check(bool condition)
{
	if (!condition)
		__builtin_trap();
}

bool same_init(const SpnegoNegTokenInit& a, const SpnegoNegTokenInit& b)
{
	const bool hints_equal = a.neg_hints.has_value() == b.neg_hints.has_value() &&
	                         (!a.neg_hints || (a.neg_hints->hint_name == b.neg_hints->hint_name &&
	                                           a.neg_hints->hint_address == b.neg_hints->hint_address));
	return a.mech_types == b.mech_types && a.mech_types_der == b.mech_types_der && a.req_flags == b.req_flags &&
	       a.mech_token == b.mech_token && a.mech_list_mic == b.mech_list_mic && hints_equal;
}

bool same_resp(const SpnegoNegTokenResp& a, const SpnegoNegTokenResp& b)
{
	return a.neg_state == b.neg_state && a.supported_mech == b.supported_mech &&
	       a.response_token == b.response_token && a.mech_list_mic == b.mech_list_mic;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const ByteView in(data, size);
	(void)is_raw_ntlmssp(in);
	Bytes raw_mech;
	if (peek_initial_context_mech(in, raw_mech))
		check(oid::valid(raw_mech) && !oid::equal(raw_mech, oid::spnego()));

	NegotiationToken t;
	if (!decode_negotiation_token(in, t))
		return 0;
	Bytes again;
	if (t.kind == NegotiationToken::Kind::Init) {
		check(!t.init.mech_types.empty() && t.init.mech_types.size() <= kMaxMechTypes);
		for (const Bytes& o : t.init.mech_types) {
			check(oid::valid(o));
			check(!oid::name(o).empty());
		}
		check(encode_neg_token_init(t.init, again));
		// Built from the fields alone, the mechTypes list is the same bytes too.
		Bytes list;
		check(encode_mech_type_list(t.init.mech_types, list));
		check(list == t.init.mech_types_der);
	} else {
		if (t.resp.supported_mech)
			check(oid::valid(*t.resp.supported_mech));
		if (t.resp.neg_state)
			check(neg_state_name(*t.resp.neg_state)[0] != '?');
		check(encode_neg_token_resp(t.resp, again));
	}
	check(again.size() == size && std::equal(again.begin(), again.end(), data));

	NegotiationToken t2;
	check(decode_negotiation_token(again, t2));
	check(t2.kind == t.kind);
	check(t.kind == NegotiationToken::Kind::Init ? same_init(t.init, t2.init) : same_resp(t.resp, t2.resp));
	return 0;
}
