// SPNEGO messages: the recorded MIT/gss-ntlmssp exchange (spnego.json) decodes field by field
// and re-encodes to the same bytes; encoders and decoders round-trip; the decoder refuses every
// DER or grammar violation.
#include "negotiate/messages.h"

#include "check.h"
#include "support/vectors.h"

#include <functional>
#include <string>
#include <vector>

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}
// clang-format on

using namespace nlassp;
using namespace nlassp::negotiate;
using nlassp::test::hex;

namespace {

const char* kFile = "spnego.json";

bool load_token(int i, Bytes& token, Bytes& ntlm, long long& offset, long long& type)
{
	const std::string base = "tokens." + std::to_string(i) + ".";
	long long length = 0;
	CHECK(test::vector_hex(kFile, base + "hex", token));
	CHECK(test::vector_hex(kFile, base + "ntlm_message_hex", ntlm) || i == 3);
	if (i == 3)
		return true;
	CHECK(test::vector_int(kFile, base + "ntlm_message_offset", offset));
	CHECK(test::vector_int(kFile, base + "ntlm_message_length", length));
	CHECK(test::vector_int(kFile, base + "ntlm_message_type", type));
	CHECK(static_cast<size_t>(length) == ntlm.size());
	return true;
}

// The NTLM message sits in the token at the recorded offset, and is of the recorded type.
bool ntlm_at_offset(const Bytes& token, const Bytes& inner, const Bytes& ntlm, long long offset, long long type)
{
	CHECK_EQ_BYTES(inner, ntlm);
	CHECK(offset >= 0 && static_cast<size_t>(offset) + ntlm.size() <= token.size());
	CHECK_EQ_BYTES(ByteView(token).subspan(static_cast<size_t>(offset), ntlm.size()), ntlm);
	CHECK(is_raw_ntlmssp(inner));
	CHECK(inner.size() >= 12);
	CHECK(inner[8] == type && inner[9] == 0 && inner[10] == 0 && inner[11] == 0);
	return true;
}

bool reencodes(const Bytes& token, const NegotiationToken& t)
{
	Bytes again;
	if (t.kind == NegotiationToken::Kind::Init)
		CHECK(encode_neg_token_init(t.init, again));
	else
		CHECK(encode_neg_token_resp(t.resp, again));
	CHECK_EQ_BYTES(again, token);
	// And from the field values alone, without the kept mechTypes bytes.
	if (t.kind == NegotiationToken::Kind::Init) {
		SpnegoNegTokenInit fresh = t.init;
		fresh.mech_types_der.clear();
		Bytes rebuilt;
		CHECK(encode_neg_token_init(fresh, rebuilt));
		CHECK_EQ_BYTES(rebuilt, token);
	}
	return true;
}

bool vector_token_1_init()
{
	Bytes token, ntlm;
	long long offset = 0, type = 0;
	CHECK(load_token(0, token, ntlm, offset, type));
	NegotiationToken t;
	CHECK(decode_negotiation_token(token, t));
	CHECK(t.kind == NegotiationToken::Kind::Init);
	CHECK(t.init.mech_types.size() == 1);
	CHECK(oid::equal(t.init.mech_types[0], oid::ntlmssp()));
	CHECK(oid::to_string(t.init.mech_types[0]) == "1.3.6.1.4.1.311.2.2.10");
	CHECK_EQ_BYTES(t.init.mech_types_der, hex("300c060a2b06010401823702020a"));
	CHECK(!t.init.req_flags);
	CHECK(!t.init.neg_hints);
	CHECK(!t.init.mech_list_mic);
	CHECK(t.init.mech_token.has_value());
	CHECK(ntlm_at_offset(token, *t.init.mech_token, ntlm, offset, type));
	CHECK(type == 1);
	return reencodes(token, t);
}

bool vector_token_2_challenge()
{
	Bytes token, ntlm;
	long long offset = 0, type = 0;
	CHECK(load_token(1, token, ntlm, offset, type));
	NegotiationToken t;
	CHECK(decode_negotiation_token(token, t));
	CHECK(t.kind == NegotiationToken::Kind::Resp);
	CHECK(t.resp.neg_state == NegState::AcceptIncomplete);
	CHECK(t.resp.supported_mech.has_value());
	CHECK(oid::equal(*t.resp.supported_mech, oid::ntlmssp()));
	CHECK(t.resp.response_token.has_value());
	CHECK(ntlm_at_offset(token, *t.resp.response_token, ntlm, offset, type));
	CHECK(type == 2);
	CHECK(!t.resp.mech_list_mic);
	return reencodes(token, t);
}

bool vector_token_3_authenticate()
{
	Bytes token, ntlm;
	long long offset = 0, type = 0;
	CHECK(load_token(2, token, ntlm, offset, type));
	NegotiationToken t;
	CHECK(decode_negotiation_token(token, t));
	CHECK(t.kind == NegotiationToken::Kind::Resp);
	CHECK(t.resp.neg_state == NegState::AcceptIncomplete);
	CHECK(!t.resp.supported_mech);
	CHECK(t.resp.response_token.has_value());
	CHECK(ntlm_at_offset(token, *t.resp.response_token, ntlm, offset, type));
	CHECK(type == 3);
	CHECK(t.resp.mech_list_mic.has_value());
	// A 16-byte NTLM signature (version 1), the token's last field.
	CHECK(t.resp.mech_list_mic->size() == 16);
	CHECK_EQ_BYTES(*t.resp.mech_list_mic, hex("01000000178f87103f5f096000000000"));
	CHECK_EQ_BYTES(ByteView(token).last(16), *t.resp.mech_list_mic);
	return reencodes(token, t);
}

bool vector_token_4_completed()
{
	Bytes token;
	CHECK(test::vector_hex(kFile, "tokens.3.hex", token));
	NegotiationToken t;
	CHECK(decode_negotiation_token(token, t));
	CHECK(t.kind == NegotiationToken::Kind::Resp);
	CHECK(t.resp.neg_state == NegState::AcceptCompleted);
	CHECK(!t.resp.supported_mech);
	CHECK(!t.resp.response_token);
	CHECK(t.resp.mech_list_mic.has_value());
	CHECK_EQ_BYTES(*t.resp.mech_list_mic, hex("010000008820dbf155f4e1a400000000"));
	return reencodes(token, t);
}

bool all_vector_tokens(std::vector<Bytes>& out)
{
	for (int i = 0; i < 4; ++i) {
		Bytes token;
		CHECK(test::vector_hex(kFile, "tokens." + std::to_string(i) + ".hex", token));
		out.push_back(std::move(token));
	}
	return true;
}

// Every proper prefix of every vector token fails to decode, and so does a trailing byte.
bool truncations_and_trailing_bytes_fail()
{
	std::vector<Bytes> tokens;
	CHECK(all_vector_tokens(tokens));
	for (const Bytes& token : tokens) {
		for (size_t n = 0; n < token.size(); ++n) {
			NegotiationToken t;
			CHECK(!decode_negotiation_token(ByteView(token).first(n), t));
		}
		Bytes longer = token;
		longer.push_back(0);
		NegotiationToken t;
		CHECK(!decode_negotiation_token(longer, t));
	}
	return true;
}

bool oid_helpers()
{
	CHECK(oid::to_string(oid::spnego()) == "1.3.6.1.5.5.2");
	CHECK(oid::to_string(oid::kerberos()) == "1.2.840.113554.1.2.2");
	CHECK(oid::to_string(oid::ms_kerberos()) == "1.2.840.48018.1.2.2");
	CHECK(oid::to_string(oid::kerberos_u2u()) == "1.2.840.113554.1.2.2.3");
	CHECK(oid::to_string(oid::negoex()) == "1.3.6.1.4.1.311.2.2.30");
	CHECK(oid::is_kerberos(oid::kerberos()) && oid::is_kerberos(oid::ms_kerberos()));
	CHECK(!oid::is_kerberos(oid::kerberos_u2u()) && !oid::is_kerberos(oid::ntlmssp()));
	CHECK(oid::name(oid::ntlmssp()) == "NTLM");
	CHECK(!oid::valid(hex("2b8001")));  // non-minimal sub-identifier
	CHECK(!oid::valid(hex("2b0681")));  // last sub-identifier unfinished
	CHECK(!oid::valid(Bytes()));
	CHECK(oid::valid(hex("2b06")));
	CHECK(oid::to_string(hex("2b80")) == "<invalid>");
	return true;
}

bool init_round_trips()
{
	SpnegoNegTokenInit init;
	init.mech_types = {Bytes(oid::ms_kerberos().begin(), oid::ms_kerberos().end()),
	                   Bytes(oid::kerberos().begin(), oid::kerberos().end()),
	                   Bytes(oid::negoex().begin(), oid::negoex().end()),
	                   Bytes(oid::ntlmssp().begin(), oid::ntlmssp().end())};
	init.req_flags = hex("0160");  // 1 unused bit: mutualFlag | replayFlag ... (bits 1,2)
	init.mech_token = Bytes(300, 0x42);  // long-form lengths on every level
	init.mech_list_mic = hex("00112233445566778899aabbccddeeff");
	Bytes enc;
	CHECK(encode_neg_token_init(init, enc));
	CHECK(enc[0] == 0x60 && enc[1] == 0x82);
	NegotiationToken t;
	CHECK(decode_negotiation_token(enc, t));
	CHECK(t.kind == NegotiationToken::Kind::Init);
	CHECK(t.init.mech_types == init.mech_types);
	CHECK(t.init.req_flags == init.req_flags);
	CHECK(t.init.mech_token == init.mech_token);
	CHECK(t.init.mech_list_mic == init.mech_list_mic);
	CHECK(!t.init.neg_hints);
	Bytes list;
	CHECK(encode_mech_type_list(init.mech_types, list));
	CHECK_EQ_BYTES(t.init.mech_types_der, list);
	CHECK(reencodes(enc, t));

	// Minimal: only mechTypes.
	SpnegoNegTokenInit bare;
	bare.mech_types = {Bytes(oid::kerberos().begin(), oid::kerberos().end())};
	CHECK(encode_neg_token_init(bare, enc));
	CHECK_EQ_BYTES(enc, hex("601b06062b0601050502a011300fa00d300b06092a864886f712010202"));
	CHECK(decode_negotiation_token(enc, t));
	CHECK(t.kind == NegotiationToken::Kind::Init && !t.init.mech_token && !t.init.mech_list_mic);

	// Nothing to encode from an empty or invalid list.
	SpnegoNegTokenInit empty;
	CHECK(!encode_neg_token_init(empty, enc));
	empty.mech_types = {hex("2b80")};
	CHECK(!encode_neg_token_init(empty, enc));
	std::vector<Bytes> many(kMaxMechTypes + 1, Bytes(oid::ntlmssp().begin(), oid::ntlmssp().end()));
	CHECK(!encode_mech_type_list(many, list));
	return true;
}

// MS-SPNG NegTokenInit2: negHints at [3], the MIC moves to [4].
bool init2_hints_round_trip()
{
	SpnegoNegTokenInit init;
	init.mech_types = {Bytes(oid::ms_kerberos().begin(), oid::ms_kerberos().end()),
	                   Bytes(oid::ntlmssp().begin(), oid::ntlmssp().end())};
	const std::string hint = "not_defined_in_RFC4178@please_ignore";
	init.neg_hints = NegHints{Bytes(hint.begin(), hint.end()), std::nullopt};
	Bytes enc;
	CHECK(encode_neg_token_init(init, enc));
	NegotiationToken t;
	CHECK(decode_negotiation_token(enc, t));
	CHECK(t.kind == NegotiationToken::Kind::Init);
	CHECK(t.init.neg_hints.has_value());
	CHECK(t.init.neg_hints->hint_name == init.neg_hints->hint_name);
	CHECK(!t.init.neg_hints->hint_address);
	CHECK(!t.init.mech_list_mic);
	CHECK(reencodes(enc, t));

	init.neg_hints->hint_address = hex("7f000001");
	init.mech_list_mic = hex("aabb");
	CHECK(encode_neg_token_init(init, enc));
	CHECK(decode_negotiation_token(enc, t));
	CHECK(t.init.neg_hints && t.init.neg_hints->hint_address == init.neg_hints->hint_address);
	CHECK(t.init.mech_list_mic == init.mech_list_mic);
	CHECK(reencodes(enc, t));

	// Empty hints sequence.
	init.neg_hints = NegHints{};
	init.mech_list_mic.reset();
	CHECK(encode_neg_token_init(init, enc));
	CHECK(decode_negotiation_token(enc, t));
	CHECK(t.init.neg_hints && !t.init.neg_hints->hint_name && !t.init.neg_hints->hint_address);
	return true;
}

bool resp_round_trips()
{
	const NegState states[] = {NegState::AcceptCompleted, NegState::AcceptIncomplete, NegState::Reject,
	                           NegState::RequestMic};
	for (NegState s : states) {
		for (int mask = 0; mask < 8; ++mask) {
			SpnegoNegTokenResp resp;
			resp.neg_state = s;
			if (mask & 1)
				resp.supported_mech = Bytes(oid::kerberos().begin(), oid::kerberos().end());
			if (mask & 2)
				resp.response_token = Bytes(200, 0x17);
			if (mask & 4)
				resp.mech_list_mic = hex("0102030405060708");
			Bytes enc;
			CHECK(encode_neg_token_resp(resp, enc));
			NegotiationToken t;
			CHECK(decode_negotiation_token(enc, t));
			CHECK(t.kind == NegotiationToken::Kind::Resp);
			CHECK(t.resp.neg_state == resp.neg_state);
			CHECK(t.resp.supported_mech == resp.supported_mech);
			CHECK(t.resp.response_token == resp.response_token);
			CHECK(t.resp.mech_list_mic == resp.mech_list_mic);
			CHECK(reencodes(enc, t));
		}
	}
	// All fields absent is grammatical; an empty responseToken survives as present-but-empty.
	SpnegoNegTokenResp empty;
	Bytes enc;
	CHECK(encode_neg_token_resp(empty, enc));
	CHECK_EQ_BYTES(enc, hex("a1023000"));
	empty.response_token = Bytes();
	CHECK(encode_neg_token_resp(empty, enc));
	CHECK_EQ_BYTES(enc, hex("a1063004a2020400"));
	NegotiationToken t;
	CHECK(decode_negotiation_token(enc, t));
	CHECK(t.resp.response_token && t.resp.response_token->empty());
	// reject as WinPR/MIT write it
	SpnegoNegTokenResp reject;
	reject.neg_state = NegState::Reject;
	CHECK(encode_neg_token_resp(reject, enc));
	CHECK_EQ_BYTES(enc, hex("a1073005a0030a0102"));
	return true;
}

bool rejects(const char* what, const Bytes& bytes)
{
	NegotiationToken t;
	if (decode_negotiation_token(bytes, t)) {
		std::fprintf(stderr, "accepted %s: %s\n", what, to_hex(bytes).c_str());
		return false;
	}
	return true;
}

bool accepts(const char* what, const Bytes& bytes)
{
	NegotiationToken t;
	if (!decode_negotiation_token(bytes, t)) {
		std::fprintf(stderr, "refused %s: %s\n", what, to_hex(bytes).c_str());
		return false;
	}
	return true;
}

bool strict_der_rejections()
{
	// Baselines that must decode, so each rejection below is about its one change.
	CHECK(accepts("negState 1", hex("a1073005a0030a0101")));
	CHECK(accepts("init", hex("601b06062b0601050502a011300fa00d300b06092a864886f712010202")));

	CHECK(rejects("empty input", Bytes()));
	CHECK(rejects("non-minimal long-form length", hex("a181073005a0030a0101")));
	CHECK(rejects("long form with leading zero", hex("a18200073005a0030a0101")));
	CHECK(rejects("indefinite length", hex("a1803005a0030a01010000")));
	CHECK(rejects("length beyond the input", hex("a1083005a0030a0101")));
	CHECK(rejects("negState 4", hex("a1073005a0030a0104")));
	CHECK(rejects("negState -1", hex("a1073005a0030a01ff")));
	CHECK(rejects("negState non-minimal", hex("a1083006a0040a020001")));
	CHECK(rejects("negState as INTEGER", hex("a1073005a003020101")));
	CHECK(rejects("negState empty ENUMERATED", hex("a1063004a0020a00")));
	CHECK(rejects("two elements inside [0]", hex("a10a3008a0060a01010a0101")));
	CHECK(rejects("fields out of order", hex("a10c300aa2030401aaa0030a0101")));
	CHECK(rejects("field [0] twice", hex("a10c300aa0030a0101a0030a0101")));
	CHECK(rejects("unknown field [4]", hex("a10c300aa0030a0101a4030401aa")));
	CHECK(rejects("responseToken not an OCTET STRING", hex("a1073005a2030301aa")));
	CHECK(rejects("supportedMech not an OID", hex("a1073005a1030401aa")));
	CHECK(rejects("supportedMech bad OID", hex("a1083006a10406022b80")));
	CHECK(rejects("SET instead of SEQUENCE", hex("a1073105a0030a0101")));
	CHECK(rejects("trailing element after the SEQUENCE", hex("a1093005a0030a01010500")));
	CHECK(rejects("bare [0] NegTokenInit", hex("a011300fa00d300b06092a864886f712010202")));
	CHECK(rejects("NegTokenResp inside the InitialContextToken",
	              hex("601106062b0601050502a1073005a0030a0101")));
	CHECK(rejects("wrong thisMech", hex("601b06062b0601050503a011300fa00d300b06092a864886f712010202")));
	CHECK(rejects("Kerberos thisMech", hex("601e06092a864886f712010202a011300fa00d300b06092a864886f712010202")));
	CHECK(rejects("trailing bytes inside the application tag",
	              hex("601d06062b0601050502a011300fa00d300b06092a864886f7120102020500")));
	CHECK(rejects("empty mechTypes", hex("601006062b0601050502a0063004a0023000")));
	CHECK(rejects("mechTypes holds a non-OID", hex("601306062b0601050502a0093007a0053003040100")));
	CHECK(rejects("mechTypes OID with 0x80 start", hex("601506062b0601050502a00b3009a007300506032b8001")));
	CHECK(rejects("mechTypes OID unfinished", hex("601406062b0601050502a00a3008a006300406022b86")));
	CHECK(rejects("missing mechTypes", hex("601206062b0601050502a0083006a2040402aabb")));
	CHECK(rejects("reqFlags with 8 unused bits",
	              hex("602106062b0601050502a0173015a00d300b06092a864886f712010202a10403020860")));
	CHECK(rejects("reqFlags with a set unused bit",
	              hex("602106062b0601050502a0173015a00d300b06092a864886f712010202a10403020161")));
	CHECK(accepts("reqFlags ok", hex("602106062b0601050502a0173015a00d300b06092a864886f712010202a10403020160")));
	CHECK(rejects("negHints that is neither SEQUENCE nor OCTET STRING",
	              hex("601f06062b0601050502a0153013a00d300b06092a864886f712010202a3020500")));
	CHECK(rejects("mechListMIC [4] after an OCTET STRING [3]",
	              hex("602506062b0601050502a01b3019a00d300b06092a864886f712010202a3030401aaa4030401bb")));
	CHECK(rejects("high tag number form for [1]", hex("bf01073005a0030a0101")));
	// Too many mechanisms.
	Bytes list = {0x30, static_cast<uint8_t>(4 * (kMaxMechTypes + 1))};
	for (size_t i = 0; i <= kMaxMechTypes; ++i)
		list.insert(list.end(), {0x06, 0x02, 0x2b, 0x06});
	Bytes field = {0xa0, static_cast<uint8_t>(list.size())};
	field.insert(field.end(), list.begin(), list.end());
	Bytes seq = {0x30, 0x81, static_cast<uint8_t>(field.size())};
	seq.insert(seq.end(), field.begin(), field.end());
	Bytes inner = {0xa0, 0x81, static_cast<uint8_t>(seq.size())};
	inner.insert(inner.end(), seq.begin(), seq.end());
	Bytes app = hex("06062b0601050502");
	app.insert(app.end(), inner.begin(), inner.end());
	Bytes token = {0x60, 0x81, static_cast<uint8_t>(app.size())};
	token.insert(token.end(), app.begin(), app.end());
	CHECK(rejects("33 mechanisms", token));
	return true;
}

bool raw_token_detection()
{
	CHECK(is_raw_ntlmssp(hex("4e544c4d5353500001000000")));
	CHECK(!is_raw_ntlmssp(hex("4e544c4d53535001")));
	CHECK(!is_raw_ntlmssp(hex("4e544c4d535350")));
	Bytes mech;
	// A GSS InitialContextToken framing a Kerberos AP-REQ (contents abbreviated).
	CHECK(peek_initial_context_mech(hex("600f06092a864886f7120102020100aabb"), mech));
	CHECK(oid::equal(mech, oid::kerberos()));
	CHECK(!peek_initial_context_mech(hex("601b06062b0601050502a011300fa00d300b06092a864886f712010202"), mech));
	CHECK(!peek_initial_context_mech(hex("600f06092a864886f7120102020100aa"), mech));
	CHECK(!peek_initial_context_mech(hex("a1023000"), mech));
	return true;
}

} // namespace

static void test_vector_token_1_init(void**) { assert_true(vector_token_1_init()); }
static void test_vector_token_2_challenge(void**) { assert_true(vector_token_2_challenge()); }
static void test_vector_token_3_authenticate(void**) { assert_true(vector_token_3_authenticate()); }
static void test_vector_token_4_completed(void**) { assert_true(vector_token_4_completed()); }
static void test_truncations_and_trailing_bytes_fail(void**) { assert_true(truncations_and_trailing_bytes_fail()); }
static void test_oid_helpers(void**) { assert_true(oid_helpers()); }
static void test_init_round_trips(void**) { assert_true(init_round_trips()); }
static void test_init2_hints_round_trip(void**) { assert_true(init2_hints_round_trip()); }
static void test_resp_round_trips(void**) { assert_true(resp_round_trips()); }
static void test_strict_der_rejections(void**) { assert_true(strict_der_rejections()); }
static void test_raw_token_detection(void**) { assert_true(raw_token_detection()); }

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vector_token_1_init),
	    cmocka_unit_test(test_vector_token_2_challenge),
	    cmocka_unit_test(test_vector_token_3_authenticate),
	    cmocka_unit_test(test_vector_token_4_completed),
	    cmocka_unit_test(test_truncations_and_trailing_bytes_fail),
	    cmocka_unit_test(test_oid_helpers),
	    cmocka_unit_test(test_init_round_trips),
	    cmocka_unit_test(test_init2_hints_round_trip),
	    cmocka_unit_test(test_resp_round_trips),
	    cmocka_unit_test(test_strict_der_rejections),
	    cmocka_unit_test(test_raw_token_detection),
	};
	return cmocka_run_group_tests_name("negotiate_messages", tests, nullptr, nullptr);
}
