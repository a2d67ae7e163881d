#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "forms/validation.hpp"

namespace forms {
namespace {

constexpr std::int64_t kReceivedAt = 1795456800;     // 2026-11-23T18:00:00Z
constexpr std::int64_t kTokenIssuedAt = 1795456500;  // 2026-11-23T17:55:00Z

FormDeclaration intake() {
  std::ifstream in(std::string(SEALPOST_EXAMPLES_DIR) + "/intake.toml");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  const std::string placeholder = "@DEMO_RECIPIENT_FINGERPRINT@";
  for (auto at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder)) {
    text.replace(at, placeholder.size(), "0123456789ABCDEF0123456789ABCDEF01234567");
  }
  auto form = parse_declaration(text);
  if (!form) throw std::runtime_error(form.error().public_text());
  return std::move(*form);
}

Attestation attestation() {
  Attestation a;
  a.reference = "K7M2-9QXD";
  a.received_at = kReceivedAt;
  a.token_issued_at = kTokenIssuedAt;
  a.honeypot_empty = true;
  return a;
}

Answer make(std::string name, FieldType type, std::vector<std::string> values) {
  Answer a;
  a.name = std::move(name);
  a.type = type;
  a.values = std::move(values);
  return a;
}

TEST(CanonicalJson, GoldenIntakeSubmission) {
  const FieldPairs pairs = {
      {"full_name", "Zo\xC3\xAB \"Ann\" O'Brien"},
      {"date_of_birth", "1980-02-29"},
      {"email", "ann@Example.com"},
      {"phone", "(650) 253-0000"},
      {"visit_reason", "new"},
      {"allergies", "Penicillin\r\nLatex\\"},
      {"pain_level", "03"},
      {"contact_methods", "phone"},
      {"contact_methods", "email"},
      {"preferred_time", "morning"},
      {"privacy_consent", "yes"},
      {"signature", "Zoe\xCC\x88 O'Brien"},
  };
  const ValidationOutcome outcome = validate(intake(), 2, pairs, "2026-11-23");
  ASSERT_TRUE(outcome.ok) << outcome.errors.front().field << ": " << outcome.errors.front().message;
  const core::SecretBytes json = canonical_json(outcome.submission, attestation());
  EXPECT_EQ(
      json.as_string_view(),
      R"({"attestation":{"client_checks":{"honeypot_empty":true,"token":"valid"},)"
      R"("form_id":"intake","form_version":2,"received_at":"2026-11-23T18:00:00Z",)"
      R"("reference":"K7M2-9QXD","token_issued_at":"2026-11-23T17:55:00Z"},)"
      R"("fields":{"allergies":"Penicillin\nLatex\\","contact_methods":["email","phone"],)"
      R"("date_of_birth":"1980-02-29","email":"ann@example.com",)"
      "\"full_name\":\"Zo\xC3\xAB \\\"Ann\\\" O'Brien\","
      R"("pain_level":3,"phone":"+16502530000","preferred_time":"morning",)"
      R"("privacy_consent":{"accepted":true,"version":"2026-01"},)"
      "\"signature\":{\"name\":\"Zo\xC3\xAB O'Brien\",\"signed_at\":\"2026-11-23T18:00:00Z\"},"
      R"("visit_reason":"new"},"format":"sealpost-submission/1"})");
}

TEST(CanonicalJson, KeysAreSortedAtEveryLevel) {
  ValidatedSubmission submission;
  submission.form_id = "f";
  submission.form_version = 1;
  submission.answers.push_back(make("zeta", FieldType::text, {"z"}));
  submission.answers.push_back(make("alpha", FieldType::text, {"a"}));
  submission.answers.push_back(make("mid_2", FieldType::text, {"m"}));
  submission.answers.push_back(make("mid_10", FieldType::text, {"m"}));
  const core::SecretBytes json = canonical_json(submission, attestation());
  const std::string_view text = json.as_string_view();
  const auto pos = [&](std::string_view key) { return text.find("\"" + std::string(key) + "\":"); };
  EXPECT_LT(pos("attestation"), pos("fields"));
  EXPECT_LT(pos("fields"), pos("format"));
  EXPECT_LT(pos("client_checks"), pos("form_id"));
  EXPECT_LT(pos("form_id"), pos("form_version"));
  EXPECT_LT(pos("received_at"), pos("reference"));
  EXPECT_LT(pos("reference"), pos("token_issued_at"));
  // Byte order: "mid_10" < "mid_2" < "zeta", "alpha" first.
  EXPECT_LT(pos("alpha"), pos("mid_10"));
  EXPECT_LT(pos("mid_10"), pos("mid_2"));
  EXPECT_LT(pos("mid_2"), pos("zeta"));
  // No insignificant whitespace.
  EXPECT_EQ(text.find('\n'), std::string_view::npos);
  EXPECT_EQ(text.find(": "), std::string_view::npos);
  EXPECT_EQ(text.find(", "), std::string_view::npos);
  // And it is JSON.
  EXPECT_TRUE(nlohmann::json::accept(text));
}

TEST(CanonicalJson, NumbersAreExactIntegersOrDecimalText) {
  ValidatedSubmission submission;
  submission.form_id = "f";
  submission.form_version = 1;
  submission.answers.push_back(make("a", FieldType::number, {"-9223372036854775808"}));
  submission.answers.push_back(make("b", FieldType::number, {"9223372036854775807"}));
  submission.answers.push_back(make("c", FieldType::number, {"9223372036854775808"}));
  submission.answers.push_back(make("d", FieldType::number, {"3.5"}));
  submission.answers.push_back(make("e", FieldType::number, {"0"}));
  const core::SecretBytes json = canonical_json(submission, attestation());
  const std::string_view text = json.as_string_view();
  EXPECT_NE(text.find(R"("fields":{"a":-9223372036854775808,"b":9223372036854775807,)"
                      R"("c":"9223372036854775808","d":"3.5","e":0})"),
            std::string_view::npos)
      << text;
}

TEST(CanonicalJson, NonAsciiIsWrittenAsUtf8) {
  ValidatedSubmission submission;
  submission.form_id = "f";
  submission.form_version = 1;
  submission.answers.push_back(make("city", FieldType::text,
                                    {"K\xC3\xB8"
                                     "benhavn \xF0\x9F\x8C\x8A"}));
  const core::SecretBytes json = canonical_json(submission, attestation());
  EXPECT_NE(json.as_string_view().find("\"city\":\"K\xC3\xB8"
                                       "benhavn \xF0\x9F\x8C\x8A\""),
            std::string_view::npos);
  EXPECT_EQ(json.as_string_view().find("\\u"), std::string_view::npos);
}

TEST(CanonicalJson, AttestationReflectsTheHoneypot) {
  ValidatedSubmission submission;
  submission.form_id = "f";
  submission.form_version = 9;
  Attestation a = attestation();
  a.honeypot_empty = false;
  const core::SecretBytes json = canonical_json(submission, a);
  EXPECT_EQ(json.as_string_view(),
            R"({"attestation":{"client_checks":{"honeypot_empty":false,"token":"valid"},)"
            R"("form_id":"f","form_version":9,"received_at":"2026-11-23T18:00:00Z",)"
            R"("reference":"K7M2-9QXD","token_issued_at":"2026-11-23T17:55:00Z"},)"
            R"("fields":{},"format":"sealpost-submission/1"})");
}

TEST(CanonicalJson, IsDeterministic) {
  ValidatedSubmission submission;
  submission.form_id = "f";
  submission.form_version = 1;
  submission.answers.push_back(make("c", FieldType::checkbox, {"x", "y"}));
  const core::SecretBytes first = canonical_json(submission, attestation());
  const core::SecretBytes second = canonical_json(submission, attestation());
  EXPECT_EQ(first.as_string_view(), second.as_string_view());
}

}  // namespace
}  // namespace forms
