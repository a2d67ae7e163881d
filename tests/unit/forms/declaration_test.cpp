#include "forms/declaration.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace forms {
namespace {

constexpr std::string_view kFingerprint = "0123456789ABCDEF0123456789ABCDEF01234567";

std::string intake_toml() {
  std::ifstream in(std::string(SEALPOST_EXAMPLES_DIR) + "/intake.toml");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  const std::string placeholder = "@DEMO_RECIPIENT_FINGERPRINT@";
  for (auto at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder)) {
    text.replace(at, placeholder.size(), kFingerprint);
  }
  return text;
}

// Three header lines, so a field's first key is on line 5.
constexpr std::string_view kHead = R"(id = "f"
title = "T"
recipients = ["ABCD"]
)";

std::string with_field(std::string_view body) {
  return std::string(kHead) + "[[fields]]\n" + std::string(body);
}

// The public text of the error, or "OK".
std::string error_of(std::string_view doc) {
  auto result = parse_declaration(doc);
  if (result) return "OK";
  const std::string& text = result.error().public_text();
  EXPECT_EQ(text.find('\n'), std::string::npos) << "error must be one line";
  return text;
}

TEST(Declaration, IntakeExampleIsAccepted) {
  const std::string text = intake_toml();
  ASSERT_NE(text.find(kFingerprint), std::string::npos) << "example not found or changed";
  auto form = parse_declaration(text);
  ASSERT_TRUE(form) << form.error().public_text();
  EXPECT_EQ(form->id, "intake");
  EXPECT_EQ(form->title, "New patient intake");
  ASSERT_EQ(form->recipients.size(), 1u);
  EXPECT_EQ(form->recipients[0], kFingerprint);
  EXPECT_EQ(form->max_body_bytes, 65536u);
  EXPECT_EQ(form->retention_days, 2190);
  EXPECT_EQ(form->success_message, "Thank you. Your information was received securely.");
  ASSERT_EQ(form->fields.size(), 11u);

  const Field& name = form->fields[0];
  EXPECT_EQ(name.name, "full_name");
  EXPECT_EQ(name.type, FieldType::text);
  EXPECT_TRUE(name.required);
  EXPECT_EQ(name.max_length, 200u);

  const Field& dob = form->fields[1];
  EXPECT_EQ(dob.type, FieldType::date);
  EXPECT_EQ(dob.min_date, "1900-01-01");
  EXPECT_EQ(dob.max_date, "today");

  EXPECT_EQ(form->fields[3].type, FieldType::phone);
  EXPECT_EQ(form->fields[3].region, "US");
  EXPECT_FALSE(form->fields[3].required);

  const Field& reason = form->fields[4];
  EXPECT_EQ(reason.type, FieldType::select);
  ASSERT_EQ(reason.choices.size(), 3u);
  EXPECT_EQ(reason.choices[1].value, "followup");
  EXPECT_EQ(reason.choices[1].label, "Follow-up visit");

  const Field& pain = form->fields[6];
  EXPECT_EQ(pain.type, FieldType::number);
  EXPECT_EQ(pain.min_number, 0.0);
  EXPECT_EQ(pain.max_number, 10.0);
  EXPECT_TRUE(pain.integer);

  EXPECT_EQ(form->fields[7].type, FieldType::checkbox);
  EXPECT_EQ(form->fields[8].type, FieldType::radio);

  const Field& consent = form->fields[9];
  EXPECT_EQ(consent.type, FieldType::consent);
  EXPECT_EQ(consent.consent_version, "2026-01");
  EXPECT_NE(consent.consent_text.find("Notice of Privacy Practices"), std::string::npos);

  EXPECT_EQ(form->fields[10].type, FieldType::signature);
}

TEST(Declaration, MinimalFormGetsDefaults) {
  auto form = parse_declaration(with_field("name = \"a\"\ntype = \"phone\"\nlabel = \"A\"\n"));
  ASSERT_TRUE(form) << form.error().public_text();
  EXPECT_EQ(form->max_body_bytes, 65536u);
  EXPECT_EQ(form->retention_days, 2190);
  EXPECT_TRUE(form->frame_ancestors.empty());
  EXPECT_FALSE(form->fields[0].required);
  EXPECT_EQ(form->fields[0].region, "US");
}

TEST(Declaration, TypeNamesRoundTrip) {
  EXPECT_EQ(to_string(FieldType::textarea), "textarea");
  EXPECT_EQ(to_string(FieldType::signature), "signature");
}

TEST(Declaration, TomlSyntaxErrorHasLineAndColumn) {
  const std::string text = error_of("id = \"f\"\ntitle = \n");
  EXPECT_TRUE(text.starts_with("line 2, column ")) << text;
}

TEST(Declaration, UnterminatedStringIsOneLine) {
  const std::string text = error_of("id = \"f\ntitle = \"x\"\n");
  EXPECT_TRUE(text.starts_with("line 1, column ")) << text;
}

TEST(Declaration, TooLargeIsRefusedBeforeParsing) {
  const std::string big(kMaxDeclarationBytes + 1, '#');
  auto result = parse_declaration(big);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind(), core::ErrorKind::too_large);
  EXPECT_EQ(result.error().public_text(), "the declaration is larger than 256 KiB");
}

TEST(Declaration, MissingRequiredTopLevelKeys) {
  EXPECT_EQ(error_of("title = \"T\"\nrecipients = [\"A\"]\n"), "missing required key \"id\"");
  EXPECT_EQ(error_of("id = \"f\"\nrecipients = [\"A\"]\n"), "missing required key \"title\"");
  EXPECT_EQ(error_of("id = \"f\"\ntitle = \"T\"\n"), "missing required key \"recipients\"");
  EXPECT_EQ(error_of(kHead), "missing required key \"fields\" (add [[fields]] tables)");
}

TEST(Declaration, EmptyTitle) {
  EXPECT_EQ(error_of("id = \"f\"\ntitle = \"\"\n"),
            "line 2, column 9: \"title\" must not be empty");
}

TEST(Declaration, TitleOfWrongType) {
  EXPECT_EQ(error_of("id = \"f\"\ntitle = 3\n"), "line 2, column 9: \"title\" must be a string");
}

TEST(Declaration, InvalidFormId) {
  EXPECT_EQ(error_of("id = \"Intake Form\"\n"),
            "line 1, column 6: form id \"Intake Form\" is invalid: use 1 to 63 lower-case "
            "letters, digits and -, starting with a letter or digit");
  EXPECT_NE(error_of("id = \"-intake\"\n"), "OK");
}

TEST(Declaration, UnknownTopLevelKey) {
  EXPECT_EQ(error_of("id = \"f\"\ntitel = \"T\"\n"),
            "line 2, column 1: unknown key \"titel\"; allowed keys: id, title, description, "
            "recipients, max_body_bytes, retention_days, success_message, frame_ancestors, "
            "notify, notify_mode, copy_to, fields");
}

TEST(Declaration, EmptyRecipients) {
  EXPECT_EQ(error_of("id = \"f\"\ntitle = \"T\"\nrecipients = []\n"),
            "line 3, column 14: \"recipients\" must list at least one key fingerprint");
}

TEST(Declaration, RecipientsMustBeStrings) {
  EXPECT_EQ(error_of("id = \"f\"\ntitle = \"T\"\nrecipients = [1]\n"),
            "line 3, column 15: each entry of \"recipients\" must be a string");
}

TEST(Declaration, EmptyFields) {
  EXPECT_EQ(error_of(std::string(kHead) + "fields = []\n"),
            "line 4, column 10: \"fields\" must list at least one field");
}

TEST(Declaration, FieldsNotTables) {
  EXPECT_EQ(error_of(std::string(kHead) + "fields = [\"a\"]\n"),
            "line 4, column 10: \"fields\" must be an array of tables ([[fields]])");
}

TEST(Declaration, TooManyFields) {
  std::string doc(kHead);
  for (int i = 0; i <= 200; ++i) {
    doc += "[[fields]]\nname = \"f" + std::to_string(i) + "\"\ntype = \"text\"\nlabel = \"L\"\n";
  }
  EXPECT_EQ(error_of(doc), "line 4, column 1: a form may have at most 200 fields");
}

TEST(Declaration, MaxBodyBytesBounds) {
  const std::string field = "[[fields]]\nname = \"a\"\ntype = \"text\"\nlabel = \"A\"\n";
  EXPECT_EQ(error_of(std::string(kHead) + "max_body_bytes = 100\n" + field),
            "line 4, column 18: \"max_body_bytes\" must be between 1024 and 10485760");
  EXPECT_EQ(error_of(std::string(kHead) + "max_body_bytes = 10485761\n" + field),
            "line 4, column 18: \"max_body_bytes\" must be between 1024 and 10485760");
  EXPECT_EQ(error_of(std::string(kHead) + "max_body_bytes = 1024\n" + field), "OK");
}

TEST(Declaration, RetentionDaysBounds) {
  const std::string field = "[[fields]]\nname = \"a\"\ntype = \"text\"\nlabel = \"A\"\n";
  EXPECT_EQ(error_of(std::string(kHead) + "retention_days = 0\n" + field),
            "line 4, column 18: \"retention_days\" must be between 1 and 36500");
  EXPECT_EQ(error_of(std::string(kHead) + "retention_days = 36501\n" + field),
            "line 4, column 18: \"retention_days\" must be between 1 and 36500");
  EXPECT_EQ(error_of(std::string(kHead) + "retention_days = 1.5\n" + field),
            "line 4, column 18: \"retention_days\" must be an integer");
}

TEST(Declaration, FrameAncestors) {
  const std::string field = "[[fields]]\nname = \"a\"\ntype = \"text\"\nlabel = \"A\"\n";
  auto doc = [&](std::string_view origins) {
    return std::string(kHead) + "frame_ancestors = [" + std::string(origins) + "]\n" + field;
  };
  auto ok = parse_declaration(doc(R"("https://clinic.example.org", "https://a.example:8443")"));
  ASSERT_TRUE(ok) << ok.error().public_text();
  EXPECT_EQ(ok->frame_ancestors.size(), 2u);
  EXPECT_EQ(error_of(doc(R"("http://clinic.example.org")")),
            "line 4, column 20: frame ancestor \"http://clinic.example.org\" is invalid: use an "
            "origin like \"https://example.org\" or \"https://example.org:8443\"");
  EXPECT_NE(error_of(doc(R"("https://clinic.example.org/")")), "OK");
  EXPECT_NE(error_of(doc(R"("https://*.example.org")")), "OK");
  EXPECT_NE(error_of(doc(R"("https://a.example:99999")")), "OK");
  EXPECT_NE(error_of(doc(R"("https://a.example; script-src *")")), "OK");
  EXPECT_NE(error_of(doc(R"("https://")")), "OK");
}

TEST(Declaration, Notify) {
  const std::string field = "[[fields]]\nname = \"a\"\ntype = \"text\"\nlabel = \"A\"\n";
  auto doc = [&](std::string_view list) {
    return std::string(kHead) + "notify = [" + std::string(list) + "]\n" + field;
  };
  auto ok = parse_declaration(doc(R"("Front.Desk@Clinic.Example", "it@clinic.example")"));
  ASSERT_TRUE(ok) << ok.error().public_text();
  EXPECT_EQ(ok->notify,
            (std::vector<std::string>{"Front.Desk@clinic.example", "it@clinic.example"}));
  EXPECT_TRUE(parse_declaration(doc(""))->notify.empty());
  EXPECT_EQ(error_of(std::string(kHead) + "notify = \"a@b.example\"\n" + field),
            "line 4, column 10: \"notify\" must be an array of e-mail addresses");
  EXPECT_NE(
      error_of(doc(R"("not an address")")).find("notify address \"not an address\" is invalid"),
      std::string::npos);
  EXPECT_NE(error_of(doc(R"("a@b.example\r\nBcc: x@evil.example")")), "OK");
  EXPECT_EQ(error_of(doc(R"("a@b.example", "a@B.example")")),
            "line 4, column 26: notify address \"a@B.example\" is listed twice");
  std::string many;
  for (std::size_t i = 0; i <= kMaxNotify; ++i) many += "\"r" + std::to_string(i) + "@b.example\",";
  EXPECT_EQ(error_of(doc(many)), "line 4, column 10: \"notify\" may name at most 20 addresses");
}

TEST(Declaration, NotifyMode) {
  const std::string field = "[[fields]]\nname = \"a\"\ntype = \"text\"\nlabel = \"A\"\n";
  auto doc = [&](std::string_view notify, std::string_view mode) {
    return std::string(kHead) + std::string(notify) + "notify_mode = " + std::string(mode) + "\n" +
           field;
  };
  const std::string desk = "notify = [\"desk@clinic.example\"]\n";
  EXPECT_EQ(parse_declaration(std::string(kHead) + desk + field)->notify_mode, NotifyMode::link);
  EXPECT_EQ(parse_declaration(doc(desk, "\"link\""))->notify_mode, NotifyMode::link);
  auto pgp = parse_declaration(doc(desk, "\"pgp\""));
  ASSERT_TRUE(pgp) << pgp.error().public_text();
  EXPECT_EQ(pgp->notify_mode, NotifyMode::pgp);
  auto smime = parse_declaration(doc(desk, "\"smime\""));
  ASSERT_TRUE(smime) << smime.error().public_text();
  EXPECT_EQ(smime->notify_mode, NotifyMode::smime);
  EXPECT_NE(error_of(doc("", "\"smime\"")).find("notify_mode \"smime\" needs addresses"),
            std::string::npos);
  EXPECT_NE(error_of(doc(desk, "\"PGP\"")).find("notify_mode \"PGP\" is not one of"),
            std::string::npos);
  EXPECT_NE(error_of(doc(desk, "1")), "OK");
  EXPECT_NE(error_of(doc("", "\"pgp\"")).find("needs addresses in \"notify\""), std::string::npos);
}

TEST(Declaration, CopyTo) {
  // kHead is three lines: copy_to on line 4.
  auto doc = [](std::string_view copy_to) {
    return std::string(kHead) + "copy_to = " + std::string(copy_to) + "\n" +
           "[[fields]]\nname = \"name\"\ntype = \"text\"\nlabel = \"Name\"\n"
           "[[fields]]\nname = \"mail\"\ntype = \"email\"\nlabel = \"E-mail\"\n";
  };
  auto ok = parse_declaration(doc("\"mail\""));
  ASSERT_TRUE(ok) << ok.error().public_text();
  EXPECT_EQ(ok->copy_to, "mail");
  // Absent: no copy offered.
  EXPECT_EQ(parse_declaration(std::string(kHead) + "[[fields]]\nname = \"a\"\ntype = "
                                                   "\"email\"\nlabel = \"A\"\n")
                ->copy_to,
            "");
  EXPECT_EQ(error_of(doc("\"email\"")),
            "line 4, column 11: copy_to \"email\" is not a field of this form");
  EXPECT_EQ(error_of(doc("\"name\"")),
            "line 4, column 11: copy_to \"name\" must name a field of type \"email\", not "
            "\"text\"");
  EXPECT_EQ(error_of(doc("1")).rfind("line 4, column 11: ", 0), 0u) << error_of(doc("1"));
}

TEST(Declaration, FieldWithoutName) {
  EXPECT_EQ(error_of(with_field("type = \"text\"\nlabel = \"A\"\n")),
            "line 4, column 1: a field has no \"name\"");
}

TEST(Declaration, InvalidFieldName) {
  EXPECT_EQ(error_of(with_field("name = \"Full Name\"\ntype = \"text\"\nlabel = \"A\"\n")),
            "line 5, column 8: field name \"Full Name\" is invalid: use 1 to 64 lower-case "
            "letters, digits and _, starting with a letter");
  EXPECT_NE(error_of(with_field("name = \"1a\"\ntype = \"text\"\nlabel = \"A\"\n")), "OK");
  EXPECT_NE(error_of(with_field("name = \"" + std::string(65, 'a') +
                                "\"\ntype = \"text\"\nlabel = \"A\"\n")),
            "OK");
  EXPECT_EQ(error_of(with_field("name = \"" + std::string(64, 'a') +
                                "\"\ntype = \"text\"\nlabel = \"A\"\n")),
            "OK");
}

TEST(Declaration, ControlCharactersInNamesAreEscapedInTheMessage) {
  const std::string text =
      error_of(with_field("name = \"a\\nb\"\ntype = \"text\"\nlabel = \"A\"\n"));
  EXPECT_NE(text.find("\"a\\x0ab\""), std::string::npos) << text;
}

TEST(Declaration, DuplicateFieldName) {
  const std::string field = "name = \"a\"\ntype = \"text\"\nlabel = \"A\"\n";
  EXPECT_EQ(error_of(with_field(field + "[[fields]]\n" + field)),
            "line 9, column 8: field name \"a\" is used twice (first on line 5)");
}

TEST(Declaration, MissingType) {
  EXPECT_EQ(error_of(with_field("name = \"a\"\nlabel = \"A\"\n")),
            "line 4, column 1: field \"a\": missing required key \"type\"");
}

TEST(Declaration, UnknownTypeListsTheAllowedOnes) {
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"colour\"\nlabel = \"A\"\n")),
            "line 6, column 8: field \"a\": unknown type \"colour\"; allowed types: text, "
            "textarea, email, phone, number, date, select, radio, checkbox, consent, signature");
}

TEST(Declaration, FileTypeIsNotSupportedYet) {
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"file\"\nlabel = \"A\"\n")),
            "line 6, column 8: field \"a\": type \"file\" is not supported yet");
}

TEST(Declaration, MissingLabel) {
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"text\"\n")),
            "line 4, column 1: field \"a\": missing required key \"label\"");
}

TEST(Declaration, EmptyLabel) {
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"text\"\nlabel = \"\"\n")),
            "line 7, column 9: field \"a\": \"label\" must not be empty");
}

TEST(Declaration, RequiredMustBeBoolean) {
  EXPECT_EQ(
      error_of(with_field("name = \"a\"\ntype = \"text\"\nlabel = \"A\"\nrequired = \"yes\"\n")),
      "line 8, column 12: field \"a\": \"required\" must be true or false");
}

TEST(Declaration, UnknownFieldKey) {
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"text\"\nlable = \"A\"\n")),
            "line 7, column 1: field \"a\": unknown key \"lable\"");
}

TEST(Declaration, MisspeltTypeKeyIsReportedAsUnknown) {
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntpye = \"text\"\nlabel = \"A\"\n")),
            "line 6, column 1: field \"a\": unknown key \"tpye\"");
  EXPECT_EQ(error_of(with_field("nmae = \"a\"\ntype = \"text\"\nlabel = \"A\"\n")),
            "line 5, column 1: unknown key \"nmae\"");
}

TEST(Declaration, OptionNotValidForType) {
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"text\"\nlabel = \"A\"\n"
                                "choices = [{ value = \"x\", label = \"X\" }]\n")),
            "line 8, column 1: field \"a\": \"choices\" is not valid for a field of type \"text\"");
  EXPECT_EQ(
      error_of(with_field("name = \"a\"\ntype = \"number\"\nlabel = \"A\"\nmax_length = 3\n")),
      "line 8, column 1: field \"a\": \"max_length\" is not valid for a field of type "
      "\"number\"");
  EXPECT_EQ(
      error_of(with_field("name = \"a\"\ntype = \"textarea\"\nlabel = \"A\"\npattern = \"x\"\n")),
      "line 8, column 1: field \"a\": \"pattern\" is not valid for a field of type "
      "\"textarea\"");
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"date\"\nlabel = \"A\"\ninteger = true\n")),
            "line 8, column 1: field \"a\": \"integer\" is not valid for a field of type \"date\"");
}

TEST(Declaration, MaxLengthBounds) {
  auto doc = [](std::string_view type, std::string_view value) {
    return with_field("name = \"a\"\ntype = \"" + std::string(type) + "\"\nlabel = \"A\"\n" +
                      "max_length = " + std::string(value) + "\n");
  };
  EXPECT_EQ(error_of(doc("text", "0")),
            "line 8, column 14: field \"a\": \"max_length\" must be between 1 and 100000");
  EXPECT_EQ(error_of(doc("textarea", "100001")),
            "line 8, column 14: field \"a\": \"max_length\" must be between 1 and 100000");
  EXPECT_EQ(error_of(doc("textarea", "100000")), "OK");
  EXPECT_EQ(error_of(doc("signature", "201")),
            "line 8, column 14: field \"a\": \"max_length\" must be between 1 and 200");
  EXPECT_EQ(error_of(doc("email", "255")),
            "line 8, column 14: field \"a\": \"max_length\" must be between 1 and 254");
  EXPECT_EQ(error_of(doc("text", "\"10\"")),
            "line 8, column 14: field \"a\": \"max_length\" must be an integer");
}

TEST(Declaration, MinLengthGreaterThanMaxLength) {
  EXPECT_EQ(
      error_of(with_field("name = \"a\"\ntype = \"text\"\nlabel = \"A\"\n"
                          "max_length = 5\nmin_length = 6\n")),
      "line 9, column 14: field \"a\": \"min_length\" must not be greater than \"max_length\"");
}

TEST(Declaration, PatternMustCompile) {
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"text\"\nlabel = \"A\"\n"
                                "pattern = \"([a-z]\"\n")),
            "line 8, column 11: field \"a\": \"pattern\" is not a valid regular expression");
}

TEST(Declaration, PatternLengthIsBounded) {
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"text\"\nlabel = \"A\"\npattern = \"" +
                                std::string(201, 'a') + "\"\n")),
            "line 8, column 11: field \"a\": \"pattern\" is longer than 200 characters");
}

TEST(Declaration, PatternNeedsAShortField) {
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"text\"\nlabel = \"A\"\n"
                                "max_length = 5000\npattern = \"[0-9]+\"\n")),
            "line 8, column 14: field \"a\": a field with a \"pattern\" may allow at most 1000 "
            "characters");
  auto form = parse_declaration(
      with_field("name = \"a\"\ntype = \"text\"\nlabel = \"A\"\npattern = \"[0-9]{5}\"\n"));
  ASSERT_TRUE(form) << form.error().public_text();
  EXPECT_EQ(form->fields[0].pattern, "[0-9]{5}");
}

// The error for a text field "a" whose pattern is `pattern` (a TOML literal string, so
// backslashes are the pattern's own), or "OK".
std::string pattern_error(std::string_view pattern) {
  return error_of(with_field("name = \"a\"\ntype = \"text\"\nlabel = \"A\"\npattern = '" +
                             std::string(pattern) + "'\n"));
}

TEST(Declaration, PatternMayNotRepeatAVaryingGroup) {
  const std::string expected =
      "line 8, column 11: field \"a\": \"pattern\" may not repeat a group that itself repeats "
      "or alternates ((a+)*, (a|b)+)";
  for (std::string_view pattern :
       {"(a+)+", "(a|aa)*", "(?:x*)*", "([A-Za-z]+ ?)*", "(a|b)+", "(a?){2,}", "(a{1,3}){2,5}",
        "(a*){3}", "(ab|cd){1,}", "^((x)?y)+$", "((a+)b)*", "(a(b|c)d)+", "[a-z]+(( [a-z]+)+)?",
        "(?:(?:a+))+", "x(a+)+?"}) {
    EXPECT_EQ(pattern_error(pattern), expected) << pattern;
  }
}

TEST(Declaration, PatternMayNotStackQuantifiers) {
  const std::string expected =
      "line 8, column 11: field \"a\": \"pattern\" may not put a quantifier directly after "
      "another (a**, a+*)";
  for (std::string_view pattern : {"a**", "a+*", "[0-9]{2}*", "(a)?+", "a???"}) {
    EXPECT_EQ(pattern_error(pattern), expected) << pattern;
  }
}

TEST(Declaration, PatternMayNotUseBackreferences) {
  for (std::string_view pattern : {R"((a)\1)", R"((a)(b)\2+)", R"(([a-z])x\9)"}) {
    EXPECT_EQ(pattern_error(pattern),
              "line 8, column 11: field \"a\": \"pattern\" may not use a backreference (\\1)")
        << pattern;
  }
}

TEST(Declaration, PatternMayNotUseLookaround) {
  for (std::string_view pattern : {"(?=a)", "x(?!y)[a-z]", "(?<=a)b", "(?<!a)b"}) {
    EXPECT_EQ(pattern_error(pattern),
              "line 8, column 11: field \"a\": \"pattern\" may not use lookahead or lookbehind "
              "((?=...), (?!...))")
        << pattern;
  }
}

TEST(Declaration, PatternHazardPointsAtTheValue) {
  const std::string doc =
      with_field("name = \"a\"\ntype = \"text\"\nlabel = \"A\"\n\n\n    pattern   =  \"(a+)+\"\n");
  EXPECT_EQ(error_of(doc).substr(0, 20), "line 10, column 18: ");
}

// Escaped and bracketed metacharacters are literals, so none of these repeats a varying
// group, and ordinary format checks stay allowed.
TEST(Declaration, OrdinaryPatternsAreAccepted) {
  for (std::string_view pattern : {
           "[A-Z]{2}[0-9]{6}",
           "^[0-9]{5}(-[0-9]{4})?$",
           R"((\+?[0-9 ]{7,20}))",
           "[a-z]+( [a-z]+)?",
           R"(\(a+\)+)",            // literal parentheses
           R"((a\*)+)",             // literal star inside a repeated group
           R"((a\|b)+)",            // literal bar
           "([(*|+?])+",            // a class: metacharacters are literal
           R"(([\]*|])+)",          // an escaped ']' does not end the class
           "([[:alpha:]])+",        // a named class inside a class
           "(?:ab)+",               // a fixed group may repeat
           "([0-9]{3}-)+[0-9]{4}",  // {n} does not vary
           "(a{2,2})*",
           "(a+){1}",    // {1} does not repeat
           "(a|b)?c",    // an optional group does not repeat
           "a+?b*?c??",  // lazy quantifiers
           R"(\d{3}\s\w+\.)",
           R"(\0)",
       }) {
    EXPECT_EQ(pattern_error(pattern), "OK") << pattern;
  }
}

TEST(Declaration, NumberBoundsMustBeNumbers) {
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"number\"\nlabel = \"A\"\nmin = \"0\"\n")),
            "line 8, column 7: field \"a\": \"min\" must be a finite number");
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"number\"\nlabel = \"A\"\nmax = nan\n")),
            "line 8, column 7: field \"a\": \"max\" must be a finite number");
  auto form = parse_declaration(
      with_field("name = \"a\"\ntype = \"number\"\nlabel = \"A\"\nmin = -1.5\nmax = 7\n"));
  ASSERT_TRUE(form) << form.error().public_text();
  EXPECT_EQ(form->fields[0].min_number, -1.5);
  EXPECT_EQ(form->fields[0].max_number, 7.0);
}

TEST(Declaration, NumberMinGreaterThanMax) {
  EXPECT_EQ(
      error_of(with_field("name = \"a\"\ntype = \"number\"\nlabel = \"A\"\nmin = 10\nmax = 1\n")),
      "line 8, column 7: field \"a\": \"min\" must not be greater than \"max\"");
}

TEST(Declaration, DateBounds) {
  auto doc = [](std::string_view bounds) {
    return with_field("name = \"a\"\ntype = \"date\"\nlabel = \"A\"\n" + std::string(bounds));
  };
  EXPECT_EQ(error_of(doc("min = \"01/02/2000\"\n")),
            "line 8, column 7: field \"a\": \"min\" must be a date \"YYYY-MM-DD\" or \"today\"");
  EXPECT_EQ(error_of(doc("max = \"2023-02-29\"\n")),
            "line 8, column 7: field \"a\": \"max\" must be a date \"YYYY-MM-DD\" or \"today\"");
  EXPECT_EQ(error_of(doc("min = 2000-01-01\n")),
            "line 8, column 7: field \"a\": \"min\" must be a string");
  EXPECT_EQ(error_of(doc("min = \"2000-01-02\"\nmax = \"2000-01-01\"\n")),
            "line 8, column 7: field \"a\": \"min\" must not be after \"max\"");
  EXPECT_EQ(error_of(doc("min = \"2024-02-29\"\nmax = \"today\"\n")), "OK");
}

TEST(Declaration, ChoicesRequiredAndNonEmpty) {
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"select\"\nlabel = \"A\"\n")),
            "line 4, column 1: field \"a\": missing required key \"choices\"");
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"radio\"\nlabel = \"A\"\nchoices = []\n")),
            "line 8, column 11: field \"a\": \"choices\" must not be empty");
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"radio\"\nlabel = \"A\"\n"
                                "choices = [\"x\"]\n")),
            "line 8, column 12: field \"a\": each choice must be a table like "
            "{ value = \"a\", label = \"A\" }");
}

TEST(Declaration, ChoiceValuesUniqueAndWellFormed) {
  auto doc = [](std::string_view choices) {
    return with_field("name = \"a\"\ntype = \"checkbox\"\nlabel = \"A\"\nchoices = [" +
                      std::string(choices) + "]\n");
  };
  EXPECT_EQ(error_of(doc(R"({ value = "x", label = "X" }, { value = "x", label = "Y" })")),
            "line 8, column 52: field \"a\": choice value \"x\" is listed twice");
  EXPECT_EQ(error_of(doc(R"({ value = "a b", label = "X" })")),
            "line 8, column 22: field \"a\": choice value \"a b\" is invalid: use 1 to 64 "
            "letters, digits, _ and -");
  EXPECT_EQ(error_of(doc(R"({ value = "x", label = "" })")),
            "line 8, column 35: field \"a\": a choice's \"label\" must not be empty");
  EXPECT_EQ(error_of(doc(R"({ value = "x" })")),
            "line 8, column 12: field \"a\": each choice needs a \"value\" and a \"label\"");
  EXPECT_EQ(error_of(doc(R"({ value = "x", label = "X", selected = true })")),
            "line 8, column 40: field \"a\": unknown key \"selected\" in a choice; allowed keys: "
            "value, label");
}

TEST(Declaration, ConsentNeedsTextAndVersion) {
  EXPECT_EQ(
      error_of(with_field("name = \"a\"\ntype = \"consent\"\nlabel = \"A\"\nversion = \"1\"\n")),
      "line 4, column 1: field \"a\": missing required key \"text\"");
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"consent\"\nlabel = \"A\"\ntext = \"T\"\n")),
            "line 4, column 1: field \"a\": missing required key \"version\"");
  EXPECT_EQ(error_of(with_field("name = \"a\"\ntype = \"consent\"\nlabel = \"A\"\ntext = \"T\"\n"
                                "version = \"\"\n")),
            "line 9, column 11: field \"a\": \"version\" must not be empty");
}

TEST(Declaration, PhoneRegion) {
  EXPECT_EQ(
      error_of(with_field("name = \"a\"\ntype = \"phone\"\nlabel = \"A\"\nregion = \"usa\"\n")),
      "line 8, column 10: field \"a\": \"region\" must be a two-letter upper-case country "
      "code known to the phone library, like \"US\"");
  EXPECT_NE(
      error_of(with_field("name = \"a\"\ntype = \"phone\"\nlabel = \"A\"\nregion = \"QQ\"\n")),
      "OK");
  auto form = parse_declaration(
      with_field("name = \"a\"\ntype = \"phone\"\nlabel = \"A\"\nregion = \"DE\"\n"));
  ASSERT_TRUE(form) << form.error().public_text();
  EXPECT_EQ(form->fields[0].region, "DE");
}

}  // namespace
}  // namespace forms
