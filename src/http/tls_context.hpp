#pragma once
// Server TLS configuration (F1): TLS 1.2 (ECDHE + AEAD suites only) and TLS 1.3, nothing
// under 128 bits, no compression, no renegotiation, server cipher preference.

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "core/result.hpp"

namespace http {

struct TlsPolicy {
  std::string min_version = "1.2";  // "1.2" or "1.3"; anything older is refused
  // OpenSSL cipher list for TLS 1.2. Every suite it expands to must be ECDHE with an AEAD
  // cipher of >= 128 bits, or the configuration is refused.
  std::string tls12_ciphers =
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  std::string tls13_ciphersuites =
      "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
  std::string groups = "X25519:P-256:P-384";
};

// Builds a server context from PEM files. Fails with a clear message on an unreadable or
// mismatched certificate/key, or a policy that would allow anything weak.
core::Result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls_context(
    const std::string& cert_file, const std::string& key_file, const TlsPolicy& policy);

// Checks a policy without certificate files (used by config loading and tests).
core::Status check_tls_policy(const TlsPolicy& policy);

}  // namespace http
