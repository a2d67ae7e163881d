#include <gtest/gtest.h>

#include "http/tls_context.hpp"

namespace {

http::TlsPolicy with_ciphers(std::string ciphers) {
  http::TlsPolicy p;
  p.tls12_ciphers = std::move(ciphers);
  return p;
}

TEST(TlsPolicy, DefaultIsAccepted) { EXPECT_TRUE(http::check_tls_policy({}).has_value()); }

TEST(TlsPolicy, OldProtocolVersionsAreRefused) {
  for (const char* v : {"1.0", "1.1", "ssl3", "", "1.4"}) {
    http::TlsPolicy p;
    p.min_version = v;
    auto s = http::check_tls_policy(p);
    ASSERT_FALSE(s.has_value()) << v;
    EXPECT_NE(s.error().public_text().find("min_version"), std::string::npos);
  }
  http::TlsPolicy p13;
  p13.min_version = "1.3";
  EXPECT_TRUE(http::check_tls_policy(p13).has_value());
}

TEST(TlsPolicy, CbcRsaKexAndNonAeadSuitesAreRefused) {
  for (const char* c : {"AES128-SHA", "ECDHE-RSA-AES128-SHA", "AES128-GCM-SHA256",
                        "ECDHE-RSA-AES128-SHA256", "DHE-RSA-AES128-GCM-SHA256"}) {
    auto s = http::check_tls_policy(with_ciphers(c));
    ASSERT_FALSE(s.has_value()) << c;
    EXPECT_NE(s.error().public_text().find("not allowed"), std::string::npos) << c;
  }
}

TEST(TlsPolicy, BroadKeywordsThatExpandToWeakSuitesAreRefused) {
  // "HIGH" includes CBC and RSA key exchange suites: the expansion is checked, not the text.
  EXPECT_FALSE(http::check_tls_policy(with_ciphers("HIGH")).has_value());
  EXPECT_FALSE(http::check_tls_policy(with_ciphers("ECDHE")).has_value());
}

TEST(TlsPolicy, NonsenseCipherListIsRefused) {
  EXPECT_FALSE(http::check_tls_policy(with_ciphers("NOT-A-CIPHER")).has_value());
}

TEST(TlsPolicy, MissingCertificateFilesGiveAClearError) {
  auto ctx = http::make_server_tls_context("/nonexistent/cert.pem", "/nonexistent/key.pem", {});
  ASSERT_FALSE(ctx.has_value());
  EXPECT_NE(ctx.error().public_text().find("certificate"), std::string::npos);
}

}  // namespace
