#include "forms/urlencoded.hpp"

#include <gtest/gtest.h>

#include <string>

namespace forms {
namespace {

FieldPairs parse_ok(std::string_view body, const UrlencodedLimits& limits = {}) {
  auto result = parse_urlencoded(body, limits);
  EXPECT_TRUE(result) << result.error().public_text();
  return result ? *result : FieldPairs{};
}

std::string error_of(std::string_view body, const UrlencodedLimits& limits = {}) {
  auto result = parse_urlencoded(body, limits);
  if (result) return "OK";
  return result.error().public_text();
}

TEST(Urlencoded, DecodesPairsInOrderWithRepeats) {
  const FieldPairs pairs = parse_ok("a=1&b=two+words&c=%41%62&b=again");
  ASSERT_EQ(pairs.size(), 4u);
  EXPECT_EQ(pairs[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(pairs[1], (std::pair<std::string, std::string>{"b", "two words"}));
  EXPECT_EQ(pairs[2], (std::pair<std::string, std::string>{"c", "Ab"}));
  EXPECT_EQ(pairs[3], (std::pair<std::string, std::string>{"b", "again"}));
}

TEST(Urlencoded, PlusIsSpaceAndEncodedPlusIsPlus) {
  const FieldPairs pairs = parse_ok("my+name=1%2B1+%3D+2");
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].first, "my name");
  EXPECT_EQ(pairs[0].second, "1+1 = 2");
}

TEST(Urlencoded, LowerAndUpperCaseHex) {
  const FieldPairs pairs = parse_ok("a=%c3%a9%C3%A9");
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].second, "\xC3\xA9\xC3\xA9");
}

TEST(Urlencoded, MissingOrEmptyValue) {
  const FieldPairs pairs = parse_ok("a&b=&c==x");
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0].second, "");
  EXPECT_EQ(pairs[1].second, "");
  EXPECT_EQ(pairs[2].second, "=x");
}

TEST(Urlencoded, EmptyBodyAndEmptySegments) {
  EXPECT_TRUE(parse_ok("").empty());
  EXPECT_TRUE(parse_ok("&&").empty());
  EXPECT_EQ(parse_ok("a=1&&b=2&").size(), 2u);
}

TEST(Urlencoded, EmptyNameIsRefused) {
  EXPECT_EQ(error_of("=x"), "field 1: the name is empty");
  EXPECT_EQ(error_of("a=1&%20=x"), "OK");  // " " is a name, if an odd one
  EXPECT_EQ(error_of("a=1&=x"), "field 2: the name is empty");
}

TEST(Urlencoded, BadPercentEncoding) {
  EXPECT_EQ(error_of("a=%"), "field 1: malformed percent-encoding in the value");
  EXPECT_EQ(error_of("a=%4"), "field 1: malformed percent-encoding in the value");
  EXPECT_EQ(error_of("a=%zz"), "field 1: malformed percent-encoding in the value");
  EXPECT_EQ(error_of("a=%4g"), "field 1: malformed percent-encoding in the value");
  EXPECT_EQ(error_of("a=%%41"), "field 1: malformed percent-encoding in the value");
  EXPECT_EQ(error_of("x=1&a%2=1"), "field 2: malformed percent-encoding in the name");
}

TEST(Urlencoded, NulIsRefused) {
  EXPECT_EQ(error_of("a=x%00y"), "field 1: the value contains a NUL character");
  EXPECT_EQ(error_of("a%00=1"), "field 1: the name contains a NUL character");
  EXPECT_EQ(error_of(std::string_view("a=x\0y", 5)), "field 1: the value contains a NUL character");
}

TEST(Urlencoded, InvalidUtf8AfterDecodingIsRefused) {
  EXPECT_EQ(error_of("a=%C3%28"), "field 1: the value is not valid UTF-8");
  EXPECT_EQ(error_of("a=%C0%AF"), "field 1: the value is not valid UTF-8");        // overlong '/'
  EXPECT_EQ(error_of("a=%ED%A0%80"), "field 1: the value is not valid UTF-8");     // surrogate
  EXPECT_EQ(error_of("a=%F4%90%80%80"), "field 1: the value is not valid UTF-8");  // > U+10FFFF
  EXPECT_EQ(error_of("a=%C3"), "field 1: the value is not valid UTF-8");           // truncated
  EXPECT_EQ(error_of("a=\xFF"), "field 1: the value is not valid UTF-8");          // raw byte
  EXPECT_EQ(error_of("%FF=1"), "field 1: the name is not valid UTF-8");
}

TEST(Urlencoded, ErrorsNeverEchoTheValue) {
  for (std::string_view body : {"secretvalue=secret%zz", "a=secret%00", "a=secret%C3%28"}) {
    const std::string text = error_of(body);
    EXPECT_NE(text, "OK");
    EXPECT_EQ(text.find("secret"), std::string::npos) << text;
  }
}

TEST(Urlencoded, BodySizeLimit) {
  UrlencodedLimits limits;
  limits.max_bytes = 10;
  EXPECT_EQ(error_of("a=12345678", limits), "OK");
  auto result = parse_urlencoded("a=123456789", limits);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind(), core::ErrorKind::too_large);
  EXPECT_EQ(result.error().public_text(), "the form body is too large");
}

TEST(Urlencoded, PairCountLimit) {
  UrlencodedLimits limits;
  limits.max_pairs = 3;
  EXPECT_EQ(parse_ok("a=1&b=2&c=3", limits).size(), 3u);
  auto result = parse_urlencoded("a=1&b=2&c=3&d=4", limits);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind(), core::ErrorKind::too_large);
  EXPECT_EQ(result.error().public_text(), "the form has too many fields");
}

TEST(Urlencoded, DefaultPairLimitIsAThousand) {
  std::string body;
  for (int i = 0; i < 1000; ++i) body += "a=1&";
  EXPECT_EQ(parse_ok(body).size(), 1000u);
  body += "a=1";
  EXPECT_EQ(error_of(body), "the form has too many fields");
}

TEST(Urlencoded, NameLengthLimit) {
  const std::string ok_name(128, 'n');
  EXPECT_EQ(error_of(ok_name + "=1"), "OK");
  EXPECT_EQ(error_of(ok_name + "n=1"), "field 1: the name is too long");
  // Encoded names are measured after decoding: 128 x "%41" is 128 bytes.
  std::string encoded;
  for (int i = 0; i < 128; ++i) encoded += "%41";
  EXPECT_EQ(error_of(encoded + "=1"), "OK");
  EXPECT_EQ(error_of(encoded + "%41=1"), "field 1: the name is too long");
}

TEST(Urlencoded, LongValuesAreFineWithinTheBodyLimit) {
  const std::string value(100000, 'v');
  const FieldPairs pairs = parse_ok("a=" + value);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].second.size(), value.size());
}

TEST(Urlencoded, EncodeFollowsTheFormSerializer) {
  EXPECT_EQ(urlencode("a b&c=d/\xC3\xA9*-._~+"), "a+b%26c%3Dd%2F%C3%A9*-._%7E%2B");
  EXPECT_EQ(urlencode(""), "");
  EXPECT_EQ(urlencode(std::string_view("\0\n", 2)), "%00%0A");
}

TEST(Urlencoded, EncodeThenParseRoundTrips) {
  const std::string name = "full_name";
  const std::string value = "Zo\xC3\xAB O'Brien & co. = 100% \"real\"\nline two";
  const FieldPairs pairs = parse_ok(urlencode(name) + "=" + urlencode(value));
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].first, name);
  EXPECT_EQ(pairs[0].second, value);
}

}  // namespace
}  // namespace forms
