// Writes the seed corpus of fuzz_token: tokens issued under the fuzz target's key, around
// the edges verify_token checks (age, skew, form id, version), plus a few broken ones.
// Usage: make_token_seeds DIR   (run by hand; the output is committed)

#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "core/secret.hpp"
#include "forms/token.hpp"

namespace {

// Must match fuzz_token.cpp.
constexpr std::string_view kKey = "sealpost-fuzz-key-0123456789abcdef";
constexpr std::int64_t kNow = 1'800'000'000;

forms::TokenClaims claims(std::string form_id, int version, std::int64_t issued_at,
                          std::uint8_t nonce_fill) {
  forms::TokenClaims c;
  c.form_id = std::move(form_id);
  c.form_version = version;
  c.issued_at = issued_at;
  for (std::size_t i = 0; i < c.nonce.size(); ++i) {
    c.nonce[i] = static_cast<std::uint8_t>(nonce_fill + i);
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  const core::SecretBytes key(kKey);
  const auto write = [&dir](const std::string& name, const std::string& token) {
    std::ofstream(dir / name, std::ios::binary) << token;
  };
  const std::string fresh = forms::issue_token(key, claims("intake", 1, kNow - 60, 0x10));
  write("valid_fresh", fresh);
  write("valid_issued_now", forms::issue_token(key, claims("intake", 1, kNow, 0x20)));
  write("valid_at_max_age", forms::issue_token(key, claims("intake", 3, kNow - 3600, 0x30)));
  write("expired", forms::issue_token(key, claims("intake", 1, kNow - 3601, 0x40)));
  write("within_skew", forms::issue_token(key, claims("intake", 1, kNow + 60, 0x50)));
  write("from_future", forms::issue_token(key, claims("intake", 1, kNow + 61, 0x60)));
  write("long_form_id",
        forms::issue_token(key, claims(std::string(62, 'a') + "9", 7, kNow - 5, 0x70)));
  write("one_char_form_id", forms::issue_token(key, claims("x", 0, kNow - 5, 0x80)));
  write("max_version", forms::issue_token(key, claims("intake", INT_MAX, kNow - 5, 0x90)));
  write("issued_negative", forms::issue_token(key, claims("intake", 1, -1, 0xa0)));
  write("issued_int64_max", forms::issue_token(key, claims("intake", 1, INT64_MAX, 0xb0)));
  write("issued_int64_min", forms::issue_token(key, claims("intake", 1, INT64_MIN, 0xc0)));
  std::string bad_mac = fresh;
  bad_mac.back() = bad_mac.back() == 'A' ? 'B' : 'A';
  write("bad_mac", bad_mac);
  write("truncated", fresh.substr(0, fresh.size() - 4));
  write("padded", fresh + "==");
  write("not_base64", "intake.1.1800000000.not-a-token!");
  return 0;
}
