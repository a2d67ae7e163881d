// The _smtp._tls record (RFC 8460 3): what is accepted, what is refused, and how a set of
// TXT records at the name is read.
#include "mail/tlsrpt/record.hpp"

#include <gtest/gtest.h>

#include "mail/tlsrpt/limits.hpp"

namespace mail::tlsrpt {
namespace {

TEST(TlsRptRecord, TheRfcExamples) {
  auto r = parse_record("v=TLSRPTv1;rua=mailto:reports@example.com");
  ASSERT_TRUE(r) << r.error().detail();
  ASSERT_EQ(r->rua.size(), 1u);
  EXPECT_EQ(r->rua[0].kind, Destination::Kind::mailto);
  EXPECT_EQ(r->rua[0].target, "reports@example.com");

  r = parse_record("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rua[0].kind, Destination::Kind::https);
  EXPECT_EQ(r->rua[0].target, "https://reporting.example.com/v1/tlsrpt");

  r = parse_record("v=TLSRPTv1; rua=mailto:tlsrpt@example.net , https://r.example.net/x;ext=1;");
  ASSERT_TRUE(r) << r.error().detail();
  ASSERT_EQ(r->rua.size(), 2u);
  EXPECT_EQ(r->rua[1].target, "https://r.example.net/x");
}

TEST(TlsRptRecord, HttpsDestinationsAreSplitIntoHostPortAndPath) {
  auto r = parse_record(
      "v=TLSRPTv1; rua=https://Reports.Example.NET/v1/tlsrpt?k=1#frag,"
      "https://r.example.net:8443,https://r.example.net?x=y");
  ASSERT_TRUE(r) << r.error().detail();
  ASSERT_EQ(r->rua.size(), 3u);
  EXPECT_EQ(r->rua[0].host, "reports.example.net");
  EXPECT_EQ(r->rua[0].port, 443);
  EXPECT_EQ(r->rua[0].path, "/v1/tlsrpt?k=1");  // the fragment is never sent
  EXPECT_EQ(r->rua[0].target, "https://Reports.Example.NET/v1/tlsrpt?k=1#frag");
  EXPECT_EQ(r->rua[1].host, "r.example.net");
  EXPECT_EQ(r->rua[1].port, 8443);
  EXPECT_EQ(r->rua[1].path, "/");
  EXPECT_EQ(r->rua[2].path, "/?x=y");
}

TEST(TlsRptRecord, HttpsDestinationsWeCannotVerifyAreSkipped) {
  // User info, IP literals, a one-label host, bad labels and bad ports: each such
  // destination is skipped, so a record naming only it has no usable destination.
  for (const char* uri :
       {"https://user@r.example.net/", "https://user:pw@r.example.net/", "https://192.0.2.1/",
        "https://[2001:db8::1]/", "https://localhost/", "https://-a.example.net/",
        "https://a-.example.net/", "https://a..example.net/", "https://a.example.net./",
        "https://a_b.example.net/", "https://r.example.net:0/", "https://r.example.net:65536/",
        "https://r.example.net:/", "https://r.example.net:44x/", "https://:443/"}) {
    EXPECT_FALSE(parse_record(std::string("v=TLSRPTv1; rua=") + uri)) << uri;
    auto mixed = parse_record(std::string("v=TLSRPTv1; rua=") + uri + ",mailto:a@example.net");
    ASSERT_TRUE(mixed) << uri;
    ASSERT_EQ(mixed->rua.size(), 1u) << uri;
    EXPECT_EQ(mixed->rua[0].kind, Destination::Kind::mailto);
  }
  const std::string long_label = "https://" + std::string(64, 'a') + ".example.net/";
  EXPECT_FALSE(parse_record("v=TLSRPTv1; rua=" + long_label));
}

TEST(TlsRptRecord, MailtoIsPercentDecodedAndNeverTakesHeaderFields) {
  auto r = parse_record("v=TLSRPTv1; rua=mailto:tls%2Brpt@example.net");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rua[0].target, "tls+rpt@example.net");
  // A "?subject=..." would let the record choose our subject: that destination is skipped.
  EXPECT_FALSE(parse_record("v=TLSRPTv1; rua=mailto:a@example.net?subject=hi"));
  auto mixed = parse_record("v=TLSRPTv1; rua=mailto:a@example.net?cc=x,mailto:b@example.net");
  ASSERT_TRUE(mixed);
  ASSERT_EQ(mixed->rua.size(), 1u);
  EXPECT_EQ(mixed->rua[0].target, "b@example.net");
}

TEST(TlsRptRecord, Refusals) {
  for (const char* bad :
       {"", "v=TLSRPTv2; rua=mailto:a@example.net", "rua=mailto:a@example.net", "v=TLSRPTv1",
        "v=TLSRPTv1;", "v=TLSRPTv1; rua=", "v=TLSRPTv1; rua=http://insecure.example.net/",
        "v=TLSRPTv1; rua=mailto:not an address",
        "v=TLSRPTv1; rua=mailto:a@example.net; rua=mailto:b@example.net",
        "v=TLSRPTv1; rua=mailto:a@example.net,,mailto:b@example.net",
        "v=TLSRPTv1;; rua=mailto:a@example.net", "v=TLSRPTv1; norua",
        "v=TLSRPTv1; rua=mailto:a@example.net\r\nX: y", "v=TLSRPTv1; rua=https://",
        "v=TLSRPTv1; rua=https://a b.example/"}) {
    EXPECT_FALSE(parse_record(bad)) << bad;
  }
  const std::string huge =
      "v=TLSRPTv1; rua=mailto:a@example.net;" + std::string(kMaxRecordBytes, 'x');
  auto r = parse_record(huge);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), core::ErrorKind::too_large);
}

TEST(TlsRptRecord, AtMostKMaxUrisAreKept) {
  std::string text = "v=TLSRPTv1; rua=";
  for (std::size_t i = 0; i < kMaxUris + 5; ++i) {
    if (i) text += ",";
    text += "mailto:r" + std::to_string(i) + "@example.net";
  }
  auto r = parse_record(text);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rua.size(), kMaxUris);
}

TEST(TlsRptRecord, SelectingAmongTxtRecords) {
  auto none = select_record({"v=spf1 -all", "v=TLSRPTv10; rua=mailto:a@example.net"});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  auto one = select_record({"v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@example.net"});
  ASSERT_TRUE(one);
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ((*one)->rua[0].target, "a@example.net");
  // Two records: none is used (RFC 8460 3).
  EXPECT_FALSE(select_record(
      {"v=TLSRPTv1; rua=mailto:a@example.net", "v=TLSRPTv1; rua=mailto:b@example.net"}));
  EXPECT_FALSE(select_record({"v=TLSRPTv1; rua=ftp://x"}));
}

}  // namespace
}  // namespace mail::tlsrpt
