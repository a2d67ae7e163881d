#pragma once
// Sealing small secrets at rest (the portal's TOTP secrets) under a 32-byte key that lives in
// DATA/secrets/portal-seal.key: XSalsa20-Poly1305 (libsodium's crypto_secretbox), a fresh
// random 24-byte nonce per seal, stored as nonce || MAC || ciphertext.
// Trust: sealed bytes come back from our own database; a failed authentication is an
// integrity error (wrong key or an edited row), never retried silently.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"

namespace crypto {

inline constexpr std::size_t kSealKeyBytes = 32;

// `key` must be kSealKeyBytes long; `rng` draws the nonce.
std::vector<std::uint8_t> seal(const core::SecretBytes& key, const core::SecretBytes& plain,
                               core::Rng& rng);

// The plaintext, or integrity when `sealed` is too short or fails authentication.
core::Result<core::SecretBytes> unseal(const core::SecretBytes& key,
                                       const std::vector<std::uint8_t>& sealed);

}  // namespace crypto
