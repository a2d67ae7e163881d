// Key files: `dkim init` writes 0600 files that are never overwritten; the signer loads what
// it wrote, and refuses files others may read.
#include "mail/dkim/key_files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <random>

#include "mail/dkim/record.hpp"

namespace mail::dkim {
namespace {

namespace fs = std::filesystem;

class KeyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sealpost-dkim-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(std::random_device{}()));
    secrets_ = dir_ / "secrets";
  }
  void TearDown() override { fs::remove_all(dir_); }
  static unsigned mode(const fs::path& p) {
    struct stat st {};
    ::stat(p.c_str(), &st);
    return st.st_mode & 0777;
  }
  fs::path dir_;
  fs::path secrets_;
};

const core::TimePoint kNow{std::chrono::seconds(1'800'000'000)};
constexpr std::string_view kMessage = "From: a@example.org\r\nTo: b@example.net\r\n\r\nhi\r\n";

TEST_F(KeyFiles, InitEd25519WritesTwoKeysAndLoads) {
  auto keys = init_keys_blocking(secrets_, "mail", Algorithm::ed25519_sha256);
  ASSERT_TRUE(keys) << keys.error().detail();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].path, secrets_ / "dkim-mail.ed25519.pem");
  EXPECT_EQ((*keys)[0].selector, "mail");
  EXPECT_EQ((*keys)[1].path, secrets_ / "dkim-mail-rsa.rsa.pem");
  EXPECT_EQ((*keys)[1].selector, "mail-rsa");
  EXPECT_EQ(mode(secrets_), 0700u);
  for (const auto& k : *keys) EXPECT_EQ(mode(k.path), 0600u);

  auto signer = load_signer_blocking(secrets_, "example.org", "mail");
  ASSERT_TRUE(signer) << signer.error().detail();
  ASSERT_EQ(signer->keys().size(), 2u);
  // The records printed for DNS are those of the keys the signer loaded.
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(signer->keys()[i].selector, (*keys)[i].selector);
    auto record = parse_record((*keys)[i].record);
    ASSERT_TRUE(record);
    EXPECT_TRUE(record_matches(*record, signer->keys()[i].key));
  }
  EXPECT_TRUE(signer->sign(kMessage, kNow));

  // A second init never overwrites, not even half.
  const auto before = fs::last_write_time((*keys)[0].path);
  auto again = init_keys_blocking(secrets_, "mail", Algorithm::ed25519_sha256);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind(), core::ErrorKind::conflict);
  EXPECT_EQ(fs::last_write_time((*keys)[0].path), before);
  EXPECT_FALSE(init_keys_blocking(secrets_, "mail", Algorithm::rsa_sha256));
  EXPECT_FALSE(generate_key_blocking(secrets_, "mail-rsa", Algorithm::rsa_sha256));
}

TEST_F(KeyFiles, InitRsaWritesOneKey) {
  auto keys = init_keys_blocking(secrets_, "s2027", Algorithm::rsa_sha256);
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].path, secrets_ / "dkim-s2027.rsa.pem");
  EXPECT_TRUE((*keys)[0].record.starts_with("v=DKIM1; k=rsa; p="));
  auto signer = load_signer_blocking(secrets_, "example.org", "s2027");
  ASSERT_TRUE(signer);
  EXPECT_EQ(signer->keys().size(), 1u);
}

TEST_F(KeyFiles, LoadRefuses) {
  auto missing = load_signer_blocking(secrets_, "example.org", "mail");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), core::ErrorKind::not_found);

  ASSERT_TRUE(generate_key_blocking(secrets_, "lonely", Algorithm::ed25519_sha256));
  auto no_companion = load_signer_blocking(secrets_, "example.org", "lonely");
  ASSERT_FALSE(no_companion);
  EXPECT_EQ(no_companion.error().kind(), core::ErrorKind::not_found);

  ASSERT_TRUE(init_keys_blocking(secrets_, "open", Algorithm::rsa_sha256));
  ::chmod((secrets_ / "dkim-open.rsa.pem").c_str(), 0640);
  auto readable = load_signer_blocking(secrets_, "example.org", "open");
  ASSERT_FALSE(readable);
  EXPECT_NE(readable.error().public_text().find("chmod 600"), std::string::npos);

  // A symlink in place of the key file is not followed.
  ASSERT_TRUE(init_keys_blocking(secrets_, "real", Algorithm::rsa_sha256));
  fs::create_symlink(secrets_ / "dkim-real.rsa.pem", secrets_ / "dkim-link.rsa.pem");
  EXPECT_FALSE(load_signer_blocking(secrets_, "example.org", "link"));

  // Garbage in a 0600 file.
  { std::ofstream(secrets_ / "dkim-junk.rsa.pem") << "-----BEGIN PRIVATE KEY-----\nAAAA\n"; }
  ::chmod((secrets_ / "dkim-junk.rsa.pem").c_str(), 0600);
  EXPECT_FALSE(load_signer_blocking(secrets_, "example.org", "junk"));

  // An Ed25519 key where the RSA key should be.
  ASSERT_TRUE(generate_key_blocking(secrets_, "swap", Algorithm::ed25519_sha256));
  fs::rename(secrets_ / "dkim-swap.ed25519.pem", secrets_ / "dkim-swap.rsa.pem");
  EXPECT_FALSE(load_signer_blocking(secrets_, "example.org", "swap"));

  EXPECT_FALSE(load_signer_blocking(secrets_, "example.org", "../etc"));
  EXPECT_FALSE(generate_key_blocking(secrets_, "a/b", Algorithm::rsa_sha256));
}

}  // namespace
}  // namespace mail::dkim
