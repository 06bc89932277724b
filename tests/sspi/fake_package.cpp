#include "sspi/fake_package.h"

#include "sspi/packages.h"

#include <cstring>

namespace nlassp::test {

FakeState g_fake;

namespace {

constexpr ContextFlags kGrantable = ctx::MutualAuth | ctx::Confidentiality | ctx::Integrity | ctx::ReplayDetect |
                                    ctx::SequenceDetect | ctx::Connection | ctx::UseSessionKey;

bool is(ByteView t, const char* s)
{
	return t.size() == std::strlen(s) && std::memcmp(t.data(), s, t.size()) == 0;
}

Bytes text(const char* s)
{
	return Bytes(s, s + std::strlen(s));
}

class FakeContext final : public SecurityContext {
public:
	FakeContext(Role role, PackageId id) : role_(role), id_(id) { ++g_fake.contexts_alive; }
	~FakeContext() override { --g_fake.contexts_alive; }

	Error step(const StepInput& in, StepOutput& out) override
	{
		{
			std::lock_guard lock(g_fake.mu);
			g_fake.saw_bindings = in.bindings != nullptr;
			if (in.bindings)
				g_fake.bindings = *in.bindings;
			g_fake.requested = in.requested;
			if (role_ == Role::Initiator)
				g_fake.target = in.target;
		}
		if (is(in.token, "FAIL"))
			return g_fake.fail_error;
		flags_ = in.requested & kGrantable;
		if (role_ == Role::Initiator) {
			if (round_ == 0 && in.token.empty()) {
				out.token = g_fake.first_token_size ? Bytes(g_fake.first_token_size, 0x4e) : text("NEG");
			} else if (round_ == 1 && is(in.token, "CHAL")) {
				out.token = text("AUTH");
				out.complete = done_ = true;
			} else {
				return Error::InvalidToken;
			}
		} else {
			if (round_ == 0 && !in.token.empty() && in.token[0] == 'N') {
				out.token = text("CHAL");
			} else if (round_ == 1 && is(in.token, "AUTH")) {
				out.complete = done_ = true;
			} else {
				return Error::InvalidToken;
			}
		}
		++round_;
		return Error::None;
	}
	bool established() const noexcept override { return done_; }
	ContextFlags flags() const noexcept override { return flags_; }
	PackageId package() const noexcept override
	{
		return (id_ == PackageId::Negotiate && done_) ? PackageId::Ntlm : id_;
	}
	Sizes sizes() const noexcept override { return {2888, 16, 0, 16}; }

	static Bytes checksum(std::span<const MessageBuffer> msg, uint8_t dir)
	{
		Bytes sum(16, dir);
		size_t i = 0;
		for (const auto& b : msg)
			if (b.kind != MessageBufferKind::Padding)
				for (uint8_t c : b.bytes) {
					sum[i % 16] = static_cast<uint8_t>(sum[i % 16] * 31 + c);
					++i;
				}
		return sum;
	}
	// Sequence-free on purpose: the direction byte keeps initiator and acceptor apart.
	uint8_t send_dir() const { return role_ == Role::Initiator ? 1 : 2; }
	uint8_t recv_dir() const { return role_ == Role::Initiator ? 2 : 1; }

	Error sign(std::span<const MessageBuffer> msg, Bytes& token) override
	{
		token = checksum(msg, send_dir());
		return Error::None;
	}
	Error verify(std::span<const MessageBuffer> msg, ByteView token) override
	{
		const Bytes want = checksum(msg, recv_dir());
		return constant_time_equal(want, token) ? Error::None : Error::MessageAltered;
	}
	Error encrypt(std::span<MessageBuffer> msg, Bytes& token) override
	{
		token = checksum(msg, send_dir());
		for (auto& b : msg)
			if (b.kind == MessageBufferKind::Data)
				for (auto& c : b.bytes)
					c ^= 0x5a;
		return Error::None;
	}
	Error decrypt(std::span<MessageBuffer> msg, ByteView token) override
	{
		for (auto& b : msg)
			if (b.kind == MessageBufferKind::Data)
				for (auto& c : b.bytes)
					c ^= 0x5a;
		const Bytes want = checksum(msg, recv_dir());
		return constant_time_equal(want, token) ? Error::None : Error::MessageAltered;
	}
	Error ticket_logon(TicketLogon& out) override
	{
		if (id_ != PackageId::Kerberos || role_ != Role::Initiator)
			return Error::Unsupported;
		if (!done_)
			return Error::NotEstablished;
		if (g_fake.ticket_logon_error != Error::None)
			return g_fake.ticket_logon_error;
		out.flags = 0x2;
		out.service_ticket = SecretBytes(ByteView(kFakeTicket));
		out.ticket_granting_ticket = SecretBytes(ByteView(kFakeKrbCred));
		return Error::None;
	}
	Error session_key(SecretBytes& key) const override
	{
		if (!done_)
			return Error::NotEstablished;
		key = SecretBytes(16);
		for (size_t i = 0; i < 16; ++i)
			key[i] = 0x11;
		return Error::None;
	}
	Error names(ContextNames& n) const override
	{
		if (!done_)
			return Error::NotEstablished;
		std::lock_guard lock(g_fake.mu);
		n.user = g_fake.names_user;
		n.domain = g_fake.names_domain;
		n.workstation = u"WS1";
		return Error::None;
	}
	Error set_workstation(std::u16string name) override
	{
		std::lock_guard lock(g_fake.mu);
		g_fake.workstation = std::move(name);
		return Error::None;
	}

private:
	Role role_;
	PackageId id_;
	int round_ = 0;
	bool done_ = false;
	ContextFlags flags_ = 0;
};

class NullStore final : public NtlmUserStore {
public:
	Error lookup(const NtlmLookup&, NtlmAccount&) const override { return Error::LogonDenied; }
};

ContextFactory factory_for(PackageId id)
{
	return [id](Role role, const CredentialPtr& cred, Error& err) -> ContextPtr {
		{
			std::lock_guard lock(g_fake.mu);
			g_fake.kdc_proxy_server = cred->kdc_proxy_server;
		}
		err = Error::None;
		return std::make_unique<FakeContext>(role, id);
	};
}

} // namespace

void register_fake_packages()
{
	auto& r = sspi::registry();
	r.clear();
	r.add(PackageId::Negotiate, factory_for(PackageId::Negotiate));
	r.add(PackageId::Ntlm, factory_for(PackageId::Ntlm));
	r.add(PackageId::Kerberos, factory_for(PackageId::Kerberos));
	r.set_sam_store_factory([](std::string path) -> std::shared_ptr<const NtlmUserStore> {
		++g_fake.sam_requests;
		std::lock_guard lock(g_fake.mu);
		g_fake.sam_path = std::move(path);
		return std::make_shared<NullStore>();
	});
}

} // namespace nlassp::test
