#pragma once
// The OpenSSL error queue as one line, for logs only; reading it empties it. Header-only:
// core itself does not link OpenSSL, and only the modules that do (http, mail) include it.

#include <openssl/err.h>

#include <string>

namespace core {

inline std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

}  // namespace core
