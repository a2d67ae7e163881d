// The Standard Webhooks signature and secret format, against the specification's own
// example (standard-webhooks, spec/standard-webhooks.md and its libraries' tests).

#include "webhooks/signature.hpp"

#include <gtest/gtest.h>

namespace webhooks {
namespace {

class FixedRng final : public core::Rng {
 public:
  void fill(std::span<std::uint8_t> out) override {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(i);
  }
};

TEST(Signature, MatchesTheSpecificationsExample) {
  auto secret = parse_secret_text("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(secret);
  EXPECT_EQ(sign(*secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  // Any change of id, time or body changes it.
  EXPECT_NE(sign(*secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(Signature, SecretTextRoundTripsAndRefusesMalformed) {
  FixedRng rng;
  auto raw = new_secret(rng);
  ASSERT_EQ(raw.size(), kSecretBytes);
  const std::string text = secret_text(raw);
  EXPECT_EQ(text, "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  auto back = parse_secret_text(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->as_string_view(), raw.as_string_view());
  EXPECT_FALSE(parse_secret_text("AAECAwQF"));
  EXPECT_FALSE(parse_secret_text("whsec_"));
  EXPECT_FALSE(parse_secret_text("whsec_AAE"));
  EXPECT_FALSE(parse_secret_text("whsec_AA!C"));
}

}  // namespace
}  // namespace webhooks
