#include "auth/cookie.hpp"

#include <algorithm>

namespace auth {
namespace {

constexpr std::string_view kAttributes = "; Path=/; Secure; HttpOnly; SameSite=Strict";

// RFC 6265 section 4.1.1 cookie-octet: printable US-ASCII except '"', ',', ';' and '\'.
bool is_cookie_octet(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E && c != '"' && c != ',' && c != ';' && c != '\\';
}

bool is_cookie_value(std::string_view value) {
  return std::all_of(value.begin(), value.end(), is_cookie_octet);
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::optional<std::string> find_cookie(std::string_view header, std::string_view name) {
  if (header.size() > kMaxCookieHeaderBytes || name.empty()) return std::nullopt;
  std::size_t pairs = 0;
  std::size_t matches = 0;
  std::optional<std::string_view> found;
  while (!header.empty()) {
    const std::size_t semicolon = header.find(';');
    const std::string_view piece = trim_ows(header.substr(0, semicolon));
    header.remove_prefix(semicolon == std::string_view::npos ? header.size() : semicolon + 1);
    if (piece.empty()) continue;  // "a=1;; b=2" or a trailing ';'
    if (++pairs > kMaxCookiePairs) return std::nullopt;
    const std::size_t equals = piece.find('=');
    if (equals == std::string_view::npos) continue;  // a nameless cookie; never ours
    if (trim_ows(piece.substr(0, equals)) != name) continue;
    // Every occurrence counts, valid or not: two candidates are ambiguous either way.
    if (++matches > 1) return std::nullopt;
    std::string_view value = trim_ows(piece.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (is_cookie_value(value)) found = value;
  }
  if (matches != 1 || !found) return std::nullopt;
  return std::string(*found);
}

std::string session_cookie(std::string_view value) {
  if (value.empty() || !is_cookie_value(value)) return clear_session_cookie();
  std::string cookie(kSessionCookieName);
  cookie += '=';
  cookie += value;
  cookie += kAttributes;
  return cookie;
}

std::string clear_session_cookie() {
  std::string cookie(kSessionCookieName);
  cookie += '=';
  cookie += kAttributes;
  cookie += "; Max-Age=0";
  return cookie;
}

}  // namespace auth
