// Trust: parse_bearer() and parse_api_key() take untrusted network input (the header).
#include "auth/api_key.hpp"

#include <array>
#include <cstdint>

#include "auth/session_token.hpp"
#include "core/encoding.hpp"

namespace auth {
namespace {

bool lower_hex(std::string_view text) {
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

core::Result<std::string> parse_scope(std::string_view text) {
  for (const auto scope :
       {kScopeMessagesSend, kScopeMessagesRead, kScopeContactsWrite, kScopeContactsRead}) {
    if (text == scope) return std::string(scope);
  }
  return core::fail(core::ErrorKind::invalid_input,
                    "unknown scope (known: messages:send, messages:read, contacts:write, "
                    "contacts:read)");
}

NewApiKey new_api_key(core::Rng& rng) {
  std::array<std::uint8_t, kApiKeyIdChars / 2> id{};
  rng.fill(id);
  std::array<std::uint8_t, kApiKeySecretChars / 2> secret{};
  rng.fill(secret);
  NewApiKey out;
  out.id = core::to_hex(id);
  // Built in place in a SecretBytes: no other copy of the secret's text is ever made.
  out.key = core::SecretBytes(kApiKeyChars);
  auto text = out.key.mutable_view();
  std::size_t at = 0;
  for (const char c : kApiKeyPrefix) text[at++] = static_cast<std::uint8_t>(c);
  for (const char c : out.id) text[at++] = static_cast<std::uint8_t>(c);
  text[at++] = '_';
  static constexpr char kHex[] = "0123456789abcdef";
  for (const std::uint8_t b : secret) {
    text[at++] = static_cast<std::uint8_t>(kHex[b >> 4]);
    text[at++] = static_cast<std::uint8_t>(kHex[b & 0x0f]);
  }
  core::secure_wipe(secret.data(), secret.size());
  out.hash = hash_token(out.key.as_string_view());
  return out;
}

std::optional<PresentedKey> parse_api_key(std::string_view text) {
  if (text.size() != kApiKeyChars || !text.starts_with(kApiKeyPrefix)) return std::nullopt;
  const std::string_view id = text.substr(kApiKeyPrefix.size(), kApiKeyIdChars);
  if (text[kApiKeyPrefix.size() + kApiKeyIdChars] != '_') return std::nullopt;
  const std::string_view secret = text.substr(kApiKeyPrefix.size() + kApiKeyIdChars + 1);
  if (!lower_hex(id) || !lower_hex(secret)) return std::nullopt;
  return PresentedKey{std::string(id), text};
}

std::optional<PresentedKey> parse_bearer(std::string_view authorization) {
  if (authorization.size() > kMaxAuthorizationBytes) return std::nullopt;
  authorization = trim(authorization);
  constexpr std::string_view kScheme = "Bearer";
  if (authorization.size() <= kScheme.size() ||
      !iequals(authorization.substr(0, kScheme.size()), kScheme) ||
      !is_space(authorization[kScheme.size()])) {
    return std::nullopt;
  }
  return parse_api_key(trim(authorization.substr(kScheme.size())));
}

bool api_key_matches(const PresentedKey& presented, std::string_view stored_hash) {
  return constant_time_equal(hash_token(presented.text), stored_hash);
}

}  // namespace auth
