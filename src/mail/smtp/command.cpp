#include "mail/smtp/command.hpp"

#include <fmt/format.h>

#include "mail/smtp/limits.hpp"

namespace mail::smtp {

bool is_valid_path(std::string_view address, bool allow_empty) {
  if (address.empty()) return allow_empty;
  if (address.size() > kMaxPathBytes) return false;
  for (char c : address) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || c == '<' || c == '>') return false;
  }
  return true;
}

bool needs_smtputf8(std::string_view address) {
  for (char c : address) {
    if (static_cast<unsigned char>(c) > 0x7F) return true;
  }
  return false;
}

bool has_eight_bit(std::string_view message) { return needs_smtputf8(message); }

core::Result<std::string> mail_command(std::string_view sender, const MailParameters& params) {
  if (!is_valid_path(sender, true)) {
    return core::fail(core::ErrorKind::invalid_input, "invalid envelope sender");
  }
  std::string out = fmt::format("MAIL FROM:<{}>", sender);
  if (params.size) out += fmt::format(" SIZE={}", *params.size);
  if (params.eight_bit_mime) out += " BODY=8BITMIME";
  if (params.smtputf8) out += " SMTPUTF8";
  out += "\r\n";
  return out;
}

core::Result<std::string> rcpt_command(std::string_view recipient) {
  if (!is_valid_path(recipient, false)) {
    return core::fail(core::ErrorKind::invalid_input, "invalid recipient address");
  }
  return fmt::format("RCPT TO:<{}>\r\n", recipient);
}

core::Result<std::string> hello_command(std::string_view verb, std::string_view name) {
  if (verb != "EHLO" && verb != "HELO") {
    return core::fail(core::ErrorKind::internal, "unknown greeting verb");
  }
  if (name.empty() || name.size() > 255) {
    return core::fail(core::ErrorKind::invalid_input, "invalid EHLO name");
  }
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) {
      return core::fail(core::ErrorKind::invalid_input, "invalid EHLO name");
    }
  }
  return fmt::format("{} {}\r\n", verb, name);
}

std::string dot_stuff(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 8);
  bool line_start = true;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c == '\r' || c == '\n') {
      // CRLF, a bare CR and a bare LF each end one line.
      if (c == '\r' && i + 1 < message.size() && message[i + 1] == '\n') ++i;
      out += "\r\n";
      line_start = true;
      continue;
    }
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = false;
  }
  if (!line_start) out += "\r\n";
  out += ".\r\n";
  return out;
}

std::uint64_t size_parameter(std::string_view stuffed) {
  if (stuffed.size() < 3) return 0;
  const std::string_view body = stuffed.substr(0, stuffed.size() - 3);
  // Each line of the body that starts with '.' had one dot added.
  std::uint64_t doubled = 0;
  bool line_start = true;
  for (char c : body) {
    if (line_start && c == '.') ++doubled;
    line_start = c == '\n';
  }
  return body.size() - doubled;
}

}  // namespace mail::smtp
