#include "http/security_headers.hpp"

namespace http {

void apply_security_headers(Response& r) {
  r.set(bhttp::field::strict_transport_security, "max-age=63072000; includeSubDomains");
  if (r.find("Content-Security-Policy") == r.end()) {
    r.set("Content-Security-Policy", kDefaultCsp);
  }
  auto csp = r["Content-Security-Policy"];
  // A form that opts in to embedding names its origins in frame-ancestors; X-Frame-Options
  // cannot express that, so it is only sent when framing is refused altogether.
  if (csp.find("frame-ancestors 'none'") != std::string_view::npos) {
    r.set("X-Frame-Options", "DENY");
  } else {
    r.erase("X-Frame-Options");
  }
  r.set("X-Content-Type-Options", "nosniff");
  r.set("Referrer-Policy", "no-referrer");
  r.set(bhttp::field::cache_control, "no-store");
  r.set(bhttp::field::pragma, "no-cache");
  r.set("Cross-Origin-Opener-Policy", "same-origin");
  r.set("Cross-Origin-Resource-Policy", "same-origin");
  r.set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()");
  r.set(bhttp::field::server, "sealpost");
}

}  // namespace http
