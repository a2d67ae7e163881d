// Trust: untrusted network input (already decoded from urlencoded). Every value is
// normalised, then checked against its declared field; only offered choices survive
// ("de-taint"). Messages are fixed texts or built from the declaration, never from a
// submitted value, because they are shown and may be logged.

#include "forms/validation.hpp"

#include <fmt/format.h>
#include <phonenumbers/phonenumberutil.h>
#include <re2/re2.h>
#include <utf8proc.h>

#include <charconv>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/encoding.hpp"
#include "forms/detail/syntax.hpp"

namespace forms {
namespace {

// Defaults when the declaration sets no max_length, in code points.
constexpr std::size_t kDefaultTextMax = 1000;
constexpr std::size_t kDefaultTextareaMax = 20000;
constexpr std::size_t kDefaultSignatureMax = 200;
constexpr std::size_t kMaxEmailBytes = 254;  // RFC 5321 forward-path limit
constexpr std::size_t kMaxEmailLocal = 64;
constexpr std::size_t kMaxDomain = 253;
// The longest phone number with formatting a person types is well under this; it keeps
// hostile input away from the phone library.
constexpr std::size_t kMaxPhoneBytes = 64;
// 30 characters hold any amount or measurement a form asks for, and keep the decimal
// exactly representable as text (it is stored as text when it does not fit int64).
constexpr std::size_t kMaxNumberChars = 30;

constexpr std::string_view kRequired = "This field is required.";
constexpr std::string_view kRepeated = "This field was sent more than once.";
constexpr std::string_view kBadCharacters = "This field contains characters that are not allowed.";
constexpr std::string_view kUnexpectedField =
    "The form contained an unexpected field. Please reload the page and try again.";

void wipe(std::string& s) noexcept {
  if (!s.empty()) core::secure_wipe(s.data(), s.size());
  s.clear();
}

// Wipes a temporary holding PHI when it goes out of scope.
struct Scrub {
  std::string& s;
  ~Scrub() { wipe(s); }
};

bool is_trimmed_space(utf8proc_int32_t cp) {
  return cp == '\t' || cp == '\n' || cp == 0x2028 || cp == 0x2029 ||
         utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS;
}

// Control characters removed (C0, DEL, C1); a textarea keeps tabs and line feeds, with
// CR LF and lone CR turned into LF; a single-line field turns tabs into spaces. Then NFC,
// then surrounding whitespace trimmed. nullopt when the text is not UTF-8.
std::optional<std::string> normalise(std::string_view raw, bool multiline) {
  if (!core::is_valid_utf8(raw)) return std::nullopt;
  std::string stripped;
  Scrub scrub_stripped{stripped};
  stripped.reserve(raw.size());
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(raw.data());
  const auto size = static_cast<utf8proc_ssize_t>(raw.size());
  for (utf8proc_ssize_t i = 0; i < size;) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(bytes + i, size - i, &cp);
    if (n <= 0) return std::nullopt;
    const std::string_view encoded =
        raw.substr(static_cast<std::size_t>(i), static_cast<std::size_t>(n));
    i += n;
    if (cp == '\r') {
      if (multiline) stripped += '\n';
      if (i < size && bytes[i] == '\n') ++i;  // CR LF is one line break
    } else if (cp == '\n') {
      if (multiline) stripped += '\n';
    } else if (cp == '\t') {
      stripped += multiline ? '\t' : ' ';
    } else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
      // dropped
    } else {
      stripped += encoded;
    }
  }

  std::string composed;
  if (!stripped.empty()) {
    utf8proc_uint8_t* out = nullptr;
    const utf8proc_ssize_t length =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(stripped.data()),
                     static_cast<utf8proc_ssize_t>(stripped.size()), &out,
                     static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (length < 0) {
      std::free(out);
      return std::nullopt;
    }
    composed.assign(reinterpret_cast<const char*>(out), static_cast<std::size_t>(length));
    core::secure_wipe(out, static_cast<std::size_t>(length));
    std::free(out);
  }

  // Trim: find the first and last code points that are not whitespace.
  const auto* c = reinterpret_cast<const utf8proc_uint8_t*>(composed.data());
  const auto c_size = static_cast<utf8proc_ssize_t>(composed.size());
  utf8proc_ssize_t begin = -1;
  utf8proc_ssize_t end = 0;
  for (utf8proc_ssize_t i = 0; i < c_size;) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(c + i, c_size - i, &cp);
    if (n <= 0) return std::nullopt;
    if (!is_trimmed_space(cp)) {
      if (begin < 0) begin = i;
      end = i + n;
    }
    i += n;
  }
  if (begin < 0) {
    wipe(composed);
    return std::string();
  }
  if (begin == 0 && end == c_size) return composed;
  std::string trimmed =
      composed.substr(static_cast<std::size_t>(begin), static_cast<std::size_t>(end - begin));
  wipe(composed);
  return trimmed;
}

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (char ch : s) {
    if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string format_number(double value) { return fmt::format("{}", value); }

// --- per type checks: return an error message, or nullopt and set `out` ---------------

using Check = std::optional<std::string>;

Check check_length(const Field& field, std::string_view value, std::size_t default_max) {
  const std::size_t length = code_points(value);
  const std::size_t max = field.max_length.value_or(default_max);
  if (length > max) return fmt::format("Please use at most {} characters.", max);
  if (field.min_length && length < *field.min_length) {
    return fmt::format("Please use at least {} characters.", *field.min_length);
  }
  return std::nullopt;
}

Check check_text(const Field& field, std::string_view value, std::size_t default_max) {
  if (auto problem = check_length(field, value, default_max)) return problem;
  if (field.pattern) {
    // RE2 matches in time linear in the input (no backtracking), so no pattern can make
    // a submission expensive. The declaration parser compiled it already; a pattern that
    // does not compile here fails closed.
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(1 << 20);
    const RE2 pattern(*field.pattern, options);
    if (!pattern.ok() || !RE2::FullMatch(re2::StringPiece(value.data(), value.size()), pattern)) {
      return std::string("Please match the requested format.");
    }
  }
  return std::nullopt;
}

bool is_atext(char c) {
  static constexpr std::string_view kSpecials = "!#$%&'*+/=?^_`{|}~-";
  return detail::is_ascii_alnum(c) || kSpecials.find(c) != std::string_view::npos;
}

bool is_dot_atom(std::string_view local) {
  if (local.empty() || local.size() > kMaxEmailLocal) return false;
  if (local.front() == '.' || local.back() == '.') return false;
  char previous = '\0';
  for (char c : local) {
    if (c == '.') {
      if (previous == '.') return false;
    } else if (!is_atext(c)) {
      return false;
    }
    previous = c;
  }
  return true;
}

bool is_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > kMaxDomain) return false;
  std::size_t labels = 0;
  std::size_t start = 0;
  while (true) {
    const auto dot = domain.find('.', start);
    const std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!detail::is_ascii_alnum(c) && c != '-') return false;
    }
    ++labels;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return labels >= 2;
}

Check check_email(const Field& field, std::string& value) {
  constexpr std::string_view kInvalid =
      "Please enter a valid email address, like name@example.com.";
  const auto at = value.find('@');
  if (value.size() > kMaxEmailBytes || at == std::string::npos ||
      value.find('@', at + 1) != std::string::npos) {
    return std::string(kInvalid);
  }
  if (!is_dot_atom(std::string_view(value).substr(0, at)) ||
      !is_domain(std::string_view(value).substr(at + 1))) {
    return std::string(kInvalid);
  }
  for (std::size_t i = at + 1; i < value.size(); ++i) {
    if (value[i] >= 'A' && value[i] <= 'Z') value[i] = static_cast<char>(value[i] - 'A' + 'a');
  }
  return check_length(field, value, kMaxEmailBytes);
}

Check check_phone(const Field& field, std::string& value) {
  constexpr std::string_view kInvalid = "Please enter a valid phone number.";
  if (value.size() > kMaxPhoneBytes) return std::string(kInvalid);
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  const std::string region = field.region.empty() ? "US" : field.region;
  if (util->Parse(value, region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return std::string(kInvalid);
  }
  // E.164 has no room for an extension; dropping it silently would lose what the
  // submitter typed.
  if (number.has_extension() && !number.extension().empty()) {
    return std::string("Please enter the phone number without an extension.");
  }
  if (!util->IsValidNumber(number)) return std::string(kInvalid);
  std::string e164;
  util->Format(number, PhoneNumberUtil::E164, &e164);
  wipe(value);
  value = std::move(e164);
  return std::nullopt;
}

// Strict decimal: -?digits(.digits)?, no exponent, no hex, no '+', at most 30 chars.
// Rewritten canonically: no leading zeros, no trailing fraction zeros, no "-0".
Check check_number(const Field& field, std::string& value) {
  constexpr std::string_view kInvalid = "Please enter a number, like 42 or 3.5.";
  if (value.size() > kMaxNumberChars) return std::string(kInvalid);
  std::string_view rest(value);
  const bool negative = !rest.empty() && rest.front() == '-';
  if (negative) rest.remove_prefix(1);
  const auto dot = rest.find('.');
  std::string_view whole = rest.substr(0, dot);
  std::string_view fraction =
      dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && fraction.empty())) {
    return std::string(kInvalid);
  }
  for (char c : whole) {
    if (!detail::is_ascii_digit(c)) return std::string(kInvalid);
  }
  for (char c : fraction) {
    if (!detail::is_ascii_digit(c)) return std::string(kInvalid);
  }
  while (whole.size() > 1 && whole.front() == '0') whole.remove_prefix(1);
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  if (field.integer && !fraction.empty()) return std::string("Please enter a whole number.");
  std::string canonical;
  if (negative && !(whole == "0" && fraction.empty())) canonical += '-';
  canonical += whole;
  if (!fraction.empty()) {
    canonical += '.';
    canonical += fraction;
  }
  double parsed = 0;
  std::from_chars(canonical.data(), canonical.data() + canonical.size(), parsed);
  const bool too_small = field.min_number && parsed < *field.min_number;
  const bool too_large = field.max_number && parsed > *field.max_number;
  if (too_small || too_large) {
    wipe(canonical);
    if (field.min_number && field.max_number) {
      return fmt::format("Please enter a number between {} and {}.",
                         format_number(*field.min_number), format_number(*field.max_number));
    }
    if (too_small) {
      return fmt::format("Please enter a number of at least {}.", format_number(*field.min_number));
    }
    return fmt::format("Please enter a number of at most {}.", format_number(*field.max_number));
  }
  wipe(value);
  value = std::move(canonical);
  return std::nullopt;
}

Check check_date(const Field& field, const std::string& value, std::string_view today) {
  if (!detail::is_iso_date(value)) return std::string("Please enter a real date as YYYY-MM-DD.");
  auto resolve = [&](const std::string& bound) -> std::string_view {
    return bound == "today" ? today : std::string_view(bound);
  };
  auto describe = [](const std::string& bound) -> std::string {
    return bound == "today" ? "today" : bound;
  };
  if (field.min_date && value < resolve(*field.min_date)) {
    return fmt::format("Please enter a date on or after {}.", describe(*field.min_date));
  }
  if (field.max_date && value > resolve(*field.max_date)) {
    return fmt::format("Please enter a date on or before {}.", describe(*field.max_date));
  }
  return std::nullopt;
}

bool offered(const Field& field, std::string_view value) {
  for (const auto& choice : field.choices) {
    if (choice.value == value) return true;
  }
  return false;
}

}  // namespace

Answer::~Answer() {
  for (auto& value : values) wipe(value);
  values.clear();
}

Answer& Answer::operator=(Answer&& other) noexcept {
  if (this != &other) {
    for (auto& value : values) wipe(value);
    name = std::move(other.name);
    type = other.type;
    values = std::move(other.values);
    consent_version = std::move(other.consent_version);
  }
  return *this;
}

ValidationOutcome validate(const FormDeclaration& form, int form_version, const FieldPairs& fields,
                           std::string_view today) {
  ValidationOutcome outcome;
  std::map<std::string_view, std::vector<const std::string*>> received;
  for (const auto& field : form.fields) received[field.name];
  bool unexpected = false;
  for (const auto& [name, value] : fields) {
    const auto it = received.find(name);
    if (it == received.end()) {
      unexpected = true;
    } else {
      it->second.push_back(&value);
    }
  }
  if (unexpected) outcome.errors.push_back({"", std::string(kUnexpectedField)});

  std::vector<Answer> answers;
  for (const Field& field : form.fields) {
    const std::vector<const std::string*>& raw = received[field.name];
    auto fail = [&](std::string_view message) {
      outcome.errors.push_back({field.name, std::string(message)});
    };

    if (field.type == FieldType::checkbox) {
      std::vector<bool> chosen(field.choices.size(), false);
      std::optional<std::string> problem;
      bool any = false;
      for (const std::string* value : raw) {
        auto normalised = normalise(*value, false);
        if (!normalised) {
          problem = kBadCharacters;
          break;
        }
        // An empty value is "nothing chosen" (some pages send a hidden empty input so the
        // group is always present).
        if (normalised->empty()) continue;
        std::size_t index = 0;
        while (index < field.choices.size() && field.choices[index].value != *normalised) ++index;
        if (index == field.choices.size()) {
          problem = "Please choose only from the options offered.";
          break;
        }
        if (chosen[index]) {
          problem = "An option was sent more than once.";
          break;
        }
        chosen[index] = true;
        any = true;
      }
      if (problem) {
        fail(*problem);
      } else if (!any) {
        if (field.required) fail(kRequired);
      } else {
        Answer answer;
        answer.name = field.name;
        answer.type = field.type;
        for (std::size_t i = 0; i < field.choices.size(); ++i) {
          if (chosen[i]) answer.values.push_back(field.choices[i].value);
        }
        answers.push_back(std::move(answer));
      }
      continue;
    }

    if (raw.size() > 1) {
      fail(kRepeated);
      continue;
    }
    static const std::string kEmpty;
    auto normalised =
        normalise(raw.empty() ? kEmpty : *raw.front(), field.type == FieldType::textarea);
    if (!normalised) {
      fail(kBadCharacters);
      continue;
    }
    std::string value = std::move(*normalised);
    Scrub scrub_value{value};
    if (value.empty()) {
      if (field.required) fail(kRequired);
      continue;
    }

    Check problem;
    switch (field.type) {
      case FieldType::text:
        problem = check_text(field, value, kDefaultTextMax);
        break;
      case FieldType::textarea:
        problem = check_text(field, value, kDefaultTextareaMax);
        break;
      case FieldType::signature:
        problem = check_length(field, value, kDefaultSignatureMax);
        break;
      case FieldType::email:
        problem = check_email(field, value);
        break;
      case FieldType::phone:
        problem = check_phone(field, value);
        break;
      case FieldType::number:
        problem = check_number(field, value);
        break;
      case FieldType::date:
        problem = check_date(field, value, today);
        break;
      case FieldType::select:
      case FieldType::radio:
        if (!offered(field, value)) problem = "Please choose one of the options offered.";
        break;
      case FieldType::consent:
        // The rendered checkbox sends "yes"; anything else did not come from our page.
        if (value != "yes")
          problem = "Please tick the box to give your consent, or leave it empty.";
        break;
      case FieldType::checkbox:
        break;  // handled above
    }
    if (problem) {
      fail(*problem);
      continue;
    }
    Answer answer;
    answer.name = field.name;
    answer.type = field.type;
    if (field.type == FieldType::consent) {
      answer.values.push_back("true");
      answer.consent_version = field.consent_version;
    } else {
      answer.values.push_back(std::move(value));
    }
    answers.push_back(std::move(answer));
  }

  if (outcome.errors.empty()) {
    outcome.ok = true;
    outcome.submission.form_id = form.id;
    outcome.submission.form_version = form_version;
    outcome.submission.answers = std::move(answers);
  }
  return outcome;
}

namespace {

// Overwrites every string value of the document (the PHI) before it is freed.
void wipe_json(nlohmann::json& j) {
  if (j.is_string()) {
    wipe(j.get_ref<std::string&>());
  } else if (j.is_structured()) {
    for (auto& element : j) wipe_json(element);
  }
}

// number: a JSON number when it is an integer that fits int64 (exact in every JSON
// reader that keeps 64-bit integers), otherwise the canonical decimal text as a string,
// so that no digit is lost to binary floating point.
nlohmann::json number_value(const std::string& canonical) {
  if (canonical.find('.') == std::string::npos) {
    std::int64_t integer = 0;
    const auto [end, ec] =
        std::from_chars(canonical.data(), canonical.data() + canonical.size(), integer);
    if (ec == std::errc() && end == canonical.data() + canonical.size()) return integer;
  }
  return canonical;
}

}  // namespace

core::SecretBytes canonical_json(const ValidatedSubmission& submission,
                                 const Attestation& attestation) {
  const std::string received_at = detail::iso8601_utc(attestation.received_at);
  nlohmann::json fields = nlohmann::json::object();
  for (const Answer& answer : submission.answers) {
    static const std::string kNone;
    const std::string& first = answer.values.empty() ? kNone : answer.values.front();
    nlohmann::json& slot = fields[answer.name];
    switch (answer.type) {
      case FieldType::checkbox:
        slot = nlohmann::json::array();
        for (const auto& value : answer.values) slot.push_back(value);
        break;
      case FieldType::number:
        slot = number_value(first);
        break;
      case FieldType::consent:
        slot = {{"accepted", true}, {"version", answer.consent_version}};
        break;
      case FieldType::signature:
        slot = {{"name", first}, {"signed_at", received_at}};
        break;
      default:
        slot = first;
        break;
    }
  }
  nlohmann::json document = {
      {"attestation",
       {{"client_checks", {{"honeypot_empty", attestation.honeypot_empty}, {"token", "valid"}}},
        {"form_id", submission.form_id},
        {"form_version", submission.form_version},
        {"received_at", received_at},
        {"reference", attestation.reference},
        {"token_issued_at", detail::iso8601_utc(attestation.token_issued_at)}}},
      {"fields", std::move(fields)},
      {"format", "sealpost-submission/1"},
  };
  // Values were validated as UTF-8; strict makes a bug throw rather than alter signed text.
  std::string text = document.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  core::SecretBytes out(text);
  wipe(text);
  wipe_json(document);
  wipe_json(fields);  // in case the initializer list copied rather than moved
  return out;
}

}  // namespace forms
