// Trust: base64_decode reads untrusted text (a published key).
#include "mail/dkim/detail/base64.hpp"

namespace mail::dkim::detail {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t v = bytes[i] << 16;
    if (rest == 2) v |= bytes[i + 1] << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  std::string compact;
  compact.reserve(text.size());
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    compact += c;
  }
  if (compact.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  if (!compact.empty() && compact.back() == '=') ++pad;
  if (compact.size() >= 2 && compact[compact.size() - 2] == '=') ++pad;
  std::vector<std::uint8_t> out;
  out.reserve(compact.size() / 4 * 3);
  for (std::size_t i = 0; i < compact.size(); i += 4) {
    const bool last = i + 4 == compact.size();
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = compact[i + k];
      int d = value_of(c);
      if (d < 0) {
        // '=' only in the last group's padding positions.
        if (c != '=' || !last || k < 4 - pad) return std::nullopt;
        d = 0;
      }
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    out.push_back(static_cast<std::uint8_t>(v >> 16));
    if (!last || pad < 2) out.push_back(static_cast<std::uint8_t>(v >> 8));
    if (!last || pad < 1) out.push_back(static_cast<std::uint8_t>(v));
    // Canonical form: the bits under the padding are zero.
    if (last && pad == 1 && (v & 0xFF) != 0) return std::nullopt;
    if (last && pad == 2 && (v & 0xFFFF) != 0) return std::nullopt;
  }
  return out;
}

}  // namespace mail::dkim::detail
