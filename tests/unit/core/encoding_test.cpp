#include "core/encoding.hpp"

#include <gtest/gtest.h>

namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(Encoding, Base64UrlRoundTripsEveryLength) {
  std::vector<std::uint8_t> data;
  for (int n = 0; n < 40; ++n) {
    auto text = core::base64url_encode(data);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    auto back = core::base64url_decode(text);
    ASSERT_TRUE(back.has_value()) << n;
    EXPECT_EQ(*back, data);
    data.push_back(static_cast<std::uint8_t>(n * 37 + 11));
  }
}

TEST(Encoding, HexRoundTripsAndRefusesAnythingElse) {
  const std::vector<std::uint8_t> raw{0x00, 0x7f, 0x80, 0xff, 0x1a};
  EXPECT_EQ(core::to_hex(raw), "007f80ff1a");
  EXPECT_EQ(core::from_hex("007f80ff1a"), raw);
  EXPECT_EQ(core::from_hex(""), std::vector<std::uint8_t>{});
  EXPECT_FALSE(core::from_hex("0"));
  EXPECT_FALSE(core::from_hex("0A"));  // upper case is not what to_hex writes
  EXPECT_FALSE(core::from_hex("0g"));
  EXPECT_FALSE(core::from_hex(" 00"));
}

TEST(Encoding, Base64UrlKnownVector) {
  EXPECT_EQ(core::base64url_encode(bytes("foobar")), "Zm9vYmFy");
  EXPECT_EQ(core::base64url_encode(bytes("fo")), "Zm8");
  EXPECT_EQ(core::base64url_encode(std::vector<std::uint8_t>{0xfb, 0xff}), "-_8");
}

TEST(Encoding, Base64UrlRefusesNonCanonicalAndForeignCharacters) {
  EXPECT_FALSE(core::base64url_decode("Zm9=").has_value());
  EXPECT_FALSE(core::base64url_decode("Zm9+").has_value());
  EXPECT_FALSE(core::base64url_decode("Z").has_value());
  EXPECT_TRUE(core::base64url_decode("Zm8").has_value());
  EXPECT_FALSE(core::base64url_decode("Zm9").has_value());  // same bytes, stray low bits
  EXPECT_FALSE(core::base64url_decode("Zm-").has_value());  // leftover bits set
}

TEST(Encoding, HexAndCrockford) {
  EXPECT_EQ(core::to_hex(std::vector<std::uint8_t>{0x00, 0xab, 0xff}), "00abff");
  auto ref = core::crockford_base32(std::vector<std::uint8_t>{0xff, 0xff, 0xff, 0xff, 0xff}, 8);
  EXPECT_EQ(ref, "ZZZZZZZZ");
  auto zero = core::crockford_base32(std::vector<std::uint8_t>(5, 0), 8);
  EXPECT_EQ(zero, "00000000");
}

TEST(Encoding, Utf8Validation) {
  EXPECT_TRUE(core::is_valid_utf8("plain ascii"));
  EXPECT_TRUE(core::is_valid_utf8("J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(core::is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(core::is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(core::is_valid_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(core::is_valid_utf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(core::is_valid_utf8("\x80"));              // lone continuation
}

}  // namespace
