// libFuzzer target: auth::find_cookie on the Cookie request header.
// Trust: the input is untrusted network bytes. Besides "no crash, no sanitizer report", it
// checks what the parser promises: limits hold, a found value is made of cookie-octets and
// occurs in the header, a second cookie of the same name always hides both, and what
// session_cookie sets is read back unchanged.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/cookie.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool is_cookie_octet(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E && c != '"' && c != ',' && c != ';' && c != '\\';
}

void check_lookup(std::string_view header, std::string_view name) {
  const auto value = auth::find_cookie(header, name);
  if (header.size() > auth::kMaxCookieHeaderBytes) check(!value.has_value());
  if (!value) return;
  for (const char c : *value) check(is_cookie_octet(c));
  check(header.find(name) != std::string_view::npos);
  check(header.find(*value) != std::string_view::npos);

  // Another cookie of the same name makes the answer "none", wherever it goes.
  const std::string tossed = std::string(name) + "=tossed";
  check(!auth::find_cookie(std::string(header) + "; " + tossed, name).has_value());
  check(!auth::find_cookie(tossed + "; " + std::string(header), name).has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view header(reinterpret_cast<const char*>(data), size);
  check_lookup(header, auth::kSessionCookieName);
  check_lookup(header, "a");

  // Whatever the header holds, the Set-Cookie we build from its value reads back to it.
  if (const auto value = auth::find_cookie(header, auth::kSessionCookieName); value) {
    const std::string set = auth::session_cookie(*value);
    if (value->empty()) {
      check(set == auth::clear_session_cookie());
    } else {
      const std::string pair = set.substr(0, set.find(';'));
      check(auth::find_cookie(pair, auth::kSessionCookieName) == *value);
    }
  }
  // And a Set-Cookie built from arbitrary bytes never carries anything but the value.
  const std::string built = auth::session_cookie(header);
  check(built == auth::clear_session_cookie() ||
        built.size() == auth::kSessionCookieName.size() + 1 + header.size() +
                            std::string_view("; Path=/; Secure; HttpOnly; SameSite=Strict").size());
  check(built.find_first_of("\r\n") == std::string::npos);
  return 0;
}
