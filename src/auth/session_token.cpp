#include "auth/session_token.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>
#include <cstdint>

#include "core/encoding.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"

namespace auth {
namespace {

// 256 bits: guessing is hopeless even with every request ever made.
std::string random_token(core::Rng& rng) {
  std::array<std::uint8_t, 32> bytes{};
  rng.fill(bytes);
  std::string token = core::base64url_encode(bytes);
  core::secure_wipe(bytes.data(), bytes.size());
  return token;
}

}  // namespace

std::string new_session_id(core::Rng& rng) { return random_token(rng); }

std::string new_csrf_token(core::Rng& rng) { return random_token(rng); }

std::string hash_token(std::string_view token) {
  static const char kEmpty = 0;  // OpenSSL wants a non-null pointer even for no bytes
  std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(token.empty() ? &kEmpty : token.data()),
         token.size(), digest.data());
  return core::to_hex(digest);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace auth
