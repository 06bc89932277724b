#include "credssp/crypto.h"

#include "crypto/crypto.h"
#include "wire/der.h"

namespace nlassp::credssp {

namespace {
constexpr uint8_t kClientServerMagic[] = "CredSSP Client-To-Server Binding Hash";
constexpr uint8_t kServerClientMagic[] = "CredSSP Server-To-Client Binding Hash";
static_assert(sizeof(kClientServerMagic) == 38 && sizeof(kServerClientMagic) == 38,
              "the magic strings include their terminating NUL");
} // namespace

ByteView client_server_hash_magic() noexcept { return ByteView(kClientServerMagic, sizeof(kClientServerMagic)); }
ByteView server_client_hash_magic() noexcept { return ByteView(kServerClientMagic, sizeof(kServerClientMagic)); }

Error binding_hash(HashDirection dir, ByteView nonce, ByteView subject_public_key,
                   std::array<uint8_t, 32>& out) noexcept
{
	const ByteView parts[] = {
	    dir == HashDirection::ClientToServer ? client_server_hash_magic() : server_client_hash_magic(), nonce,
	    subject_public_key};
	return crypto::sha256(parts, std::span<uint8_t, crypto::kSha256Size>(out));
}

Bytes public_key_echo(ByteView subject_public_key)
{
	Bytes echo(subject_public_key.begin(), subject_public_key.end());
	for (uint8_t& b : echo) {
		if (b != 0xff) {
			++b;
			break;
		}
		b = 0;
	}
	return echo;
}

bool is_freerdp_echo_defect(ByteView plaintext, size_t key_size) noexcept
{
	if (plaintext.size() != key_size || key_size == 0 || plaintext[0] != 0x01)
		return false;
	for (size_t i = 1; i < plaintext.size(); ++i)
		if (plaintext[i] != 0)
			return false;
	return true;
}

bool subject_public_key_from_spki(ByteView spki, ByteView& subject_public_key) noexcept
{
	namespace der = wire::der;
	wire::Reader r(spki), seq, alg, bits;
	if (!der::read(r, der::tag::Sequence, seq) || !r.empty())
		return false;
	if (!der::read(seq, der::tag::Sequence, alg) || !der::read(seq, der::tag::BitString, bits) || !seq.empty())
		return false;
	uint8_t unused = 0;
	if (!bits.u8(unused) || unused != 0 || bits.empty())
		return false;
	subject_public_key = bits.rest();
	return true;
}

} // namespace nlassp::credssp
