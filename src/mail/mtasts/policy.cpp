// Trust: untrusted input (policy files from HTTPS, TXT records from DNS), bounded by
// limits.hpp and fuzzed (tests/fuzz/fuzz_mta_sts.cpp).
#include "mail/mtasts/policy.hpp"

#include <fmt/format.h>

#include "mail/mtasts/limits.hpp"

namespace mail::mtasts {

namespace {

using core::ErrorKind;

constexpr const char* kBadPolicy = "the MTA-STS policy is malformed";
constexpr const char* kBadRecord = "the MTA-STS TXT record is malformed";

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
bool is_wsp(char c) { return c == ' ' || c == '\t'; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The text of an error detail: what was wrong, never more than a few bytes of the input.
std::string quote(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) {
    const auto u = static_cast<unsigned char>(c);
    out += u >= 0x20 && u < 0x7f ? std::string(1, c) : fmt::format("\\x{:02x}", u);
  }
  if (s.size() > 40) out += "...";
  return out;
}

core::Unexpected<core::Error> bad_policy(std::string why) {
  return core::fail(ErrorKind::invalid_input, kBadPolicy, std::move(why));
}
core::Unexpected<core::Error> bad_record(std::string why) {
  return core::fail(ErrorKind::invalid_input, kBadRecord, std::move(why));
}

// RFC 8461 §3.1/§3.2 extension names: a letter or digit, then up to 31 letters, digits,
// '_', '-', '.'. Returns the length of the name at the start of `s` (0: none).
std::size_t name_length(std::string_view s) {
  if (s.empty() || !is_alnum(s[0])) return 0;
  std::size_t n = 1;
  while (n < s.size() && n < 32 && (is_alnum(s[n]) || s[n] == '_' || s[n] == '-' || s[n] == '.')) {
    ++n;
  }
  return n;
}

// RFC 5321 Domain in A-labels (letters, digits, inner hyphens; labels 1-63 bytes; at most
// 253 in all), optionally after "*.": the mx pattern of §3.2. Lower-cased.
core::Result<std::string> mx_pattern(std::string_view value) {
  std::string out;
  std::string_view name = value;
  if (name.starts_with("*.")) {
    out = "*.";
    name.remove_prefix(2);
  }
  if (name.empty() || name.size() > 253) {
    return bad_policy("mx pattern of bad length: " + quote(value));
  }
  std::size_t label = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0 || label > 63)
        return bad_policy("mx pattern with a bad label: " + quote(value));
      if (name[i - 1] == '-' || name[i - label] == '-') {
        return bad_policy("mx pattern label starts or ends with '-': " + quote(value));
      }
      label = 0;
      if (i < name.size()) out += '.';
      continue;
    }
    const char c = name[i];
    if (!is_alnum(c) && c != '-') {
      return bad_policy("mx pattern is not a host name (or \"*.\" and one): " + quote(value));
    }
    out += lower(c);
    ++label;
  }
  return out;
}

// §3.2 sts-policy-ext-value: visible characters (any byte from 0x80 up: UTF-8) with inner
// spaces. The caller has removed the trailing whitespace.
bool valid_extension_value(std::string_view value) {
  if (value.empty()) return false;
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (!(u == 0x20 || (u >= 0x21 && u <= 0x7e) || u >= 0x80)) return false;
  }
  return true;
}

core::Result<std::int64_t> max_age_of(std::string_view value) {
  if (value.empty() || value.size() > 10) {
    return bad_policy("max_age must be 1 to 10 digits: " + quote(value));
  }
  std::int64_t n = 0;
  for (char c : value) {
    if (!is_digit(c)) return bad_policy("max_age is not a number: " + quote(value));
    n = n * 10 + (c - '0');
  }
  if (n > kMaxMaxAgeSeconds) {
    return bad_policy(fmt::format("max_age {} is over the maximum of {}", n, kMaxMaxAgeSeconds));
  }
  return n;
}

bool starts_sts_record(std::string_view text) {
  if (!text.starts_with("v=STSv1")) return false;
  std::size_t i = 7;
  while (i < text.size() && is_wsp(text[i])) ++i;
  return i < text.size() && text[i] == ';';
}

}  // namespace

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::enforce:
      return "enforce";
    case Mode::testing:
      return "testing";
    case Mode::none:
      return "none";
  }
  return "none";
}

std::optional<Mode> parse_mode(std::string_view text) {
  for (auto m : {Mode::enforce, Mode::testing, Mode::none}) {
    if (mode_name(m) == text) return m;
  }
  return std::nullopt;
}

core::Result<Policy> parse_policy(std::string_view text) {
  if (text.size() > kMaxPolicyBytes) {
    return core::fail(ErrorKind::too_large, "the MTA-STS policy is too large",
                      fmt::format("{} bytes, at most {}", text.size(), kMaxPolicyBytes));
  }
  Policy policy;
  bool seen_version = false, seen_mode = false, seen_max_age = false;
  std::size_t extensions = 0;
  std::size_t line_number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line_number;
    std::size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? end : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    if (line.ends_with('\r')) line.remove_suffix(1);

    if (line.empty()) {
      // Only blank lines may follow a blank line, and only at the very end.
      for (std::size_t i = pos; i < text.size(); ++i) {
        if (text[i] != '\r' && text[i] != '\n') {
          return bad_policy(fmt::format("line {}: an empty line before more fields", line_number));
        }
      }
      break;
    }
    const std::size_t key_length = name_length(line);
    if (key_length == 0 || key_length >= line.size() || line[key_length] != ':') {
      return bad_policy(
          fmt::format("line {}: not a \"key: value\" line: {}", line_number, quote(line)));
    }
    const std::string_view key = line.substr(0, key_length);
    std::string_view value = line.substr(key_length + 1);
    while (!value.empty() && is_wsp(value.front())) value.remove_prefix(1);
    while (!value.empty() && is_wsp(value.back())) value.remove_suffix(1);
    if (value.empty()) {
      return bad_policy(fmt::format("line {}: {} has no value", line_number, quote(key)));
    }

    if (key == "version") {
      if (value != "STSv1") return bad_policy("version is not STSv1: " + quote(value));
      seen_version = true;
    } else if (key == "mode") {
      auto mode = parse_mode(value);
      if (!mode) return bad_policy("mode is not enforce, testing or none: " + quote(value));
      if (!seen_mode) policy.mode = *mode;  // §3.2: of a repeated key, the first counts
      seen_mode = true;
    } else if (key == "max_age") {
      auto age = max_age_of(value);
      if (!age) return core::fail(age.error());
      if (!seen_max_age) policy.max_age = *age;
      seen_max_age = true;
    } else if (key == "mx") {
      auto pattern = mx_pattern(value);
      if (!pattern) return core::fail(pattern.error());
      if (policy.mx.size() >= kMaxMxPatterns) {
        return bad_policy(fmt::format("more than {} mx patterns", kMaxMxPatterns));
      }
      policy.mx.push_back(std::move(*pattern));
    } else {
      // An extension: ignored (§3.2), once it is a well-formed line.
      if (!valid_extension_value(value)) {
        return bad_policy(
            fmt::format("line {}: bad characters in the value of {}", line_number, quote(key)));
      }
      if (++extensions > kMaxExtensions) {
        return bad_policy(fmt::format("more than {} unknown fields", kMaxExtensions));
      }
    }
  }
  if (!seen_version) return bad_policy("no version field");
  if (!seen_mode) return bad_policy("no mode field");
  if (!seen_max_age) return bad_policy("no max_age field");
  if (policy.mx.empty() && policy.mode != Mode::none) {
    return bad_policy("no mx field in a policy of mode " + std::string(mode_name(policy.mode)));
  }
  return policy;
}

std::string policy_text(const Policy& policy) {
  std::string out = "version: STSv1\nmode: ";
  out += mode_name(policy.mode);
  out += '\n';
  for (const auto& mx : policy.mx) out += "mx: " + mx + "\n";
  out += fmt::format("max_age: {}\n", policy.max_age);
  return out;
}

core::Result<Record> parse_record(std::string_view text) {
  if (text.size() > kMaxRecordBytes) {
    return core::fail(ErrorKind::too_large, "the MTA-STS TXT record is too large",
                      fmt::format("{} bytes, at most {}", text.size(), kMaxRecordBytes));
  }
  if (!text.starts_with("v=STSv1")) return bad_record("does not start with v=STSv1");
  Record record;
  bool seen_id = false;
  std::size_t fields = 0;
  std::size_t i = 7;
  for (;;) {
    while (i < text.size() && is_wsp(text[i])) ++i;
    if (i == text.size()) break;
    if (text[i] != ';') return bad_record("expected ';' at: " + quote(text.substr(i)));
    ++i;
    while (i < text.size() && is_wsp(text[i])) ++i;
    if (i == text.size()) break;  // a final ';'
    const std::size_t n = name_length(text.substr(i));
    if (n == 0 || i + n >= text.size() || text[i + n] != '=') {
      return bad_record("expected name=value at: " + quote(text.substr(i)));
    }
    const std::string_view name = text.substr(i, n);
    i += n + 1;
    const std::size_t start = i;
    if (name == "id") {
      while (i < text.size() && is_alnum(text[i])) ++i;
      if (i == start) return bad_record("the id is empty");
      if (i - start > kMaxIdBytes) return bad_record("the id is longer than 32 characters");
      if (!seen_id) record.id = std::string(text.substr(start, i - start));
      seen_id = true;
    } else {
      // §3.1 sts-ext-value: visible ASCII except ';' and '='.
      while (i < text.size() && text[i] >= 0x21 && text[i] <= 0x7e && text[i] != ';' &&
             text[i] != '=') {
        ++i;
      }
      if (i == start) return bad_record("the value of " + quote(name) + " is empty");
      if (++fields > kMaxExtensions) return bad_record("too many fields");
    }
  }
  if (!seen_id) return bad_record("no id field");
  return record;
}

core::Result<std::optional<Record>> find_record(const std::vector<std::string>& texts) {
  const std::string* found = nullptr;
  for (const auto& t : texts) {
    if (!starts_sts_record(t)) continue;
    if (found != nullptr) return bad_record("more than one v=STSv1 record");
    found = &t;
  }
  if (found == nullptr) return std::optional<Record>();
  auto record = parse_record(*found);
  if (!record) return core::fail(record.error());
  return std::optional<Record>(std::move(*record));
}

}  // namespace mail::mtasts
