// Trust: untrusted network input (the EHLO reply of a remote SMTP server).
#include "mail/smtp/capabilities.hpp"

#include <string_view>

namespace mail::smtp {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

// RFC 1870: "SIZE" [SP size-value], size-value = 1*20DIGIT. Overflow or junk: no limit
// known (we then send and let the server judge the size at MAIL or at the end of data).
std::optional<std::uint64_t> parse_size(std::string_view param) {
  if (param.empty() || param.size() > 20) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : param) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (value == 0) return std::nullopt;
  return value;
}

}  // namespace

Capabilities parse_ehlo(const Reply& reply) {
  Capabilities caps;
  if (reply.code != 250) return caps;
  // The first line is the server's name and greeting, never a keyword.
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    std::string_view line = reply.lines[i];
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    const std::size_t space = line.find(' ');
    const std::string_view keyword = line.substr(0, space);
    std::string_view param = space == std::string_view::npos ? "" : line.substr(space + 1);
    while (!param.empty() && param.front() == ' ') param.remove_prefix(1);
    while (!param.empty() && param.back() == ' ') param.remove_suffix(1);
    if (iequals(keyword, "STARTTLS")) {
      caps.starttls = true;
    } else if (iequals(keyword, "PIPELINING")) {
      caps.pipelining = true;
    } else if (iequals(keyword, "8BITMIME")) {
      caps.eight_bit_mime = true;
    } else if (iequals(keyword, "SMTPUTF8")) {
      caps.smtputf8 = true;
    } else if (iequals(keyword, "ENHANCEDSTATUSCODES")) {
      caps.enhanced_status_codes = true;
    } else if (iequals(keyword, "SIZE")) {
      caps.size_offered = true;
      caps.size = parse_size(param);
    }
  }
  return caps;
}

}  // namespace mail::smtp
