// Trust: our own values; a secret text comes from the operator.
#include "webhooks/signature.hpp"

#include <openssl/evp.h>

#include <string>
#include <vector>

#include "crypto/hmac.hpp"

namespace webhooks {

namespace {

std::string base64(std::span<const std::uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

core::SecretBytes new_secret(core::Rng& rng) {
  core::SecretBytes out(kSecretBytes);
  rng.fill(out.mutable_view());
  return out;
}

std::string secret_text(const core::SecretBytes& secret) {
  return "whsec_" + base64(bytes_of(secret.as_string_view()));
}

std::optional<core::SecretBytes> parse_secret_text(std::string_view text) {
  constexpr std::string_view kPrefix = "whsec_";
  if (text.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  text.remove_prefix(kPrefix.size());
  if (text.empty() || text.size() % 4 != 0 || text.size() > 128) return std::nullopt;
  std::vector<std::uint8_t> raw(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(raw.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t len = static_cast<std::size_t>(n);
  if (text.ends_with("==")) {
    len -= 2;
  } else if (text.ends_with("=")) {
    len -= 1;
  }
  core::SecretBytes out(std::string_view(reinterpret_cast<const char*>(raw.data()), len));
  std::fill(raw.begin(), raw.end(), std::uint8_t{0});
  return out;
}

std::string sign(const core::SecretBytes& secret, std::string_view id, std::int64_t timestamp,
                 std::string_view body) {
  std::string content;
  content.reserve(id.size() + body.size() + 24);
  content.append(id).append(".").append(std::to_string(timestamp)).append(".").append(body);
  const auto mac = crypto::hmac_sha256(bytes_of(secret.as_string_view()), bytes_of(content));
  return "v1," + base64(mac);
}

}  // namespace webhooks
