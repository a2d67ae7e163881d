#include "crypto/hmac.hpp"

#include <gtest/gtest.h>

#include <string_view>

#include "core/encoding.hpp"

namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// RFC 4231 test case 2.
TEST(HmacSha256, MatchesRfc4231) {
  const auto mac = crypto::hmac_sha256(bytes("Jefe"), bytes("what do ya want for nothing?"));
  EXPECT_EQ(core::to_hex(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256, EmptyKeyAndMessage) {
  // HMAC-SHA-256("", "") as computed by `openssl dgst -sha256 -hmac ''`.
  EXPECT_EQ(core::to_hex(crypto::hmac_sha256({}, {})),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(ConstantTimeEqual, ComparesContentAndSize) {
  EXPECT_TRUE(crypto::constant_time_equal(bytes("abc"), bytes("abc")));
  EXPECT_FALSE(crypto::constant_time_equal(bytes("abc"), bytes("abd")));
  EXPECT_FALSE(crypto::constant_time_equal(bytes("abc"), bytes("abcd")));
  EXPECT_FALSE(crypto::constant_time_equal(bytes(""), bytes("a")));
  EXPECT_TRUE(crypto::constant_time_equal(bytes(""), bytes("")));
}

}  // namespace
