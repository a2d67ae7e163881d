// The segment language: the grammar and its precedence, the comparisons (numbers as numbers,
// everything else as bytes), missing fields, "all", and every refusal with its message and
// position, including each limit.

#include "campaigns/segment.hpp"

#include <gtest/gtest.h>

#include <string>

namespace campaigns {
namespace {

using Values = std::map<std::string, std::string, std::less<>>;

const std::vector<std::string> kDeclared = {"age", "city", "joined", "name", "tier", "score"};

Segment parsed(std::string_view text) {
  auto segment = parse_segment(text, kDeclared);
  EXPECT_TRUE(segment) << text << ": " << segment.error().public_text();
  return segment ? std::move(*segment) : Segment{};
}

bool is_in(std::string_view text, const Values& values) {
  auto segment = parse_segment(text, kDeclared);
  EXPECT_TRUE(segment) << text << ": " << segment.error().public_text();
  return segment && matches(*segment, values);
}

std::string refusal(std::string_view text) {
  auto segment = parse_segment(text, kDeclared);
  EXPECT_FALSE(segment) << text;
  if (segment) return "";
  EXPECT_EQ(segment.error().kind(), core::ErrorKind::invalid_input);
  return segment.error().public_text();
}

TEST(Segment, AllIsEveryone) {
  const Segment all = parsed("  all\n");
  EXPECT_TRUE(matches_everyone(all));
  EXPECT_TRUE(matches(all, {}));
  EXPECT_TRUE(all.fields().empty());
  EXPECT_FALSE(matches_everyone(parsed("has name")));
  EXPECT_FALSE(matches_everyone(parsed("not has name")));
  EXPECT_FALSE(matches_everyone(Segment{}));  // not parsed: nobody
  EXPECT_FALSE(matches(Segment{}, {}));
}

TEST(Segment, StringComparisons) {
  const Values v{{"city", "Lyon"}, {"name", "Ann \"A\" Smith\\"}};
  EXPECT_TRUE(is_in(R"(city = "Lyon")", v));
  EXPECT_FALSE(is_in(R"(city = "lyon")", v));  // exact, case-sensitive
  EXPECT_TRUE(is_in(R"(city != "lyon")", v));
  EXPECT_FALSE(is_in(R"(city != "Lyon")", v));
  EXPECT_TRUE(is_in(R"(name = "Ann \"A\" Smith\\")", v));  // the two escapes
  EXPECT_TRUE(is_in(R"(city contains "yo")", v));
  EXPECT_FALSE(is_in(R"(city contains "YO")", v));
  EXPECT_TRUE(is_in(R"(city contains "")", v));
  EXPECT_TRUE(is_in(R"(city starts_with "Ly")", v));
  EXPECT_FALSE(is_in(R"(city starts_with "yon")", v));
  EXPECT_TRUE(is_in(R"(city in ("Paris", "Lyon"))", v));
  EXPECT_FALSE(is_in(R"(city in ("Paris","Nice"))", v));
  EXPECT_TRUE(is_in(R"(city="Lyon")", v));  // whitespace is free
  EXPECT_TRUE(is_in("city\t=\n\"Lyon\"", v));
  // Non-ASCII text is compared byte for byte.
  EXPECT_TRUE(
      is_in("city = \"Orl\xC3\xA9"
            "ans\"",
            {{"city",
              "Orl\xC3\xA9"
              "ans"}}));
}

TEST(Segment, NumbersCompareAsNumbersWhenBothSidesAreNumbers) {
  EXPECT_TRUE(is_in("age > 9", {{"age", "10"}}));       // as numbers: 10 > 9
  EXPECT_FALSE(is_in("age > \"9\"", {{"age", "10"}}));  // a string literal: bytes, "1" < "9"
  EXPECT_TRUE(is_in("age >= 10", {{"age", "10.0"}}));
  EXPECT_TRUE(is_in("age <= 10", {{"age", "010"}}));
  EXPECT_TRUE(is_in("age < 0", {{"age", "-0.5"}}));
  EXPECT_TRUE(is_in("age > -1", {{"age", "-0"}}));
  EXPECT_TRUE(is_in("score < 0.25", {{"score", "0.125"}}));
  EXPECT_TRUE(is_in("score > -10", {{"score", "-9.99"}}));
  EXPECT_TRUE(is_in("score < -9", {{"score", "-10"}}));
  EXPECT_TRUE(is_in("score > 9007199254740992", {{"score", "9007199254740993"}}));  // exact
  // The field value is not a number: bytes ("abc" > "10").
  EXPECT_TRUE(is_in("age > 10", {{"age", "abc"}}));
  EXPECT_TRUE(is_in("age < 9", {{"age", " 10"}}));  // " 10" is not a number; ' ' < '9'
  // `=` and `!=` compare text exactly, even for numbers.
  EXPECT_FALSE(is_in("age = 10", {{"age", "10.0"}}));
  EXPECT_TRUE(is_in("age = 10", {{"age", "10"}}));
  EXPECT_TRUE(is_in("age != 10", {{"age", "010"}}));
  EXPECT_TRUE(is_in("age in (9, 10)", {{"age", "10"}}));
}

TEST(Segment, IsoDatesCompareAsText) {
  const Values v{{"joined", "2026-01-31"}};
  EXPECT_TRUE(is_in(R"(joined >= "2026-01-01")", v));
  EXPECT_TRUE(is_in(R"(joined < "2026-02-01")", v));
  EXPECT_FALSE(is_in(R"(joined > "2026-01-31")", v));
  EXPECT_TRUE(is_in(R"(joined <= "2026-01-31")", v));
}

TEST(Segment, MissingFields) {
  const Values none;
  EXPECT_FALSE(is_in("has age", none));
  EXPECT_TRUE(is_in("has age", {{"age", ""}}));  // present, even empty
  for (const char* test : {"age = 1", "age != 1", "age < 1", "age <= 1", "age > 1", "age >= 1",
                           "age contains \"\"", "age starts_with \"\"", "age in (1, 2)"}) {
    EXPECT_FALSE(is_in(test, none)) << test;
    EXPECT_TRUE(is_in(std::string("not ") + test, none)) << test;
  }
  EXPECT_TRUE(is_in("not has age", none));
}

TEST(Segment, PrecedenceAndGrouping) {
  const Values v{{"age", "30"}, {"city", "Lyon"}};
  // and binds tighter than or.
  EXPECT_TRUE(is_in(R"(has tier and has name or city = "Lyon")", v));
  EXPECT_FALSE(is_in(R"(has tier and (has name or city = "Lyon"))", v));
  EXPECT_TRUE(is_in(R"(city = "Lyon" or has tier and has name)", v));
  // not binds tighter than and.
  EXPECT_FALSE(is_in("not has age and has city", v));
  EXPECT_TRUE(is_in("not (has age and has tier)", v));
  EXPECT_TRUE(is_in("not not has age", v));
  EXPECT_TRUE(is_in("((has age))", v));
  EXPECT_TRUE(is_in("has age and has city and age > 29 and not has tier", v));
  EXPECT_TRUE(is_in("has tier or has name or has city", v));
}

TEST(Segment, FieldsAreDistinctAndSorted) {
  EXPECT_EQ(
      parsed(R"(tier = "a" or (age > 3 and not has tier) or city in ("x") or age < 99)").fields(),
      (std::vector<std::string>{"age", "city", "tier"}));
}

TEST(Segment, UndeclaredField) {
  EXPECT_EQ(parse_segment("has name and age > 3", {"name"}).error().public_text(),
            "at character 14: field \"age\" is not declared: add it to the campaign's fields");
  EXPECT_EQ(refusal("has age or x = 1"),  // as in docs/OPERATIONS.md
            "at character 12: field \"x\" is not declared: add it to the campaign's fields");
  EXPECT_EQ(refusal("has email"),
            "at character 5: field \"email\" is not declared: add it to the campaign's fields");
}

TEST(Segment, SyntaxErrors) {
  EXPECT_EQ(refusal(""),
            "at character 1: the segment is empty: write \"all\" or a test such as "
            "has email");
  EXPECT_EQ(refusal("   "),
            "at character 4: the segment is empty: write \"all\" or a test such "
            "as has email");
  EXPECT_EQ(refusal("all and has age"), "at character 5: \"all\" must be the whole segment");
  EXPECT_EQ(refusal("has age has city"),
            "at character 9: expected \"and\", \"or\" or the end, found \"has\"");
  EXPECT_EQ(refusal("has age)"), "at character 8: \")\" closes no \"(\"");
  EXPECT_EQ(refusal("(has age"), "at character 9: the \"(\" at character 1 is not closed");
  EXPECT_EQ(refusal("(has age 3"),
            "at character 10: expected \"and\", \"or\" or \")\", found the number 3");
  EXPECT_EQ(refusal("age"),
            "at character 4: expected an operator (= != < <= > >= contains starts_with in) "
            "after the field \"age\", found the end");
  EXPECT_EQ(refusal("age == 3"), "at character 6: expected a \"string\" or a number, found \"=\"");
  EXPECT_EQ(refusal("age ! 3"),
            "at character 5: \"!\" must be followed by \"=\"; write \"not\" to negate a test");
  EXPECT_EQ(refusal("age = city"),
            "at character 7: expected a \"string\" or a number, found \"city\"");
  EXPECT_EQ(refusal("has in"), "at character 5: expected a field name, found the keyword \"in\"");
  EXPECT_EQ(refusal("has 3"), "at character 5: expected a field name, found the number 3");
  EXPECT_EQ(refusal("Age = 3"), "at character 1: field names and keywords are lower case");
  EXPECT_EQ(refusal("has age AND has city"),
            "at character 9: field names and keywords are lower case");
  EXPECT_EQ(refusal("city = 'x'"), "at character 8: strings are written in double quotes");
  EXPECT_EQ(refusal("age = 3 & has city"),
            "at character 9: unexpected character: use a field, an operator, a \"string\" or a "
            "number");
  EXPECT_EQ(refusal("age in 3"), "at character 8: expected \"(\" after \"in\", found the number 3");
  EXPECT_EQ(refusal("age in ()"), "at character 9: expected a \"string\" or a number, found \")\"");
  EXPECT_EQ(refusal("age in (1 2)"),
            "at character 11: expected \",\" or \")\" in an \"in\" list, found the number 2");
  EXPECT_EQ(refusal("age in (1,)"),
            "at character 11: expected a \"string\" or a number, found \")\"");
  EXPECT_EQ(refusal("not"), "at character 4: expected a field name, found the end");
  EXPECT_EQ(refusal("has age or"), "at character 11: expected a field name, found the end");
}

TEST(Segment, PositionsCountCharactersNotBytes) {
  EXPECT_EQ(refusal("city = \"\xC3\xA9t\xC3\xA9\" or x"),
            "at character 17: field \"x\" is not declared: add it to the campaign's fields");
}

TEST(Segment, BadStrings) {
  EXPECT_EQ(refusal("city = \"Lyon"),
            "at character 8: a string is not closed: end it with a double quote");
  EXPECT_EQ(refusal("city = \"a\\nb\""),
            "at character 10: only \\\" and \\\\ may follow a backslash in a string");
  EXPECT_EQ(refusal("city = \"a\nb\""),
            "at character 10: a string cannot hold a control character such as a line break "
            "or a tab");
  EXPECT_EQ(refusal("city = \"a\tb\""),
            "at character 10: a string cannot hold a control character such as a line break "
            "or a tab");
  EXPECT_EQ(refusal("city = \"\xC3(\""), "at character 8: a string is not valid UTF-8 text");
  EXPECT_EQ(refusal("city = \"\xED\xA0\x80\""), "at character 8: a string is not valid UTF-8 text");
}

TEST(Segment, BadNumbers) {
  EXPECT_EQ(refusal("age > 1."), "at character 7: a number needs digits after its decimal point");
  EXPECT_EQ(refusal("age > -"), "at character 7: \"-\" must be followed by digits");
  EXPECT_EQ(refusal("age > 1.2.3"),
            "at character 10: a number must end with a digit: put a string in double quotes");
  EXPECT_EQ(refusal("age > 12abc"),
            "at character 9: a number must end with a digit: put a string in double quotes");
  EXPECT_EQ(refusal("age > .5"),
            "at character 7: unexpected character: use a field, an operator, a \"string\" or a "
            "number");
}

TEST(Segment, Limits) {
  // The text: 4096 bytes.
  std::string text = "has age";
  text.resize(4096, ' ');
  EXPECT_TRUE(parse_segment(text, kDeclared));
  text.push_back(' ');
  EXPECT_EQ(refusal(text), "the segment is longer than 4096 bytes");

  // Nesting: 32 levels of "(" and "not", together.
  std::string nested = std::string(16, '(') + std::string(16 * 4, ' ');
  for (int i = 0; i < 16; ++i) nested.replace(16 + 4 * i, 4, "not ");
  EXPECT_TRUE(is_in(nested + "has age" + std::string(16, ')'), {{"age", "1"}}));
  EXPECT_EQ(refusal(std::string(33, '(') + "has age" + std::string(33, ')')),
            "at character 33: \"(\" and \"not\" are nested deeper than 32");
  std::string nots;
  for (int i = 0; i < 33; ++i) nots += "not ";
  EXPECT_EQ(refusal(nots + "has age"),
            "at character 129: \"(\" and \"not\" are nested deeper than 32");
  EXPECT_FALSE(parse_segment(std::string(4000, '('), kDeclared));  // no deep recursion

  // Tests: 256.
  std::string tests = "has age";
  for (int i = 1; i < 256; ++i) tests += " or has age";
  EXPECT_TRUE(is_in(tests, {{"age", "1"}}));
  EXPECT_EQ(refusal(tests + " or has age"),
            "at character " + std::to_string(tests.size() + 5) + ": more than 256 tests");

  // An `in` list: 100 values.
  std::string list = "age in (0";
  for (int i = 1; i < 100; ++i) list += "," + std::to_string(i);
  EXPECT_TRUE(is_in(list + ")", {{"age", "99"}}));
  EXPECT_EQ(refusal(list + ",100)"), "at character " + std::to_string(list.size() + 2) +
                                         ": an \"in\" list has more than 100 values");

  // A string: 1024 bytes (after its escapes are decoded).
  EXPECT_TRUE(
      is_in("name = \"" + std::string(1024, 'a') + "\"", {{"name", std::string(1024, 'a')}}));
  EXPECT_TRUE(parse_segment("name = \"" + std::string(1022, 'a') + "\\\\\\\\\"", kDeclared));
  EXPECT_EQ(refusal("name = \"" + std::string(1025, 'a') + "\""),
            "at character 8: a string is longer than 1024 bytes");

  // A number: 30 characters.
  EXPECT_TRUE(is_in("age < " + std::string(30, '9'), {{"age", "1"}}));
  EXPECT_TRUE(parse_segment("age < -" + std::string(29, '9'), kDeclared));
  EXPECT_EQ(refusal("age < " + std::string(31, '9')),
            "at character 7: a number is longer than 30 characters");
  EXPECT_EQ(refusal("age < -" + std::string(30, '9')),
            "at character 7: a number is longer than 30 characters");

  // A field name: 64 characters.
  const std::string long_name(64, 'f');
  EXPECT_TRUE(parse_segment("has " + long_name, {long_name}));
  EXPECT_EQ(parse_segment("has " + long_name + "f", {long_name}).error().public_text(),
            "at character 5: a field name is longer than 64 characters");
}

}  // namespace
}  // namespace campaigns
