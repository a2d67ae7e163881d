// Relaxed canonicalisation against RFC 6376 §3.4.5, and the whole signed-data path against
// RFC 8463 Appendix A (an Ed25519 signature is deterministic, so the published b= value must
// come out byte for byte).
#include "mail/dkim/detail/canonical.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include "mail/dkim/detail/base64.hpp"
#include "mail/dkim/key.hpp"

namespace mail::dkim::detail {
namespace {

TEST(Canonical, Rfc6376Section345HeaderExample) {
  // "A: <SP> X <CRLF>" and "B <SP> : <SP> Y <HTAB><CRLF> <HTAB> Z <SP><SP><CRLF>"
  EXPECT_EQ(relaxed_header("A: X\r\n"), "a:X\r\n");
  EXPECT_EQ(relaxed_header("B : Y\t\r\n\tZ  \r\n"), "b:Y Z\r\n");
}

TEST(Canonical, Rfc6376Section345BodyExample) {
  // "<SP> C <SP><CRLF> D <SP><HTAB><SP> E <CRLF> <CRLF> <CRLF>"
  EXPECT_EQ(relaxed_body(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n");
}

TEST(Canonical, Rfc6376Section345WholeMessage) {
  const std::string message = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
  auto split = split_message(message);
  ASSERT_TRUE(split);
  ASSERT_EQ(split->fields.size(), 2u);
  EXPECT_EQ(split->fields[1].name, "B");
  EXPECT_EQ(relaxed_signed_headers(split->fields, {"a", "b"}), "a:X\r\nb:Y Z\r\n");
  EXPECT_EQ(relaxed_body(split->body), " C\r\nD E\r\n");
}

TEST(Canonical, BodyEdges) {
  EXPECT_EQ(relaxed_body(""), "");
  EXPECT_EQ(relaxed_body("\r\n\r\n"), "");
  EXPECT_EQ(relaxed_body("  \t\r\n"), "");
  EXPECT_EQ(relaxed_body("abc"), "abc\r\n");  // an unterminated last line gets its CRLF
  EXPECT_EQ(relaxed_body("a  \r\n\r\nb\r\n \r\n"), "a\r\n\r\nb\r\n");
  EXPECT_EQ(relaxed_body("\tx\t y \r\n"), " x y\r\n");
  // A lone dot and a "From " line are ordinary lines to DKIM (dot-stuffing is SMTP's).
  EXPECT_EQ(relaxed_body(".\r\nFrom me\r\n"), ".\r\nFrom me\r\n");
}

TEST(Canonical, HeaderEdges) {
  EXPECT_EQ(relaxed_header("SUBJECT:\r\n"), "subject:\r\n");
  EXPECT_EQ(relaxed_header("Subject:   a \t  b  \r\n  c\r\n"), "subject:a b c\r\n");
  EXPECT_EQ(relaxed_header("X-Y :z\r\n"), "x-y:z\r\n");
}

TEST(Canonical, SelectsFieldsBottomUpAndOverSigns) {
  const std::string message = "From: a\r\nTo: x\r\nFrom: b\r\n\r\n";
  auto split = split_message(message);
  ASSERT_TRUE(split);
  // The first "from" takes the last From, the second the one above it, a third nothing.
  EXPECT_EQ(relaxed_signed_headers(split->fields, {"from", "from", "from", "to", "cc"}),
            "from:b\r\nfrom:a\r\nto:x\r\n");
}

TEST(Canonical, SplitRefusesBareLineEnds) {
  EXPECT_FALSE(split_message("From: a\nTo: b\r\n\r\nx\r\n"));
  EXPECT_FALSE(split_message("From: a\r\n\r\nx\ny\r\n"));
  EXPECT_FALSE(split_message("From: a\r\n\r\nx\ry\r\n"));
  EXPECT_FALSE(split_message("From: a\rb\r\n\r\n"));
  EXPECT_FALSE(split_message(" cont\r\nFrom: a\r\n\r\n"));
  EXPECT_FALSE(split_message("no colon\r\n\r\n"));
  EXPECT_FALSE(split_message(": no name\r\n\r\n"));
  auto no_body = split_message("From: a\r\n");
  ASSERT_TRUE(no_body);
  EXPECT_TRUE(no_body->body.empty());
}

// RFC 8463 Appendix A: the key (A.1), the message and its relaxed/relaxed Ed25519 signature
// (A.3). The message is RFC 6376's Appendix A example.
constexpr std::string_view kRfc8463Message =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";
constexpr std::string_view kRfc8463SignatureWithoutB =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=\r\n";
constexpr std::string_view kRfc8463B =
    "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";
constexpr std::string_view kRfc8463Seed = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
constexpr std::string_view kRfc8463Public = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

PrivateKey rfc8463_key() {
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410 §7): a fixed 16-byte prefix.
  std::vector<std::uint8_t> der = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                   0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
  const auto seed = base64_decode(kRfc8463Seed);
  der.insert(der.end(), seed->begin(), seed->end());
  const std::string pem =
      "-----BEGIN PRIVATE KEY-----\n" + base64_encode(der) + "\n-----END PRIVATE KEY-----\n";
  auto key = PrivateKey::from_pem(core::SecretBytes(pem));
  EXPECT_TRUE(key);
  return std::move(*key);
}

TEST(Canonical, Rfc8463BodyHash) {
  auto split = split_message(kRfc8463Message);
  ASSERT_TRUE(split);
  const std::string body = relaxed_body(split->body);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
  EXPECT_EQ(base64_encode(digest), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
}

TEST(Canonical, Rfc8463SignatureReproduced) {
  const PrivateKey key = rfc8463_key();
  EXPECT_EQ(base64_encode(key.public_key()), kRfc8463Public);

  auto split = split_message(kRfc8463Message);
  ASSERT_TRUE(split);
  std::string data = relaxed_signed_headers(
      split->fields, {"from", "to", "subject", "date", "message-id", "from", "subject", "date"});
  std::string own = relaxed_header(kRfc8463SignatureWithoutB);
  own.resize(own.size() - 2);  // the signature field goes in without its CRLF
  data += own;
  auto signature = key.sign(data);
  ASSERT_TRUE(signature);
  EXPECT_EQ(base64_encode(*signature), kRfc8463B);

  // One byte changed in a signed field: another signature.
  data[2] = 'X';
  EXPECT_NE(base64_encode(*key.sign(data)), kRfc8463B);
}

TEST(Base64, RoundTripAndStrictness) {
  for (std::size_t n = 0; n < 40; ++n) {
    std::vector<std::uint8_t> bytes(n);
    for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::uint8_t>(i * 37 + 11);
    const auto text = base64_encode(bytes);
    EXPECT_EQ(base64_decode(text), bytes);
  }
  EXPECT_EQ(base64_decode("Zm9v YmFy\r\n\tYQ=="),
            (std::vector<std::uint8_t>{'f', 'o', 'o', 'b', 'a', 'r', 'a'}));
  EXPECT_FALSE(base64_decode("Zm9"));       // length
  EXPECT_FALSE(base64_decode("Zm=v"));      // padding inside
  EXPECT_FALSE(base64_decode("Zh=="));      // non-zero bits under the padding
  EXPECT_FALSE(base64_decode("Zm9v-_=="));  // URL alphabet
  EXPECT_FALSE(base64_decode("===="));
}

}  // namespace
}  // namespace mail::dkim::detail
