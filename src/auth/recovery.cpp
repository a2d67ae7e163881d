#include "auth/recovery.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

#include "core/encoding.hpp"
#include "core/rng.hpp"

namespace auth {
namespace {

// Nobody types a 10-character code with more than a few separators; refusing long input
// early bounds the work.
constexpr std::size_t kMaxTypedChars = 32;

// The Crockford character for `c`: upper-cased, look-alikes mapped; 0 for U and anything
// else outside the alphabet.
char crockford_canonical(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  if (c == 'O') return '0';
  if (c == 'I' || c == 'L') return '1';
  if (c >= '0' && c <= '9') return c;
  if (c >= 'A' && c <= 'Z' && c != 'U') return c;
  return 0;
}

}  // namespace

std::vector<std::string> generate_recovery_codes(core::Rng& rng, std::size_t n) {
  std::vector<std::string> codes;
  codes.reserve(n);
  while (codes.size() < n) {
    std::array<std::uint8_t, 7> bytes{};  // 56 bits, of which the first 50 are used
    rng.fill(bytes);
    const std::string chars = core::crockford_base32(bytes, kRecoveryCodeChars);
    std::string code = chars.substr(0, 5) + "-" + chars.substr(5);
    // A repeat is a 2^-50 event; checking costs nothing and keeps "n codes" true.
    if (std::find(codes.begin(), codes.end(), code) == codes.end()) {
      codes.push_back(std::move(code));
    }
  }
  return codes;
}

std::optional<std::string> normalize_recovery_code(std::string_view typed) {
  if (typed.size() > kMaxTypedChars) return std::nullopt;
  std::string out;
  out.reserve(kRecoveryCodeChars);
  for (const char c : typed) {
    if (c == '-' || c == ' ') continue;
    const char canonical = crockford_canonical(c);
    if (canonical == 0) return std::nullopt;
    out.push_back(canonical);
  }
  if (out.size() != kRecoveryCodeChars) return std::nullopt;
  return out;
}

// A fast MAC is enough here, unlike for passwords: each code carries 50 random bits (not a
// human choice), is single use, and online guessing is throttled. The key (the portal's seal
// key, kept outside the database) means a copy of the database alone cannot be searched for
// the codes: without it, 2^50 SHA-256 guesses would reveal every stored code at once.
std::string hash_recovery_code(std::span<const std::uint8_t> key, std::string_view normalized) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(normalized.data()), normalized.size(), mac, &len);
  return core::to_hex(std::span<const std::uint8_t>(mac, len));
}

}  // namespace auth
