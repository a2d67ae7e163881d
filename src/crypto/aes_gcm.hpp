#pragma once
// AES-256-GCM in the layout WebCrypto's `AES-GCM` decrypts directly (the secure-message
// portal, issue 9): a 12-byte IV, then the ciphertext with its 16-byte tag appended, which
// is what `crypto.subtle.decrypt({name: "AES-GCM", iv, additionalData}, key, data)` takes
// as `data`. Stored and sent as IV || ciphertext || tag.
// Trust: `sealed` in open_aes256_gcm may come back edited (our own database): a failed
// tag is an integrity error.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"

namespace crypto {

inline constexpr std::size_t kAesGcmKeyBytes = 32;
inline constexpr std::size_t kAesGcmIvBytes = 12;
inline constexpr std::size_t kAesGcmTagBytes = 16;

// IV (fresh from `rng`) || ciphertext || tag. `key` must be kAesGcmKeyBytes long
// (invalid_input otherwise); `aad` is authenticated, not encrypted.
core::Result<std::vector<std::uint8_t>> seal_aes256_gcm(const core::SecretBytes& key,
                                                        std::span<const std::uint8_t> aad,
                                                        std::span<const std::uint8_t> plain,
                                                        core::Rng& rng);

// The plaintext; integrity when `sealed` is too short or its tag fails (wrong key, wrong
// `aad`, edited bytes).
core::Result<core::SecretBytes> open_aes256_gcm(const core::SecretBytes& key,
                                                std::span<const std::uint8_t> aad,
                                                std::span<const std::uint8_t> sealed);

}  // namespace crypto
