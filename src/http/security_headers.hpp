#pragma once
// The headers every response carries (F3), errors and redirects included. Applied in one
// place, by the server, just before a response is written.

#include "http/router.hpp"

namespace http {

// Baseline policy for responses that set none: nothing may load, nothing may frame us.
inline constexpr std::string_view kDefaultCsp =
    "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// Adds HSTS, CSP (kDefaultCsp unless the handler set one), X-Content-Type-Options,
// Referrer-Policy, Cache-Control: no-store, X-Frame-Options (unless the CSP lets named
// origins frame the page), COOP/CORP and Permissions-Policy. Overwrites weaker values.
void apply_security_headers(Response& response);

}  // namespace http
