#pragma once
// The session cookie: reading it from the Cookie request header and the Set-Cookie values
// that set and clear it.
// Trust: `header` in find_cookie is untrusted network input.
//
// SECURITY: the name carries the __Host- prefix, so browsers accept it only from a secure
// origin, with Path=/ and without Domain: a sibling subdomain cannot set or overwrite it.
// Browsers have not always enforced that (older ones ignore prefixes, and a nameless cookie
// whose value is "__Host-x=y" used to be sent as "__Host-x=y"), so a second cookie of our
// name can still reach us. find_cookie then answers "no cookie" rather than guess which of
// the two is ours.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace auth {

inline constexpr std::string_view kSessionCookieName = "__Host-sealpost-session";
// Browsers cap one cookie at 4 KiB and send a few dozen; twice the cap and 64 pairs leave
// room for other applications on the same host while bounding the work per request.
inline constexpr std::size_t kMaxCookieHeaderBytes = 8192;
inline constexpr std::size_t kMaxCookiePairs = 64;

// The value of cookie `name` in a Cookie header (RFC 6265 section 5.4: `name=value` pairs
// separated by ';' and optional spaces). The value may be wrapped in double quotes, which are
// removed. nullopt when the header is over the limits, when the name is absent, appears more
// than once, or when its value has characters RFC 6265 does not allow in a cookie value
// (controls, spaces, '"', ',', ';', '\\', non-ASCII). Names compare case-sensitively.
std::optional<std::string> find_cookie(std::string_view header, std::string_view name);

// `__Host-sealpost-session=VALUE; Path=/; Secure; HttpOnly; SameSite=Strict`: no Max-Age, so
// it ends with the browser session (the server enforces the timeouts). VALUE must be
// cookie-octets (our base64url session ids are); anything else yields clear_session_cookie(),
// so a bug can never inject attributes or headers.
std::string session_cookie(std::string_view value);

// The same attributes with an empty value and Max-Age=0: the browser deletes the cookie.
std::string clear_session_cookie();

}  // namespace auth
