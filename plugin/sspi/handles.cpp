#include "sspi/handles.h"

#include <shared_mutex>
#include <unordered_map>

namespace nlassp::sspi {

namespace {

// "nlas" in the high half of dwUpper, the kind in the low half.
constexpr uint64_t kTagMagic = 0x6e6c6173ull << 32;

struct Slot {
	HandleKind kind;
	std::shared_ptr<void> entry;
};

struct State {
	mutable std::shared_mutex mu;
	std::unordered_map<uint64_t, Slot> slots;
	uint64_t next_id = 1;
};

// Never destroyed: contexts a caller leaked must not be torn down during exit, after the
// libraries their destructors call (krb5, OpenSSL) may already be gone.
State& state()
{
	static State* s = new State;
	return *s;
}

} // namespace

void HandleTable::insert(std::shared_ptr<void> e, HandleKind kind, SecHandle& out)
{
	auto& s = state();
	std::unique_lock lock(s.mu);
	const uint64_t id = s.next_id++;
	s.slots.emplace(id, Slot{kind, std::move(e)});
	out.dwLower = static_cast<ULONG_PTR>(id);
	out.dwUpper = static_cast<ULONG_PTR>(kTagMagic | static_cast<uint32_t>(kind));
}

std::shared_ptr<void> HandleTable::find(const SecHandle* h, HandleKind kind) const
{
	if (!h)
		return nullptr;
	if (static_cast<uint64_t>(h->dwUpper) != (kTagMagic | static_cast<uint32_t>(kind)))
		return nullptr;
	auto& s = state();
	std::shared_lock lock(s.mu);
	auto it = s.slots.find(static_cast<uint64_t>(h->dwLower));
	if (it == s.slots.end() || it->second.kind != kind)
		return nullptr;
	return it->second.entry;
}

void HandleTable::add(std::shared_ptr<CredentialEntry> e, SecHandle& out)
{
	insert(std::static_pointer_cast<void>(std::move(e)), HandleKind::Credential, out);
}

void HandleTable::add(std::shared_ptr<ContextEntry> e, SecHandle& out)
{
	insert(std::static_pointer_cast<void>(std::move(e)), HandleKind::Context, out);
}

std::shared_ptr<CredentialEntry> HandleTable::credential(const SecHandle* h) const
{
	return std::static_pointer_cast<CredentialEntry>(find(h, HandleKind::Credential));
}

std::shared_ptr<ContextEntry> HandleTable::context(const SecHandle* h) const
{
	return std::static_pointer_cast<ContextEntry>(find(h, HandleKind::Context));
}

bool HandleTable::remove(const SecHandle* h, HandleKind kind)
{
	if (!h || static_cast<uint64_t>(h->dwUpper) != (kTagMagic | static_cast<uint32_t>(kind)))
		return false;
	std::shared_ptr<void> victim;   // released after the lock: destructors may take time
	auto& s = state();
	{
		std::unique_lock lock(s.mu);
		auto it = s.slots.find(static_cast<uint64_t>(h->dwLower));
		if (it == s.slots.end() || it->second.kind != kind)
			return false;
		victim = std::move(it->second.entry);
		s.slots.erase(it);
	}
	return true;
}

size_t HandleTable::size() const
{
	auto& s = state();
	std::shared_lock lock(s.mu);
	return s.slots.size();
}

HandleTable& handles()
{
	static HandleTable t;
	return t;
}

} // namespace nlassp::sspi
