// A small, fully deterministic mechanism for driving the Negotiate context in tests and the
// fuzzer without NTLM or Kerberos. Header-only so tests/fuzz can share it.
//
// The exchange has `legs` tokens (1: initiator only; 2: Kerberos-like with mutual auth; 3:
// NTLM-like). Token n is  magic || n || flags, where flags bit 0 on the initiator's last token
// says "this context demands a mechListMIC" (as NTLM's MsvAvFlags MIC bit does). MICs are
// "MIC" || direction || FNV-1a-64(magic || mechTypes DER), checked in constant time.
#pragma once

#include "common/failure.h"
#include "common/package.h"
#include "negotiate/negotiate.h"

#include <memory>
#include <string>

namespace nlassp::test {

struct FakeConfig {
	PackageId id = PackageId::Kerberos;
	std::string magic = "FAKEKRB";   // token prefix; a fake NTLM uses "NTLMSSP" + NUL
	int legs = 2;
	Error fail_create = Error::None;   // create() fails with this
	int fail_step = -1;                // step() with this index (0 = first) fails
	Error fail_error = Error::LogonDenied;
	Bytes fail_token;                  // an error token produced along with the failure
	std::string fail_reason;           // recorded for the caller (common/failure.h) on failure
	bool require_mic = false;          // the initiator marks its last token "MIC required"
	bool supports_mic = true;
	bool bad_mic = false;              // produce a MIC that does not verify
};

struct FakeStats {
	int created = 0;
	int steps = 0;
	int mic_made = 0;
	int mic_verified = 0;
	int mic_failed = 0;
	int mic_complete = 0;
	Bytes last_mic_input;
	std::u16string workstation;
};

class FakeContext final : public SecurityContext {
public:
	FakeContext(Role role, FakeConfig cfg, std::shared_ptr<FakeStats> stats)
	    : role_(role), cfg_(std::move(cfg)), stats_(std::move(stats))
	{
		++stats_->created;
	}

	Error step(const StepInput& in, StepOutput& out) override
	{
		out = StepOutput{};
		const int k = steps_++;
		++stats_->steps;
		if (k == cfg_.fail_step) {
			if (!cfg_.fail_reason.empty())
				failure::record(cfg_.fail_reason);
			out.token = cfg_.fail_token;
			return cfg_.fail_error;
		}
		if (complete_)
			return Error::InvalidToken;
		requested_ = in.requested;
		int next = 0;
		if (role_ == Role::Initiator) {
			if (k == 0) {
				if (!in.token.empty())
					return Error::InvalidToken;
			} else if (!check_token(in.token, 2 * k)) {
				return Error::InvalidToken;
			}
			next = 2 * k + 1;
		} else {
			if (!check_token(in.token, 2 * k + 1))
				return Error::InvalidToken;
			next = 2 * k + 2;
		}
		if (next <= cfg_.legs)
			out.token = make_token(next);
		// The initiator's last token is the one that presents its credentials (an NTLM
		// AUTHENTICATE, a Kerberos AP-REQ).
		out.presents_credentials = role_ == Role::Initiator && next <= cfg_.legs && next + 1 >= cfg_.legs;
		complete_ = next >= cfg_.legs;
		out.complete = complete_;
		if (complete_ && role_ == Role::Initiator)
			mic_demanded_ = cfg_.require_mic;
		return Error::None;
	}

	[[nodiscard]] bool established() const noexcept override { return complete_; }
	[[nodiscard]] ContextFlags flags() const noexcept override
	{
		return requested_ & (ctx::MutualAuth | ctx::Confidentiality | ctx::Integrity);
	}
	[[nodiscard]] PackageId package() const noexcept override { return cfg_.id; }
	[[nodiscard]] Sizes sizes() const noexcept override { return Sizes{60000, 16, 0, 16}; }

	// "Encryption": XOR with a per-direction byte and a 16-byte trailer naming the sequence.
	Error encrypt(std::span<MessageBuffer> msg, Bytes& token) override
	{
		if (!complete_)
			return Error::NotEstablished;
		const uint8_t key = role_ == Role::Initiator ? 0x5a : 0xa5;
		for (MessageBuffer& b : msg)
			if (b.kind == MessageBufferKind::Data)
				for (uint8_t& c : b.bytes)
					c ^= key;
		token.assign(16, 0);
		token[0] = key;
		token[1] = static_cast<uint8_t>(send_seq_++);
		return Error::None;
	}
	Error decrypt(std::span<MessageBuffer> msg, ByteView token) override
	{
		if (!complete_)
			return Error::NotEstablished;
		const uint8_t key = role_ == Role::Initiator ? 0xa5 : 0x5a;
		if (token.size() != 16 || token[0] != key)
			return Error::MessageAltered;
		if (token[1] != static_cast<uint8_t>(recv_seq_))
			return Error::OutOfSequence;
		++recv_seq_;
		for (MessageBuffer& b : msg)
			if (b.kind == MessageBufferKind::Data)
				for (uint8_t& c : b.bytes)
					c ^= key;
		return Error::None;
	}
	Error session_key(SecretBytes& key) const override
	{
		key.assign(as_bytes(cfg_.magic));
		return Error::None;
	}
	Error names(ContextNames& n) const override
	{
		n.user = u"fakeuser";
		n.domain = u"FAKEDOM";
		n.workstation = stats_->workstation;
		return Error::None;
	}
	Error set_workstation(std::u16string name) override
	{
		stats_->workstation = std::move(name);
		return cfg_.id == PackageId::Ntlm ? Error::None : Error::Unsupported;
	}

	[[nodiscard]] bool negotiation_mic_required() const noexcept override { return mic_demanded_; }
	Error make_negotiation_mic(ByteView mech_types_der, Bytes& mic) override
	{
		if (!cfg_.supports_mic)
			return Error::Unsupported;
		if (!complete_)
			return Error::NotEstablished;
		++stats_->mic_made;
		stats_->last_mic_input.assign(mech_types_der.begin(), mech_types_der.end());
		mic = compute_mic(role_, mech_types_der);
		if (cfg_.bad_mic)
			mic[mic.size() - 1] ^= 1;
		return Error::None;
	}
	Error verify_negotiation_mic(ByteView mech_types_der, ByteView mic) override
	{
		if (!cfg_.supports_mic)
			return Error::Unsupported;
		if (!complete_)
			return Error::NotEstablished;
		const Role peer = role_ == Role::Initiator ? Role::Acceptor : Role::Initiator;
		if (!constant_time_equal(compute_mic(peer, mech_types_der), mic)) {
			++stats_->mic_failed;
			return Error::MessageAltered;
		}
		++stats_->mic_verified;
		return Error::None;
	}
	void negotiation_mic_complete() override { ++stats_->mic_complete; }

private:
	Bytes make_token(int n) const
	{
		Bytes t(cfg_.magic.begin(), cfg_.magic.end());
		if (cfg_.magic.rfind("NTLMSSP", 0) == 0 && t.size() == 7)
			t.push_back(0);
		t.push_back(static_cast<uint8_t>(n));
		const bool last_from_initiator = role_ == Role::Initiator && n + 1 >= cfg_.legs;
		t.push_back(last_from_initiator && cfg_.require_mic ? 1 : 0);
		return t;
	}
	bool check_token(ByteView in, int n)
	{
		Bytes expect = make_token(n);
		if (in.size() != expect.size() || in.size() < 2)
			return false;
		for (size_t i = 0; i + 1 < in.size(); ++i)
			if (in[i] != expect[i])
				return false;
		const uint8_t flags = in[in.size() - 1];
		if (flags > 1)
			return false;
		if (flags & 1)
			mic_demanded_ = true;
		return true;
	}
	Bytes compute_mic(Role who, ByteView der) const
	{
		uint64_t h = 0xcbf29ce484222325ull;
		auto mix = [&](uint8_t b) {
			h ^= b;
			h *= 0x100000001b3ull;
		};
		for (char c : cfg_.magic)
			mix(static_cast<uint8_t>(c));
		for (uint8_t b : der)
			mix(b);
		Bytes mic = {'M', 'I', 'C', static_cast<uint8_t>(who == Role::Initiator ? 'I' : 'A')};
		for (int i = 0; i < 8; ++i)
			mic.push_back(static_cast<uint8_t>(h >> (8 * i)));
		return mic;
	}

	Role role_;
	FakeConfig cfg_;
	std::shared_ptr<FakeStats> stats_;
	int steps_ = 0;
	bool complete_ = false;
	bool mic_demanded_ = false;
	ContextFlags requested_ = 0;
	uint32_t send_seq_ = 0;
	uint32_t recv_seq_ = 0;
};

inline negotiate::Mechanism fake_mechanism(FakeConfig cfg, std::shared_ptr<FakeStats> stats, ByteView oid)
{
	negotiate::Mechanism m;
	m.id = cfg.id;
	m.oid.assign(oid.begin(), oid.end());
	m.create = [cfg, stats](Role role, const CredentialPtr&, Error& err) -> ContextPtr {
		if (cfg.fail_create != Error::None) {
			err = cfg.fail_create;
			return nullptr;
		}
		err = Error::None;
		return std::make_unique<FakeContext>(role, cfg, stats);
	};
	return m;
}

} // namespace nlassp::test
