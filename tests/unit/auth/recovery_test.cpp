#include "auth/recovery.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace auth {
namespace {

TEST(Recovery, GeneratesDistinctFormattedCodes) {
  static const std::regex kShape("[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}");
  core::FakeRng rng;
  const auto codes = generate_recovery_codes(rng);
  ASSERT_EQ(codes.size(), 10u);
  std::set<std::string> seen;
  for (const auto& code : codes) {
    EXPECT_TRUE(std::regex_match(code, kShape)) << code;
    EXPECT_TRUE(seen.insert(code).second) << code;
    // What we print normalizes to itself without the dash.
    const auto normalized = normalize_recovery_code(code);
    ASSERT_TRUE(normalized.has_value()) << code;
    EXPECT_EQ(*normalized, code.substr(0, 5) + code.substr(6));
  }
  EXPECT_EQ(generate_recovery_codes(rng, 3).size(), 3u);
  EXPECT_TRUE(generate_recovery_codes(rng, 0).empty());
  EXPECT_NE(generate_recovery_codes(rng, 1), generate_recovery_codes(rng, 1));
}

TEST(Recovery, CodesComeFromTheInjectedRng) {
  core::FakeRng a(7);
  core::FakeRng b(7);
  EXPECT_EQ(generate_recovery_codes(a, 3), generate_recovery_codes(b, 3));
}

TEST(Recovery, NormalizesWhatPeopleType) {
  EXPECT_EQ(normalize_recovery_code("ABCDE-FGHJK"), "ABCDEFGHJK");
  EXPECT_EQ(normalize_recovery_code("abcde-fghjk"), "ABCDEFGHJK");
  EXPECT_EQ(normalize_recovery_code("abcdefghjk"), "ABCDEFGHJK");
  EXPECT_EQ(normalize_recovery_code(" abcde fghjk "), "ABCDEFGHJK");
  EXPECT_EQ(normalize_recovery_code("ab-cd-ef-gh-jk"), "ABCDEFGHJK");
  // Crockford's look-alikes.
  EXPECT_EQ(normalize_recovery_code("oOiIl-L0123"), "0011110123");
}

TEST(Recovery, RefusesOtherCharactersAndLengths) {
  for (const char* typed : {"", "ABCDE-FGHJ", "ABCDE-FGHJKM", "ABCDE-FGHJU", "ABCDE_FGHJK",
                            "ABCDE-FGHJ!", "ABCDE\tFGHJK", "ABCDE-FGHJ\xc3\x89", "----------"}) {
    EXPECT_EQ(normalize_recovery_code(typed), std::nullopt) << typed;
  }
  EXPECT_EQ(normalize_recovery_code(std::string(40, ' ') + "ABCDEFGHJK"), std::nullopt);
  EXPECT_EQ(normalize_recovery_code(std::string_view("ABCDE\0FGHJK", 11)), std::nullopt);
}

TEST(Recovery, HashIsHexHmacSha256UnderTheKey) {
  const std::string key_text = "0123456789abcdef0123456789abcdef";
  std::span<const std::uint8_t> key(reinterpret_cast<const std::uint8_t*>(key_text.data()),
                                    key_text.size());
  // printf %s ABCDEFGHJK | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
  EXPECT_EQ(hash_recovery_code(key, "ABCDEFGHJK"),
            "81f64cb547b2bc01e3f34d5c0894e2b37978ea6666f4cc2eea6a4952bff9e8f8");
  EXPECT_NE(hash_recovery_code(key, "ABCDEFGHJK"), hash_recovery_code(key, "ABCDEFGHJM"));
  const std::string other_text = "another key, another hash.......";
  std::span<const std::uint8_t> other(reinterpret_cast<const std::uint8_t*>(other_text.data()),
                                      other_text.size());
  EXPECT_NE(hash_recovery_code(key, "ABCDEFGHJK"), hash_recovery_code(other, "ABCDEFGHJK"));
}

}  // namespace
}  // namespace auth
