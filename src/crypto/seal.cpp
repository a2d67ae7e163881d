#include "crypto/seal.hpp"

#include <sodium.h>

namespace crypto {

static_assert(kSealKeyBytes == crypto_secretbox_KEYBYTES);

std::vector<std::uint8_t> seal(const core::SecretBytes& key, const core::SecretBytes& plain,
                               core::Rng& rng) {
  std::vector<std::uint8_t> out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                plain.size());
  rng.fill(std::span(out.data(), crypto_secretbox_NONCEBYTES));
  crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES, plain.view().data(), plain.size(),
                        out.data(), key.view().data());
  return out;
}

core::Result<core::SecretBytes> unseal(const core::SecretBytes& key,
                                       const std::vector<std::uint8_t>& sealed) {
  if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return core::fail(core::ErrorKind::integrity, "stored second factor is unreadable");
  }
  core::SecretBytes plain(sealed.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES);
  if (crypto_secretbox_open_easy(
          plain.mutable_view().data(), sealed.data() + crypto_secretbox_NONCEBYTES,
          sealed.size() - crypto_secretbox_NONCEBYTES, sealed.data(), key.view().data()) != 0) {
    return core::fail(core::ErrorKind::integrity, "stored second factor is unreadable",
                      "TOTP secret failed authentication (wrong seal key or edited row)");
  }
  return plain;
}

}  // namespace crypto
