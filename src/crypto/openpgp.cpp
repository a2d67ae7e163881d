// SECURITY: parse_public_keys() reads key files supplied by an administrator; they are
// size-limited and parsed by RNP in a throwaway context that is destroyed afterwards.
// No RNP text ever goes into a public text (only into Error::detail). The server's only
// secret key is the sign-only signing key; RnpEncryptor refuses any other secret key, so
// the process never holds a key that can decrypt stored submissions.

#include "crypto/openpgp.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <limits>
#include <mutex>
#include <utility>

#include "crypto/detail/rnp_handles.hpp"

namespace crypto {

namespace {

using core::ErrorKind;
namespace d = detail;

// Upper bounds that keep a hostile or mistaken input from costing much.
constexpr std::size_t kMaxFingerprintText = 128;
constexpr std::size_t kMaxUserIdBytes = 256;
constexpr std::size_t kMaxContexts = 64;

constexpr const char* kLibraryFailure = "OpenPGP library failure";

core::Unexpected<core::Error> library_failure(std::string_view what, rnp_result_t rc) {
  return core::fail(ErrorKind::internal, kLibraryFailure, d::rnp_detail(what, rc));
}

std::string take_string(char* raw) {
  d::RnpString owned(raw);
  return owned ? std::string(owned.get()) : std::string();
}

std::string utc_date(std::int64_t unix_seconds) {
  using namespace std::chrono;
  const sys_days day = floor<days>(sys_seconds(seconds(unix_seconds)));
  const year_month_day ymd(day);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// A boolean property of an RNP handle; false when RNP cannot tell.
template <class Handle>
bool flag(rnp_result_t (*query)(Handle, bool*), Handle handle) {
  bool value = false;
  return query(handle, &value) == RNP_SUCCESS && value;
}

bool allows(rnp_key_handle_t key, const char* usage) {
  bool value = false;
  return rnp_key_allows_usage(key, usage, &value) == RNP_SUCCESS && value;
}

// Whether `key` (primary or subkey) may encrypt at unix time `now`: RNP's own validity
// (self-signatures, binding, revocation, expiry as of the ffi timestamp), re-checked
// against `now` through valid_till so the answer never depends on the system clock.
bool usable_for_encryption(rnp_key_handle_t key, std::int64_t now) {
  if (!allows(key, "encrypt") || flag(rnp_key_is_revoked, key) || !flag(rnp_key_is_valid, key)) {
    return false;
  }
  std::uint32_t created = 0;
  std::uint64_t valid_till = 0;
  if (rnp_key_get_creation(key, &created) != RNP_SUCCESS ||
      rnp_key_valid_till64(key, &valid_till) != RNP_SUCCESS) {
    return false;
  }
  if (static_cast<std::int64_t>(created) > now) return false;
  return valid_till == std::numeric_limits<std::uint64_t>::max() ||
         static_cast<std::int64_t>(valid_till) > now;
}

core::Result<bool> any_subkey(rnp_key_handle_t primary, auto&& predicate) {
  std::size_t count = 0;
  if (const rnp_result_t rc = rnp_key_get_subkey_count(primary, &count); rc != RNP_SUCCESS) {
    return library_failure("rnp_key_get_subkey_count", rc);
  }
  for (std::size_t i = 0; i < count; ++i) {
    rnp_key_handle_t raw = nullptr;
    const rnp_result_t rc = rnp_key_get_subkey_at(primary, i, &raw);
    d::Key sub(raw);
    if (rc != RNP_SUCCESS) return library_failure("rnp_key_get_subkey_at", rc);
    if (predicate(sub.get())) return true;
  }
  return false;
}

// RNP's end of validity of `key` (for a subkey, capped by its primary's; revocation
// counted), whatever the ffi timestamp: UINT64_MAX for never, 0 when never valid.
std::uint64_t valid_till(rnp_key_handle_t key) {
  std::uint64_t till = 0;
  return rnp_key_valid_till64(key, &till) == RNP_SUCCESS ? till : 0;
}

// KeyInfo::encrypt_until of `primary`: the latest end of validity over the (sub)keys that
// can encrypt and are not revoked, capped by the primary's own.
core::Result<std::optional<std::int64_t>> encrypt_until(rnp_key_handle_t primary) {
  std::uint64_t latest = 0;
  auto consider = [&latest](rnp_key_handle_t key) {
    if (allows(key, "encrypt") && !flag(rnp_key_is_revoked, key)) {
      latest = std::max(latest, valid_till(key));
    }
    return false;  // visit every subkey
  };
  consider(primary);
  if (auto visited = any_subkey(primary, consider); !visited) {
    return core::fail(std::move(visited).error());
  }
  const std::uint64_t until = std::min(latest, valid_till(primary));
  if (until == std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
  return static_cast<std::int64_t>(
      std::min<std::uint64_t>(until, std::numeric_limits<std::int64_t>::max()));
}

core::Result<std::vector<std::string>> user_ids(rnp_key_handle_t key) {
  std::size_t count = 0;
  if (const rnp_result_t rc = rnp_key_get_uid_count(key, &count); rc != RNP_SUCCESS) {
    return library_failure("rnp_key_get_uid_count", rc);
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) {
    rnp_uid_handle_t raw_uid = nullptr;
    if (rnp_key_get_uid_handle_at(key, i, &raw_uid) != RNP_SUCCESS) continue;
    d::Uid uid(raw_uid);
    if (flag(rnp_uid_is_revoked, uid.get())) continue;
    char* text = nullptr;
    if (const rnp_result_t rc = rnp_key_get_uid_at(key, i, &text); rc != RNP_SUCCESS) {
      return library_failure("rnp_key_get_uid_at", rc);
    }
    out.push_back(take_string(text));
  }
  return out;
}

core::Result<std::string> export_public_armored(rnp_key_handle_t key) {
  auto output = d::memory_output();
  if (!output) return core::fail(std::move(output).error());
  const rnp_result_t rc = rnp_key_export(
      key, output->get(), RNP_KEY_EXPORT_ARMORED | RNP_KEY_EXPORT_PUBLIC | RNP_KEY_EXPORT_SUBKEYS);
  if (rc != RNP_SUCCESS) return library_failure("rnp_key_export(public)", rc);
  const auto bytes = d::memory_output_bytes(output->get());
  return std::string(bytes.begin(), bytes.end());
}

core::Result<KeyInfo> describe(rnp_key_handle_t key, std::int64_t now) {
  char* raw_fpr = nullptr;
  if (const rnp_result_t rc = rnp_key_get_fprint(key, &raw_fpr); rc != RNP_SUCCESS) {
    return library_failure("rnp_key_get_fprint", rc);
  }
  auto fingerprint = Fingerprint::parse(take_string(raw_fpr));
  if (!fingerprint) {
    // v5/v6 keys have 64-digit fingerprints; we store and address v4 keys only.
    return core::fail(ErrorKind::invalid_input, "only OpenPGP v4 keys are supported",
                      fingerprint.error().detail());
  }
  KeyInfo info{.fingerprint = *std::move(fingerprint)};

  auto uids = user_ids(key);
  if (!uids) return core::fail(std::move(uids).error());
  info.user_ids = *std::move(uids);

  std::uint32_t created = 0;
  std::uint32_t expiration = 0;
  if (const rnp_result_t rc = rnp_key_get_creation(key, &created); rc != RNP_SUCCESS) {
    return library_failure("rnp_key_get_creation", rc);
  }
  if (const rnp_result_t rc = rnp_key_get_expiration(key, &expiration); rc != RNP_SUCCESS) {
    return library_failure("rnp_key_get_expiration", rc);
  }
  info.created_at = created;
  if (expiration != 0) info.expires_at = std::int64_t{created} + std::int64_t{expiration};
  info.revoked = flag(rnp_key_is_revoked, key);
  info.has_secret = flag(rnp_key_have_secret, key);

  char* raw_alg = nullptr;
  if (const rnp_result_t rc = rnp_key_get_alg(key, &raw_alg); rc != RNP_SUCCESS) {
    return library_failure("rnp_key_get_alg", rc);
  }
  info.algorithm = take_string(raw_alg);

  if (usable_for_encryption(key, now)) {
    info.can_encrypt = true;
  } else if (!info.revoked) {
    auto sub = any_subkey(key, [now](rnp_key_handle_t k) { return usable_for_encryption(k, now); });
    if (!sub) return core::fail(std::move(sub).error());
    info.can_encrypt = *sub;
  }
  auto until = encrypt_until(key);
  if (!until) return core::fail(std::move(until).error());
  info.encrypt_until = *until;
  return info;
}

// Imports `bytes` (OpenPGP keys, armored or binary) into `ffi`. `flags` picks which key
// kinds are kept.
core::Status import_keys(rnp_ffi_t ffi, std::span<const std::uint8_t> bytes, std::uint32_t flags,
                         const char* public_text) {
  auto input = d::input_from(bytes);
  if (!input) return core::fail(std::move(input).error());
  const rnp_result_t rc = rnp_import_keys(ffi, input->get(), flags, nullptr);
  if (rc != RNP_SUCCESS) {
    return core::fail(ErrorKind::invalid_input, public_text, d::rnp_detail("rnp_import_keys", rc));
  }
  return core::ok();
}

// The fingerprints of every primary key loaded in `ffi`, in keyring order.
core::Result<std::vector<std::string>> primary_fingerprints(rnp_ffi_t ffi) {
  rnp_identifier_iterator_t raw = nullptr;
  const rnp_result_t rc = rnp_identifier_iterator_create(ffi, &raw, "fingerprint");
  d::IdIterator it(raw);
  if (rc != RNP_SUCCESS) return library_failure("rnp_identifier_iterator_create", rc);
  std::vector<std::string> out;
  for (;;) {
    const char* id = nullptr;
    if (const rnp_result_t next = rnp_identifier_iterator_next(it.get(), &id);
        next != RNP_SUCCESS) {
      return library_failure("rnp_identifier_iterator_next", next);
    }
    if (id == nullptr) break;
    auto key = d::locate_by_fingerprint(ffi, id);
    if (!key) return core::fail(std::move(key).error());
    if (*key && flag(rnp_key_is_primary, key->get())) out.emplace_back(id);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Fingerprint

core::Result<Fingerprint> Fingerprint::parse(std::string_view text) {
  constexpr const char* kBad = "a key fingerprint must be 40 hexadecimal digits";
  if (text.size() > kMaxFingerprintText) {
    return core::fail(ErrorKind::invalid_input, kBad, "fingerprint text too long");
  }
  std::string hex;
  hex.reserve(40);
  for (const char c : text) {
    if (c == ' ') continue;
    if (c >= '0' && c <= '9') {
      hex.push_back(c);
    } else if (c >= 'a' && c <= 'f') {
      hex.push_back(static_cast<char>(c - 'a' + 'A'));
    } else if (c >= 'A' && c <= 'F') {
      hex.push_back(c);
    } else {
      return core::fail(ErrorKind::invalid_input, kBad, "non-hex character in fingerprint");
    }
  }
  if (hex.size() != 40) {
    return core::fail(ErrorKind::invalid_input, kBad,
                      "fingerprint has " + std::to_string(hex.size()) + " hex digits");
  }
  return Fingerprint(std::move(hex));
}

// ---------------------------------------------------------------------------------------
// Key files

namespace {

// A cheap shape check before RNP sees the bytes: RNP prints its own diagnostics straight to
// stderr for input that is not a key at all, and such input deserves our one-line error.
// Armored: the first non-blank line is a PGP key block header. Binary: the first byte is a
// packet header (high bit set) for a public (6) or secret (5) key packet.
bool looks_like_key_file(std::span<const std::uint8_t> bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return false;
  text.remove_prefix(first);
  if (text.starts_with("-----BEGIN PGP ")) {
    return text.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----") ||
           text.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----");
  }
  const std::uint8_t b = bytes[first];
  if ((b & 0x80) == 0) return false;
  const int tag = (b & 0x40) != 0 ? (b & 0x3F) : ((b >> 2) & 0x0F);
  return tag == 6 || tag == 5;
}

// Whether `key` is valid at unix time `now`: not revoked, RNP-valid, not expired.
bool valid_at(rnp_key_handle_t key, std::int64_t now) {
  if (flag(rnp_key_is_revoked, key) || !flag(rnp_key_is_valid, key)) return false;
  std::uint64_t valid_till = 0;
  if (rnp_key_valid_till64(key, &valid_till) != RNP_SUCCESS) return false;
  return valid_till == std::numeric_limits<std::uint64_t>::max() ||
         static_cast<std::int64_t>(valid_till) > now;
}

}  // namespace

core::Result<std::vector<PublicKey>> parse_public_keys(std::span<const std::uint8_t> bytes,
                                                       core::TimePoint now) {
  if (bytes.empty()) return core::fail(ErrorKind::invalid_input, "the key file is empty");
  if (bytes.size() > kMaxKeyFileBytes) {
    return core::fail(ErrorKind::too_large, "the key file is larger than 1 MiB",
                      std::to_string(bytes.size()) + " bytes");
  }
  if (!looks_like_key_file(bytes)) {
    return core::fail(ErrorKind::invalid_input, "the file is not a readable OpenPGP public key",
                      "neither an armored key block nor a binary key packet");
  }
  const std::int64_t now_s = core::unix_seconds(now);

  auto ffi = d::make_ffi();
  if (!ffi) return core::fail(std::move(ffi).error());
  // Key validity (binding signatures, expiry) is judged at `now`, not the system clock.
  if (now_s > 0) {
    if (const rnp_result_t rc = rnp_set_timestamp(ffi->get(), static_cast<std::uint64_t>(now_s));
        rc != RNP_SUCCESS) {
      return library_failure("rnp_set_timestamp", rc);
    }
  }
  // Load secret keys too, only to notice them and refuse the whole file.
  if (auto st =
          import_keys(ffi->get(), bytes, RNP_LOAD_SAVE_PUBLIC_KEYS | RNP_LOAD_SAVE_SECRET_KEYS,
                      "the file is not a readable OpenPGP public key");
      !st) {
    return core::fail(std::move(st).error());
  }
  std::size_t secret_count = 0;
  if (const rnp_result_t rc = rnp_get_secret_key_count(ffi->get(), &secret_count);
      rc != RNP_SUCCESS) {
    return library_failure("rnp_get_secret_key_count", rc);
  }
  if (secret_count != 0) {
    return core::fail(ErrorKind::invalid_input,
                      "this file contains a secret key; import only public keys",
                      std::to_string(secret_count) + " secret (sub)keys");
  }

  auto fingerprints = primary_fingerprints(ffi->get());
  if (!fingerprints) return core::fail(std::move(fingerprints).error());
  if (fingerprints->empty()) {
    return core::fail(ErrorKind::invalid_input, "the file does not contain an OpenPGP public key");
  }

  std::vector<PublicKey> keys;
  keys.reserve(fingerprints->size());
  for (const std::string& fpr : *fingerprints) {
    auto key = d::locate_by_fingerprint(ffi->get(), fpr);
    if (!key) return core::fail(std::move(key).error());
    if (!*key) return core::fail(ErrorKind::internal, kLibraryFailure, "imported key vanished");
    auto info = describe(key->get(), now_s);
    if (!info) return core::fail(std::move(info).error());
    auto armored = export_public_armored(key->get());
    if (!armored) return core::fail(std::move(armored).error());
    keys.push_back(PublicKey{.info = *std::move(info), .armored = *std::move(armored)});
  }
  return keys;
}

core::Status check_protected_secret_key(std::span<const std::uint8_t> bytes,
                                        const Fingerprint& fingerprint) {
  constexpr const char* kNotKey = "the private key is not a readable OpenPGP secret key";
  if (bytes.empty() || bytes.size() > kMaxKeyFileBytes || !looks_like_key_file(bytes)) {
    return core::fail(ErrorKind::invalid_input, kNotKey);
  }
  auto ffi = d::make_ffi();
  if (!ffi) return core::fail(std::move(ffi).error());
  if (auto st = import_keys(ffi->get(), bytes, RNP_LOAD_SAVE_SECRET_KEYS, kNotKey); !st) {
    return core::fail(std::move(st).error());
  }
  auto fingerprints = primary_fingerprints(ffi->get());
  if (!fingerprints) return core::fail(std::move(fingerprints).error());
  if (fingerprints->size() != 1 || (*fingerprints)[0] != fingerprint.hex()) {
    return core::fail(ErrorKind::invalid_input,
                      "the private key does not belong to the public key given");
  }
  auto primary = d::locate_by_fingerprint(ffi->get(), fingerprint.hex());
  if (!primary) return core::fail(std::move(primary).error());
  if (!*primary || !flag(rnp_key_have_secret, primary->get())) {
    return core::fail(ErrorKind::invalid_input, kNotKey, "no secret primary key");
  }
  auto unprotected = [](rnp_key_handle_t key) {
    return flag(rnp_key_have_secret, key) && !flag(rnp_key_is_protected, key);
  };
  auto any_open = any_subkey(primary->get(), unprotected);
  if (!any_open) return core::fail(std::move(any_open).error());
  if (unprotected(primary->get()) || *any_open) {
    return core::fail(ErrorKind::invalid_input,
                      "the private key is not protected by a passphrase; the server keeps only "
                      "passphrase-protected keys");
  }
  return core::ok();
}

core::Status check_recipient(const KeyInfo& key, core::TimePoint now) {
  const std::string& fpr = key.fingerprint.hex();
  if (key.has_secret) {
    return core::fail(ErrorKind::invalid_input,
                      "key " + fpr + " includes a secret key; import only public keys");
  }
  if (key.revoked) return core::fail(ErrorKind::invalid_input, "key " + fpr + " is revoked");
  if (key.expires_at && *key.expires_at <= core::unix_seconds(now)) {
    return core::fail(ErrorKind::invalid_input,
                      "key " + fpr + " expired on " + utc_date(*key.expires_at));
  }
  if (!key.can_encrypt) {
    return core::fail(ErrorKind::invalid_input, "key " + fpr + " has no encryption-capable subkey");
  }
  // The primary is valid, but its encryption subkeys may have expired since parsing.
  if (key.encrypt_until && *key.encrypt_until <= core::unix_seconds(now)) {
    return core::fail(ErrorKind::invalid_input, "key " + fpr + "'s encryption subkey expired on " +
                                                    utc_date(*key.encrypt_until));
  }
  return core::ok();
}

// ---------------------------------------------------------------------------------------
// Signing key

core::Result<GeneratedSigningKey> generate_signing_key(std::string_view user_id) {
  constexpr const char* kBadUid = "the signing key's user id must be 1 to 256 printable characters";
  if (user_id.empty() || user_id.size() > kMaxUserIdBytes) {
    return core::fail(ErrorKind::invalid_input, kBadUid);
  }
  for (const char c : user_id) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return core::fail(ErrorKind::invalid_input, kBadUid);
  }
  const std::string uid(user_id);

  auto ffi = d::make_ffi();
  if (!ffi) return core::fail(std::move(ffi).error());

  rnp_op_generate_t raw_op = nullptr;
  rnp_result_t rc = rnp_op_generate_create(&raw_op, ffi->get(), "EDDSA");
  d::OpGenerate op(raw_op);
  if (rc != RNP_SUCCESS) return library_failure("rnp_op_generate_create", rc);
  if ((rc = rnp_op_generate_clear_usage(op.get())) != RNP_SUCCESS ||
      (rc = rnp_op_generate_add_usage(op.get(), "sign")) != RNP_SUCCESS ||
      (rc = rnp_op_generate_set_userid(op.get(), uid.c_str())) != RNP_SUCCESS ||
      (rc = rnp_op_generate_set_hash(op.get(), "SHA256")) != RNP_SUCCESS ||
      (rc = rnp_op_generate_set_expiration(op.get(), 0)) != RNP_SUCCESS) {
    return library_failure("rnp_op_generate_set_*", rc);
  }
  if ((rc = rnp_op_generate_execute(op.get())) != RNP_SUCCESS) {
    return library_failure("rnp_op_generate_execute", rc);
  }
  rnp_key_handle_t raw_key = nullptr;
  rc = rnp_op_generate_get_key(op.get(), &raw_key);
  d::Key key(raw_key);
  if (rc != RNP_SUCCESS || !key) return library_failure("rnp_op_generate_get_key", rc);

  char* raw_fpr = nullptr;
  if ((rc = rnp_key_get_fprint(key.get(), &raw_fpr)) != RNP_SUCCESS) {
    return library_failure("rnp_key_get_fprint", rc);
  }
  auto fingerprint = Fingerprint::parse(take_string(raw_fpr));
  if (!fingerprint) {
    return core::fail(ErrorKind::internal, kLibraryFailure, "generated key is not v4");
  }

  auto public_armored = export_public_armored(key.get());
  if (!public_armored) return core::fail(std::move(public_armored).error());

  core::SecretBytes secret;
  {
    auto output = d::secret_output(secret);
    if (!output) return core::fail(std::move(output).error());
    rc = rnp_key_export(key.get(), output->get(),
                        RNP_KEY_EXPORT_ARMORED | RNP_KEY_EXPORT_SECRET | RNP_KEY_EXPORT_SUBKEYS);
    if (rc != RNP_SUCCESS) return library_failure("rnp_key_export(secret)", rc);
  }  // destroying the output flushes the armor trailer into `secret`
  return GeneratedSigningKey{.fingerprint = *std::move(fingerprint),
                             .public_armored = *std::move(public_armored),
                             .secret_armored = std::move(secret)};
}

// ---------------------------------------------------------------------------------------
// RnpEncryptor

struct RnpEncryptor::Pool {
  std::mutex mutex;
  std::condition_variable available;
  std::vector<d::Ffi> contexts;  // owns every context
  std::vector<rnp_ffi_t> idle;   // those not lent out; guarded by `mutex`
  std::string signer_fpr;

  rnp_ffi_t acquire() {
    std::unique_lock lock(mutex);
    available.wait(lock, [this] { return !idle.empty(); });
    rnp_ffi_t ffi = idle.back();
    idle.pop_back();
    return ffi;
  }
  void release(rnp_ffi_t ffi) {
    {
      std::lock_guard lock(mutex);
      idle.push_back(ffi);
    }
    available.notify_one();
  }
};

namespace {

// Lends one RNP context for the lifetime of the lease.
template <class Pool>
class Lease {
 public:
  explicit Lease(Pool& pool) : pool_(pool), ffi_(pool.acquire()) {}
  ~Lease() { pool_.release(ffi_); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  rnp_ffi_t get() const noexcept { return ffi_; }

 private:
  Pool& pool_;
  rnp_ffi_t ffi_;
};

// Loads one context and returns the fingerprint of its (single, sign-only) secret key.
core::Result<std::string> load_context(rnp_ffi_t ffi,
                                       const std::vector<std::string>& public_keys_armored,
                                       const core::SecretBytes& signing_secret_armored) {
  for (const std::string& armored : public_keys_armored) {
    const auto bytes =
        std::span(reinterpret_cast<const std::uint8_t*>(armored.data()), armored.size());
    // Public parts only: even a file that smuggled in a secret key loads no secret here.
    if (auto st = import_keys(ffi, bytes, RNP_LOAD_SAVE_PUBLIC_KEYS,
                              "a recipient public key could not be loaded");
        !st) {
      return core::fail(std::move(st).error());
    }
  }
  if (auto st = import_keys(ffi, signing_secret_armored.view(),
                            RNP_LOAD_SAVE_PUBLIC_KEYS | RNP_LOAD_SAVE_SECRET_KEYS,
                            "the signing key could not be loaded");
      !st) {
    return core::fail(std::move(st).error());
  }

  constexpr const char* kBadSigner =
      "the signing key must be one unprotected, sign-only OpenPGP secret key";
  std::size_t secret_count = 0;
  if (const rnp_result_t rc = rnp_get_secret_key_count(ffi, &secret_count); rc != RNP_SUCCESS) {
    return library_failure("rnp_get_secret_key_count", rc);
  }
  if (secret_count != 1) {
    return core::fail(ErrorKind::invalid_input, kBadSigner,
                      std::to_string(secret_count) + " secret (sub)keys loaded");
  }
  auto fingerprints = primary_fingerprints(ffi);
  if (!fingerprints) return core::fail(std::move(fingerprints).error());
  for (const std::string& fpr : *fingerprints) {
    auto key = d::locate_by_fingerprint(ffi, fpr);
    if (!key) return core::fail(std::move(key).error());
    if (!*key || !flag(rnp_key_have_secret, key->get())) continue;
    if (flag(rnp_key_is_protected, key->get()) || !allows(key->get(), "sign") ||
        allows(key->get(), "encrypt") || !flag(rnp_key_is_valid, key->get())) {
      return core::fail(ErrorKind::invalid_input, kBadSigner, "signing key unusable: " + fpr);
    }
    auto has_encrypting_sub =
        any_subkey(key->get(), [](rnp_key_handle_t k) { return allows(k, "encrypt"); });
    if (!has_encrypting_sub) return core::fail(std::move(has_encrypting_sub).error());
    if (*has_encrypting_sub) {
      return core::fail(ErrorKind::invalid_input, kBadSigner,
                        "signing key has an encryption subkey: " + fpr);
    }
    return fpr;
  }
  return core::fail(ErrorKind::invalid_input, kBadSigner, "no primary secret key");
}

}  // namespace

RnpEncryptor::RnpEncryptor(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}
RnpEncryptor::~RnpEncryptor() = default;

core::Result<std::unique_ptr<RnpEncryptor>> RnpEncryptor::create(
    const std::vector<std::string>& public_keys_armored,
    const core::SecretBytes& signing_secret_armored, std::size_t contexts) {
  if (contexts == 0 || contexts > kMaxContexts) {
    return core::fail(ErrorKind::invalid_input, "the number of OpenPGP contexts must be 1 to 64");
  }
  auto pool = std::make_unique<Pool>();
  for (std::size_t i = 0; i < contexts; ++i) {
    auto ffi = d::make_ffi();
    if (!ffi) return core::fail(std::move(ffi).error());
    auto signer = load_context(ffi->get(), public_keys_armored, signing_secret_armored);
    if (!signer) return core::fail(std::move(signer).error());
    pool->signer_fpr = *std::move(signer);
    pool->idle.push_back(ffi->get());
    pool->contexts.push_back(*std::move(ffi));
  }
  return std::unique_ptr<RnpEncryptor>(new RnpEncryptor(std::move(pool)));
}

namespace {

// Signs with `signer_fpr` and encrypts to `recipients`, all loaded in `ffi`.
core::Result<std::vector<std::uint8_t>> sign_and_encrypt_in(
    rnp_ffi_t ffi, const std::string& signer_fpr, std::span<const std::uint8_t> plaintext,
    const std::vector<Fingerprint>& recipients, bool armor) {
  // The plaintext is read in place (no copy); the memory output only ever holds ciphertext.
  auto input = d::input_from(plaintext);
  if (!input) return core::fail(std::move(input).error());
  auto output = d::memory_output();
  if (!output) return core::fail(std::move(output).error());

  rnp_op_encrypt_t raw_op = nullptr;
  rnp_result_t rc = rnp_op_encrypt_create(&raw_op, ffi, input->get(), output->get());
  d::OpEncrypt op(raw_op);
  if (rc != RNP_SUCCESS) return library_failure("rnp_op_encrypt_create", rc);

  for (const Fingerprint& fpr : recipients) {
    auto key = d::locate_by_fingerprint(ffi, fpr.hex());
    if (!key) return core::fail(std::move(key).error());
    if (!*key) {
      return core::fail(ErrorKind::invalid_input, "recipient key " + fpr.hex() + " is not loaded");
    }
    rnp_key_handle_t raw_enc = nullptr;
    rc = rnp_key_get_default_key(key->get(), "encrypt", 0, &raw_enc);
    d::Key enc(raw_enc);
    // RNP judges validity when keys are loaded; a key can expire while the server runs, and
    // must then stop receiving (gpg refuses such a key too).
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    if (rc != RNP_SUCCESS || !enc || !valid_at(key->get(), now) ||
        !usable_for_encryption(enc.get(), now)) {
      return core::fail(ErrorKind::invalid_input, "recipient key " + fpr.hex() + " cannot encrypt",
                        d::rnp_detail("rnp_key_get_default_key", rc));
    }
    if ((rc = rnp_op_encrypt_add_recipient(op.get(), enc.get())) != RNP_SUCCESS) {
      return core::fail(ErrorKind::invalid_input, "recipient key " + fpr.hex() + " cannot encrypt",
                        d::rnp_detail("rnp_op_encrypt_add_recipient", rc));
    }
  }

  auto signer = d::locate_by_fingerprint(ffi, signer_fpr);
  if (!signer) return core::fail(std::move(signer).error());
  if (!*signer) return core::fail(ErrorKind::internal, kLibraryFailure, "signing key vanished");
  if ((rc = rnp_op_encrypt_add_signature(op.get(), signer->get(), nullptr)) != RNP_SUCCESS) {
    return library_failure("rnp_op_encrypt_add_signature", rc);
  }
  // gpg 2.2 must read the result: SEIPD v1 (with MDC), never AEAD; no compression, which
  // also keeps the ciphertext size from revealing anything about the plaintext's content.
  if ((rc = rnp_op_encrypt_set_hash(op.get(), "SHA256")) != RNP_SUCCESS ||
      (rc = rnp_op_encrypt_set_cipher(op.get(), "AES256")) != RNP_SUCCESS ||
      (rc = rnp_op_encrypt_set_aead(op.get(), "None")) != RNP_SUCCESS ||
      (rc = rnp_op_encrypt_set_compression(op.get(), "Uncompressed", 0)) != RNP_SUCCESS ||
      (rc = rnp_op_encrypt_set_armor(op.get(), armor)) != RNP_SUCCESS) {
    return library_failure("rnp_op_encrypt_set_*", rc);
  }
  if ((rc = rnp_op_encrypt_execute(op.get())) != RNP_SUCCESS) {
    return library_failure("rnp_op_encrypt_execute", rc);
  }
  op.reset();
  const auto bytes = d::memory_output_bytes(output->get());
  if (bytes.empty()) return core::fail(ErrorKind::internal, kLibraryFailure, "empty ciphertext");
  return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
}

}  // namespace

core::Result<std::vector<std::uint8_t>> RnpEncryptor::sign_and_encrypt(
    std::span<const std::uint8_t> plaintext, const std::vector<Fingerprint>& recipients) {
  if (recipients.empty()) {
    return core::fail(ErrorKind::invalid_input, "a submission needs at least one recipient key");
  }
  Lease lease(*pool_);
  return sign_and_encrypt_in(lease.get(), pool_->signer_fpr, plaintext, recipients, false);
}

core::Result<std::string> sign_and_encrypt_to_keys(
    std::span<const std::uint8_t> plaintext, const std::vector<std::string>& recipient_keys,
    const core::SecretBytes& signing_secret_armored) {
  if (recipient_keys.empty()) {
    return core::fail(ErrorKind::invalid_input, "a message needs at least one recipient key");
  }
  auto ffi = d::make_ffi();
  if (!ffi) return core::fail(std::move(ffi).error());
  auto signer = load_context(ffi->get(), recipient_keys, signing_secret_armored);
  if (!signer) return core::fail(std::move(signer).error());
  auto fingerprints = primary_fingerprints(ffi->get());
  if (!fingerprints) return core::fail(std::move(fingerprints).error());
  std::vector<Fingerprint> recipients;
  for (const std::string& hex : *fingerprints) {
    if (hex == *signer) continue;
    auto fpr = Fingerprint::parse(hex);
    if (!fpr) return core::fail(std::move(fpr).error());
    recipients.push_back(*std::move(fpr));
  }
  if (recipients.size() != recipient_keys.size()) {
    return core::fail(ErrorKind::invalid_input, "each recipient key must be one OpenPGP key",
                      std::to_string(recipients.size()) + " primary keys loaded");
  }
  auto bytes = sign_and_encrypt_in(ffi->get(), *signer, plaintext, recipients, true);
  if (!bytes) return core::fail(std::move(bytes).error());
  return std::string(bytes->begin(), bytes->end());
}

// ---------------------------------------------------------------------------------------
// Detached signatures (audit checkpoints)

namespace {

// RNP writes its own diagnostics to stderr for malformed input; a tampered signature is
// an expected input of verify_detached and must give our one-line error only.
void silence(rnp_ffi_t ffi) {
  const int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  // RNP takes ownership of the descriptor (closed with the context).
  if (fd >= 0 && rnp_ffi_set_log_fd(ffi, fd) != RNP_SUCCESS) ::close(fd);
}

constexpr const char* kBadSignature = "the signature does not verify";

}  // namespace

core::Result<std::string> sign_detached(const core::SecretBytes& signing_secret_armored,
                                        std::string_view data) {
  auto ffi = d::make_ffi();
  if (!ffi) return core::fail(std::move(ffi).error());
  silence(ffi->get());
  auto signer_fpr = load_context(ffi->get(), {}, signing_secret_armored);
  if (!signer_fpr) return core::fail(std::move(signer_fpr).error());
  auto signer = d::locate_by_fingerprint(ffi->get(), *signer_fpr);
  if (!signer) return core::fail(std::move(signer).error());
  if (!*signer) return core::fail(ErrorKind::internal, kLibraryFailure, "signing key vanished");

  auto input =
      d::input_from(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
  if (!input) return core::fail(std::move(input).error());
  auto output = d::memory_output();
  if (!output) return core::fail(std::move(output).error());

  rnp_op_sign_t raw_op = nullptr;
  rnp_result_t rc = rnp_op_sign_detached_create(&raw_op, ffi->get(), input->get(), output->get());
  d::OpSign op(raw_op);
  if (rc != RNP_SUCCESS) return library_failure("rnp_op_sign_detached_create", rc);
  if ((rc = rnp_op_sign_add_signature(op.get(), signer->get(), nullptr)) != RNP_SUCCESS ||
      (rc = rnp_op_sign_set_hash(op.get(), "SHA256")) != RNP_SUCCESS ||
      (rc = rnp_op_sign_set_armor(op.get(), true)) != RNP_SUCCESS) {
    return library_failure("rnp_op_sign_set_*", rc);
  }
  if ((rc = rnp_op_sign_execute(op.get())) != RNP_SUCCESS) {
    return library_failure("rnp_op_sign_execute", rc);
  }
  op.reset();
  const auto bytes = d::memory_output_bytes(output->get());
  if (bytes.empty()) return core::fail(ErrorKind::internal, kLibraryFailure, "empty signature");
  return std::string(bytes.begin(), bytes.end());
}

core::Status verify_detached(std::string_view public_key_armored, std::string_view data,
                             std::string_view signature) {
  auto ffi = d::make_ffi();
  if (!ffi) return core::fail(std::move(ffi).error());
  silence(ffi->get());
  const auto key_bytes = std::span(reinterpret_cast<const std::uint8_t*>(public_key_armored.data()),
                                   public_key_armored.size());
  if (key_bytes.empty() || key_bytes.size() > kMaxKeyFileBytes || !looks_like_key_file(key_bytes)) {
    return core::fail(ErrorKind::invalid_input, "the signing public key is not readable",
                      "not a key file");
  }
  // Public parts only: whatever the file holds, only a public key can vouch here.
  if (auto st = import_keys(ffi->get(), key_bytes, RNP_LOAD_SAVE_PUBLIC_KEYS,
                            "the signing public key is not readable");
      !st) {
    return st;
  }
  auto fingerprints = primary_fingerprints(ffi->get());
  if (!fingerprints) return core::fail(std::move(fingerprints).error());
  if (fingerprints->size() != 1) {
    return core::fail(ErrorKind::invalid_input, "the signing public key file must hold one key",
                      std::to_string(fingerprints->size()) + " primary keys");
  }
  if (signature.empty()) {
    return core::fail(ErrorKind::integrity, kBadSignature, "empty signature");
  }
  auto data_in =
      d::input_from(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
  if (!data_in) return core::fail(std::move(data_in).error());
  auto sig_in = d::input_from(
      std::span(reinterpret_cast<const std::uint8_t*>(signature.data()), signature.size()));
  if (!sig_in) return core::fail(std::move(sig_in).error());

  rnp_op_verify_t raw_op = nullptr;
  rnp_result_t rc =
      rnp_op_verify_detached_create(&raw_op, ffi->get(), data_in->get(), sig_in->get());
  d::OpVerify op(raw_op);
  if (rc != RNP_SUCCESS) {
    return core::fail(ErrorKind::integrity, kBadSignature,
                      d::rnp_detail("rnp_op_verify_detached_create", rc));
  }
  if ((rc = rnp_op_verify_execute(op.get())) != RNP_SUCCESS) {
    return core::fail(ErrorKind::integrity, kBadSignature,
                      d::rnp_detail("rnp_op_verify_execute", rc));
  }
  std::size_t count = 0;
  if ((rc = rnp_op_verify_get_signature_count(op.get(), &count)) != RNP_SUCCESS) {
    return library_failure("rnp_op_verify_get_signature_count", rc);
  }
  if (count == 0) return core::fail(ErrorKind::integrity, kBadSignature, "no signature");
  // Every signature in the block must be good: an extra bad one is tampering too.
  for (std::size_t i = 0; i < count; ++i) {
    rnp_op_verify_signature_t sig = nullptr;
    if ((rc = rnp_op_verify_get_signature_at(op.get(), i, &sig)) != RNP_SUCCESS) {
      return library_failure("rnp_op_verify_get_signature_at", rc);
    }
    if ((rc = rnp_op_verify_signature_get_status(sig)) != RNP_SUCCESS) {
      return core::fail(ErrorKind::integrity, kBadSignature, d::rnp_detail("signature status", rc));
    }
  }
  return core::ok();
}

}  // namespace crypto
