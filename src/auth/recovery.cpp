#include "auth/recovery.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include "auth/session_token.hpp"
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

std::vector<std::string> generate_recovery_codes(std::size_t n) {
  core::SystemRng rng;
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

// A fast hash is enough here, unlike for passwords: each code carries 50 random bits (not a
// human choice), is single use, and online guessing is throttled. Offline, the hashes are
// unsalted, so one search of the 2^50 codes (~1e15 SHA-256, GPU-days) would reveal every
// stored code at once; that is acceptable only because a recovery code replaces the second
// factor, never the password, whose Argon2id hash still has to be broken too.
std::string hash_recovery_code(std::string_view normalized) { return hash_token(normalized); }

}  // namespace auth
