#include "auth/cookie.hpp"

#include <gtest/gtest.h>

#include <string>

namespace auth {
namespace {

constexpr std::string_view kName = "__Host-sealpost-session";

std::optional<std::string> session(std::string_view header) { return find_cookie(header, kName); }

TEST(Cookie, FindsTheValueAmongOthers) {
  EXPECT_EQ(session("__Host-sealpost-session=abc"), "abc");
  EXPECT_EQ(session("a=1; __Host-sealpost-session=abc; b=2"), "abc");
  EXPECT_EQ(session("a=1;__Host-sealpost-session=abc;b=2"), "abc");
  EXPECT_EQ(session("a=1;   __Host-sealpost-session=abc  ;b=2;"), "abc");
  EXPECT_EQ(session("\t__Host-sealpost-session=abc\t"), "abc");
  EXPECT_EQ(session("__Host-sealpost-session=a-b_c.d~e=f"), "a-b_c.d~e=f");  // '=' allowed
  EXPECT_EQ(session("__Host-sealpost-session="), "");
  EXPECT_EQ(find_cookie("theme=dark; lang=en", "lang"), "en");
}

TEST(Cookie, UnwrapsDoubleQuotes) {
  EXPECT_EQ(session("__Host-sealpost-session=\"abc\""), "abc");
  EXPECT_EQ(session("__Host-sealpost-session=\"\""), "");
  EXPECT_EQ(session("__Host-sealpost-session=\"abc"), std::nullopt);
  EXPECT_EQ(session("__Host-sealpost-session=abc\""), std::nullopt);
  EXPECT_EQ(session("__Host-sealpost-session=\"a\"b\""), std::nullopt);
  EXPECT_EQ(session("__Host-sealpost-session=\""), std::nullopt);
}

TEST(Cookie, AbsentOrDifferentlyNamed) {
  EXPECT_EQ(session(""), std::nullopt);
  EXPECT_EQ(session("a=1; b=2"), std::nullopt);
  EXPECT_EQ(session("__host-sealpost-session=abc"), std::nullopt);  // names are case-sensitive
  EXPECT_EQ(session("__Host-sealpost-sessionx=abc"), std::nullopt);
  EXPECT_EQ(session("x__Host-sealpost-session=abc"), std::nullopt);
  EXPECT_EQ(session("__Host-sealpost-session"), std::nullopt);  // no '=': not a pair
  EXPECT_EQ(session(";;;"), std::nullopt);
  EXPECT_EQ(find_cookie("a=1", ""), std::nullopt);
}

TEST(Cookie, IgnoresValuesWithForbiddenCharacters) {
  for (const char* header : {"__Host-sealpost-session=a b", "__Host-sealpost-session=a\tb",
                             "__Host-sealpost-session=a\x01", "__Host-sealpost-session=a\x7f",
                             "__Host-sealpost-session=a,b", "__Host-sealpost-session=a\\b",
                             "__Host-sealpost-session=\xc3\xa9", "__Host-sealpost-session=\"a b\"",
                             "__Host-sealpost-session=a\r\nSet-Cookie: x=y"}) {
    EXPECT_EQ(session(header), std::nullopt) << header;
  }
  EXPECT_EQ(session(std::string_view("__Host-sealpost-session=a\0b", 27)), std::nullopt);
  // Other cookies' bad values do not matter.
  EXPECT_EQ(session("junk=a b\x01; __Host-sealpost-session=abc"), "abc");
}

// Two cookies of our name: one may be an attacker's (cookie tossing); neither is used.
TEST(Cookie, RefusesARepeatedName) {
  EXPECT_EQ(session("__Host-sealpost-session=abc; __Host-sealpost-session=def"), std::nullopt);
  EXPECT_EQ(session("__Host-sealpost-session=abc; __Host-sealpost-session=abc"), std::nullopt);
  EXPECT_EQ(session("__Host-sealpost-session=abc; __Host-sealpost-session=a b"), std::nullopt);
  EXPECT_EQ(session("__Host-sealpost-session=a b; __Host-sealpost-session=abc"), std::nullopt);
  EXPECT_EQ(session("__Host-sealpost-session=abc;  __Host-sealpost-session =def"), std::nullopt);
}

TEST(Cookie, BoundsTheHeader) {
  std::string many;
  for (int i = 0; i < 63; ++i) many += "c" + std::to_string(i) + "=v; ";
  EXPECT_EQ(session(many + "__Host-sealpost-session=abc"), "abc");  // the 64th pair
  EXPECT_EQ(session(many + "x=1; __Host-sealpost-session=abc"), std::nullopt);
  // Pairs after ours count too (and a repeat may hide among them).
  EXPECT_EQ(session("__Host-sealpost-session=abc; " + many + "x=1"), std::nullopt);

  const std::string prefix = "__Host-sealpost-session=abc; pad=";
  std::string longest = prefix + std::string(kMaxCookieHeaderBytes - prefix.size(), 'p');
  ASSERT_EQ(longest.size(), kMaxCookieHeaderBytes);
  EXPECT_EQ(session(longest), "abc");
  EXPECT_EQ(session(longest + "p"), std::nullopt);
}

TEST(Cookie, SetCookieValues) {
  EXPECT_EQ(kSessionCookieName, kName);
  EXPECT_EQ(session_cookie("abc-_123"),
            "__Host-sealpost-session=abc-_123; Path=/; Secure; HttpOnly; SameSite=Strict");
  EXPECT_EQ(clear_session_cookie(),
            "__Host-sealpost-session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
}

TEST(Cookie, SetCookieNeverCarriesAnInjectedValue) {
  for (const char* value : {"", "a; Domain=evil.example", "a\r\nSet-Cookie: x=y", "a b", "\"a\""}) {
    EXPECT_EQ(session_cookie(value), clear_session_cookie()) << value;
  }
}

}  // namespace
}  // namespace auth
