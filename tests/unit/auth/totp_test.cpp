#include "auth/totp.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace auth {
namespace {

// The RFC 4226 / RFC 6238 (SHA1) test secret.
core::SecretBytes rfc_secret() {
  return core::SecretBytes(std::string_view("12345678901234567890"));
}

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(Totp, Rfc6238AppendixBSha1Vectors) {
  const auto secret = rfc_secret();
  struct Vector {
    std::int64_t time;
    const char* code;
  };
  const Vector vectors[] = {
      {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
      {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
  };
  for (const auto& v : vectors) {
    EXPECT_EQ(totp_code(secret, v.time / kTotpStepSeconds, 8), v.code) << v.time;
  }
}

TEST(Totp, Rfc4226AppendixDHotpVectors) {
  const auto secret = rfc_secret();
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (int counter = 0; counter < 10; ++counter) {
    EXPECT_EQ(totp_code(secret, counter), expected[counter]) << counter;
  }
}

TEST(Totp, CodeRefusesDigitsOutOfRangeAndNegativeSteps) {
  const auto secret = rfc_secret();
  EXPECT_EQ(totp_code(secret, 1, 5), "");
  EXPECT_EQ(totp_code(secret, 1, 9), "");
  EXPECT_EQ(totp_code(secret, 1, -6), "");
  EXPECT_EQ(totp_code(secret, -1), "");
  EXPECT_EQ(totp_code(secret, 1, 7), "4287082");
}

TEST(Totp, GeneratesTwentyRandomBytes) {
  core::SystemRng rng;
  const auto a = generate_totp_secret(rng);
  const auto b = generate_totp_secret(rng);
  EXPECT_EQ(a.size(), kTotpSecretBytes);
  EXPECT_EQ(b.size(), kTotpSecretBytes);
  EXPECT_NE(a.as_string_view(), b.as_string_view());
}

TEST(Base32, Rfc4648Vectors) {
  EXPECT_EQ(base32_encode(bytes("")), "");
  EXPECT_EQ(base32_encode(bytes("f")), "MY");
  EXPECT_EQ(base32_encode(bytes("fo")), "MZXQ");
  EXPECT_EQ(base32_encode(bytes("foo")), "MZXW6");
  EXPECT_EQ(base32_encode(bytes("foob")), "MZXW6YQ");
  EXPECT_EQ(base32_encode(bytes("fooba")), "MZXW6YTB");
  EXPECT_EQ(base32_encode(bytes("foobar")), "MZXW6YTBOI");
  EXPECT_EQ(base32_encode(bytes("12345678901234567890")), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  const auto decoded = base32_decode("MZXW6YTBOI");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, bytes("foobar"));
}

TEST(Base32, RoundTripsEveryLength) {
  std::vector<std::uint8_t> data;
  for (int n = 0; n < 40; ++n) {
    const auto text = base32_encode(data);
    const auto back = base32_decode(text);
    ASSERT_TRUE(back.has_value()) << n;
    EXPECT_EQ(*back, data);
    data.push_back(static_cast<std::uint8_t>(n * 71 + 5));
  }
}

TEST(Base32, DecodeIsCaseInsensitiveAndIgnoresSpacesAndPadding) {
  for (const char* text : {"mzxw6ytboi", "MZXW 6YTB OI", " mzxw6 ytboi ", "MZXW6YTBOI======"}) {
    const auto decoded = base32_decode(text);
    ASSERT_TRUE(decoded.has_value()) << text;
    EXPECT_EQ(*decoded, bytes("foobar")) << text;
  }
}

TEST(Base32, DecodeRefusesBadInput) {
  for (const char* text : {"MZXW1", "MZXW0", "MZXW8", "MZ-W6", "MZ=W6", "M", "MZX", "MZXW6Y", "MZ",
                           "MZXR", "\xc3\x84"}) {
    const auto decoded = base32_decode(text);
    ASSERT_FALSE(decoded.has_value()) << text;
    EXPECT_EQ(decoded.error().kind(), core::ErrorKind::invalid_input);
  }
  EXPECT_FALSE(base32_decode(std::string(kMaxBase32Chars + 8, 'A')).has_value());
  EXPECT_TRUE(base32_decode(std::string(kMaxBase32Chars, 'A')).has_value());
}

TEST(Totp, OtpauthUriPercentEncodesIssuerAndAccount) {
  EXPECT_EQ(otpauth_uri("sealpost clinic", "alice@example.org", rfc_secret()),
            "otpauth://totp/sealpost%20clinic:alice%40example.org"
            "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=sealpost%20clinic"
            "&algorithm=SHA1&digits=6&period=30");
  // ':' '&' '?' '#' '/' and non-ASCII cannot break out of their component.
  EXPECT_EQ(otpauth_uri("a:b&c", "d?e#f/g\xc3\xa9", rfc_secret()),
            "otpauth://totp/a%3Ab%26c:d%3Fe%23f%2Fg%C3%A9"
            "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=a%3Ab%26c"
            "&algorithm=SHA1&digits=6&period=30");
}

// At t = 59 (step 1) the 6-digit code is 287082 (the last 6 digits of RFC 6238's 94287082).
TEST(TotpVerify, AcceptsTheCurrentStepAndReturnsIt) {
  const auto secret = rfc_secret();
  EXPECT_EQ(totp_verify(secret, "287082", 59, -1), 1);
  EXPECT_EQ(totp_verify(secret, "287 082", 59, -1), 1);
  EXPECT_EQ(totp_verify(secret, " 287082 ", 59, 0), 1);
}

TEST(TotpVerify, AcceptsOneStepOfDriftEitherWay) {
  const auto secret = rfc_secret();
  const std::int64_t now = 1'800'000'000;
  const std::int64_t step = now / 30;
  EXPECT_EQ(totp_verify(secret, totp_code(secret, step - 1), now, -1), step - 1);
  EXPECT_EQ(totp_verify(secret, totp_code(secret, step + 1), now, -1), step + 1);
  EXPECT_EQ(totp_verify(secret, totp_code(secret, step - 2), now, -1), std::nullopt);
  EXPECT_EQ(totp_verify(secret, totp_code(secret, step + 2), now, -1), std::nullopt);
}

TEST(TotpVerify, ACodeWorksOnce) {
  const auto secret = rfc_secret();
  const std::int64_t now = 1'800'000'000;
  const std::int64_t step = now / 30;
  const std::string code = totp_code(secret, step);
  const auto used = totp_verify(secret, code, now, step - 5);
  ASSERT_EQ(used, step);
  EXPECT_EQ(totp_verify(secret, code, now, *used), std::nullopt);       // replay
  EXPECT_EQ(totp_verify(secret, code, now + 29, *used), std::nullopt);  // later in the window
  // An older code that would be in the window is refused once a later one was used.
  EXPECT_EQ(totp_verify(secret, totp_code(secret, step - 1), now, *used), std::nullopt);
  // The next step's code still works.
  EXPECT_EQ(totp_verify(secret, totp_code(secret, step + 1), now + 30, *used), step + 1);
}

TEST(TotpVerify, RefusesMalformedCodes) {
  const auto secret = rfc_secret();
  for (const char* code : {"", "28708", "2870822", "28708a", "+87082", "-87082", "287082\n",
                           "287\t082", "２８７０８２"}) {
    EXPECT_EQ(totp_verify(secret, code, 59, -1), std::nullopt) << code;
  }
  EXPECT_EQ(totp_verify(secret,
                        std::string_view("287\0"
                                         "082",
                                         7),
                        59, -1),
            std::nullopt);
  EXPECT_EQ(totp_verify(secret, std::string(40, ' ') + "287082", 59, -1), std::nullopt);
  EXPECT_EQ(totp_verify(secret, "94287082", 59, -1), std::nullopt);  // 8 digits
  EXPECT_EQ(totp_verify(secret, "000000", 59, -1), std::nullopt);    // wrong code
}

TEST(TotpVerify, RefusesAnEmptySecretAndTimesBeforeTheEpoch) {
  const core::SecretBytes empty;
  EXPECT_EQ(totp_verify(empty, totp_code(empty, 1), 59, -1), std::nullopt);
  EXPECT_EQ(totp_verify(rfc_secret(), "287082", -1, -1), std::nullopt);
  // Near the top of the range nothing overflows.
  const std::int64_t far = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(totp_verify(rfc_secret(), "287082", far, std::numeric_limits<std::int64_t>::min()),
            std::nullopt);
}

}  // namespace
}  // namespace auth
