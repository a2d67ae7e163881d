// Trust: administrator-supplied file. Parsed with a size limit; every error is one line
// pointing at the offending key or value, so a typo never passes silently.

#include "forms/declaration.hpp"

#include <fmt/format.h>
#include <phonenumbers/phonenumberutil.h>
#include <re2/re2.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "forms/detail/syntax.hpp"
#include "mail/mime/address.hpp"

namespace forms {
namespace {

// Limits on what an administrator may declare, each with its reason.
constexpr std::size_t kMaxFields = 200;          // a page longer than this is not a form
constexpr std::size_t kMaxChoices = 500;         // bounds the rendered page
constexpr std::size_t kMaxLengthBound = 100000;  // max_length / min_length upper bound
constexpr std::size_t kMaxEmailLength = 254;     // RFC 5321 path limit
constexpr std::size_t kMaxSignatureLength = 200;
// Compile time and memory grow with the pattern; 200 characters is plenty for a format
// check.
constexpr std::size_t kMaxPatternChars = 200;
// Patterns are matched by RE2 in time linear in the input; the bound keeps that cost
// small per field.
constexpr std::size_t kMaxPatternInput = 1000;
constexpr std::int64_t kMinBodyBytes = 1024;
constexpr std::int64_t kMaxBodyBytes = 10 * 1024 * 1024;
constexpr std::int64_t kMaxRetentionDays = 36500;

constexpr std::array<std::pair<FieldType, std::string_view>, 11> kTypeNames{{
    {FieldType::text, "text"},
    {FieldType::textarea, "textarea"},
    {FieldType::email, "email"},
    {FieldType::phone, "phone"},
    {FieldType::number, "number"},
    {FieldType::date, "date"},
    {FieldType::select, "select"},
    {FieldType::radio, "radio"},
    {FieldType::checkbox, "checkbox"},
    {FieldType::consent, "consent"},
    {FieldType::signature, "signature"},
}};
constexpr std::string_view kAllowedTypes =
    "text, textarea, email, phone, number, date, select, radio, checkbox, consent, signature";

constexpr std::array<std::string_view, 12> kTopLevelKeys{"id",
                                                         "title",
                                                         "description",
                                                         "recipients",
                                                         "max_body_bytes",
                                                         "retention_days",
                                                         "success_message",
                                                         "frame_ancestors",
                                                         "notify",
                                                         "notify_mode",
                                                         "copy_to",
                                                         "fields"};
constexpr std::array<std::string_view, 5> kCommonFieldKeys{"name", "type", "label", "help",
                                                           "required"};
constexpr std::array<std::string_view, 3> kLengthKeys{"min_length", "max_length", "pattern"};
constexpr std::array<std::string_view, 3> kNumberKeys{"min", "max", "integer"};
constexpr std::array<std::string_view, 1> kPhoneKeys{"region"};
constexpr std::array<std::string_view, 1> kChoiceKeys{"choices"};
constexpr std::array<std::string_view, 2> kConsentKeys{"text", "version"};

// The type-specific keys a field of `type` accepts.
std::span<const std::string_view> options_for(FieldType type) {
  switch (type) {
    case FieldType::text:
      return kLengthKeys;
    case FieldType::textarea:
    case FieldType::email:
    case FieldType::signature:
      return std::span(kLengthKeys).first(2);  // no pattern
    case FieldType::phone:
      return kPhoneKeys;
    case FieldType::number:
      return kNumberKeys;
    case FieldType::date:
      return std::span(kNumberKeys).first(2);  // min, max
    case FieldType::select:
    case FieldType::radio:
    case FieldType::checkbox:
      return kChoiceKeys;
    case FieldType::consent:
      return kConsentKeys;
  }
  return {};
}

bool contains(std::span<const std::string_view> set, std::string_view key) {
  return std::find(set.begin(), set.end(), key) != set.end();
}

bool known_field_key(std::string_view key) {
  return contains(kCommonFieldKeys, key) || contains(kLengthKeys, key) ||
         contains(kNumberKeys, key) || contains(kPhoneKeys, key) || contains(kChoiceKeys, key) ||
         contains(kConsentKeys, key);
}

// Administrator text quoted for a one-line message: control characters escaped, long
// text shortened (at a character boundary, so the message stays valid UTF-8).
std::string quoted(std::string_view text) {
  constexpr std::size_t kMaxQuoted = 64;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (i >= kMaxQuoted && (c & 0xC0) != 0x80) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

// The parser's own description, made one line.
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7F) ? ' ' : c;
  }
  return out;
}

// --- pattern hazards ----------------------------------------------------------------
//
// The server matches patterns with RE2, in linear time. But the same pattern is the
// `pattern` attribute of the rendered input, which the submitter's browser checks with a
// backtracking engine: where a pattern can match the same text in many ways, a failing
// match tries them all (`([A-Za-z]+ ?)*` takes seconds on 41 characters), and the
// patient's tab hangs. The declaration therefore refuses the constructs that make the
// number of ways grow exponentially with the input:
//   - repeating (*, +, {n,}, {n,m} with m > 1, {n} with n > 1) a group whose content
//     itself varies (a quantifier other than {n}, or '|'): (a+)*, (a|aa)+, (?:x*)*;
//     an optional group, `( [a-z]+)?`, does not repeat and stays allowed;
//   - a quantifier directly after another, which some engines nest: a**, a+*;
//   - backreferences (\1..\9), which no linear-time engine can match;
//   - lookahead and lookbehind, each a nested match at every position.
// The scan is syntactic, with ECMAScript's rules: an escaped character is an atom, a
// class `[...]` ends at the first unescaped ']' and holds no syntax. Malformed patterns
// are left to the regex compiler.

struct Quantifier {
  std::size_t length = 0;  // characters, including a lazy '?'
  bool varies = false;     // the count varies: *, +, ?, {n,}, {n,m} with n < m
  bool repeats = false;    // the atom may match more than once
};

// The quantifier starting at `at`, or nullopt.
std::optional<Quantifier> quantifier_at(std::string_view pattern, std::size_t at) {
  Quantifier q;
  const char c = pattern[at];
  if (c == '*' || c == '+') {
    q = {1, true, true};
  } else if (c == '?') {
    q = {1, true, false};
  } else if (c == '{') {
    // {n}, {n,} or {n,m}; anything else is not a quantifier.
    constexpr std::size_t kLarge = 1000000;  // saturates, so digits cannot overflow
    std::size_t i = at + 1;
    auto number = [&](std::size_t& value) {
      const std::size_t start = i;
      value = 0;
      for (; i < pattern.size() && pattern[i] >= '0' && pattern[i] <= '9'; ++i) {
        value = std::min(kLarge, value * 10 + static_cast<std::size_t>(pattern[i] - '0'));
      }
      return i > start;
    };
    std::size_t min = 0;
    std::size_t max = 0;
    if (!number(min)) return std::nullopt;
    bool unbounded = false;
    if (i < pattern.size() && pattern[i] == ',') {
      ++i;
      if (!number(max)) unbounded = true;
    } else {
      max = min;
    }
    if (i >= pattern.size() || pattern[i] != '}') return std::nullopt;
    q = {i + 1 - at, unbounded || min != max, unbounded || max > 1};
  } else {
    return std::nullopt;
  }
  if (at + q.length < pattern.size() && pattern[at + q.length] == '?') ++q.length;  // lazy
  return q;
}

// The index just past the class `[...]` that starts at `at`.
std::size_t class_end(std::string_view pattern, std::size_t at) {
  std::size_t i = at + 1;
  if (i < pattern.size() && pattern[i] == '^') ++i;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == '\\') {
      i += 2;
    } else if (c == ']') {
      return i + 1;
    } else if (c == '[' && i + 1 < pattern.size() &&
               std::string_view(":.=").find(pattern[i + 1]) != std::string_view::npos) {
      // [:alpha:], [.a.], [=a=] inside a class
      const char close[] = {pattern[i + 1], ']', '\0'};
      const std::size_t end = pattern.find(close, i + 2);
      i = end == std::string_view::npos ? i + 1 : end + 2;
    } else {
      ++i;
    }
  }
  return pattern.size();
}

// Why matching `pattern` may take exponential time, as the end of an error message, or
// nullopt.
std::optional<std::string_view> pattern_hazard(std::string_view pattern) {
  enum class Last { nothing, atom, group, quantified };
  // Per open group (the whole pattern first): whether its content varies.
  std::vector<bool> varies{false};
  Last last = Last::nothing;
  bool last_group_varies = false;
  std::size_t i = 0;
  while (i < pattern.size()) {
    if (const auto q = quantifier_at(pattern, i)) {
      if (last == Last::quantified) {
        return "may not put a quantifier directly after another (a**, a+*)";
      }
      if (last == Last::group && last_group_varies && q->repeats) {
        return "may not repeat a group that itself repeats or alternates ((a+)*, (a|b)+)";
      }
      if (q->varies) varies.back() = true;
      last = Last::quantified;
      i += q->length;
      continue;
    }
    const std::string_view rest = pattern.substr(i);
    switch (pattern[i]) {
      case '\\':
        if (rest.size() > 1 && rest[1] >= '1' && rest[1] <= '9') {
          return "may not use a backreference (\\1)";
        }
        i += 2;
        last = Last::atom;
        break;
      case '[':
        i = class_end(pattern, i);
        last = Last::atom;
        break;
      case '(':
        if (rest.starts_with("(?=") || rest.starts_with("(?!") || rest.starts_with("(?<")) {
          return "may not use lookahead or lookbehind ((?=...), (?!...))";
        }
        i += rest.starts_with("(?:") ? 3 : 1;
        varies.push_back(false);
        last = Last::nothing;
        break;
      case ')':
        last_group_varies = varies.back();
        if (varies.size() > 1) varies.pop_back();  // else unbalanced: the compiler refuses
        if (last_group_varies) varies.back() = true;
        last = Last::group;
        ++i;
        break;
      case '|':
        varies.back() = true;
        last = Last::nothing;
        ++i;
        break;
      case '^':
      case '$':
        last = Last::nothing;
        ++i;
        break;
      default:
        last = Last::atom;
        ++i;
        break;
    }
  }
  return std::nullopt;
}

core::Unexpected<core::Error> error_at(const toml::source_position& at, std::string_view what) {
  std::string text = fmt::format("line {}, column {}: {}", at.line, at.column, what);
  return core::fail(core::ErrorKind::invalid_input, text, text);
}

core::Unexpected<core::Error> error_at(const toml::node& node, std::string_view what) {
  return error_at(node.source().begin, what);
}

core::Unexpected<core::Error> error_doc(std::string_view what) {
  return core::fail(core::ErrorKind::invalid_input, std::string(what), std::string(what));
}

// Typed access to one value; `what` names it in the error ("\"title\"",
// "field \"age\": \"min\"").
core::Result<std::string> get_string(const toml::node& node, std::string_view what) {
  if (const auto* v = node.as_string()) return v->get();
  return error_at(node, fmt::format("{} must be a string", what));
}

core::Result<std::string> get_nonempty_string(const toml::node& node, std::string_view what) {
  auto s = get_string(node, what);
  if (!s) return s;
  if (s->empty()) return error_at(node, fmt::format("{} must not be empty", what));
  return s;
}

core::Result<bool> get_bool(const toml::node& node, std::string_view what) {
  if (const auto* v = node.as_boolean()) return v->get();
  return error_at(node, fmt::format("{} must be true or false", what));
}

core::Result<std::int64_t> get_integer(const toml::node& node, std::string_view what,
                                       std::int64_t min, std::int64_t max) {
  const auto* v = node.as_integer();
  if (v == nullptr) return error_at(node, fmt::format("{} must be an integer", what));
  if (v->get() < min || v->get() > max) {
    return error_at(node, fmt::format("{} must be between {} and {}", what, min, max));
  }
  return v->get();
}

core::Result<double> get_number(const toml::node& node, std::string_view what) {
  if (const auto* i = node.as_integer()) return static_cast<double>(i->get());
  if (const auto* f = node.as_floating_point()) {
    if (std::isfinite(f->get())) return f->get();
  }
  return error_at(node, fmt::format("{} must be a finite number", what));
}

core::Result<std::vector<std::string>> get_string_array(const toml::node& node,
                                                        std::string_view what) {
  const auto* array = node.as_array();
  if (array == nullptr) return error_at(node, fmt::format("{} must be an array of strings", what));
  std::vector<std::string> out;
  for (const auto& item : *array) {
    auto s = get_nonempty_string(item, fmt::format("each entry of {}", what));
    if (!s) return core::fail(std::move(s).error());
    out.push_back(std::move(*s));
  }
  return out;
}

// `https://host[:port]`, nothing else: the value goes into a CSP header, so no path, no
// wildcard, no space or semicolon.
bool is_https_origin(std::string_view origin) {
  constexpr std::string_view kScheme = "https://";
  if (!origin.starts_with(kScheme)) return false;
  std::string_view rest = origin.substr(kScheme.size());
  std::string_view host = rest;
  if (const auto colon = rest.find(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    const std::string_view port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port[0] == '0') return false;
    long value = 0;
    for (char c : port) {
      if (!detail::is_ascii_digit(c)) return false;
      value = value * 10 + (c - '0');
    }
    if (value > 65535) return false;
  }
  if (host.empty() || host.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const auto dot = host.find('.', start);
    const std::string_view label =
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!detail::is_ascii_alnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

// Reads the keys listed in options_for(type) plus the common ones, already checked for
// unknown keys by the caller.
class FieldParser {
 public:
  explicit FieldParser(const toml::table& table) : table_(table) {}

  core::Result<Field> parse() {
    Field field;
    // A misspelt key is reported as such, even when it is "name" or "type" itself.
    for (const auto& [key, value] : table_) {
      if (!known_field_key(key.str())) {
        const auto* n = table_.get_as<std::string>("name");
        const std::string owner = n != nullptr && detail::is_field_name(n->get())
                                      ? fmt::format("field {}: ", quoted(n->get()))
                                      : std::string();
        return error_at(key.source().begin,
                        fmt::format("{}unknown key {}", owner, quoted(key.str())));
      }
    }
    const toml::node* name = table_.get("name");
    if (name == nullptr) return error_at(table_, "a field has no \"name\"");
    auto name_text = get_string(*name, "\"name\"");
    if (!name_text) return core::fail(std::move(name_text).error());
    if (!detail::is_field_name(*name_text)) {
      return error_at(*name, fmt::format("field name {} is invalid: use 1 to 64 lower-case "
                                         "letters, digits and _, starting with a letter",
                                         quoted(*name_text)));
    }
    field.name = std::move(*name_text);
    prefix_ = fmt::format("field {}: ", quoted(field.name));

    const toml::node* type = table_.get("type");
    if (type == nullptr) return error_at(table_, prefix_ + "missing required key \"type\"");
    auto type_text = get_string(*type, prefix_ + "\"type\"");
    if (!type_text) return core::fail(std::move(type_text).error());
    if (*type_text == "file") {
      return error_at(*type, prefix_ + "type \"file\" is not supported yet");
    }
    const auto found = std::find_if(kTypeNames.begin(), kTypeNames.end(),
                                    [&](const auto& entry) { return entry.second == *type_text; });
    if (found == kTypeNames.end()) {
      return error_at(*type, fmt::format("{}unknown type {}; allowed types: {}", prefix_,
                                         quoted(*type_text), kAllowedTypes));
    }
    field.type = found->first;

    for (const auto& [key, value] : table_) {
      const std::string_view k = key.str();
      if (contains(kCommonFieldKeys, k) || contains(options_for(field.type), k)) continue;
      return error_at(key.source().begin,
                      fmt::format("{}{} is not valid for a field of type \"{}\"", prefix_,
                                  quoted(k), to_string(field.type)));
    }

    const toml::node* label = table_.get("label");
    if (label == nullptr) return error_at(table_, prefix_ + "missing required key \"label\"");
    auto label_text = get_nonempty_string(*label, prefix_ + "\"label\"");
    if (!label_text) return core::fail(std::move(label_text).error());
    field.label = std::move(*label_text);

    if (const toml::node* help = table_.get("help")) {
      auto text = get_string(*help, prefix_ + "\"help\"");
      if (!text) return core::fail(std::move(text).error());
      field.help = std::move(*text);
    }
    if (const toml::node* required = table_.get("required")) {
      auto flag = get_bool(*required, prefix_ + "\"required\"");
      if (!flag) return core::fail(std::move(flag).error());
      field.required = *flag;
    }

    core::Status typed = core::ok();
    switch (field.type) {
      case FieldType::text:
      case FieldType::textarea:
      case FieldType::email:
      case FieldType::signature:
        typed = parse_lengths(field);
        break;
      case FieldType::phone:
        typed = parse_region(field);
        break;
      case FieldType::number:
        typed = parse_number_options(field);
        break;
      case FieldType::date:
        typed = parse_date_options(field);
        break;
      case FieldType::select:
      case FieldType::radio:
      case FieldType::checkbox:
        typed = parse_choices(field);
        break;
      case FieldType::consent:
        typed = parse_consent(field);
        break;
    }
    if (!typed) return core::fail(std::move(typed).error());
    return field;
  }

 private:
  std::string what(std::string_view key) const { return fmt::format("{}\"{}\"", prefix_, key); }

  core::Status parse_lengths(Field& field) {
    std::size_t ceiling = kMaxLengthBound;
    if (field.type == FieldType::email) ceiling = kMaxEmailLength;
    if (field.type == FieldType::signature) ceiling = kMaxSignatureLength;
    const toml::node* max_node = table_.get("max_length");
    if (max_node != nullptr) {
      auto v = get_integer(*max_node, what("max_length"), 1, static_cast<std::int64_t>(ceiling));
      if (!v) return core::fail(std::move(v).error());
      field.max_length = static_cast<std::size_t>(*v);
    }
    const toml::node* min_node = table_.get("min_length");
    if (min_node != nullptr) {
      auto v = get_integer(*min_node, what("min_length"), 0, static_cast<std::int64_t>(ceiling));
      if (!v) return core::fail(std::move(v).error());
      field.min_length = static_cast<std::size_t>(*v);
    }
    if (field.min_length && field.max_length && *field.min_length > *field.max_length) {
      return error_at(*min_node,
                      prefix_ + "\"min_length\" must not be greater than \"max_length\"");
    }
    if (const toml::node* pattern = table_.get("pattern")) {
      auto text = get_nonempty_string(*pattern, what("pattern"));
      if (!text) return core::fail(std::move(text).error());
      if (text->size() > kMaxPatternChars) {
        return error_at(*pattern, fmt::format("{}\"pattern\" is longer than {} characters", prefix_,
                                              kMaxPatternChars));
      }
      if (const auto hazard = pattern_hazard(*text)) {
        return error_at(*pattern, fmt::format("{}\"pattern\" {}", prefix_, *hazard));
      }
      // The server matches with RE2 (linear time, no backtracking): the pattern must be
      // valid RE2 syntax, which covers the ECMAScript subset a browser's `pattern`
      // attribute checks in the same way.
      RE2::Options options;
      options.set_log_errors(false);
      options.set_max_mem(1 << 20);  // bounds the compiled program
      if (!RE2(*text, options).ok()) {
        return error_at(*pattern, prefix_ + "\"pattern\" is not a valid regular expression");
      }
      // The default max_length of a text field (1000) is within the bound.
      if (field.max_length.value_or(kMaxPatternInput) > kMaxPatternInput) {
        return error_at(*max_node, fmt::format("{}a field with a \"pattern\" may allow at most "
                                               "{} characters",
                                               prefix_, kMaxPatternInput));
      }
      field.pattern = std::move(*text);
    }
    return core::ok();
  }

  core::Status parse_region(Field& field) {
    field.region = "US";  // the documented default
    const toml::node* region = table_.get("region");
    if (region == nullptr) return core::ok();
    auto text = get_string(*region, what("region"));
    if (!text) return core::fail(std::move(text).error());
    const bool shape = text->size() == 2 && std::isupper(static_cast<unsigned char>((*text)[0])) &&
                       std::isupper(static_cast<unsigned char>((*text)[1]));
    const auto* util = i18n::phonenumbers::PhoneNumberUtil::GetInstance();
    if (!shape || util->GetCountryCodeForRegion(*text) == 0) {
      return error_at(*region, fmt::format("{}\"region\" must be a two-letter upper-case "
                                           "country code known to the phone library, like \"US\"",
                                           prefix_));
    }
    field.region = std::move(*text);
    return core::ok();
  }

  core::Status parse_number_options(Field& field) {
    const toml::node* min_node = table_.get("min");
    const toml::node* max_node = table_.get("max");
    if (min_node != nullptr) {
      auto v = get_number(*min_node, what("min"));
      if (!v) return core::fail(std::move(v).error());
      field.min_number = *v;
    }
    if (max_node != nullptr) {
      auto v = get_number(*max_node, what("max"));
      if (!v) return core::fail(std::move(v).error());
      field.max_number = *v;
    }
    if (field.min_number && field.max_number && *field.min_number > *field.max_number) {
      return error_at(*min_node, prefix_ + "\"min\" must not be greater than \"max\"");
    }
    if (const toml::node* integer = table_.get("integer")) {
      auto flag = get_bool(*integer, what("integer"));
      if (!flag) return core::fail(std::move(flag).error());
      field.integer = *flag;
    }
    return core::ok();
  }

  core::Result<std::string> date_bound(const toml::node& node, std::string_view key) {
    auto text = get_string(node, what(key));
    if (!text) return text;
    if (*text != "today" && !detail::is_iso_date(*text)) {
      return error_at(
          node, fmt::format("{}\"{}\" must be a date \"YYYY-MM-DD\" or \"today\"", prefix_, key));
    }
    return text;
  }

  core::Status parse_date_options(Field& field) {
    const toml::node* min_node = table_.get("min");
    const toml::node* max_node = table_.get("max");
    if (min_node != nullptr) {
      auto v = date_bound(*min_node, "min");
      if (!v) return core::fail(std::move(v).error());
      field.min_date = std::move(*v);
    }
    if (max_node != nullptr) {
      auto v = date_bound(*max_node, "max");
      if (!v) return core::fail(std::move(v).error());
      field.max_date = std::move(*v);
    }
    // "today" moves, so only two fixed dates can be compared here.
    if (field.min_date && field.max_date && *field.min_date != "today" &&
        *field.max_date != "today" && *field.min_date > *field.max_date) {
      return error_at(*min_node, prefix_ + "\"min\" must not be after \"max\"");
    }
    return core::ok();
  }

  core::Status parse_choices(Field& field) {
    const toml::node* node = table_.get("choices");
    if (node == nullptr) return error_at(table_, prefix_ + "missing required key \"choices\"");
    const auto* array = node->as_array();
    if (array == nullptr) {
      return error_at(*node, prefix_ +
                                 "\"choices\" must be an array of tables like "
                                 "{ value = \"a\", label = \"A\" }");
    }
    if (array->empty()) return error_at(*node, prefix_ + "\"choices\" must not be empty");
    if (array->size() > kMaxChoices) {
      return error_at(*node, fmt::format("{}at most {} choices are allowed", prefix_, kMaxChoices));
    }
    for (const auto& item : *array) {
      const auto* choice = item.as_table();
      if (choice == nullptr) {
        return error_at(item, prefix_ +
                                  "each choice must be a table like "
                                  "{ value = \"a\", label = \"A\" }");
      }
      for (const auto& [key, value] : *choice) {
        if (key.str() != "value" && key.str() != "label") {
          return error_at(key.source().begin,
                          fmt::format("{}unknown key {} in a choice; allowed keys: value, label",
                                      prefix_, quoted(key.str())));
        }
      }
      const toml::node* value = choice->get("value");
      const toml::node* label = choice->get("label");
      if (value == nullptr || label == nullptr) {
        return error_at(item, prefix_ + "each choice needs a \"value\" and a \"label\"");
      }
      auto value_text = get_string(*value, prefix_ + "a choice's \"value\"");
      if (!value_text) return core::fail(std::move(value_text).error());
      if (!detail::is_choice_value(*value_text)) {
        return error_at(*value, fmt::format("{}choice value {} is invalid: use 1 to 64 letters, "
                                            "digits, _ and -",
                                            prefix_, quoted(*value_text)));
      }
      for (const auto& earlier : field.choices) {
        if (earlier.value == *value_text) {
          return error_at(*value, fmt::format("{}choice value {} is listed twice", prefix_,
                                              quoted(*value_text)));
        }
      }
      auto label_text = get_nonempty_string(*label, prefix_ + "a choice's \"label\"");
      if (!label_text) return core::fail(std::move(label_text).error());
      field.choices.push_back({std::move(*value_text), std::move(*label_text)});
    }
    return core::ok();
  }

  core::Status parse_consent(Field& field) {
    const toml::node* text = table_.get("text");
    if (text == nullptr) return error_at(table_, prefix_ + "missing required key \"text\"");
    auto text_value = get_nonempty_string(*text, what("text"));
    if (!text_value) return core::fail(std::move(text_value).error());
    const toml::node* version = table_.get("version");
    if (version == nullptr) return error_at(table_, prefix_ + "missing required key \"version\"");
    auto version_value = get_nonempty_string(*version, what("version"));
    if (!version_value) return core::fail(std::move(version_value).error());
    field.consent_text = std::move(*text_value);
    field.consent_version = std::move(*version_value);
    return core::ok();
  }

  const toml::table& table_;
  std::string prefix_;
};

core::Result<FormDeclaration> check(const toml::table& root) {
  for (const auto& [key, value] : root) {
    if (!contains(kTopLevelKeys, key.str())) {
      return error_at(key.source().begin,
                      fmt::format("unknown key {}; allowed keys: id, title, description, "
                                  "recipients, max_body_bytes, retention_days, "
                                  "success_message, frame_ancestors, notify, notify_mode, copy_to, "
                                  "fields",
                                  quoted(key.str())));
    }
  }
  FormDeclaration form;

  const toml::node* id = root.get("id");
  if (id == nullptr) return error_doc("missing required key \"id\"");
  auto id_text = get_string(*id, "\"id\"");
  if (!id_text) return core::fail(std::move(id_text).error());
  if (!detail::is_form_id(*id_text)) {
    return error_at(*id, fmt::format("form id {} is invalid: use 1 to 63 lower-case letters, "
                                     "digits and -, starting with a letter or digit",
                                     quoted(*id_text)));
  }
  form.id = std::move(*id_text);

  const toml::node* title = root.get("title");
  if (title == nullptr) return error_doc("missing required key \"title\"");
  auto title_text = get_nonempty_string(*title, "\"title\"");
  if (!title_text) return core::fail(std::move(title_text).error());
  form.title = std::move(*title_text);

  if (const toml::node* node = root.get("description")) {
    auto text = get_string(*node, "\"description\"");
    if (!text) return core::fail(std::move(text).error());
    form.description = std::move(*text);
  }
  if (const toml::node* node = root.get("success_message")) {
    auto text = get_string(*node, "\"success_message\"");
    if (!text) return core::fail(std::move(text).error());
    form.success_message = std::move(*text);
  }

  const toml::node* recipients = root.get("recipients");
  if (recipients == nullptr) return error_doc("missing required key \"recipients\"");
  auto recipient_list = get_string_array(*recipients, "\"recipients\"");
  if (!recipient_list) return core::fail(std::move(recipient_list).error());
  if (recipient_list->empty()) {
    return error_at(*recipients, "\"recipients\" must list at least one key fingerprint");
  }
  form.recipients = std::move(*recipient_list);

  if (const toml::node* node = root.get("max_body_bytes")) {
    auto v = get_integer(*node, "\"max_body_bytes\"", kMinBodyBytes, kMaxBodyBytes);
    if (!v) return core::fail(std::move(v).error());
    form.max_body_bytes = static_cast<std::size_t>(*v);
  }
  if (const toml::node* node = root.get("retention_days")) {
    auto v = get_integer(*node, "\"retention_days\"", 1, kMaxRetentionDays);
    if (!v) return core::fail(std::move(v).error());
    form.retention_days = static_cast<int>(*v);
  }
  if (const toml::node* node = root.get("frame_ancestors")) {
    const auto* array = node->as_array();
    if (array == nullptr) return error_at(*node, "\"frame_ancestors\" must be an array of strings");
    for (const auto& item : *array) {
      auto origin = get_string(item, "each entry of \"frame_ancestors\"");
      if (!origin) return core::fail(std::move(origin).error());
      if (!is_https_origin(*origin)) {
        return error_at(item, fmt::format("frame ancestor {} is invalid: use an origin like "
                                          "\"https://example.org\" or \"https://example.org:8443\"",
                                          quoted(*origin)));
      }
      form.frame_ancestors.push_back(std::move(*origin));
    }
  }

  if (const toml::node* node = root.get("notify")) {
    const auto* array = node->as_array();
    if (array == nullptr) return error_at(*node, "\"notify\" must be an array of e-mail addresses");
    if (array->size() > kMaxNotify) {
      return error_at(*node, fmt::format("\"notify\" may name at most {} addresses", kMaxNotify));
    }
    for (const auto& item : *array) {
      auto text = get_string(item, "each entry of \"notify\"");
      if (!text) return core::fail(std::move(text).error());
      auto address = mail::Address::parse(*text);
      if (!address) {
        return error_at(item, fmt::format("notify address {} is invalid: {}", quoted(*text),
                                          address.error().public_text()));
      }
      const std::string canonical = address->str();
      if (std::find(form.notify.begin(), form.notify.end(), canonical) != form.notify.end())
        return error_at(item, fmt::format("notify address {} is listed twice", quoted(*text)));
      form.notify.push_back(canonical);
    }
  }

  if (const toml::node* node = root.get("notify_mode")) {
    auto mode = get_string(*node, "\"notify_mode\"");
    if (!mode) return core::fail(std::move(mode).error());
    if (*mode == "pgp") {
      form.notify_mode = NotifyMode::pgp;
    } else if (*mode == "smime") {
      form.notify_mode = NotifyMode::smime;
    } else if (*mode != "link") {
      return error_at(*node, fmt::format("notify_mode {} is not one of \"link\", \"pgp\", "
                                         "\"smime\"",
                                         quoted(*mode)));
    }
    if (form.notify_mode != NotifyMode::link && form.notify.empty()) {
      return error_at(*node,
                      fmt::format("notify_mode {} needs addresses in \"notify\"", quoted(*mode)));
    }
  }

  const toml::node* fields = root.get("fields");
  if (fields == nullptr)
    return error_doc("missing required key \"fields\" (add [[fields]] tables)");
  const auto* array = fields->as_array();
  if (array != nullptr && array->empty()) {
    return error_at(*fields, "\"fields\" must list at least one field");
  }
  if (array == nullptr || !array->is_array_of_tables()) {
    return error_at(*fields, "\"fields\" must be an array of tables ([[fields]])");
  }
  if (array->size() > kMaxFields) {
    return error_at(*fields, fmt::format("a form may have at most {} fields", kMaxFields));
  }
  std::map<std::string, toml::source_position, std::less<>> seen;
  for (const auto& item : *array) {
    const auto& table = *item.as_table();
    auto field = FieldParser(table).parse();
    if (!field) return core::fail(std::move(field).error());
    const toml::node& name_node = *table.get("name");
    if (const auto it = seen.find(field->name); it != seen.end()) {
      return error_at(name_node, fmt::format("field name {} is used twice (first on line {})",
                                             quoted(field->name), it->second.line));
    }
    seen.emplace(field->name, name_node.source().begin);
    form.fields.push_back(std::move(*field));
  }

  // After the fields: copy_to names one of them.
  if (const toml::node* node = root.get("copy_to")) {
    auto name = get_string(*node, "\"copy_to\"");
    if (!name) return core::fail(std::move(name).error());
    const auto it = std::find_if(form.fields.begin(), form.fields.end(),
                                 [&](const Field& f) { return f.name == *name; });
    if (it == form.fields.end()) {
      return error_at(*node, fmt::format("copy_to {} is not a field of this form", quoted(*name)));
    }
    if (it->type != FieldType::email) {
      return error_at(*node, fmt::format("copy_to {} must name a field of type \"email\", not {}",
                                         quoted(*name), quoted(to_string(it->type))));
    }
    form.copy_to = std::move(*name);
  }
  return form;
}

}  // namespace

std::string_view to_string(FieldType type) {
  for (const auto& [t, name] : kTypeNames) {
    if (t == type) return name;
  }
  return "text";
}

core::Result<FormDeclaration> parse_declaration(std::string_view toml_text) {
  if (toml_text.size() > kMaxDeclarationBytes) {
    return core::fail(
        core::ErrorKind::too_large,
        fmt::format("the declaration is larger than {} KiB", kMaxDeclarationBytes / 1024));
  }
  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    return error_at(e.source().begin, one_line(e.description()));
  }
  return check(root);
}

}  // namespace forms
