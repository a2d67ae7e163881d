#pragma once
// A DKIM private key (Ed25519, RFC 8463, or RSA, RFC 6376) held in OpenSSL: never printed,
// never logged; its PEM form only ever in core::SecretBytes.
// Trust: from_pem() takes a key file's bytes (ours, but checked: type and size).

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/secret.hpp"
#include "mail/dkim/limits.hpp"

namespace mail::dkim {

enum class Algorithm {
  ed25519_sha256,  // RFC 8463
  rsa_sha256,      // RFC 6376 (PKCS#1 v1.5)
};

// "ed25519-sha256" / "rsa-sha256": the a= tag.
std::string_view signature_algorithm(Algorithm algorithm);
// "ed25519" / "rsa": the k= tag of the key record, and the name used in key file names.
std::string_view key_type(Algorithm algorithm);

class PrivateKey {
 public:
  // A fresh key from OpenSSL's CSPRNG. `rsa_bits` only for RSA, within kMin/kMaxRsaBits.
  static core::Result<PrivateKey> generate(Algorithm algorithm, int rsa_bits = kDefaultRsaBits);
  // A PEM private key (PKCS#8 or PKCS#1); encrypted PEM is refused (no passphrase prompt).
  static core::Result<PrivateKey> from_pem(const core::SecretBytes& pem);

  // PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----").
  core::Result<core::SecretBytes> to_pem() const;
  Algorithm algorithm() const noexcept { return algorithm_; }
  int bits() const noexcept;
  // What a key record's p= carries, decoded: the raw 32-byte key for Ed25519 (RFC 8463 §4),
  // the DER SubjectPublicKeyInfo for RSA (what `openssl rsa -pubout` gives; RFC 6376 §3.6.1).
  std::vector<std::uint8_t> public_key() const;
  // The signature of DKIM's signed data: Ed25519 over SHA-256(data) (RFC 8463 §3), or
  // RSASSA-PKCS1-v1_5 with SHA-256 over data. Safe to call from several threads at once.
  core::Result<std::vector<std::uint8_t>> sign(std::string_view data) const;

 private:
  struct Free {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
  };
  PrivateKey(Algorithm algorithm, EVP_PKEY* key) : algorithm_(algorithm), key_(key) {}
  static core::Result<PrivateKey> adopt(EVP_PKEY* key);
  Algorithm algorithm_;
  std::unique_ptr<EVP_PKEY, Free> key_;
};

}  // namespace mail::dkim
