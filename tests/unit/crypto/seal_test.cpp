#include "crypto/seal.hpp"

#include <gtest/gtest.h>

namespace crypto {
namespace {

core::SecretBytes key_of(std::uint8_t fill) {
  core::SecretBytes key(kSealKeyBytes);
  for (auto& b : key.mutable_view()) b = fill;
  return key;
}

TEST(Seal, RoundTripsAndUsesAFreshNonce) {
  core::FakeRng rng;
  auto key = key_of(7);
  core::SecretBytes plain(std::string_view("twenty bytes secret!"));
  auto a = seal(key, plain, rng);
  auto b = seal(key, plain, rng);
  EXPECT_EQ(a.size(), 24u + 16u + plain.size());
  EXPECT_NE(a, b) << "each seal draws its own nonce";
  auto back = unseal(key, a);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->as_string_view(), plain.as_string_view());
}

TEST(Seal, WrongKeyEditedOrShortIsAnIntegrityError) {
  core::FakeRng rng;
  auto sealed = seal(key_of(1), core::SecretBytes(std::string_view("secret")), rng);
  auto wrong = unseal(key_of(2), sealed);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().kind(), core::ErrorKind::integrity);
  auto edited = sealed;
  edited.back() ^= 1;
  EXPECT_FALSE(unseal(key_of(1), edited).has_value());
  auto short_one = unseal(key_of(1), std::vector<std::uint8_t>(39, 0));
  ASSERT_FALSE(short_one.has_value());
  EXPECT_EQ(short_one.error().kind(), core::ErrorKind::integrity);
}

}  // namespace
}  // namespace crypto
