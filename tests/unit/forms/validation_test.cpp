#include "forms/validation.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace forms {
namespace {

constexpr std::string_view kToday = "2026-11-23";

constexpr std::string_view kForm = R"toml(
id = "v"
title = "Validation"
recipients = ["X"]

[[fields]]
name = "name"
type = "text"
label = "Name"
required = true
max_length = 10

[[fields]]
name = "city"
type = "text"
label = "City"

[[fields]]
name = "code"
type = "text"
label = "Code"
pattern = "[A-Z]{3}[0-9]{2}"

[[fields]]
name = "word"
type = "text"
label = "Word"
pattern = "[a-z]*"
min_length = 2

[[fields]]
name = "notes"
type = "textarea"
label = "Notes"

[[fields]]
name = "email"
type = "email"
label = "Email"

[[fields]]
name = "phone"
type = "phone"
label = "Phone"

[[fields]]
name = "phone_de"
type = "phone"
label = "Phone (Germany)"
region = "DE"

[[fields]]
name = "count"
type = "number"
label = "Count"
integer = true
min = 0
max = 10

[[fields]]
name = "amount"
type = "number"
label = "Amount"

[[fields]]
name = "floor"
type = "number"
label = "Floor"
min = -2.5

[[fields]]
name = "dob"
type = "date"
label = "Date of birth"
min = "1900-01-01"
max = "today"

[[fields]]
name = "colour"
type = "select"
label = "Colour"
choices = [{ value = "red", label = "Red" }, { value = "green", label = "Green" }]

[[fields]]
name = "size"
type = "radio"
label = "Size"
choices = [{ value = "s", label = "Small" }, { value = "m", label = "Medium" }]

[[fields]]
name = "contact"
type = "checkbox"
label = "Contact"
choices = [
  { value = "email", label = "Email" },
  { value = "phone", label = "Phone" },
  { value = "mail", label = "Post" },
]

[[fields]]
name = "consent"
type = "consent"
label = "Consent"
text = "I agree."
version = "2026-01"

[[fields]]
name = "sig"
type = "signature"
label = "Signature"
)toml";

const FormDeclaration& form() {
  static const FormDeclaration declaration = [] {
    auto parsed = parse_declaration(kForm);
    if (!parsed) throw std::runtime_error(parsed.error().public_text());
    return std::move(*parsed);
  }();
  return declaration;
}

// Validates `extra` together with the one required field.
ValidationOutcome run(FieldPairs extra) {
  FieldPairs pairs{{"name", "Ann"}};
  for (auto& pair : extra) pairs.push_back(std::move(pair));
  return validate(form(), 7, pairs, kToday);
}

const Answer* answer(const ValidationOutcome& outcome, std::string_view name) {
  for (const auto& a : outcome.submission.answers) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

// The stored value of a field that must validate.
std::string accepted(std::string_view field, std::string value) {
  const ValidationOutcome outcome = run({{std::string(field), std::move(value)}});
  if (!outcome.ok) {
    ADD_FAILURE() << field << ": " << outcome.errors.front().message;
    return "<error>";
  }
  const Answer* a = answer(outcome, field);
  if (a == nullptr) return "<omitted>";
  EXPECT_EQ(a->values.size(), 1u);
  return a->values.front();
}

// The error message for a field that must fail.
std::string refused(std::string_view field, std::string value) {
  const ValidationOutcome outcome = run({{std::string(field), std::move(value)}});
  if (outcome.ok) return "<accepted>";
  EXPECT_EQ(outcome.errors.size(), 1u);
  EXPECT_EQ(outcome.errors.front().field, field);
  return outcome.errors.front().message;
}

TEST(Validation, MinimalSubmission) {
  const ValidationOutcome outcome = run({});
  ASSERT_TRUE(outcome.ok);
  EXPECT_TRUE(outcome.errors.empty());
  EXPECT_EQ(outcome.submission.form_id, "v");
  EXPECT_EQ(outcome.submission.form_version, 7);
  ASSERT_EQ(outcome.submission.answers.size(), 1u);
  EXPECT_EQ(outcome.submission.answers[0].name, "name");
  EXPECT_EQ(outcome.submission.answers[0].type, FieldType::text);
  EXPECT_EQ(outcome.submission.answers[0].values, std::vector<std::string>{"Ann"});
}

TEST(Validation, RequiredFieldMissingOrBlank) {
  for (const FieldPairs& pairs :
       {FieldPairs{}, FieldPairs{{"name", ""}}, FieldPairs{{"name", " \t\xC2\xA0 "}}}) {
    const ValidationOutcome outcome = validate(form(), 1, pairs, kToday);
    ASSERT_FALSE(outcome.ok);
    ASSERT_EQ(outcome.errors.size(), 1u);
    EXPECT_EQ(outcome.errors[0].field, "name");
    EXPECT_EQ(outcome.errors[0].message, "This field is required.");
  }
}

TEST(Validation, OptionalEmptyFieldsAreOmitted) {
  const ValidationOutcome outcome =
      run({{"city", ""}, {"notes", " \r\n "}, {"colour", ""}, {"count", ""}, {"contact", ""}});
  ASSERT_TRUE(outcome.ok);
  EXPECT_EQ(outcome.submission.answers.size(), 1u);
}

TEST(Validation, UnknownFieldIsAFormLevelError) {
  const ValidationOutcome outcome = run({{"is_admin", "1"}});
  ASSERT_FALSE(outcome.ok);
  ASSERT_EQ(outcome.errors.size(), 1u);
  EXPECT_EQ(outcome.errors[0].field, "");
  EXPECT_EQ(outcome.errors[0].message,
            "The form contained an unexpected field. Please reload the page and try again.");
}

TEST(Validation, RepeatedSingleValuedField) {
  EXPECT_EQ(refused("city", "Paris"), "<accepted>");
  const ValidationOutcome outcome = run({{"city", "Paris"}, {"city", "Rome"}});
  ASSERT_FALSE(outcome.ok);
  ASSERT_EQ(outcome.errors.size(), 1u);
  EXPECT_EQ(outcome.errors[0].field, "city");
  EXPECT_EQ(outcome.errors[0].message, "This field was sent more than once.");
}

TEST(Validation, ErrorsComeInDeclarationOrder) {
  const ValidationOutcome outcome =
      validate(form(), 1, {{"sig", std::string(201, 'x')}, {"email", "bad"}, {"zzz", "1"}}, kToday);
  ASSERT_FALSE(outcome.ok);
  ASSERT_EQ(outcome.errors.size(), 4u);
  EXPECT_EQ(outcome.errors[0].field, "");
  EXPECT_EQ(outcome.errors[1].field, "name");
  EXPECT_EQ(outcome.errors[2].field, "email");
  EXPECT_EQ(outcome.errors[3].field, "sig");
  EXPECT_TRUE(outcome.submission.answers.empty());
}

TEST(Validation, NormalisesToNfc) {
  EXPECT_EQ(accepted("city",
                     "Mont-re\xCC\x81"
                     "al"),
            "Mont-r\xC3\xA9"
            "al");
  // Already composed text is unchanged.
  EXPECT_EQ(accepted("city",
                     "Montr\xC3\xA9"
                     "al"),
            "Montr\xC3\xA9"
            "al");
  // Hangul jamo compose too.
  EXPECT_EQ(accepted("city", "\xE1\x84\x80\xE1\x85\xA1"), "\xEA\xB0\x80");
}

TEST(Validation, StripsControlCharacters) {
  // C0 (U+0001, ESC), DEL and C1 (U+0085, U+009B) are removed.
  EXPECT_EQ(accepted("city", "Pa\x01r\x1B[31mi\x7Fs\xC2\x85\xC2\x9B"), "Par[31mis");
  // Single-line: tabs become spaces, line breaks disappear.
  EXPECT_EQ(accepted("city", "New\tYork"), "New York");
  EXPECT_EQ(accepted("city", "New\r\nYork\n"), "NewYork");
}

TEST(Validation, StrippingThenComposing) {
  // A control character between a letter and its combining accent must not block NFC.
  EXPECT_EQ(accepted("city", "e\x01\xCC\x81"), "\xC3\xA9");
}

TEST(Validation, TextareaKeepsLinesAndNormalisesBreaks) {
  EXPECT_EQ(accepted("notes", "one\r\ntwo\rthree\nfour\r\n\r\n\tfive\x0B"),
            "one\ntwo\nthree\nfour\n\n\tfive");
}

TEST(Validation, TrimsSurroundingWhitespace) {
  EXPECT_EQ(accepted("city", "  \xC2\xA0Oslo\xE2\x80\x83 "), "Oslo");
  EXPECT_EQ(accepted("notes", "\n\n  first\n  second  \n\n"), "first\n  second");
  EXPECT_EQ(accepted("city", "San  Jose"), "San  Jose");  // inner spaces kept
}

TEST(Validation, InvalidUtf8IsRefused) {
  EXPECT_EQ(refused("city", "Pa\xFFris"), "This field contains characters that are not allowed.");
}

TEST(Validation, LengthsCountCodePoints) {
  std::string ten;
  for (int i = 0; i < 10; ++i) ten += "\xC3\xA9";
  const ValidationOutcome ok = validate(form(), 1, {{"name", ten}}, kToday);
  EXPECT_TRUE(ok.ok);
  const ValidationOutcome too_long = validate(form(), 1, {{"name", ten + "x"}}, kToday);
  ASSERT_FALSE(too_long.ok);
  EXPECT_EQ(too_long.errors[0].message, "Please use at most 10 characters.");
}

TEST(Validation, DefaultMaximumLengths) {
  EXPECT_EQ(accepted("city", std::string(1000, 'a')), std::string(1000, 'a'));
  EXPECT_EQ(refused("city", std::string(1001, 'a')), "Please use at most 1000 characters.");
  EXPECT_EQ(accepted("notes", std::string(20000, 'a')).size(), 20000u);
  EXPECT_EQ(refused("notes", std::string(20001, 'a')), "Please use at most 20000 characters.");
}

TEST(Validation, MinimumLength) {
  EXPECT_EQ(refused("word", "a"), "Please use at least 2 characters.");
  EXPECT_EQ(accepted("word", "ab"), "ab");
}

TEST(Validation, PatternMustMatchTheWholeValue) {
  EXPECT_EQ(accepted("code", "ABC12"), "ABC12");
  EXPECT_EQ(refused("code", "ABC123"), "Please match the requested format.");
  EXPECT_EQ(refused("code", "xABC12"), "Please match the requested format.");
  EXPECT_EQ(refused("code", "abc12"), "Please match the requested format.");
}

TEST(Validation, PatternOnTheLongestAllowedInputDoesNotExhaustTheStack) {
  EXPECT_EQ(accepted("word", std::string(1000, 'z')), std::string(1000, 'z'));
  EXPECT_EQ(refused("word", std::string(999, 'z') + "A"), "Please match the requested format.");
}

// The declaration refuses patterns whose matching can blow up (declaration_test.cpp);
// every accepted sample finishes on the longest input a pattern field allows (1000
// characters), including near-misses that make a backtracking matcher retry. No clock:
// the proof is that the test completes.
TEST(Validation, AcceptedPatternsFinishOnTheLongestInput) {
  // The last two backtrack polynomially in a backtracking engine (seconds on 1000
  // characters with std::regex); RE2 matches them in linear time.
  const std::vector<std::string_view> patterns{
      "[A-Z]{2}[0-9]{6}",
      "^[0-9]{5}(-[0-9]{4})?$",
      R"((\+?[0-9 ]{7,20}))",
      "[a-z]+( [a-z]+)?",
      "([0-9]{3}-)+[0-9]{4}",
      "(a|b)?[a-z]*",
      "[A-Za-z ]+",
      "(?:ab)+",
      "[a-z]*[a-z]*[a-z]*[a-z]*x",
      "a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?aaaaaaaaaaaaaaaaaaaa",
  };
  std::vector<std::string> inputs;
  for (std::string_view unit : {"a", "a ", "0", "0 ", "012-", "ab", "A"}) {
    std::string text;
    while (text.size() + unit.size() <= 999) text += unit;
    text.resize(999, unit[0]);
    inputs.push_back(text + "!");      // fails on the last character
    inputs.push_back(text + unit[0]);  // may match
  }
  for (std::string_view pattern : patterns) {
    const std::string doc =
        "id = \"p\"\ntitle = \"P\"\nrecipients = [\"X\"]\n[[fields]]\n"
        "name = \"f\"\ntype = \"text\"\nlabel = \"F\"\npattern = '" +
        std::string(pattern) + "'\n";
    auto declaration = parse_declaration(doc);
    ASSERT_TRUE(declaration) << pattern << ": " << declaration.error().public_text();
    for (const std::string& input : inputs) {
      ASSERT_EQ(input.size(), 1000u);
      const ValidationOutcome outcome = validate(*declaration, 1, {{"f", input}}, kToday);
      if (!outcome.ok) {
        ASSERT_EQ(outcome.errors.size(), 1u) << pattern;
        EXPECT_EQ(outcome.errors[0].message, "Please match the requested format.") << pattern;
      }
    }
  }
}

TEST(Validation, Email) {
  EXPECT_EQ(accepted("email", "Ann.O'Neil+tag@Example.COM"), "Ann.O'Neil+tag@example.com");
  EXPECT_EQ(accepted("email", " a@b.co "), "a@b.co");
  const std::string invalid = "Please enter a valid email address, like name@example.com.";
  for (const char* bad : {"ann",
                          "ann@",
                          "@example.com",
                          "a@@example.com",
                          "a@b@example.com",
                          "a@localhost",
                          "a..b@example.com",
                          ".a@example.com",
                          "a.@example.com",
                          "a b@example.com",
                          "a@-example.com",
                          "a@example-.com",
                          "a@exa_mple.com",
                          "a@example..com",
                          "a@example.com.",
                          "\"a\"@example.com",
                          "a@[127.0.0.1]",
                          "\xC3\xA9@example.com",
                          "a@\xC3\xA9xample.com",
                          "Ann <a@example.com>",
                          "a@example.com,b@example.com"}) {
    EXPECT_EQ(refused("email", bad), invalid) << bad;
  }
  const std::string local(64, 'a');
  EXPECT_EQ(accepted("email", local + "@example.com"), local + "@example.com");
  EXPECT_EQ(refused("email", local + "a@example.com"), invalid);
  // 254 bytes in all is the limit.
  const std::string domain = std::string(63, 'd') + "." + std::string(63, 'd') + "." +
                             std::string(63, 'd') + ".com";  // 195 bytes
  const std::string at_limit = std::string(58, 'a') + "@" + domain;
  ASSERT_EQ(at_limit.size(), 254u);
  EXPECT_EQ(accepted("email", at_limit), at_limit);
  EXPECT_EQ(refused("email", "a" + at_limit), invalid);
}

TEST(Validation, PhoneIsStoredAsE164) {
  EXPECT_EQ(accepted("phone", "(650) 253-0000"), "+16502530000");
  EXPECT_EQ(accepted("phone", "650.253.0000"), "+16502530000");
  EXPECT_EQ(accepted("phone", "+44 20 7946 0018"), "+442079460018");
  EXPECT_EQ(accepted("phone_de", "030 1234567"), "+49301234567");
  const std::string invalid = "Please enter a valid phone number.";
  EXPECT_EQ(refused("phone", "12"), invalid);
  EXPECT_EQ(refused("phone", "not a number"), invalid);
  EXPECT_EQ(refused("phone", "(000) 000-0000"), invalid);
  EXPECT_EQ(refused("phone", std::string(65, '1')), invalid);
  EXPECT_EQ(refused("phone", "650 253 0000 ext. 12"),
            "Please enter the phone number without an extension.");
}

TEST(Validation, NumbersAreStrictAndCanonical) {
  EXPECT_EQ(accepted("amount", "42"), "42");
  EXPECT_EQ(accepted("amount", "007"), "7");
  EXPECT_EQ(accepted("amount", "0"), "0");
  EXPECT_EQ(accepted("amount", "-0"), "0");
  EXPECT_EQ(accepted("amount", "-0.000"), "0");
  EXPECT_EQ(accepted("amount", "3.50"), "3.5");
  EXPECT_EQ(accepted("amount", "-003.1400"), "-3.14");
  EXPECT_EQ(accepted("amount", "10.000"), "10");
  EXPECT_EQ(accepted("amount", " 5 "), "5");
  EXPECT_EQ(accepted("amount", std::string(30, '9')), std::string(30, '9'));
  const std::string invalid = "Please enter a number, like 42 or 3.5.";
  for (const char* bad : {"1e3", "0x10", "+5", ".5", "5.", "1,5", "--5", "-", "5-", "1.2.3",
                          "\xD9\xA3", "Infinity", "NaN", "1 000"}) {
    EXPECT_EQ(refused("amount", bad), invalid) << bad;
  }
  EXPECT_EQ(refused("amount", std::string(31, '9')), invalid);
}

TEST(Validation, IntegerAndBounds) {
  EXPECT_EQ(accepted("count", "10"), "10");
  EXPECT_EQ(accepted("count", "5.0"), "5");
  EXPECT_EQ(refused("count", "5.5"), "Please enter a whole number.");
  EXPECT_EQ(refused("count", "11"), "Please enter a number between 0 and 10.");
  EXPECT_EQ(refused("count", "-1"), "Please enter a number between 0 and 10.");
  EXPECT_EQ(refused("count", "10.0001"), "Please enter a whole number.");
  EXPECT_EQ(accepted("floor", "-2.5"), "-2.5");
  EXPECT_EQ(refused("floor", "-2.51"), "Please enter a number of at least -2.5.");
}

TEST(Validation, Dates) {
  EXPECT_EQ(accepted("dob", "2000-02-29"), "2000-02-29");
  EXPECT_EQ(accepted("dob", "1900-01-01"), "1900-01-01");
  const std::string invalid = "Please enter a real date as YYYY-MM-DD.";
  for (const char* bad :
       {"2001-02-29", "1900-02-29", "2000-13-01", "2000-00-10", "2000-04-31", "2000-1-1",
        "20000-01-01", "01/02/2000", "2000-01-01T00:00", "\xEF\xBC\x92\x30\x30\x30-01-01"}) {
    EXPECT_EQ(refused("dob", bad), invalid) << bad;
  }
  EXPECT_EQ(refused("dob", "1899-12-31"), "Please enter a date on or after 1900-01-01.");
}

TEST(Validation, TodayBoundUsesTheArgument) {
  EXPECT_EQ(accepted("dob", "2026-11-23"), "2026-11-23");
  EXPECT_EQ(refused("dob", "2026-11-24"), "Please enter a date on or before today.");
  // The same value is fine on a later day.
  const ValidationOutcome later =
      validate(form(), 1, {{"name", "Ann"}, {"dob", "2026-11-24"}}, "2026-11-24");
  EXPECT_TRUE(later.ok);
}

TEST(Validation, SelectAndRadioAcceptOnlyOfferedValues) {
  EXPECT_EQ(accepted("colour", "green"), "green");
  EXPECT_EQ(accepted("size", "m"), "m");
  for (const char* bad : {"blue", "1", "Green", "red,green", "<script>"}) {
    EXPECT_EQ(refused("colour", bad), "Please choose one of the options offered.") << bad;
    EXPECT_EQ(refused("size", bad), "Please choose one of the options offered.") << bad;
  }
}

TEST(Validation, CheckboxesKeepDeclarationOrder) {
  const ValidationOutcome outcome = run({{"contact", "mail"}, {"contact", "email"}});
  ASSERT_TRUE(outcome.ok);
  const Answer* a = answer(outcome, "contact");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->type, FieldType::checkbox);
  EXPECT_EQ(a->values, (std::vector<std::string>{"email", "mail"}));
}

TEST(Validation, CheckboxesRefuseUnofferedAndDuplicateValues) {
  EXPECT_EQ(refused("contact", "fax"), "Please choose only from the options offered.");
  const ValidationOutcome twice = run({{"contact", "email"}, {"contact", "email"}});
  ASSERT_FALSE(twice.ok);
  EXPECT_EQ(twice.errors[0].message, "An option was sent more than once.");
}

TEST(Validation, ConsentRecordsItsVersion) {
  const ValidationOutcome outcome = run({{"consent", "yes"}});
  ASSERT_TRUE(outcome.ok);
  const Answer* a = answer(outcome, "consent");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->values, std::vector<std::string>{"true"});
  EXPECT_EQ(a->consent_version, "2026-01");
  EXPECT_EQ(refused("consent", "no"),
            "Please tick the box to give your consent, or leave it empty.");
  EXPECT_EQ(refused("consent", "on"),
            "Please tick the box to give your consent, or leave it empty.");
  EXPECT_EQ(accepted("consent", ""), "<omitted>");
}

TEST(Validation, RequiredConsentAndCheckbox) {
  auto declared = parse_declaration(R"(
id = "c"
title = "C"
recipients = ["X"]
[[fields]]
name = "agree"
type = "consent"
label = "Agree"
text = "T"
version = "1"
required = true
[[fields]]
name = "pick"
type = "checkbox"
label = "Pick"
required = true
choices = [{ value = "a", label = "A" }]
)");
  ASSERT_TRUE(declared) << declared.error().public_text();
  const ValidationOutcome missing = validate(*declared, 1, {{"pick", ""}}, kToday);
  ASSERT_EQ(missing.errors.size(), 2u);
  EXPECT_EQ(missing.errors[0].field, "agree");
  EXPECT_EQ(missing.errors[0].message, "This field is required.");
  EXPECT_EQ(missing.errors[1].field, "pick");
  EXPECT_EQ(missing.errors[1].message, "This field is required.");
  EXPECT_TRUE(validate(*declared, 1, {{"agree", "yes"}, {"pick", "a"}}, kToday).ok);
}

TEST(Validation, Signature) {
  EXPECT_EQ(accepted("sig", "  Ann  Smith "), "Ann  Smith");
  EXPECT_EQ(accepted("sig", std::string(200, 's')).size(), 200u);
  EXPECT_EQ(refused("sig", std::string(201, 's')), "Please use at most 200 characters.");
}

TEST(Validation, MessagesNeverContainTheSubmittedValue) {
  const std::string marker = "SECRETMARK";
  const ValidationOutcome outcome = validate(form(), 1,
                                             {{"name", marker + std::string(20, 'x')},
                                              {"code", marker},
                                              {"email", marker},
                                              {"phone", marker},
                                              {"count", marker},
                                              {"dob", marker},
                                              {"colour", marker},
                                              {"size", marker},
                                              {"contact", marker},
                                              {"consent", marker},
                                              {"SECRETMARK", marker},
                                              {"sig", marker + std::string(300, 'x')}},
                                             kToday);
  ASSERT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.errors.size(), 12u);
  for (const auto& error : outcome.errors) {
    EXPECT_EQ(error.message.find(marker), std::string::npos) << error.message;
    EXPECT_EQ(error.field.find(marker), std::string::npos) << error.field;
  }
}

}  // namespace
}  // namespace forms
