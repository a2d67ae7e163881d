#include "auth/session_token.hpp"

#include <gtest/gtest.h>

#include "core/encoding.hpp"

namespace auth {
namespace {

TEST(SessionToken, IdsAreBase64UrlOf32RandomBytes) {
  for (const auto& make : {new_session_id, new_csrf_token}) {
    core::SystemRng rng;
    const std::string a = make(rng);
    const std::string b = make(rng);
    EXPECT_EQ(a.size(), 43u);
    EXPECT_NE(a, b);
    const auto decoded = core::base64url_decode(a);
    ASSERT_TRUE(decoded.has_value()) << a;
    EXPECT_EQ(decoded->size(), 32u);
  }
}

TEST(SessionToken, HashIsHexSha256) {
  EXPECT_EQ(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_token(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_token(std::string_view()), hash_token(""));
}

TEST(SessionToken, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
  EXPECT_TRUE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
}

}  // namespace
}  // namespace auth
