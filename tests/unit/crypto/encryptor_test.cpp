// generate_signing_key() and RnpEncryptor, checked by real gpg: what we write must decrypt
// and verify with gpg 2.2, and tampering must make it fail.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <sstream>
#include <thread>

#include "crypto/openpgp.hpp"
#include "gpg_home.hpp"

namespace {

using crypto_test::Bytes;
using crypto_test::GpgHome;

// Non-ASCII on purpose: bytes must come back exactly, whatever the encoding.
constexpr std::string_view kPlaintext =
    "{\"name\":\"Zoë Ångström\",\"message\":\"Grüße — 日本語 — ✓\\n\",\"n\":1}\n";

struct Decrypted {
  int exit_code = -1;
  std::string plaintext;
  std::string status;  // --status-fd output
};

Decrypted gpg_decrypt(const GpgHome& home, std::span<const std::uint8_t> ciphertext) {
  home.write("msg.gpg", ciphertext);
  std::filesystem::remove(home.dir() / "msg.out");
  auto r = home.gpg("--status-fd 1 --yes --output " + (home.dir() / "msg.out").string() +
                    " --decrypt " + (home.dir() / "msg.gpg").string());
  return {r.exit_code, crypto_test::to_string(home.read("msg.out")), r.out};
}

bool has_line(const std::string& status, const std::string& prefix) {
  return status.find("[GNUPG:] " + prefix) != std::string::npos;
}

class Encryptor : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!crypto_test::gpg_available()) return;
    auto server = crypto::generate_signing_key("sealpost test <server@example.org>");
    ASSERT_TRUE(server) << server.error().detail();
    server_ = std::make_unique<crypto::GeneratedSigningKey>(*std::move(server));

    const std::pair<const char*, const char*> people[] = {{"Ann <ann@example.org>", "default"},
                                                          {"Ben <ben@example.org>", "default"},
                                                          {"Sid <sid@example.org>", "sign"}};
    for (const auto& [uid, usage] : people) {
      auto home = std::make_unique<GpgHome>();
      const std::string algo = std::string(usage) == "sign" ? "ed25519" : "future-default";
      const std::string fpr = home->generate(uid, algo, usage, "never");
      home->import(crypto_test::to_bytes(server_->public_armored));
      auto parsed =
          crypto::parse_public_keys(home->export_public(fpr), std::chrono::system_clock::now());
      ASSERT_TRUE(parsed && parsed->size() == 1);
      public_keys_.push_back(parsed->front().armored);
      fingerprints_.push_back(parsed->front().info.fingerprint);
      homes_.push_back(std::move(home));
    }
    auto enc = crypto::RnpEncryptor::create(public_keys_, server_->secret_armored, 2);
    ASSERT_TRUE(enc) << enc.error().public_text() << " / " << enc.error().detail();
    encryptor_ = *std::move(enc);
  }
  static void TearDownTestSuite() {
    encryptor_.reset();
    homes_.clear();
    server_.reset();
  }
  void SetUp() override {
    if (!encryptor_) GTEST_SKIP() << "gpg is not installed";
  }

  static Bytes encrypt(std::string_view plaintext, const std::vector<crypto::Fingerprint>& to) {
    auto ct = encryptor_->sign_and_encrypt(crypto_test::to_bytes(plaintext), to);
    EXPECT_TRUE(ct) << ct.error().public_text() << " / " << ct.error().detail();
    return ct ? *std::move(ct) : Bytes{};
  }

  static void expect_decrypts(const GpgHome& home, const Bytes& ct, std::string_view plaintext) {
    const auto d = gpg_decrypt(home, ct);
    EXPECT_EQ(d.exit_code, 0) << home.stderr_log();
    EXPECT_EQ(d.plaintext, plaintext);
    EXPECT_TRUE(has_line(d.status, "DECRYPTION_OKAY")) << d.status;
    EXPECT_TRUE(has_line(d.status, "GOODSIG ")) << d.status;
    EXPECT_TRUE(has_line(d.status, "VALIDSIG " + server_->fingerprint.hex())) << d.status;
    EXPECT_FALSE(has_line(d.status, "BADSIG")) << d.status;
  }

  static inline std::unique_ptr<crypto::GeneratedSigningKey> server_;
  static inline std::vector<std::unique_ptr<GpgHome>> homes_;  // ann, ben, sid (sign-only)
  static inline std::vector<std::string> public_keys_;
  static inline std::vector<crypto::Fingerprint> fingerprints_;
  static inline std::unique_ptr<crypto::RnpEncryptor> encryptor_;
};

TEST_F(Encryptor, SigningKeyIsEd25519AndSignOnly) {
  const auto& key = *server_;
  EXPECT_EQ(key.public_armored.rfind("-----BEGIN PGP PUBLIC KEY BLOCK-----", 0), 0u);
  EXPECT_EQ(key.secret_armored.as_string_view().rfind("-----BEGIN PGP PRIVATE KEY BLOCK-----", 0),
            0u);
  EXPECT_NE(key.secret_armored.as_string_view().find("-----END PGP PRIVATE KEY BLOCK-----"),
            std::string_view::npos);

  auto parsed = crypto::parse_public_keys(crypto_test::to_bytes(key.public_armored),
                                          std::chrono::system_clock::now());
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->size(), 1u);
  const auto& info = parsed->front().info;
  EXPECT_EQ(info.fingerprint, key.fingerprint);
  EXPECT_EQ(info.algorithm, "EDDSA");
  EXPECT_FALSE(info.can_encrypt);
  EXPECT_FALSE(info.expires_at.has_value());
  EXPECT_EQ(info.user_ids, std::vector<std::string>{"sealpost test <server@example.org>"});

  // gpg sees one ed25519 primary key, no subkey, no encryption capability.
  auto list = homes_[0]->gpg("--with-colons --list-keys " + key.fingerprint.hex());
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_EQ(list.out.find("\nsub:"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("ed25519"), std::string::npos) << list.out;
  const auto pub = list.out.substr(list.out.find("pub:"));
  std::vector<std::string> fields;
  std::istringstream line(pub.substr(0, pub.find('\n')));
  for (std::string field; std::getline(line, field, ':');) fields.push_back(field);
  ASSERT_GT(fields.size(), 11u) << pub;
  const std::string& caps = fields[11];  // field 12: key capabilities
  EXPECT_NE(caps.find('s'), std::string::npos) << caps;
  EXPECT_EQ(caps.find_first_of("eE"), std::string::npos) << caps;

  // The secret key is refused where public keys are expected, and loads without a password.
  EXPECT_FALSE(
      crypto::parse_public_keys(key.secret_armored.view(), std::chrono::system_clock::now()));
  EXPECT_FALSE(crypto::generate_signing_key(""));
  EXPECT_FALSE(crypto::generate_signing_key("bad\nuid"));
}

TEST_F(Encryptor, GpgDecryptsAndVerifiesForEveryRecipient) {
  const Bytes ct = encrypt(kPlaintext, {fingerprints_[0], fingerprints_[1]});
  ASSERT_FALSE(ct.empty());
  // Binary, not armored; the plaintext does not show through.
  EXPECT_NE(crypto_test::to_string(ct).rfind("-----BEGIN", 0), 0u);
  EXPECT_EQ(crypto_test::to_string(ct).find("Grüße"), std::string::npos);

  expect_decrypts(*homes_[0], ct, kPlaintext);
  expect_decrypts(*homes_[1], ct, kPlaintext);

  // The packet shape gpg 2.2 needs: SEIPD v1 with MDC, no AEAD, no compression.
  homes_[0]->write("shape.gpg", ct);
  auto packets = homes_[0]->gpg("--list-packets " + (homes_[0]->dir() / "shape.gpg").string());
  EXPECT_NE(packets.out.find(":encrypted data packet:"), std::string::npos) << packets.out;
  EXPECT_NE(packets.out.find("mdc_method: 2"), std::string::npos) << packets.out;
  EXPECT_EQ(packets.out.find("aead"), std::string::npos) << packets.out;
  EXPECT_EQ(packets.out.find(":compressed packet:"), std::string::npos) << packets.out;
  EXPECT_NE(packets.out.find("digest algo 8"), std::string::npos) << packets.out;  // SHA256
  // DECRYPTION_INFO <mdc_method> <sym_algo> <aead_algo>: MDC, AES256 (9), no AEAD.
  const auto d = gpg_decrypt(*homes_[0], ct);
  EXPECT_TRUE(has_line(d.status, "DECRYPTION_INFO 2 9 0")) << d.status;
}

TEST_F(Encryptor, TamperedCiphertextFailsToDecrypt) {
  const std::string plaintext(3000, 'x');
  Bytes ct = encrypt(plaintext, {fingerprints_[0]});
  ASSERT_GT(ct.size(), 3000u);
  ct[ct.size() / 2] ^= 0x01;
  const auto d = gpg_decrypt(*homes_[0], ct);
  EXPECT_NE(d.exit_code, 0);
  EXPECT_FALSE(has_line(d.status, "DECRYPTION_OKAY")) << d.status;
  EXPECT_FALSE(has_line(d.status, "GOODSIG")) << d.status;
}

TEST_F(Encryptor, RefusesUnknownAndNonEncryptingRecipients) {
  auto unknown = crypto::Fingerprint::parse(std::string(40, 'A'));
  ASSERT_TRUE(unknown);
  auto r = encryptor_->sign_and_encrypt(crypto_test::to_bytes("x"), {fingerprints_[0], *unknown});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), core::ErrorKind::invalid_input);
  EXPECT_EQ(r.error().public_text(), "recipient key " + unknown->hex() + " is not loaded");

  r = encryptor_->sign_and_encrypt(crypto_test::to_bytes("x"), {fingerprints_[2]});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().public_text(), "recipient key " + fingerprints_[2].hex() + " cannot encrypt");

  r = encryptor_->sign_and_encrypt(crypto_test::to_bytes("x"), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), core::ErrorKind::invalid_input);

  // The server key can sign but not decrypt, so encrypting to it is refused too.
  r = encryptor_->sign_and_encrypt(crypto_test::to_bytes("x"), {server_->fingerprint});
  EXPECT_FALSE(r);
}

TEST_F(Encryptor, EncryptsEmptyPlaintext) {
  const Bytes ct = encrypt("", {fingerprints_[1]});
  ASSERT_FALSE(ct.empty());
  expect_decrypts(*homes_[1], ct, "");
}

TEST_F(Encryptor, CreateRefusesBadSigningKeysAndPoolSizes) {
  const std::string bad_signer =
      "the signing key must be one unprotected, sign-only OpenPGP secret key";
  // A secret key that can decrypt must never be loaded into the server.
  core::SecretBytes decrypting(
      crypto_test::to_string(homes_[0]->export_secret(fingerprints_[0].hex())));
  auto r = crypto::RnpEncryptor::create(public_keys_, decrypting, 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().public_text(), bad_signer);

  // A public key is no signing key.
  core::SecretBytes only_public(server_->public_armored);
  r = crypto::RnpEncryptor::create(public_keys_, only_public, 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().public_text(), bad_signer);

  core::SecretBytes garbage("not a key");
  r = crypto::RnpEncryptor::create(public_keys_, garbage, 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().public_text(), "the signing key could not be loaded");

  r = crypto::RnpEncryptor::create({"garbage"}, server_->secret_armored, 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().public_text(), "a recipient public key could not be loaded");

  EXPECT_FALSE(crypto::RnpEncryptor::create(public_keys_, server_->secret_armored, 0));
}

TEST_F(Encryptor, ParallelUseOfASmallPool) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::vector<Bytes>> results(kThreads, std::vector<Bytes>(kPerThread));
  std::atomic<int> failures = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string text = "message " + std::to_string(t) + "-" + std::to_string(i);
        auto ct = encryptor_->sign_and_encrypt(crypto_test::to_bytes(text),
                                               {fingerprints_[0], fingerprints_[1]});
        if (ct) {
          results[t][i] = *std::move(ct);
        } else {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  for (const auto& per_thread : results) {
    for (const auto& ct : per_thread) EXPECT_FALSE(ct.empty());
  }
  expect_decrypts(*homes_[0], results[0][0], "message 0-0");
  expect_decrypts(*homes_[1], results[1][kPerThread - 1],
                  "message 1-" + std::to_string(kPerThread - 1));
  expect_decrypts(*homes_[0], results[3][12], "message 3-12");
}

}  // namespace
