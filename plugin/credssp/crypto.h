// The pure computations of MS-CSSP 3.1.5: the public-key echo of versions 2 to 4, the binding
// hashes of versions 5 and 6, and taking SubjectPublicKey out of a SubjectPublicKeyInfo.
#pragma once

#include "common/bytes.h"
#include "common/error.h"

#include <array>
#include <cstdint>

namespace nlassp::credssp {

// "CredSSP Client-To-Server Binding Hash\0" and "CredSSP Server-To-Client Binding Hash\0".
ByteView client_server_hash_magic() noexcept;
ByteView server_client_hash_magic() noexcept;

enum class HashDirection : uint8_t { ClientToServer, ServerToClient };

// SHA256(magic || nonce || subject_public_key) (ClientServerHash / ServerClientHash).
[[nodiscard]] Error binding_hash(HashDirection dir, ByteView nonce, ByteView subject_public_key,
                                 std::array<uint8_t, 32>& out) noexcept;

// The server's echo at versions 2-4: the public key read as a little-endian number, plus one
// (in practice: the first octet + 1), as Windows and FreeRDP compute it.
Bytes public_key_echo(ByteView subject_public_key);

// FreeRDP's CredSSP server at versions 2-4 echoes a zero buffer of the key's length plus one
// (01 00 00 ...) instead of the key plus one. True if `plaintext` is exactly that.
[[nodiscard]] bool is_freerdp_echo_defect(ByteView plaintext, size_t key_size) noexcept;

// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
// -> the BIT STRING contents without the unused-bits octet (which must be 0). Strict DER.
[[nodiscard]] bool subject_public_key_from_spki(ByteView spki, ByteView& subject_public_key) noexcept;

} // namespace nlassp::credssp
