// parse_public_keys() and check_recipient() against keys made by real gpg.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

#include "crypto/openpgp.hpp"
#include "gpg_home.hpp"

namespace {

using crypto_test::Bytes;
using crypto_test::GpgHome;
using namespace std::chrono_literals;

constexpr const char* kArmorHeader = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

std::string utc_date(std::int64_t unix_seconds) {
  const std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

class KeyParse : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!crypto_test::gpg_available()) return;
    home_ = std::make_unique<GpgHome>();
    normal_ = home_->generate("Alice <alice@example.org>", "future-default", "default", "never");
    sign_only_ = home_->generate("Carol <carol@example.org>", "ed25519", "sign", "never");
    expiring_ = home_->generate("Dave <dave@example.org>", "future-default", "default", "1d");
    revoked_ = home_->generate("Eve <eve@example.org>", "future-default", "default", "never");
    home_->revoke(revoked_);
    // Primaries that never expire and cannot encrypt, with expiring encryption subkeys.
    subkey_expiring_ = home_->generate("Frank <frank@example.org>", "ed25519", "sign", "never");
    add_encryption_subkey(subkey_expiring_, "1d");
    two_subkeys_ = home_->generate("Grace <grace@example.org>", "ed25519", "sign", "never");
    add_encryption_subkey(two_subkeys_, "1d");
    add_encryption_subkey(two_subkeys_, "3d");
  }
  static void add_encryption_subkey(const std::string& fpr, const std::string& expire) {
    auto r = home_->gpg("--pinentry-mode loopback --passphrase '' --quick-add-key " + fpr +
                        " cv25519 encr " + expire);
    if (r.exit_code != 0) throw std::runtime_error("gpg --quick-add-key failed");
  }
  static void TearDownTestSuite() { home_.reset(); }

  void SetUp() override {
    if (!home_) GTEST_SKIP() << "gpg is not installed";
  }

  static crypto::PublicKey parse_one(const Bytes& bytes, core::TimePoint now) {
    auto keys = crypto::parse_public_keys(bytes, now);
    EXPECT_TRUE(keys) << (keys ? "" : keys.error().public_text() + " / " + keys.error().detail());
    if (!keys || keys->size() != 1) throw std::runtime_error("expected exactly one key");
    return std::move(keys->front());
  }

  static void expect_refused(const Bytes& bytes, core::ErrorKind kind, const std::string& text) {
    auto keys = crypto::parse_public_keys(bytes, std::chrono::system_clock::now());
    ASSERT_FALSE(keys);
    EXPECT_EQ(keys.error().kind(), kind);
    EXPECT_EQ(keys.error().public_text(), text);
  }

  static inline std::unique_ptr<GpgHome> home_;
  static inline std::string normal_, sign_only_, expiring_, revoked_, subkey_expiring_,
      two_subkeys_;
};

TEST_F(KeyParse, AcceptsEncryptionCapableKey) {
  const auto now = std::chrono::system_clock::now();
  const auto key = parse_one(home_->export_public(normal_), now);
  EXPECT_EQ(key.info.fingerprint.hex(), normal_);
  EXPECT_EQ(key.info.user_ids, std::vector<std::string>{"Alice <alice@example.org>"});
  EXPECT_TRUE(key.info.can_encrypt);
  EXPECT_FALSE(key.info.revoked);
  EXPECT_FALSE(key.info.has_secret);
  EXPECT_FALSE(key.info.expires_at.has_value());
  EXPECT_EQ(key.info.algorithm, "EDDSA");
  EXPECT_NEAR(static_cast<double>(key.info.created_at),
              static_cast<double>(core::unix_seconds(now)), 600.0);
  EXPECT_TRUE(check_recipient(key.info, now));

  // What we store is an armored transferable public key that parses back the same and
  // that gpg itself accepts.
  EXPECT_EQ(key.armored.rfind(kArmorHeader, 0), 0u);
  EXPECT_EQ(key.armored.find("PRIVATE"), std::string::npos);
  const auto again = parse_one(crypto_test::to_bytes(key.armored), now);
  EXPECT_EQ(again.info.fingerprint, key.info.fingerprint);
  EXPECT_TRUE(again.info.can_encrypt);
  GpgHome other;
  other.import(crypto_test::to_bytes(key.armored));
  EXPECT_EQ(other.gpg("--list-keys " + normal_).exit_code, 0);
}

TEST_F(KeyParse, AcceptsBinaryKey) {
  const auto key =
      parse_one(home_->export_public(normal_, /*armored=*/false), std::chrono::system_clock::now());
  EXPECT_EQ(key.info.fingerprint.hex(), normal_);
  EXPECT_EQ(key.armored.rfind(kArmorHeader, 0), 0u);
}

TEST_F(KeyParse, SignOnlyKeyIsNoRecipient) {
  const auto now = std::chrono::system_clock::now();
  const auto key = parse_one(home_->export_public(sign_only_), now);
  EXPECT_FALSE(key.info.can_encrypt);
  auto st = check_recipient(key.info, now);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind(), core::ErrorKind::invalid_input);
  EXPECT_EQ(st.error().public_text(), "key " + sign_only_ + " has no encryption-capable subkey");
}

TEST_F(KeyParse, ExpiredKeyIsNoRecipient) {
  const auto now = std::chrono::system_clock::now();
  const auto key = parse_one(home_->export_public(expiring_), now);
  ASSERT_TRUE(key.info.expires_at.has_value());
  EXPECT_NEAR(static_cast<double>(*key.info.expires_at - key.info.created_at), 86400.0, 2.0);
  EXPECT_TRUE(key.info.can_encrypt);
  EXPECT_TRUE(check_recipient(key.info, now));

  const auto later = now + 48h;
  auto st = check_recipient(key.info, later);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().public_text(),
            "key " + expiring_ + " expired on " + utc_date(*key.info.expires_at));

  // Parsed as of two days later, nothing of it may encrypt any more.
  const auto parsed_later = parse_one(home_->export_public(expiring_), later);
  EXPECT_FALSE(parsed_later.info.can_encrypt);
  EXPECT_FALSE(check_recipient(parsed_later.info, later));
}

// The primary never expires but its only encryption subkey does: the key stops being a
// recipient when the subkey expires, whatever `now` it was parsed at.
TEST_F(KeyParse, ExpiredEncryptionSubkeyEndsTheRecipient) {
  const auto now = std::chrono::system_clock::now();
  const auto key = parse_one(home_->export_public(subkey_expiring_), now);
  EXPECT_FALSE(key.info.expires_at.has_value());
  ASSERT_TRUE(key.info.encrypt_until.has_value());
  EXPECT_NEAR(static_cast<double>(*key.info.encrypt_until - key.info.created_at), 86400.0, 60.0);
  EXPECT_TRUE(key.info.can_encrypt);
  EXPECT_TRUE(check_recipient(key.info, now));

  const auto later = now + 48h;
  auto st = check_recipient(key.info, later);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().public_text(), "key " + subkey_expiring_ +
                                          "'s encryption subkey expired on " +
                                          utc_date(*key.info.encrypt_until));

  const auto parsed_later = parse_one(home_->export_public(subkey_expiring_), later);
  EXPECT_FALSE(parsed_later.info.can_encrypt);
  EXPECT_EQ(parsed_later.info.encrypt_until, key.info.encrypt_until);
  EXPECT_FALSE(check_recipient(parsed_later.info, later));
}

TEST_F(KeyParse, EncryptUntilFollowsTheEncryptionKeys) {
  const auto now = std::chrono::system_clock::now();
  auto until = [&](const std::string& fpr) {
    const auto key = parse_one(home_->export_public(fpr), now);
    return std::pair(key.info.encrypt_until, key.info.created_at);
  };

  // No expiry anywhere.
  EXPECT_EQ(until(normal_).first, std::nullopt);

  // The primary expires in a day, so encryption ends then too.
  const auto [primary_1d, primary_created] = until(expiring_);
  ASSERT_TRUE(primary_1d.has_value());
  EXPECT_NEAR(static_cast<double>(*primary_1d - primary_created), 86400.0, 60.0);

  // Two encryption subkeys, one for a day, one for three: the later one counts.
  const auto [latest, created] = until(two_subkeys_);
  ASSERT_TRUE(latest.has_value());
  EXPECT_NEAR(static_cast<double>(*latest - created), 3 * 86400.0, 60.0);
  EXPECT_TRUE(parse_one(home_->export_public(two_subkeys_), now + 48h).info.can_encrypt);
  EXPECT_FALSE(parse_one(home_->export_public(two_subkeys_), now + 96h).info.can_encrypt);

  // Nothing can encrypt, ever.
  EXPECT_EQ(until(sign_only_).first, std::optional<std::int64_t>(0));
}

TEST_F(KeyParse, RevokedKeyIsNoRecipient) {
  const auto now = std::chrono::system_clock::now();
  const auto key = parse_one(home_->export_public(revoked_), now);
  EXPECT_TRUE(key.info.revoked);
  EXPECT_FALSE(key.info.can_encrypt);
  auto st = check_recipient(key.info, now);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().public_text(), "key " + revoked_ + " is revoked");
}

TEST_F(KeyParse, RefusesSecretKey) {
  const Bytes secret = home_->export_secret(normal_);
  ASSERT_NE(crypto_test::to_string(secret).find("PRIVATE KEY BLOCK"), std::string::npos);
  expect_refused(secret, core::ErrorKind::invalid_input,
                 "this file contains a secret key; import only public keys");

  // A secret key hidden after a public one is refused as well.
  Bytes mixed = home_->export_public(sign_only_);
  mixed.insert(mixed.end(), secret.begin(), secret.end());
  expect_refused(mixed, core::ErrorKind::invalid_input,
                 "this file contains a secret key; import only public keys");
}

TEST_F(KeyParse, RefusesEmptyGarbageAndOversize) {
  expect_refused({}, core::ErrorKind::invalid_input, "the key file is empty");
  expect_refused(Bytes(crypto::kMaxKeyFileBytes + 1, 'A'), core::ErrorKind::too_large,
                 "the key file is larger than 1 MiB");

  const std::set<std::string> garbage_texts = {"the file is not a readable OpenPGP public key",
                                               "the file does not contain an OpenPGP public key"};
  Bytes truncated = home_->export_public(normal_, /*armored=*/false);
  truncated.resize(truncated.size() / 2);
  const std::string armored_junk = std::string(kArmorHeader) +
                                   "\n\nbm90IGEga2V5IGF0IGFsbA==\n=AAAA\n"
                                   "-----END PGP PUBLIC KEY BLOCK-----\n";
  for (const Bytes& bad : {crypto_test::to_bytes("hello, this is not a key\n"), Bytes(4096, 0x00),
                           Bytes(4096, 0xff), truncated, crypto_test::to_bytes(armored_junk)}) {
    auto keys = crypto::parse_public_keys(bad, std::chrono::system_clock::now());
    ASSERT_FALSE(keys);
    EXPECT_EQ(keys.error().kind(), core::ErrorKind::invalid_input);
    EXPECT_TRUE(garbage_texts.contains(keys.error().public_text())) << keys.error().public_text();
  }
}

TEST_F(KeyParse, ReturnsEveryKeyOfAFile) {
  const auto now = std::chrono::system_clock::now();
  const std::set<std::string> expected = {normal_,  sign_only_,       expiring_,
                                          revoked_, subkey_expiring_, two_subkeys_};

  auto all = crypto::parse_public_keys(home_->export_public(""), now);  // every key, one block
  ASSERT_TRUE(all);
  std::set<std::string> got;
  for (const auto& k : *all) got.insert(k.info.fingerprint.hex());
  EXPECT_EQ(got, expected);

  // Two armored blocks one after the other, as `cat a.asc b.asc` makes them.
  Bytes two = home_->export_public(normal_);
  const Bytes second = home_->export_public(sign_only_);
  two.insert(two.end(), second.begin(), second.end());
  auto both = crypto::parse_public_keys(two, now);
  ASSERT_TRUE(both) << both.error().detail();
  ASSERT_EQ(both->size(), 2u);
  for (const auto& k : *both) {
    EXPECT_EQ(k.info.can_encrypt, k.info.fingerprint.hex() == normal_);
    // Each stored key holds only itself.
    auto alone = crypto::parse_public_keys(crypto_test::to_bytes(k.armored), now);
    ASSERT_TRUE(alone);
    EXPECT_EQ(alone->size(), 1u);
  }
}

}  // namespace
