#include "core/secret.hpp"

#include <openssl/crypto.h>

namespace core {

void secure_wipe(void* data, std::size_t size) noexcept { OPENSSL_cleanse(data, size); }

void SecretBytes::append(std::string_view more) {
  if (bytes_.size() + more.size() <= bytes_.capacity()) {
    bytes_.insert(bytes_.end(), more.begin(), more.end());
    return;
  }
  std::vector<std::uint8_t> grown;
  grown.reserve((bytes_.size() + more.size()) * 2);
  grown.insert(grown.end(), bytes_.begin(), bytes_.end());
  grown.insert(grown.end(), more.begin(), more.end());
  wipe();
  bytes_ = std::move(grown);
}

}  // namespace core
