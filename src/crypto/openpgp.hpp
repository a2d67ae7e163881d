#pragma once
// OpenPGP operations, through RNP. Key material stays inside crypto/: the rest of the
// program sees fingerprints, public-key text and ciphertext only.
// Trust: parses untrusted key files given by an administrator (size-limited).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"

namespace crypto {

// A v4 OpenPGP fingerprint: exactly 40 upper-case hex digits once validated.
class Fingerprint {
 public:
  // Accepts upper or lower case, with or without spaces (as gpg prints them).
  static core::Result<Fingerprint> parse(std::string_view text);
  const std::string& hex() const noexcept { return hex_; }
  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
  friend auto operator<=>(const Fingerprint&, const Fingerprint&) = default;

 private:
  explicit Fingerprint(std::string hex) : hex_(std::move(hex)) {}
  std::string hex_;
};

struct KeyInfo {
  Fingerprint fingerprint;
  std::vector<std::string> user_ids;
  std::int64_t created_at = 0;             // unix seconds
  std::optional<std::int64_t> expires_at;  // primary key expiry, unix seconds
  // The last moment (unix seconds) at which the key can still encrypt: the end of the
  // primary key's validity, or earlier when every encryption-capable (sub)key ends
  // sooner; the latest of those counts. nullopt: no end. 0 when no (sub)key could ever
  // encrypt. Independent of the `now` the key was parsed at.
  std::optional<std::int64_t> encrypt_until;
  bool revoked = false;
  bool has_secret = false;  // never true for keys we accept
  // True when the primary key or a subkey is valid now, not revoked, not expired and
  // capable of encryption.
  bool can_encrypt = false;
  std::string algorithm;  // primary key algorithm, e.g. "EDDSA"
};

struct PublicKey {
  KeyInfo info;
  std::string armored;  // the transferable public key, ASCII-armored, as we store it
};

// Limit on a key file we will parse: real public keys are a few KiB; 1 MiB leaves room for
// many signatures and still bounds memory.
inline constexpr std::size_t kMaxKeyFileBytes = 1 << 20;

// Parses one or more transferable public keys (armored or binary). Refuses secret keys,
// garbage and oversize input with a clear public text.
core::Result<std::vector<PublicKey>> parse_public_keys(std::span<const std::uint8_t> bytes,
                                                       core::TimePoint now);

// Checks a staff member's secret key as the browser uploads it for safekeeping (P5): one
// transferable secret key whose primary fingerprint is `fingerprint`, every secret (sub)key
// in it protected (encrypted under a passphrase the server never sees). The server stores
// it and hands it back; it cannot use it. Same size limit as public keys.
core::Status check_protected_secret_key(std::span<const std::uint8_t> bytes,
                                        const Fingerprint& fingerprint);

// Whether `key` may be a recipient of new submissions at `now`: not expired, not revoked,
// has an encryption-capable (sub)key (as of parsing) that is still valid at `now`
// (encrypt_until). The error's public text says which.
core::Status check_recipient(const KeyInfo& key, core::TimePoint now);

struct GeneratedSigningKey {
  Fingerprint fingerprint;
  std::string public_armored;
  core::SecretBytes secret_armored;  // unprotected: the server signs unattended
};

// Generates the server's signing key: Ed25519, sign-only, no encryption subkey, so that
// holding it never lets the server decrypt anything.
core::Result<GeneratedSigningKey> generate_signing_key(std::string_view user_id);

// An ASCII-armored detached OpenPGP signature (SHA-256) over `data`, made with the server's
// signing key (one unprotected, sign-only secret key, as RnpEncryptor requires). Used for
// the audit trail's checkpoints; `gpg --verify SIG DATA` accepts it.
core::Result<std::string> sign_detached(const core::SecretBytes& signing_secret_armored,
                                        std::string_view data);

// Checks a detached signature over `data` against the one public key in
// `public_key_armored`. ok() only when the signature is intact and made by that key;
// integrity error otherwise (invalid_input when the key itself is unreadable).
core::Status verify_detached(std::string_view public_key_armored, std::string_view data,
                             std::string_view signature);

// Signs `plaintext` with the server's signing key (as RnpEncryptor requires it) and encrypts
// it to `recipient_keys` (each one transferable public key, armored, as stored; each must
// have an encryption-capable (sub)key valid now): an ASCII-armored OpenPGP message, SEIPD
// v1, AES-256, uncompressed, as RnpEncryptor writes. For ad-hoc recipients (PGP/MIME mail):
// a fresh RNP context per call, so it is thread-safe and slower than RnpEncryptor.
core::Result<std::string> sign_and_encrypt_to_keys(std::span<const std::uint8_t> plaintext,
                                                   const std::vector<std::string>& recipient_keys,
                                                   const core::SecretBytes& signing_secret_armored);

// Signs and encrypts plaintext for a set of recipients. Thread-safe.
class Encryptor {
 public:
  virtual ~Encryptor() = default;
  // Returns a binary OpenPGP message: the plaintext signed by the server key, then
  // encrypted to every recipient. `gpg --decrypt` yields the plaintext and verifies.
  virtual core::Result<std::vector<std::uint8_t>> sign_and_encrypt(
      std::span<const std::uint8_t> plaintext, const std::vector<Fingerprint>& recipients) = 0;
};

// An Encryptor over RNP. Holds a small pool of RNP contexts (RNP's FFI object is not
// thread-safe) each loaded with the same public keys and the signing key.
class RnpEncryptor final : public Encryptor {
 public:
  static core::Result<std::unique_ptr<RnpEncryptor>> create(
      const std::vector<std::string>& public_keys_armored,
      const core::SecretBytes& signing_secret_armored, std::size_t contexts);
  ~RnpEncryptor() override;
  core::Result<std::vector<std::uint8_t>> sign_and_encrypt(
      std::span<const std::uint8_t> plaintext, const std::vector<Fingerprint>& recipients) override;

 private:
  struct Pool;
  explicit RnpEncryptor(std::unique_ptr<Pool> pool);
  std::unique_ptr<Pool> pool_;
};

}  // namespace crypto
