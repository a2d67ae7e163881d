#pragma once
// S/MIME (RFC 8551) through OpenSSL 3's CMS: recipients' X.509 certificates (parsed and
// checked for `sealpost cert import` and again at each send) and the organisation's
// signing certificate and key (`[mail] smime_cert_file`, `smime_key_file`). Key material
// stays inside crypto/: callers pass the key file's bytes and get DER back.
// Trust: parse_certificate reads untrusted files given by an administrator (size-limited,
// fuzzed: tests/fuzz/fuzz_certificate.cpp).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"

namespace crypto {

// A certificate file: real ones are 1-3 KiB; 64 KiB leaves room for large names and
// extensions and still bounds what OpenSSL's ASN.1 parser is given.
inline constexpr std::size_t kMaxCertFileBytes = 64 * 1024;

struct CertInfo {
  std::string sha256;               // of the DER, 64 upper-case hex digits: the cert's id
  std::vector<std::string> emails;  // SAN rfc822Name and subject emailAddress, lower case
  std::string subject;              // RFC 2253, printable ASCII, at most 256 bytes
  std::int64_t not_before = 0;      // unix seconds
  std::int64_t not_after = 0;
  // Key usage: true when the extension is absent or allows keyEncipherment or
  // keyAgreement.
  bool usage_allows_encryption = false;
  // Extended key usage: true when the extension is absent or lists emailProtection.
  bool eku_allows_email = false;
  bool is_ca = false;
  std::string pem;  // the certificate alone, PEM, as we store it
};

// One X.509 certificate, PEM (the first one in the file) or DER (exactly one, nothing
// after it). invalid_input for anything else; too_large above kMaxCertFileBytes.
core::Result<CertInfo> parse_certificate(std::span<const std::uint8_t> bytes);

// Whether `cert` may receive S/MIME at `now`: valid now, key usage and extended key usage
// allow it, not a CA, names an e-mail address, and either `pinned` (the operator vouches
// for this exact certificate) or it chains at `now` to a certificate in `ca_bundle_pem`
// (PEM, one or more). The error's public text says which check failed.
core::Status check_recipient_cert(const CertInfo& cert, std::string_view ca_bundle_pem, bool pinned,
                                  core::TimePoint now);

// The organisation's S/MIME identity: a certificate (PEM) and its private key (PEM, not
// encrypted). Checked when loaded: they belong together and the key can sign.
struct SmimeSigner {
  std::string cert_pem;
  core::SecretBytes key_pem;
};
core::Status check_smime_signer(const SmimeSigner& signer);

enum class SmimeCipher { aes256_cbc, aes256_gcm };

// `entity` (a MIME entity, CRLF lines) signed by `signer` (CMS SignedData, SHA-256,
// detached, as multipart/signed; protocol="application/pkcs7-signature") and that signed
// entity enveloped to `recipient_certs_pem` (CMS EnvelopedData with AES-256-CBC, or
// AuthEnvelopedData with AES-256-GCM): the DER of the outer CMS ContentInfo, to be sent as
// application/pkcs7-mime; smime-type=enveloped-data (RFC 8551 3.3, 3.6).
core::Result<std::string> smime_sign_and_encrypt(
    std::string_view entity, const SmimeSigner& signer,
    const std::vector<std::string>& recipient_certs_pem, SmimeCipher cipher);

}  // namespace crypto
