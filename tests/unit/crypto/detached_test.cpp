// sign_detached() / verify_detached() (audit checkpoints): real gpg must accept what we
// sign, and our verifier must refuse tampered data, tampered signatures and other keys.

#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/openpgp.hpp"
#include "gpg_home.hpp"

namespace {

using crypto_test::GpgHome;

constexpr std::string_view kPayload =
    "sealpost-audit-checkpoint-v1\ncount:2:10\nhead_hash:64:"
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\ntime:10:1800000000\n";

class Detached : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto a = crypto::generate_signing_key("audit test <a@example.org>");
    ASSERT_TRUE(a) << a.error().detail();
    key_ = std::make_unique<crypto::GeneratedSigningKey>(*std::move(a));
    auto b = crypto::generate_signing_key("other <b@example.org>");
    ASSERT_TRUE(b) << b.error().detail();
    other_ = std::make_unique<crypto::GeneratedSigningKey>(*std::move(b));
  }
  static void TearDownTestSuite() {
    key_.reset();
    other_.reset();
  }
  static inline std::unique_ptr<crypto::GeneratedSigningKey> key_;
  static inline std::unique_ptr<crypto::GeneratedSigningKey> other_;
};

TEST_F(Detached, SignAndVerifyRoundTrip) {
  auto sig = crypto::sign_detached(key_->secret_armored, kPayload);
  ASSERT_TRUE(sig) << sig.error().detail();
  EXPECT_TRUE(sig->starts_with("-----BEGIN PGP SIGNATURE-----")) << *sig;
  auto ok = crypto::verify_detached(key_->public_armored, kPayload, *sig);
  EXPECT_TRUE(ok) << ok.error().detail();
}

TEST_F(Detached, GpgAcceptsTheSignature) {
  if (!crypto_test::gpg_available()) GTEST_SKIP() << "gpg not installed";
  auto sig = crypto::sign_detached(key_->secret_armored, kPayload);
  ASSERT_TRUE(sig) << sig.error().detail();
  GpgHome home;
  home.import(crypto_test::to_bytes(key_->public_armored));
  auto data = home.write("payload.txt", crypto_test::to_bytes(kPayload));
  auto sig_file = home.write("payload.txt.asc", crypto_test::to_bytes(*sig));
  auto r = home.gpg("--status-fd 1 --verify " + sig_file.string() + " " + data.string());
  EXPECT_EQ(r.exit_code, 0) << r.out << home.stderr_log();
  EXPECT_NE(r.out.find("[GNUPG:] GOODSIG"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[GNUPG:] VALIDSIG " + key_->fingerprint.hex()), std::string::npos) << r.out;
  // SHA-256: hash algorithm 8 in VALIDSIG's 8th argument.
  auto at = r.out.find("[GNUPG:] VALIDSIG ");
  ASSERT_NE(at, std::string::npos);
  std::istringstream line(r.out.substr(at, r.out.find('\n', at) - at));
  std::vector<std::string> fields;
  for (std::string f; line >> f;) fields.push_back(f);
  ASSERT_GE(fields.size(), 10u) << r.out;
  EXPECT_EQ(fields[9], "8") << r.out;

  // gpg refuses it over changed data: the interop check is not vacuous.
  auto changed = home.write("changed.txt", crypto_test::to_bytes(std::string(kPayload) + "x"));
  auto bad = home.gpg("--verify " + sig_file.string() + " " + changed.string());
  EXPECT_NE(bad.exit_code, 0);
}

TEST_F(Detached, RefusesChangedData) {
  auto sig = crypto::sign_detached(key_->secret_armored, kPayload);
  ASSERT_TRUE(sig);
  std::string changed(kPayload);
  changed[40] ^= 1;
  auto s = crypto::verify_detached(key_->public_armored, changed, *sig);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind(), core::ErrorKind::integrity);
}

TEST_F(Detached, RefusesAnotherKeysSignature) {
  auto sig = crypto::sign_detached(other_->secret_armored, kPayload);
  ASSERT_TRUE(sig);
  auto s = crypto::verify_detached(key_->public_armored, kPayload, *sig);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind(), core::ErrorKind::integrity);
}

TEST_F(Detached, RefusesGarbageAndEmptySignatures) {
  for (std::string sig : {std::string(), std::string("forged"),
                          std::string("-----BEGIN PGP SIGNATURE-----\n\nAAAA\n"
                                      "-----END PGP SIGNATURE-----\n")}) {
    auto s = crypto::verify_detached(key_->public_armored, kPayload, sig);
    ASSERT_FALSE(s) << sig;
    EXPECT_EQ(s.error().kind(), core::ErrorKind::integrity) << sig;
  }
}

TEST_F(Detached, UnreadableKeyIsNotAnIntegrityFailure) {
  auto sig = crypto::sign_detached(key_->secret_armored, kPayload);
  ASSERT_TRUE(sig);
  auto s = crypto::verify_detached("not a key", kPayload, *sig);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind(), core::ErrorKind::invalid_input);
}

TEST_F(Detached, SignRefusesAKeyThatIsNotASecretKey) {
  core::SecretBytes not_secret(key_->public_armored);
  auto sig = crypto::sign_detached(not_secret, kPayload);
  EXPECT_FALSE(sig);
}

}  // namespace
