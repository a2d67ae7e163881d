// The MTA-STS parsers (RFC 8461 §3.1 TXT record, §3.2 policy file): what they accept, what
// they refuse and why, and the limits.

#include "mail/mtasts/policy.hpp"

#include <gtest/gtest.h>

#include "mail/mtasts/limits.hpp"

namespace mail::mtasts {
namespace {

Policy parse_ok(std::string_view text) {
  auto p = parse_policy(text);
  EXPECT_TRUE(p) << text << " -> " << (p ? "" : p.error().detail());
  return p ? *p : Policy{};
}

std::string refused(std::string_view text) {
  auto p = parse_policy(text);
  EXPECT_FALSE(p) << text;
  if (p) return "";
  EXPECT_EQ(p.error().public_text(), "the MTA-STS policy is malformed");
  return p.error().detail();
}

TEST(MtaStsPolicy, TheRfcExample) {
  // RFC 8461 §3.2's example, CRLF line ends.
  const auto p = parse_ok(
      "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
      "mx: backupmx.example.com\r\nmax_age: 604800\r\n");
  EXPECT_EQ(p.mode, Mode::enforce);
  EXPECT_EQ(p.mx, (std::vector<std::string>{"mail.example.com", "*.example.net",
                                            "backupmx.example.com"}));
  EXPECT_EQ(p.max_age, 604800);
}

TEST(MtaStsPolicy, LfLineEndsAnyOrderAndNoFinalNewline) {
  const auto p = parse_ok("mx: MX1.Example.COM\nmax_age: 86400\nmode: testing\nversion: STSv1");
  EXPECT_EQ(p.mode, Mode::testing);
  EXPECT_EQ(p.mx, std::vector<std::string>{"mx1.example.com"});  // lower-cased
  EXPECT_EQ(p.max_age, 86400);
}

TEST(MtaStsPolicy, WhitespaceAroundValuesAndTrailingBlankLines) {
  const auto p =
      parse_ok("version:STSv1\nmode:\t enforce  \nmx:   a.example\t\nmax_age: 0\n\n\r\n");
  EXPECT_EQ(p.mode, Mode::enforce);
  EXPECT_EQ(p.mx, std::vector<std::string>{"a.example"});
  EXPECT_EQ(p.max_age, 0);
}

TEST(MtaStsPolicy, ModeNoneNeedsNoMx) {
  const auto p = parse_ok("version: STSv1\nmode: none\nmax_age: 86400\n");
  EXPECT_EQ(p.mode, Mode::none);
  EXPECT_TRUE(p.mx.empty());
}

TEST(MtaStsPolicy, UnknownKeysAreIgnoredButMustBeWellFormed) {
  const auto p = parse_ok(
      "version: STSv1\nmode: enforce\nx-note: hello there, caf\xc3\xa9\nmx: a.example\n"
      "max_age: 10\nfuture.key_2-x: 1\n");
  EXPECT_EQ(p.mx, std::vector<std::string>{"a.example"});
  EXPECT_NE(refused("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 10\nx-note:\n"), "");
  EXPECT_NE(refused("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 10\nx: a\tb\n"), "");
  EXPECT_NE(refused("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 10\n_x: 1\n"), "");
}

TEST(MtaStsPolicy, OfARepeatedKeyTheFirstCounts) {
  const auto p = parse_ok(
      "version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 5\nmax_age: 9\n");
  EXPECT_EQ(p.mode, Mode::testing);
  EXPECT_EQ(p.max_age, 5);
  // A repeated key must still carry a valid value.
  EXPECT_NE(refused("version: STSv1\nmode: testing\nmode: sometimes\nmx: a.example\n"
                    "max_age: 5\n"),
            "");
}

TEST(MtaStsPolicy, RequiredFields) {
  EXPECT_EQ(refused("mode: enforce\nmx: a.example\nmax_age: 5\n"), "no version field");
  EXPECT_EQ(refused("version: STSv1\nmx: a.example\nmax_age: 5\n"), "no mode field");
  EXPECT_EQ(refused("version: STSv1\nmode: enforce\nmx: a.example\n"), "no max_age field");
  EXPECT_EQ(refused("version: STSv1\nmode: enforce\nmax_age: 5\n"),
            "no mx field in a policy of mode enforce");
  EXPECT_EQ(refused("version: STSv1\nmode: testing\nmax_age: 5\n"),
            "no mx field in a policy of mode testing");
  EXPECT_EQ(refused(""), "no version field");
}

TEST(MtaStsPolicy, ValuesAreCaseSensitiveAndExact) {
  EXPECT_NE(refused("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 5\n"), "");
  EXPECT_NE(refused("version: stsv1\nmode: enforce\nmx: a.example\nmax_age: 5\n"), "");
  EXPECT_NE(refused("version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 5\n"), "");
  // "Mode" is an unknown key (ignored), so the policy has no mode.
  EXPECT_EQ(refused("version: STSv1\nMode: enforce\nmx: a.example\nmax_age: 5\n"), "no mode field");
}

TEST(MtaStsPolicy, MaxAge) {
  EXPECT_EQ(parse_ok("version: STSv1\nmode: none\nmax_age: 31557600\n").max_age, 31557600);
  EXPECT_EQ(parse_ok("version: STSv1\nmode: none\nmax_age: 0000000042\n").max_age, 42);
  EXPECT_EQ(refused("version: STSv1\nmode: none\nmax_age: 31557601\n"),
            "max_age 31557601 is over the maximum of 31557600");
  EXPECT_NE(refused("version: STSv1\nmode: none\nmax_age: 99999999999\n"), "");  // 11 digits
  EXPECT_NE(refused("version: STSv1\nmode: none\nmax_age: -1\n"), "");
  EXPECT_NE(refused("version: STSv1\nmode: none\nmax_age: 1e6\n"), "");
  EXPECT_NE(refused("version: STSv1\nmode: none\nmax_age: 12 34\n"), "");
}

TEST(MtaStsPolicy, MxPatterns) {
  const std::string head = "version: STSv1\nmode: enforce\nmax_age: 5\nmx: ";
  EXPECT_EQ(parse_ok(head + "*.example.com\n").mx, std::vector<std::string>{"*.example.com"});
  EXPECT_EQ(parse_ok(head + "a-b.c0.example\n").mx, std::vector<std::string>{"a-b.c0.example"});
  for (const char* bad : {"*", "*.", "a.*.example", "**.example", "-a.example", "a-.example",
                          "a..example", ".example", "example.", "a_b.example", "a b.example",
                          "xn--caf\xc3\xa9.example", "*example.com", "a.example;b"}) {
    EXPECT_NE(refused(head + bad + "\n"), "") << bad;
  }
  EXPECT_NE(refused(head + std::string(64, 'a') + ".example\n"), "");  // a label over 63
  std::string long_name;
  for (int i = 0; i < 64; ++i) long_name += "abc.";
  EXPECT_NE(refused(head + long_name + "example\n"), "");  // over 253 in all
}

TEST(MtaStsPolicy, LinesThatAreNotKeyValue) {
  EXPECT_NE(refused("version: STSv1\nmode: none\n\nmax_age: 5\n"), "");  // blank line inside
  EXPECT_NE(refused("version STSv1\nmode: none\nmax_age: 5\n"), "");
  EXPECT_NE(refused(" version: STSv1\nmode: none\nmax_age: 5\n"), "");
  EXPECT_NE(refused("version: STSv1\nmode: none\nmax_age: 5\rmx: a.example\n"), "");  // bare CR
  EXPECT_NE(refused("version: STSv1\nmode: none\nmax_age: 5\n" + std::string(33, 'k') + ": v\n"),
            "");  // a key over 32 characters
  const char with_nul[] = "version: STSv1\nmode: none\0\nmax_age: 5\n";
  EXPECT_NE(refused(std::string(with_nul, sizeof with_nul - 1)), "");
  EXPECT_NE(refused("<html><body>Not Found</body></html>"), "");
}

TEST(MtaStsPolicy, SizeAndCountLimits) {
  std::string big = "version: STSv1\nmode: none\nmax_age: 5\n";
  while (big.size() <= kMaxPolicyBytes) big += "x-pad: " + std::string(100, 'p') + "\n";
  auto p = parse_policy(big);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind(), core::ErrorKind::too_large);

  std::string many = "version: STSv1\nmode: enforce\nmax_age: 5\n";
  for (std::size_t i = 0; i < kMaxMxPatterns; ++i) many += "mx: mx" + std::to_string(i) + ".e\n";
  EXPECT_EQ(parse_ok(many).mx.size(), kMaxMxPatterns);
  EXPECT_EQ(refused(many + "mx: one-more.e\n"), "more than 100 mx patterns");

  std::string extensions = "version: STSv1\nmode: none\nmax_age: 5\n";
  for (std::size_t i = 0; i <= kMaxExtensions; ++i) extensions += "x" + std::to_string(i) + ": 1\n";
  EXPECT_EQ(refused(extensions), "more than 100 unknown fields");
}

TEST(MtaStsPolicy, TextRoundTrips) {
  const Policy p{Mode::enforce, {"mx1.example.com", "*.example.net"}, 86400};
  EXPECT_EQ(policy_text(p),
            "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: *.example.net\n"
            "max_age: 86400\n");
  EXPECT_EQ(parse_ok(policy_text(p)), p);
}

TEST(MtaStsRecord, Parses) {
  EXPECT_EQ(parse_record("v=STSv1; id=20160831085700Z;").value().id, "20160831085700Z");
  EXPECT_EQ(parse_record("v=STSv1;id=abc").value().id, "abc");
  EXPECT_EQ(parse_record("v=STSv1 ;\tid=abc ; ").value().id, "abc");
  EXPECT_EQ(parse_record("v=STSv1; ext=v@l.ue; id=X1").value().id, "X1");
  EXPECT_EQ(parse_record("v=STSv1; id=first; id=second").value().id, "first");
  EXPECT_EQ(parse_record("v=STSv1; id=" + std::string(32, 'a')).value().id, std::string(32, 'a'));
}

TEST(MtaStsRecord, Refuses) {
  for (const std::string& bad : std::vector<std::string>{
           "", "v=STSv1", "v=STSv1;", "v=STSv2; id=1", "V=STSv1; id=1", "v=STSv1 id=1",
           "v=STSv1; id=", "v=STSv1; id=a-b", "v=STSv1; id=a b", "v=STSv1; id=abc;;",
           "v=STSv1; ext=; id=1", "v=STSv1; ext=a=b; id=1", "v=STSv1; =x; id=1",
           "v=STSv1; id=" + std::string(33, 'a'), "id=1; v=STSv1"}) {
    auto r = parse_record(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().public_text(), "the MTA-STS TXT record is malformed") << bad;
    }
  }
  auto big = parse_record("v=STSv1; id=1; x=" + std::string(kMaxRecordBytes, 'a'));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().kind(), core::ErrorKind::too_large);
}

TEST(MtaStsRecord, FindsTheOneRecordAmongTxtStrings) {
  auto none = find_record({"v=spf1 -all", "google-site-verification=x"});
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  EXPECT_FALSE(*find_record({}));
  // "v=STSv10" and "v=STSv1" without ';' are not MTA-STS records (§3.1): ignored.
  EXPECT_FALSE(*find_record({"v=STSv10; id=1", "v=STSv1"}));
  auto one = find_record({"v=spf1 -all", "v=STSv1; id=abc"});
  ASSERT_TRUE(one);
  ASSERT_TRUE(*one);
  EXPECT_EQ((*one)->id, "abc");
  EXPECT_TRUE(*find_record({"v=STSv1 ; id=abc"}));
  // Two: the domain has no usable record.
  EXPECT_FALSE(find_record({"v=STSv1; id=abc", "v=STSv1; id=def"}));
  // One that is malformed: the same.
  EXPECT_FALSE(find_record({"v=STSv1; id=a-b"}));
}

TEST(MtaStsMode, Names) {
  for (auto m : {Mode::enforce, Mode::testing, Mode::none}) {
    EXPECT_EQ(parse_mode(mode_name(m)), std::optional<Mode>(m));
  }
  EXPECT_FALSE(parse_mode("ENFORCE"));
}

}  // namespace
}  // namespace mail::mtasts
