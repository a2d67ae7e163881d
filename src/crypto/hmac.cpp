#include "crypto/hmac.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

namespace crypto {

Mac hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
  // OpenSSL wants non-null pointers even for empty inputs.
  static const std::uint8_t kEmpty = 0;
  Mac mac{};
  unsigned int len = 0;
  const unsigned char* out =
      HMAC(EVP_sha256(), key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()),
           data.empty() ? &kEmpty : data.data(), data.size(), mac.data(), &len);
  // HMAC-SHA-256 over memory only fails when OpenSSL itself is broken; serving on with a
  // wrong MAC would be worse than stopping.
  if (out == nullptr || len != mac.size()) std::abort();
  return mac;
}

bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

struct Sha256::State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  // As for HMAC: only a broken OpenSSL fails here.
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
}

Sha256::~Sha256() = default;

void Sha256::update(std::string_view bytes) {
  if (!bytes.empty() && EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size()) != 1) {
    std::abort();
  }
}

Mac Sha256::finish() {
  Mac digest{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(state_->ctx, digest.data(), &len) != 1 || len != digest.size() ||
      EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
  return digest;
}

}  // namespace crypto
