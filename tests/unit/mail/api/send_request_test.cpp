// The API's request body: what it accepts, and for each refusal the field it names.
#include "mail/api/send_request.hpp"

#include <gtest/gtest.h>

#include "mail/api/limits.hpp"

namespace mail::api {
namespace {

std::string refused_field(std::string_view body) {
  auto r = parse_send_request(body);
  EXPECT_FALSE(r.has_value()) << body;
  if (r) return "<accepted>";
  EXPECT_FALSE(r.error().message.empty());
  return r.error().field;
}

TEST(SendRequest, Minimal) {
  auto r = parse_send_request(R"({"to": ["a@Example.NET"], "subject": "Hi", "text": "x\n"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->from);
  ASSERT_EQ(r->to.size(), 1u);
  EXPECT_EQ(r->to[0].str(), "a@example.net");
  EXPECT_EQ(r->subject, "Hi");
  EXPECT_EQ(r->text, "x\n");
  EXPECT_FALSE(r->security);
  EXPECT_FALSE(r->phi);
}

TEST(SendRequest, Full) {
  auto r = parse_send_request(
      R"({"from": "clinic@example.org", "to": ["a@example.net", "b@example.net"],
          "subject": "Résultats", "text": "tab\there\r\nline", "security": "exclusive",
          "phi": true})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->from->str(), "clinic@example.org");
  EXPECT_EQ(r->to.size(), 2u);
  EXPECT_EQ(r->subject, "R\xc3\xa9sultats");
  EXPECT_EQ(r->security, std::optional<policy::Policy>(policy::Policy::exclusive));
  EXPECT_TRUE(r->phi);
}

TEST(SendRequest, EachRefusalNamesItsField) {
  EXPECT_EQ(refused_field(R"({"to": ["nope"], "subject": "s", "text": "x"})"), "to");
  EXPECT_EQ(refused_field(R"({"to": ["a@b.example", "x@"], "subject": "s", "text": "x"})"), "to");
  EXPECT_EQ(refused_field(R"({"to": [], "subject": "s", "text": "x"})"), "to");
  EXPECT_EQ(refused_field(R"({"to": "a@b.example", "subject": "s", "text": "x"})"), "to");
  EXPECT_EQ(refused_field(R"({"subject": "s", "text": "x"})"), "to");
  EXPECT_EQ(refused_field(R"({"from": "a b@c.example", "to": ["a@b.example"], "subject": "s",
                              "text": "x"})"),
            "from");
  EXPECT_EQ(refused_field(R"({"to": ["a@b.example"], "subject": "a\r\nBcc: x@y.example",
                              "text": "x"})"),
            "subject");
  EXPECT_EQ(refused_field(R"({"to": ["a@b.example"], "subject": "a\nb", "text": "x"})"), "subject");
  EXPECT_EQ(refused_field(R"({"to": ["a@b.example"], "subject": "a\u0085b", "text": "x"})"),
            "subject");
  EXPECT_EQ(refused_field(R"({"to": ["a@b.example"], "text": "x"})"), "subject");
  EXPECT_EQ(refused_field(R"({"to": ["a@b.example"], "subject": "s", "text": "bell\u0007"})"),
            "text");
  EXPECT_EQ(refused_field(R"({"to": ["a@b.example"], "subject": "s"})"), "text");
  EXPECT_EQ(refused_field(R"({"to": ["a@b.example"], "subject": "s", "text": "x",
                              "security": "paranoid"})"),
            "security");
  EXPECT_EQ(refused_field(R"({"to": ["a@b.example"], "subject": "s", "text": "x",
                              "security": "none", "phi": true})"),
            "security");
  EXPECT_EQ(refused_field(R"({"to": ["a@b.example"], "subject": "s", "text": "x", "phi": 1})"),
            "phi");
  EXPECT_EQ(refused_field(R"({"to": ["a@b.example"], "subjet": "s", "text": "x"})"), "subjet");
  // The body as a whole: no field.
  EXPECT_EQ(refused_field("[1]"), "");
  EXPECT_EQ(refused_field("{"), "");
  EXPECT_EQ(refused_field(R"({"to": ["a@b.example"], "to": ["c@d.example"]})"), "");
}

TEST(SendRequest, SubjectAndRecipientLimits) {
  const std::string long_subject(mime::kMaxSubjectBytes + 1, 's');
  EXPECT_EQ(refused_field(R"({"to": ["a@b.example"], "subject": ")" + long_subject +
                          R"(", "text": "x"})"),
            "subject");
  std::string to;
  for (std::size_t i = 0; i <= kMaxRecipients; ++i) {
    to += (i ? ", " : "") + std::string("\"p") + std::to_string(i) + "@b.example\"";
  }
  EXPECT_EQ(refused_field(R"({"to": [)" + to + R"(], "subject": "s", "text": "x"})"), "to");
  // One fewer is fine.
  to = to.substr(0, to.rfind(','));
  EXPECT_TRUE(parse_send_request(R"({"to": [)" + to + R"(], "subject": "s", "text": "x"})"));
}

TEST(SendRequest, TooLargeIsItsOwnError) {
  const std::string body = R"({"to": ["a@b.example"], "subject": "s", "text": ")" +
                           std::string(kMaxRequestBytes, 'x') + "\"}";
  auto r = parse_send_request(body);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().too_large);
  EXPECT_FALSE(parse_send_request("nope").error().too_large);
}

}  // namespace
}  // namespace mail::api
