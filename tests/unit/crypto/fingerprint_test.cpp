#include <gtest/gtest.h>

#include "crypto/openpgp.hpp"

namespace {

using crypto::Fingerprint;

constexpr const char* kHex = "1E9BA7F93F5275A4E0D15551A0FD7D0AA7BF4503";

TEST(Fingerprint, AcceptsUpperCase) {
  auto f = Fingerprint::parse(kHex);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->hex(), kHex);
}

TEST(Fingerprint, AcceptsLowerCaseAndGpgSpacing) {
  auto lower = Fingerprint::parse("1e9ba7f93f5275a4e0d15551a0fd7d0aa7bf4503");
  auto spaced = Fingerprint::parse("1E9B A7F9 3F52 75A4 E0D1  5551 A0FD 7D0A A7BF 4503");
  ASSERT_TRUE(lower);
  ASSERT_TRUE(spaced);
  EXPECT_EQ(lower->hex(), kHex);
  EXPECT_EQ(*lower, *spaced);
}

TEST(Fingerprint, RejectsWrongLengthAndCharacters) {
  for (const char* bad :
       {"", "   ", "1E9BA7F93F5275A4E0D15551A0FD7D0AA7BF450",
        "1E9BA7F93F5275A4E0D15551A0FD7D0AA7BF45031", "1E9BA7F93F5275A4E0D15551A0FD7D0AA7BF450G",
        "0x1E9BA7F93F5275A4E0D15551A0FD7D0AA7BF45", "1E9BA7F93F5275A4E0D1\t5551A0FD7D0AA7BF4503",
        "1E9BA7F93F5275A4E0D1:5551A0FD7D0AA7BF4503",
        // 64 digits: a v5/v6 fingerprint, which we do not accept.
        "1E9BA7F93F5275A4E0D15551A0FD7D0AA7BF45031E9BA7F93F5275A4E0D15551"}) {
    auto f = Fingerprint::parse(bad);
    ASSERT_FALSE(f) << bad;
    EXPECT_EQ(f.error().kind(), core::ErrorKind::invalid_input);
    EXPECT_EQ(f.error().public_text(), "a key fingerprint must be 40 hexadecimal digits");
  }
  EXPECT_FALSE(Fingerprint::parse(std::string(10'000, ' ')));
}

TEST(Fingerprint, OrdersAndCompares) {
  auto a = Fingerprint::parse(std::string(40, 'A'));
  auto b = Fingerprint::parse(std::string(40, 'b'));
  ASSERT_TRUE(a && b);
  EXPECT_LT(*a, *b);
  EXPECT_NE(*a, *b);
}

}  // namespace
