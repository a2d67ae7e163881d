// Trust: untrusted network input (the client, before it has authenticated).
#include "mail/submission/sasl.hpp"

#include <array>
#include <cstdint>

#include "core/encoding.hpp"

namespace mail::submission {

namespace {

// RFC 4616 §2 bounds each identity and the password at 255 octets; an API key's name is
// at most 64 (app/apikey_commands.cpp).
constexpr std::size_t kMaxFieldBytes = 255;
constexpr std::size_t kMaxUserBytes = 64;

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool has_control(std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

std::optional<core::SecretBytes> decode_base64(std::string_view text, std::size_t max_bytes) {
  if (text.empty() || text.size() % 4 != 0 || text.size() / 4 * 3 > max_bytes + 2) {
    return std::nullopt;
  }
  std::size_t padding = 0;
  if (text.back() == '=') ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
  const std::size_t out_size = text.size() / 4 * 3 - padding;
  if (out_size == 0 || out_size > max_bytes) return std::nullopt;
  core::SecretBytes out(out_size);
  auto bytes = out.mutable_view();
  std::size_t o = 0;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::array<int, 4> v{};
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      const bool pad_allowed = i + 4 == text.size() && j >= 4 - padding;
      if (c == '=') {
        if (!pad_allowed) return std::nullopt;
        v[j] = 0;
        continue;
      }
      if (pad_allowed) return std::nullopt;
      v[j] = value_of(c);
      if (v[j] < 0) return std::nullopt;
    }
    const std::uint32_t triple =
        (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
        (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    const std::size_t n = i + 4 == text.size() ? 3 - padding : 3;
    // Non-canonical encodings (bits set in the padding) are refused: one text, one value.
    if (n == 1 && (triple & 0xffff) != 0) return std::nullopt;
    if (n == 2 && (triple & 0xff) != 0) return std::nullopt;
    for (std::size_t k = 0; k < n; ++k) {
      bytes[o++] = static_cast<std::uint8_t>((triple >> (16 - 8 * k)) & 0xff);
    }
  }
  return out;
}

std::optional<Credentials> decode_plain(std::string_view base64) {
  auto decoded = decode_base64(base64, 3 * kMaxFieldBytes + 2);
  if (!decoded) return std::nullopt;
  const std::string_view all = decoded->as_string_view();
  const auto first = all.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = all.find('\0', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  const std::string_view authzid = all.substr(0, first);
  const std::string_view authcid = all.substr(first + 1, second - first - 1);
  const std::string_view password = all.substr(second + 1);
  if (authcid.empty() || authcid.size() > kMaxUserBytes || has_control(authcid) ||
      !core::is_valid_utf8(authcid)) {
    return std::nullopt;
  }
  if (!authzid.empty() && authzid != authcid) return std::nullopt;
  if (password.empty() || password.size() > kMaxFieldBytes || has_control(password)) {
    return std::nullopt;
  }
  return Credentials{std::string(authcid), core::SecretBytes(password)};
}

std::optional<core::SecretBytes> decode_login_field(std::string_view base64) {
  auto decoded = decode_base64(base64, kMaxFieldBytes);
  if (!decoded || has_control(decoded->as_string_view()) ||
      !core::is_valid_utf8(decoded->as_string_view())) {
    return std::nullopt;
  }
  return decoded;
}

}  // namespace mail::submission
