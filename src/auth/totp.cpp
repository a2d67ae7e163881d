#include "auth/totp.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdlib>

#include "core/rng.hpp"

namespace auth {
namespace {

constexpr char kBase32Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int base32_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    if (is_unreserved(c)) {
      out.push_back(c);
    } else {
      const auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
    }
  }
  return out;
}

// RFC 4226 section 5.3: HMAC-SHA1 of the 8-byte big-endian counter, dynamic truncation.
std::uint32_t hotp_value(const core::SecretBytes& secret, std::uint64_t counter) {
  std::array<std::uint8_t, 8> message{};
  for (int i = 7; i >= 0; --i) {
    message[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(counter & 0xFF);
    counter >>= 8;
  }
  // OpenSSL wants a non-null key pointer even for an empty key.
  static const std::uint8_t kEmpty = 0;
  std::array<std::uint8_t, 20> mac{};
  unsigned int len = 0;
  const unsigned char* out =
      HMAC(EVP_sha1(), secret.empty() ? &kEmpty : secret.view().data(),
           static_cast<int>(secret.size()), message.data(), message.size(), mac.data(), &len);
  // HMAC over memory only fails when OpenSSL itself is broken; a wrong code is worse.
  if (out == nullptr || len != mac.size()) std::abort();
  const std::size_t offset = mac[19] & 0x0F;
  const std::uint32_t value = (static_cast<std::uint32_t>(mac[offset] & 0x7F) << 24) |
                              (static_cast<std::uint32_t>(mac[offset + 1]) << 16) |
                              (static_cast<std::uint32_t>(mac[offset + 2]) << 8) |
                              static_cast<std::uint32_t>(mac[offset + 3]);
  core::secure_wipe(mac.data(), mac.size());
  return value;
}

}  // namespace

core::SecretBytes generate_totp_secret(core::Rng& rng) {
  core::SecretBytes secret(kTotpSecretBytes);
  rng.fill(secret.mutable_view());
  return secret;
}

std::string base32_encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const std::uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kBase32Alphabet[(acc >> bits) & 31]);
    }
    acc &= (1u << bits) - 1;
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(acc << (5 - bits)) & 31]);
  return out;
}

core::Result<std::vector<std::uint8_t>> base32_decode(std::string_view text) {
  const auto refuse = [](std::string detail) {
    return core::fail(core::ErrorKind::invalid_input, "That is not a valid base32 key.",
                      std::move(detail));
  };
  if (text.size() > kMaxBase32Chars) return refuse("base32 text too long");
  while (!text.empty() && (text.back() == '=' || text.back() == ' ')) text.remove_suffix(1);
  std::vector<std::uint8_t> out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t chars = 0;
  for (const char c : text) {
    if (c == ' ') continue;
    const int v = base32_value(c);
    if (v < 0) return refuse("character outside the base32 alphabet");
    ++chars;
    acc = ((acc << 5) | static_cast<std::uint32_t>(v)) & 0xFFFF;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xFF));
    }
  }
  // 8 characters carry 5 bytes; a final group of 1, 3 or 6 characters is never produced.
  const std::size_t tail = chars % 8;
  if (tail == 1 || tail == 3 || tail == 6) return refuse("impossible base32 length");
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return refuse("non-zero trailing bits");
  return out;
}

std::string otpauth_uri(std::string_view issuer, std::string_view account,
                        const core::SecretBytes& secret) {
  const std::string encoded_issuer = percent_encode(issuer);
  std::string uri = "otpauth://totp/";
  uri += encoded_issuer;
  uri += ':';
  uri += percent_encode(account);
  uri += "?secret=";
  uri += base32_encode(secret.view());
  uri += "&issuer=";
  uri += encoded_issuer;
  uri += "&algorithm=SHA1&digits=6&period=30";
  return uri;
}

std::string totp_code(const core::SecretBytes& secret, std::int64_t step, int digits) {
  if (digits < 6 || digits > 8 || step < 0) return {};
  std::uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  std::uint32_t value = hotp_value(secret, static_cast<std::uint64_t>(step)) % modulus;
  std::string code(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    code[static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return code;
}

std::optional<std::int64_t> totp_verify(const core::SecretBytes& secret, std::string_view code,
                                        std::int64_t unix_now, std::int64_t last_used_step) {
  if (secret.empty() || unix_now < 0) return std::nullopt;
  // Bound the work on what the user typed before looking at it closely.
  if (code.size() > 32) return std::nullopt;
  std::string digits;
  for (const char c : code) {
    if (c == ' ') continue;
    if (c < '0' || c > '9') return std::nullopt;
    digits.push_back(c);
  }
  if (digits.size() != static_cast<std::size_t>(kTotpDigits)) return std::nullopt;

  const std::int64_t now_step = unix_now / kTotpStepSeconds;
  std::optional<std::int64_t> matched;
  // All three candidates are computed and compared, so the time taken does not say which
  // one matched. If two match (a 1-in-a-million coincidence), the later step is kept: that
  // burns both.
  for (std::int64_t step = now_step - 1; step <= now_step + 1; ++step) {
    if (step < 0 || step <= last_used_step) continue;
    const std::string expected = totp_code(secret, step, kTotpDigits);
    if (CRYPTO_memcmp(expected.data(), digits.data(), digits.size()) == 0) matched = step;
  }
  return matched;
}

}  // namespace auth
