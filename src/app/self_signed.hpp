#pragma once
// A self-signed certificate for first runs and the demo. Production installs point
// [tls] certificate_file/private_key_file at a real certificate.

#include <string>

#include "core/result.hpp"
#include "core/secret.hpp"

namespace app {

struct SelfSigned {
  std::string certificate_pem;
  core::SecretBytes private_key_pem;
};

// ECDSA P-256, SHA-256, valid 397 days (the CA/Browser limit), subjectAltName DNS:hostname,
// DNS:localhost and IP:127.0.0.1.
core::Result<SelfSigned> make_self_signed(const std::string& hostname);

}  // namespace app
