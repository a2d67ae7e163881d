// Trust: untrusted network input (any client that connects, before it authenticates).
#include "mail/submission/command.hpp"

#include <array>
#include <utility>

#include "mail/smtp/command.hpp"
#include "mail/submission/limits.hpp"

namespace mail::submission {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

constexpr std::array<std::pair<std::string_view, Verb>, 13> kVerbs = {{
    {"EHLO", Verb::ehlo},
    {"HELO", Verb::helo},
    {"STARTTLS", Verb::starttls},
    {"AUTH", Verb::auth},
    {"MAIL", Verb::mail},
    {"RCPT", Verb::rcpt},
    {"DATA", Verb::data},
    {"RSET", Verb::rset},
    {"NOOP", Verb::noop},
    {"QUIT", Verb::quit},
    {"VRFY", Verb::vrfy},
    {"HELP", Verb::help},
    {"BDAT", Verb::bdat},
}};

// "<path>" at the start of `s` after an optional run of spaces: the path and the rest.
std::optional<std::pair<std::string_view, std::string_view>> take_path(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (s.empty() || s.front() != '<') return std::nullopt;
  const auto close = s.find('>');
  if (close == std::string_view::npos) return std::nullopt;
  return std::pair{s.substr(1, close - 1), s.substr(close + 1)};
}

// The decimal value of SIZE=, at most 20 digits (2^64 has 20).
std::optional<std::uint64_t> parse_size(std::string_view digits) {
  if (digits.empty() || digits.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace

std::optional<Command> parse_command(std::string_view line) {
  if (line.empty() || line.size() > kMaxCommandLineBytes) return std::nullopt;
  for (const char ch : line) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f) return std::nullopt;
  }
  const auto space = line.find(' ');
  const std::string_view word = line.substr(0, space);
  Command command;
  command.argument = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
  for (const auto& [name, verb] : kVerbs) {
    if (iequals(word, name)) {
      command.verb = verb;
      break;
    }
  }
  return command;
}

core::Expected<MailFrom, PathError> parse_mail_from(std::string_view argument) {
  using core::Unexpected;
  if (!istarts_with(argument, "FROM:")) return Unexpected<PathError>(PathError::syntax);
  auto path = take_path(argument.substr(5));
  if (!path) return Unexpected<PathError>(PathError::syntax);
  MailFrom out;
  if (path->first.empty() || !smtp::is_valid_path(path->first, false)) {
    return Unexpected<PathError>(PathError::address);
  }
  out.address = std::string(path->first);
  std::string_view rest = path->second;
  bool seen_size = false, seen_body = false;
  while (!rest.empty()) {
    if (rest.front() != ' ') return Unexpected<PathError>(PathError::syntax);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) break;
    const auto end = rest.find(' ');
    const std::string_view param = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    const auto eq = param.find('=');
    const std::string_view key = param.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
    if (iequals(key, "SIZE") && !seen_size) {
      auto size = parse_size(value);
      if (!size) return Unexpected<PathError>(PathError::parameter);
      out.size = *size;
      seen_size = true;
    } else if (iequals(key, "BODY") && !seen_body) {
      if (iequals(value, "8BITMIME")) {
        out.eight_bit_mime = true;
      } else if (!iequals(value, "7BIT")) {
        return Unexpected<PathError>(PathError::parameter);
      }
      seen_body = true;
    } else if (iequals(key, "AUTH") && eq != std::string_view::npos) {
      // RFC 4954 §5: the identity a trusted relay vouches for; we trust none, so it is
      // ignored (as the RFC allows).
    } else {
      return Unexpected<PathError>(PathError::parameter);
    }
  }
  return out;
}

core::Expected<std::string, PathError> parse_rcpt_to(std::string_view argument) {
  using core::Unexpected;
  if (!istarts_with(argument, "TO:")) return Unexpected<PathError>(PathError::syntax);
  auto path = take_path(argument.substr(3));
  if (!path) return Unexpected<PathError>(PathError::syntax);
  std::string_view rest = path->second;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (!rest.empty()) return Unexpected<PathError>(PathError::parameter);
  if (!smtp::is_valid_path(path->first, false)) return Unexpected<PathError>(PathError::address);
  return std::string(path->first);
}

}  // namespace mail::submission
