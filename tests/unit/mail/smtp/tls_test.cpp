#include "mail/smtp/tls.hpp"

#include <gtest/gtest.h>

namespace mail::smtp {
namespace {

TEST(SmtpTls, UsableTlsaForSmtp) {
  EXPECT_TRUE(usable_for_smtp({3, 1, 1, std::vector<std::uint8_t>(32)}));
  EXPECT_TRUE(usable_for_smtp({2, 0, 2, std::vector<std::uint8_t>(64)}));
  EXPECT_TRUE(usable_for_smtp({3, 0, 0, std::vector<std::uint8_t>(300)}));
  // RFC 7672 §3.1.3: PKIX-TA(0) and PKIX-EE(1) are not for SMTP.
  EXPECT_FALSE(usable_for_smtp({0, 1, 1, std::vector<std::uint8_t>(32)}));
  EXPECT_FALSE(usable_for_smtp({1, 1, 1, std::vector<std::uint8_t>(32)}));
  EXPECT_FALSE(usable_for_smtp({4, 1, 1, std::vector<std::uint8_t>(32)}));
  EXPECT_FALSE(usable_for_smtp({3, 2, 1, std::vector<std::uint8_t>(32)}));
  EXPECT_FALSE(usable_for_smtp({3, 1, 3, std::vector<std::uint8_t>(32)}));
  EXPECT_FALSE(usable_for_smtp({3, 1, 1, std::vector<std::uint8_t>(31)}));
  EXPECT_FALSE(usable_for_smtp({3, 1, 2, std::vector<std::uint8_t>(32)}));
  EXPECT_FALSE(usable_for_smtp({3, 1, 0, {}}));
}

TEST(SmtpTls, MtaStsPatternIsOneLabel) {
  EXPECT_TRUE(matches_one_label("*.example.com", "mx1.example.com"));
  EXPECT_TRUE(matches_one_label("*.example.com", "MX1.Example.COM"));
  EXPECT_TRUE(matches_one_label("*.example.com", "*.example.com"));
  EXPECT_FALSE(matches_one_label("*.example.com", "a.mx1.example.com"));
  EXPECT_FALSE(matches_one_label("*.example.com", "example.com"));
  EXPECT_FALSE(matches_one_label("*.example.com", ".example.com"));
  EXPECT_FALSE(matches_one_label("*.example.com", "mx1.badexample.com"));
  EXPECT_FALSE(matches_one_label("mx.example.com", "mx.example.com"));  // not a pattern
}

}  // namespace
}  // namespace mail::smtp
