#include "forms/token.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "core/encoding.hpp"

namespace forms {
namespace {

using std::chrono::seconds;

constexpr std::int64_t kIssuedAt = 1'800'000'000;
constexpr seconds kMaxAge{3600};

core::SecretBytes key() { return core::SecretBytes(std::string(32, 'k')); }

TokenClaims claims() {
  TokenClaims c;
  c.form_id = "intake";
  c.form_version = 3;
  c.issued_at = kIssuedAt;
  for (std::size_t i = 0; i < c.nonce.size(); ++i) c.nonce[i] = static_cast<std::uint8_t>(i);
  return c;
}

core::TimePoint at(std::int64_t unix_seconds) { return core::TimePoint(seconds(unix_seconds)); }

TokenCheck verify(std::string_view token, std::int64_t now = kIssuedAt + 10,
                  std::string_view form = "intake") {
  return verify_token(key(), token, form, at(now), kMaxAge);
}

// Re-encodes a token after changing one byte of its decoded form.
std::string flip_byte(const std::string& token, std::size_t index) {
  auto bytes = core::base64url_decode(token);
  EXPECT_TRUE(bytes.has_value());
  (*bytes)[index] ^= 0x01;
  return core::base64url_encode(*bytes);
}

TEST(Token, RoundTrip) {
  const std::string token = issue_token(key(), claims());
  const TokenCheck check = verify(token);
  ASSERT_TRUE(check.ok);
  EXPECT_EQ(check.claims.form_id, "intake");
  EXPECT_EQ(check.claims.form_version, 3);
  EXPECT_EQ(check.claims.issued_at, kIssuedAt);
  EXPECT_EQ(check.claims.nonce, claims().nonce);
}

// Pins the wire layout (computed independently with Python's hmac module): a change of
// format must be deliberate, because tokens in open browser tabs would stop verifying.
TEST(Token, LayoutIsStable) {
  EXPECT_EQ(issue_token(key(), claims()),
            "AQZpbnRha2UAAAADAAAAAGtJ0gAAAQIDBAUGBwgJCgsMDQ4PCa1gAHODYVdnukKjqi0_5BrfPU8k0NF86Gx8"
            "i5VA6QY");
}

TEST(Token, ParseReturnsClaimsAndSignedPart) {
  const std::string token = issue_token(key(), claims());
  auto parsed = parse_token(token);
  ASSERT_TRUE(parsed) << parsed.error().public_text();
  EXPECT_EQ(parsed->claims.form_id, "intake");
  EXPECT_EQ(parsed->claims.form_version, 3);
  EXPECT_EQ(parsed->claims.issued_at, kIssuedAt);
  EXPECT_EQ(parsed->mac.size(), 32u);
  EXPECT_EQ(parsed->signed_part.size(), 1 + 1 + 6 + 4 + 8 + 16u);
}

TEST(Token, EveryTamperedByteIsABadMac) {
  const std::string token = issue_token(key(), claims());
  const std::size_t length = core::base64url_decode(token)->size();
  // Byte 0 is the version and byte 1 the id length: changing those breaks the structure.
  // Bytes 2..7 are the form id "intake", where a flip may also give a character that no
  // form id has (malformed). Every other byte is covered by the MAC alone.
  for (std::size_t i = 2; i < length; ++i) {
    const TokenCheck check = verify(flip_byte(token, i));
    EXPECT_FALSE(check.ok) << "byte " << i;
    if (i < 8 && check.problem == TokenProblem::malformed) continue;
    EXPECT_EQ(check.problem, TokenProblem::bad_mac) << "byte " << i;
  }
  EXPECT_EQ(verify(flip_byte(token, 0)).problem, TokenProblem::malformed);
  EXPECT_EQ(verify(flip_byte(token, 1)).problem, TokenProblem::malformed);
}

TEST(Token, OtherKeyIsABadMac) {
  const std::string token = issue_token(core::SecretBytes(std::string(32, 'x')), claims());
  EXPECT_EQ(verify(token).problem, TokenProblem::bad_mac);
}

TEST(Token, EmptyKeyNeverVerifies) {
  const core::SecretBytes empty;
  const std::string token = issue_token(empty, claims());
  const TokenCheck check = verify_token(empty, token, "intake", at(kIssuedAt), kMaxAge);
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.problem, TokenProblem::bad_mac);
}

TEST(Token, WrongForm) {
  const std::string token = issue_token(key(), claims());
  const TokenCheck check = verify(token, kIssuedAt, "other-form");
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.problem, TokenProblem::wrong_form);
}

TEST(Token, Expiry) {
  const std::string token = issue_token(key(), claims());
  EXPECT_TRUE(verify(token, kIssuedAt + kMaxAge.count()).ok);
  const TokenCheck check = verify(token, kIssuedAt + kMaxAge.count() + 1);
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.problem, TokenProblem::expired);
}

TEST(Token, FromTheFutureBeyondTheClockSkew) {
  const std::string token = issue_token(key(), claims());
  EXPECT_TRUE(verify(token, kIssuedAt - 60).ok);
  const TokenCheck check = verify(token, kIssuedAt - 61);
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.problem, TokenProblem::from_future);
}

TEST(Token, ExtremeIssuedAtDoesNotWrap) {
  TokenClaims c = claims();
  c.issued_at = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(verify(issue_token(key(), c)).problem, TokenProblem::expired);
  c.issued_at = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(verify(issue_token(key(), c)).problem, TokenProblem::from_future);
}

TEST(Token, GarbageIsMalformed) {
  const std::string token = issue_token(key(), claims());
  for (const std::string& bad :
       {std::string(""), std::string("!!!!"), std::string("abc"), std::string("AAAA"), token + "=",
        token.substr(0, 40), token + "AA", std::string(" ") + token}) {
    EXPECT_EQ(verify(bad).problem, TokenProblem::malformed) << bad;
    EXPECT_FALSE(parse_token(bad));
  }
}

TEST(Token, OversizeIsMalformedBeforeDecoding) {
  const std::string oversize(kMaxTokenBytes + 1, 'A');
  auto parsed = parse_token(oversize);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().public_text(), "malformed form token");
  EXPECT_EQ(verify(oversize).problem, TokenProblem::malformed);
}

TEST(Token, LongestFormIdFitsTheLimit) {
  TokenClaims c = claims();
  c.form_id = std::string(63, 'a');
  const std::string token = issue_token(key(), c);
  EXPECT_LE(token.size(), kMaxTokenBytes);
  EXPECT_TRUE(verify(token, kIssuedAt, c.form_id).ok);
}

TEST(Token, InvalidFormIdInsideIsMalformed) {
  // A correctly MACed token whose id has a byte outside [a-z0-9-] is still refused.
  TokenClaims c = claims();
  c.form_id = "Intake";
  EXPECT_EQ(verify(issue_token(key(), c), kIssuedAt, "Intake").problem, TokenProblem::malformed);
}

TEST(Token, NoncesMakeTokensDistinct) {
  TokenClaims c = claims();
  const std::string first = issue_token(key(), c);
  c.nonce[0] ^= 0xFF;
  EXPECT_NE(issue_token(key(), c), first);
}

}  // namespace
}  // namespace forms
