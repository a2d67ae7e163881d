#include "http/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string_view>

#include "core/openssl_errors.hpp"

namespace http {
namespace {

using core::ErrorKind;

// Applies the policy to a raw SSL_CTX and verifies what OpenSSL actually enabled.
core::Status apply_policy(SSL_CTX* ctx, const TlsPolicy& policy) {
  int min_version;
  if (policy.min_version == "1.2") {
    min_version = TLS1_2_VERSION;
  } else if (policy.min_version == "1.3") {
    min_version = TLS1_3_VERSION;
  } else {
    return core::fail(ErrorKind::invalid_input,
                      "tls.min_version must be \"1.2\" or \"1.3\" (older versions are insecure)");
  }
  if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return core::fail(ErrorKind::internal, "TLS setup failed", core::openssl_errors());
  }
  // CLEANSE_PLAINTEXT: OpenSSL wipes decrypted records once read (form data is PHI).
  SSL_CTX_set_options(ctx, SSL_OP_CLEANSE_PLAINTEXT | SSL_OP_NO_COMPRESSION |
                               SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_TICKET | SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 |
                               SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1);
  SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION | SSL_OP_LEGACY_SERVER_CONNECT);
  if (SSL_CTX_set_cipher_list(ctx, policy.tls12_ciphers.c_str()) != 1) {
    return core::fail(ErrorKind::invalid_input, "tls.ciphers_tls12 names no usable cipher",
                      core::openssl_errors());
  }
  if (SSL_CTX_set_ciphersuites(ctx, policy.tls13_ciphersuites.c_str()) != 1) {
    return core::fail(ErrorKind::invalid_input, "tls.ciphersuites_tls13 is not valid",
                      core::openssl_errors());
  }
  if (SSL_CTX_set1_groups_list(ctx, policy.groups.c_str()) != 1) {
    return core::fail(ErrorKind::invalid_input, "tls.groups is not valid", core::openssl_errors());
  }
  // Inspect every suite the lists expanded to: a typo or a broad keyword like "HIGH" must
  // not quietly enable CBC, RSA key exchange or anything under 128 bits.
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    std::string_view name = SSL_CIPHER_get_name(c);
    int bits = SSL_CIPHER_get_bits(c, nullptr);
    bool aead = SSL_CIPHER_is_aead(c) == 1;
    int kx = SSL_CIPHER_get_kx_nid(c);
    // TLS 1.3 suites report kx "any": their key exchange is always (EC)DHE here, since we
    // configure no pre-shared keys.
    bool forward_secret = kx == NID_kx_ecdhe || kx == NID_kx_any;
    if (!aead || bits < 128 || !forward_secret) {
      return core::fail(ErrorKind::invalid_input,
                        "TLS cipher " + std::string(name) +
                            " is not allowed: only ECDHE with AEAD ciphers of 128 bits or more");
    }
  }
  return core::ok();
}

}  // namespace

core::Status check_tls_policy(const TlsPolicy& policy) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr)
    return core::fail(ErrorKind::internal, "TLS setup failed", core::openssl_errors());
  auto status = apply_policy(ctx, policy);
  SSL_CTX_free(ctx);
  return status;
}

core::Result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls_context(
    const std::string& cert_file, const std::string& key_file, const TlsPolicy& policy) {
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* raw = ctx->native_handle();
  if (auto s = apply_policy(raw, policy); !s) return core::fail(s.error());
  if (SSL_CTX_use_certificate_chain_file(raw, cert_file.c_str()) != 1) {
    return core::fail(ErrorKind::invalid_input, "cannot read the TLS certificate " + cert_file,
                      core::openssl_errors());
  }
  if (SSL_CTX_use_PrivateKey_file(raw, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return core::fail(ErrorKind::invalid_input, "cannot read the TLS private key " + key_file,
                      core::openssl_errors());
  }
  if (SSL_CTX_check_private_key(raw) != 1) {
    return core::fail(ErrorKind::invalid_input,
                      "the TLS private key does not match the certificate", core::openssl_errors());
  }
  return ctx;
}

}  // namespace http
