#include "http/security_headers.hpp"

#include <gtest/gtest.h>

namespace {

TEST(SecurityHeaders, DefaultsOnAPlainResponse) {
  http::Response r{http::bhttp::status::not_found, 11};
  http::apply_security_headers(r);
  EXPECT_EQ(r["Strict-Transport-Security"], "max-age=63072000; includeSubDomains");
  EXPECT_EQ(r["Content-Security-Policy"], http::kDefaultCsp);
  EXPECT_EQ(r["X-Frame-Options"], "DENY");
  EXPECT_EQ(r["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(r["Referrer-Policy"], "no-referrer");
  EXPECT_EQ(r["Cache-Control"], "no-store");
}

TEST(SecurityHeaders, HandlerCspIsKeptAndEmbeddingDropsXFrameOptions) {
  http::Response r{http::bhttp::status::ok, 11};
  r.set("Content-Security-Policy", "default-src 'none'; frame-ancestors https://clinic.example");
  r.set("Cache-Control", "public, max-age=600");  // a handler cannot weaken caching
  http::apply_security_headers(r);
  EXPECT_EQ(r["Content-Security-Policy"],
            "default-src 'none'; frame-ancestors https://clinic.example");
  EXPECT_EQ(r.find("X-Frame-Options"), r.end());
  EXPECT_EQ(r["Cache-Control"], "no-store");
}

}  // namespace
