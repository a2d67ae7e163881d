#include "auth/json_body.hpp"

#include <gtest/gtest.h>

#include <string>

namespace auth {
namespace {

JsonObject parsed(std::string_view body) {
  auto object = parse_json_object(body);
  EXPECT_TRUE(object.has_value()) << body;
  if (!object) std::abort();
  return std::move(*object);
}

std::string error_of(std::string_view body, std::size_t max_bytes = kMaxJsonBodyBytes) {
  const auto object = parse_json_object(body, max_bytes);
  if (object) return "";
  return object.error().public_text();
}

TEST(JsonBody, ReadsStrings) {
  const auto body = parsed(R"({"email": "alice@example.org", "password": "p\u00e4ss\"word"})");
  EXPECT_EQ(body.size(), 2u);
  EXPECT_TRUE(body.contains("email"));
  EXPECT_FALSE(body.contains("code"));
  EXPECT_EQ(body.string("email", 254).value(), "alice@example.org");
  EXPECT_EQ(body.string("password", 256).value(), "p\xc3\xa4ss\"word");
}

TEST(JsonBody, StringErrorsNameTheFieldButNotTheValue) {
  const auto body = parsed(R"({"password": "hunter2-secret", "n": 5, "z": null, "a": ["x"]})");
  const auto too_long = body.string("password", 5);
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error().kind(), core::ErrorKind::invalid_input);
  EXPECT_EQ(too_long.error().public_text(), "The field \"password\" is too long.");
  EXPECT_EQ(too_long.error().detail().find("hunter2"), std::string::npos);
  EXPECT_EQ(body.string("code", 10).error().public_text(), "The field \"code\" is missing.");
  EXPECT_EQ(body.string("z", 10).error().public_text(), "The field \"z\" is missing.");
  EXPECT_EQ(body.string("n", 10).error().public_text(), "The field \"n\" must be text.");
  EXPECT_EQ(body.string("a", 10).error().public_text(), "The field \"a\" must be text.");
  EXPECT_EQ(body.string("password", 14).value(), "hunter2-secret");  // exactly the limit
}

TEST(JsonBody, RefusesNulInsideStrings) {
  const auto body = parsed(R"({"a": "x\u0000y", "b": ["ok", "n\u0000"]})");
  EXPECT_EQ(body.string("a", 10).error().public_text(),
            "The field \"a\" contains a NUL character.");
  EXPECT_FALSE(body.string_array("b", 5, 10).has_value());
}

TEST(JsonBody, OptionalString) {
  const auto body = parsed(R"({"private_key": null, "name": "x", "n": 1})");
  EXPECT_EQ(body.optional_string("private_key", 10).value(), std::nullopt);
  EXPECT_EQ(body.optional_string("absent", 10).value(), std::nullopt);
  EXPECT_EQ(body.optional_string("name", 10).value(), "x");
  EXPECT_EQ(body.optional_string("n", 10).error().public_text(), "The field \"n\" must be text.");
  EXPECT_EQ(body.optional_string("name", 0).error().public_text(),
            "The field \"name\" is too long.");
}

TEST(JsonBody, StringArray) {
  const auto body = parsed(R"({"roles": ["admin", "staff"], "empty": [], "mixed": ["a", 1],
                              "nested": [["a"]], "text": "admin"})");
  EXPECT_EQ(body.string_array("roles", 5, 16).value(),
            (std::vector<std::string>{"admin", "staff"}));
  EXPECT_TRUE(body.string_array("empty", 5, 16).value().empty());
  EXPECT_EQ(body.string_array("roles", 1, 16).error().public_text(),
            "The field \"roles\" has too many items.");
  EXPECT_EQ(body.string_array("roles", 5, 4).error().public_text(),
            "The field \"roles\" is too long.");
  EXPECT_EQ(body.string_array("mixed", 5, 16).error().public_text(),
            "The field \"mixed\" must be text.");
  EXPECT_FALSE(body.string_array("nested", 5, 16).has_value());
  EXPECT_EQ(body.string_array("text", 5, 16).error().public_text(),
            "The field \"text\" must be a list.");
  EXPECT_EQ(body.string_array("absent", 5, 16).error().public_text(),
            "The field \"absent\" is missing.");
}

TEST(JsonBody, OptionalBool) {
  const auto body = parsed(R"({"yes": true, "no": false, "z": null, "n": 1, "s": "true"})");
  EXPECT_EQ(body.optional_bool("yes").value(), std::optional<bool>(true));
  EXPECT_EQ(body.optional_bool("no").value(), std::optional<bool>(false));
  EXPECT_EQ(body.optional_bool("z").value(), std::nullopt);
  EXPECT_EQ(body.optional_bool("absent").value(), std::nullopt);
  EXPECT_EQ(body.optional_bool("n").error().public_text(),
            "The field \"n\" must be true or false.");
  EXPECT_FALSE(body.optional_bool("s").has_value());
}

TEST(JsonBody, UnknownMember) {
  const auto body = parsed(R"({"to": [], "subjet": "x"})");
  EXPECT_EQ(body.unknown_member({"to", "subjet"}), std::nullopt);
  EXPECT_EQ(body.unknown_member({"to", "subject"}), std::optional<std::string>("subjet"));
  EXPECT_EQ(parsed("{}").unknown_member({}), std::nullopt);
}

TEST(JsonBody, RefusesWhatIsNotOneObject) {
  const std::string not_json = "The request body is not valid JSON.";
  const std::string not_object = "The request body must be a JSON object.";
  EXPECT_EQ(error_of(""), not_json);
  EXPECT_EQ(error_of("{"), not_json);
  EXPECT_EQ(error_of("{\"a\": }"), not_json);
  EXPECT_EQ(error_of("{\"a\": 1,}"), not_json);
  EXPECT_EQ(error_of("{'a': 1}"), not_json);
  EXPECT_EQ(error_of("{\"a\": 1} {}"), not_json);
  EXPECT_EQ(error_of("{\"a\": 1} // note"), not_json);
  EXPECT_EQ(error_of("{\"a\": 1e999}"), not_json);
  EXPECT_EQ(error_of("{\"a\": \"\\ud800\"}"), not_json);    // lone surrogate
  EXPECT_EQ(error_of("{\"a\": \"tab\there\"}"), not_json);  // raw control character
  EXPECT_EQ(error_of("[]"), not_object);
  EXPECT_EQ(error_of("\"text\""), not_object);
  EXPECT_EQ(error_of("null"), not_object);
  EXPECT_EQ(error_of("42"), not_object);
  EXPECT_EQ(error_of(" {} "), "");
}

TEST(JsonBody, RefusesInvalidUtf8) {
  EXPECT_EQ(error_of("{\"a\": \"\xff\"}"), "The request body is not valid UTF-8.");
  EXPECT_EQ(error_of("{\"a\": \"\xc0\xaf\"}"), "The request body is not valid UTF-8.");
}

TEST(JsonBody, RefusesOversizedBodies) {
  const std::string body = R"({"a": ")" + std::string(100, 'x') + "\"}";
  EXPECT_EQ(error_of(body, body.size()), "");
  const auto refused = parse_json_object(body, body.size() - 1);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind(), core::ErrorKind::too_large);
  EXPECT_EQ(error_of(std::string(kMaxJsonBodyBytes + 1, ' ')), "The request body is too large.");
}

TEST(JsonBody, BoundsNesting) {
  // Depth 8 (the object itself counts) is the limit.
  EXPECT_EQ(error_of(R"({"a": [[[[[[["deep"]]]]]]]})"), "");
  EXPECT_EQ(error_of(R"({"a": [[[[[[[["deep"]]]]]]]]})"), "The request body is nested too deeply.");
  EXPECT_EQ(error_of(R"({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}})"),
            "The request body is nested too deeply.");
  // Brackets inside strings do not count, escaped quotes do not end the string.
  EXPECT_EQ(error_of(R"({"a": "[[[[[[[[[[{{{{{{{{", "b": "\"[[[[[[[[[[[["})"), "");
  // Deep garbage is refused before the parser ever sees it.
  EXPECT_EQ(error_of(std::string(100000, '[')), "The request body is too large.");
  EXPECT_EQ(error_of(std::string(60000, '[')), "The request body is nested too deeply.");
}

TEST(JsonBody, BoundsMembers) {
  std::string body = "{";
  for (int i = 0; i < 64; ++i) body += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  EXPECT_EQ(error_of(body + "}"), "");
  EXPECT_EQ(error_of(body + ",\"k64\":1}"), "The request body has too many fields.");
  EXPECT_EQ(error_of("{\"inner\":" + body + ",\"k64\":1}}"),
            "The request body has too many fields.");
}

TEST(JsonBody, RefusesRepeatedMembers) {
  const std::string repeated = "The request body repeats a field.";
  EXPECT_EQ(error_of(R"({"email": "a@x", "email": "b@x"})"), repeated);
  EXPECT_EQ(error_of(R"({"email": "a@x", "\u0065mail": "b@x"})"),
            repeated);  // same after unescaping
  EXPECT_EQ(error_of(R"({"a": {"x": 1, "x": 2}})"), repeated);
  // The same name in different objects is fine.
  EXPECT_EQ(error_of(R"({"x": {"x": 1}, "y": [{"x": 1}, {"x": 2}]})"), "");
}

TEST(JsonBody, MovesKeepTheValues) {
  auto first = parsed(R"({"a": "one"})");
  JsonObject second = std::move(first);
  EXPECT_EQ(second.string("a", 10).value(), "one");
  auto third = parsed(R"({"b": "two"})");
  third = std::move(second);
  EXPECT_EQ(third.string("a", 10).value(), "one");
}

}  // namespace
}  // namespace auth
