#include "crypto/aes_gcm.hpp"

#include <openssl/evp.h>

#include <climits>
#include <memory>

namespace crypto {

namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

constexpr const char* kSealFailed = "the message could not be encrypted";
constexpr const char* kOpenFailed = "the message could not be decrypted";

bool fits_int(std::size_t n) { return n <= static_cast<std::size_t>(INT_MAX); }

}  // namespace

core::Result<std::vector<std::uint8_t>> seal_aes256_gcm(const core::SecretBytes& key,
                                                        std::span<const std::uint8_t> aad,
                                                        std::span<const std::uint8_t> plain,
                                                        core::Rng& rng) {
  if (key.size() != kAesGcmKeyBytes || !fits_int(aad.size()) || !fits_int(plain.size())) {
    return core::fail(core::ErrorKind::invalid_input, kSealFailed, "bad key or input size");
  }
  std::vector<std::uint8_t> out(kAesGcmIvBytes + plain.size() + kAesGcmTagBytes);
  rng.fill(std::span(out.data(), kAesGcmIvBytes));
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.view().data(), out.data()) !=
          1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data() + kAesGcmIvBytes, &len, plain.data(),
                        static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + kAesGcmIvBytes + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAesGcmTagBytes),
                          out.data() + kAesGcmIvBytes + plain.size()) != 1) {
    return core::fail(core::ErrorKind::internal, kSealFailed, "EVP AES-256-GCM encrypt failed");
  }
  return out;
}

core::Result<core::SecretBytes> open_aes256_gcm(const core::SecretBytes& key,
                                                std::span<const std::uint8_t> aad,
                                                std::span<const std::uint8_t> sealed) {
  if (key.size() != kAesGcmKeyBytes || sealed.size() < kAesGcmIvBytes + kAesGcmTagBytes ||
      !fits_int(aad.size()) || !fits_int(sealed.size())) {
    return core::fail(core::ErrorKind::integrity, kOpenFailed, "bad key or sealed size");
  }
  const std::size_t n = sealed.size() - kAesGcmIvBytes - kAesGcmTagBytes;
  core::SecretBytes plain(n);
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer; it only reads the tag.
  std::vector<std::uint8_t> tag(sealed.end() - kAesGcmTagBytes, sealed.end());
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.view().data(), sealed.data()) !=
          1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), plain.mutable_view().data(), &len,
                        sealed.data() + kAesGcmIvBytes, static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kAesGcmTagBytes),
                          tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), plain.mutable_view().data() + len, &len) != 1) {
    return core::fail(core::ErrorKind::integrity, kOpenFailed,
                      "AES-256-GCM tag failed (wrong key, wrong additional data or edited bytes)");
  }
  return plain;
}

}  // namespace crypto
