// F14: the submitter's copy: its address, subject and text body.
#include "forms/submitter_copy.hpp"

#include <gtest/gtest.h>

#include <string>

namespace forms {
namespace {

Field field(std::string name, FieldType type, std::string label) {
  Field f;
  f.name = std::move(name);
  f.type = type;
  f.label = std::move(label);
  return f;
}

FormDeclaration form() {
  FormDeclaration d;
  d.id = "intake";
  d.title = "New patient intake";
  d.fields.push_back(field("full_name", FieldType::text, "Full name"));
  d.fields.push_back(field("email", FieldType::email, "Email address"));
  Field methods = field("contact_methods", FieldType::checkbox, "How may we contact you?");
  methods.choices = {{"email", "By e-mail"}, {"phone", "By phone"}, {"post", "By post"}};
  d.fields.push_back(methods);
  d.fields.push_back(field("notes", FieldType::textarea, "Anything else"));
  d.fields.push_back(field("phone", FieldType::phone, "Phone number"));
  Field consent = field("privacy", FieldType::consent, "I agree");
  consent.consent_version = "2026-01";
  d.fields.push_back(consent);
  d.fields.push_back(field("signature", FieldType::signature, "Signature"));
  d.copy_to = "email";
  return d;
}

Answer answer(std::string name, FieldType type, std::vector<std::string> values) {
  Answer a;
  a.name = std::move(name);
  a.type = type;
  a.values = std::move(values);
  return a;
}

ValidatedSubmission submission() {
  ValidatedSubmission s;
  s.form_id = "intake";
  s.form_version = 1;
  s.answers.push_back(answer("full_name", FieldType::text, {"Jürgen Doe"}));
  s.answers.push_back(answer("email", FieldType::email, {"jurgen@example.org"}));
  s.answers.push_back(answer("contact_methods", FieldType::checkbox, {"email", "post"}));
  s.answers.push_back(answer("notes", FieldType::textarea, {"line one\nline two"}));
  // phone left empty: no answer
  Answer consent = answer("privacy", FieldType::consent, {"true"});
  consent.consent_version = "2026-01";
  s.answers.push_back(std::move(consent));
  s.answers.push_back(answer("signature", FieldType::signature, {"Jürgen Doe"}));
  return s;
}

TEST(SubmitterCopy, AddressIsTheCopyToAnswer) {
  EXPECT_EQ(copy_address(form(), submission()), "jurgen@example.org");
  FormDeclaration no_copy = form();
  no_copy.copy_to.clear();
  EXPECT_EQ(copy_address(no_copy, submission()), std::nullopt);
  ValidatedSubmission left_empty = submission();
  left_empty.answers.erase(left_empty.answers.begin() + 1);
  EXPECT_EQ(copy_address(form(), left_empty), std::nullopt);
}

TEST(SubmitterCopy, SubjectNamesTheReferenceAndTheForm) {
  EXPECT_EQ(copy_subject(form(), "7Q4K-M2XD-AB12"),
            "Your submission 7Q4K-M2XD-AB12 to New patient intake");
}

TEST(SubmitterCopy, TextHasReferenceTimeThenEachFieldInOrder) {
  // 2026-11-23T18:00:00Z
  const auto text = copy_text(form(), submission(), "7Q4K-M2XD-AB12", 1795456800);
  const std::string body(text.as_string_view());
  const std::string expected =
      "This is the copy you asked for of what you sent with the form \"New patient intake\".\n"
      "\n"
      "Reference: 7Q4K-M2XD-AB12\n"
      "Received: 2026-11-23T18:00:00Z\n"
      "\n"
      "Full name: Jürgen Doe\n"
      "Email address: jurgen@example.org\n"
      "How may we contact you?: By e-mail, By post\n"
      "Anything else:\n"
      "  line one\n"
      "  line two\n"
      "Phone number: (left empty)\n"
      "I agree: Yes (version 2026-01)\n"
      "Signature: Jürgen Doe (signed at 2026-11-23T18:00:00Z)\n";
  EXPECT_EQ(body.substr(0, expected.size()), expected);
  // Reserved inputs never appear.
  EXPECT_EQ(body.find("_copy"), std::string::npos);
  EXPECT_EQ(body.find("_website"), std::string::npos);
  EXPECT_EQ(body.find("_token"), std::string::npos);
}

TEST(SubmitterCopy, AFieldWithoutLabelIsNamed) {
  FormDeclaration d = form();
  d.fields[0].label.clear();
  const auto text = copy_text(d, submission(), "7Q4K-M2XD-AB12", 0);
  EXPECT_NE(text.as_string_view().find("full_name: Jürgen Doe\n"), std::string_view::npos);
}

}  // namespace
}  // namespace forms
