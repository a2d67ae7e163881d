#include "auth/password.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>
#include <thread>
#include <vector>

namespace auth {
namespace {

constexpr std::string_view kEmail = "Alice.Smith@Clinic.example";

std::string policy_error(std::string_view password, std::string_view email = kEmail) {
  const core::Status status = check_password_policy(password, email);
  if (status) return "";
  EXPECT_EQ(status.error().kind(), core::ErrorKind::invalid_input);
  return status.error().public_text();
}

TEST(Password, HashesWithArgon2idAndVerifies) {
  const auto hash = hash_password("tangerine ocelot quarry");
  ASSERT_TRUE(hash.has_value());
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=65536,t=2,p=1$")) << *hash;
  EXPECT_TRUE(verify_password(*hash, "tangerine ocelot quarry"));
  EXPECT_FALSE(verify_password(*hash, "tangerine ocelot quarrY"));
  EXPECT_FALSE(verify_password(*hash, ""));
  // A fresh salt each time.
  const auto again = hash_password("tangerine ocelot quarry");
  ASSERT_TRUE(again.has_value());
  EXPECT_NE(*hash, *again);
  EXPECT_TRUE(verify_password(*again, "tangerine ocelot quarry"));
}

TEST(Password, HashesAnyBytes) {
  const std::string with_nul("pass\0word", 9);
  const auto hash = hash_password(with_nul);
  ASSERT_TRUE(hash.has_value());
  EXPECT_TRUE(verify_password(*hash, with_nul));
  EXPECT_FALSE(verify_password(*hash, "pass"));
}

TEST(Password, VerifyRefusesMalformedOrForeignHashes) {
  const auto hash = hash_password("tangerine ocelot quarry");
  ASSERT_TRUE(hash.has_value());
  const std::string& good = *hash;
  const std::string pw = "tangerine ocelot quarry";
  EXPECT_FALSE(verify_password("", pw));
  EXPECT_FALSE(verify_password("not a hash", pw));
  EXPECT_FALSE(verify_password(good.substr(0, good.size() - 1), pw));
  EXPECT_FALSE(verify_password(good.substr(0, 40), pw));
  EXPECT_FALSE(verify_password(good + "A", pw));
  EXPECT_FALSE(verify_password(good + std::string(1, '\0'), pw));
  EXPECT_FALSE(verify_password(good + std::string(200, 'A'), pw));
  // Argon2i (not id) and bcrypt are not ours.
  std::string argon2i = good;
  argon2i.replace(0, 9, "$argon2i$");
  EXPECT_FALSE(verify_password(argon2i, pw));
  EXPECT_FALSE(verify_password("$2b$12$abcdefghijklmnopqrstuu5gk0ChkGmXGV2RIe3WkDn5CaPdq9OBi", pw));
}

// Parameters above ours would let a tampered row cost gigabytes or minutes. These hashes are
// genuine (libsodium itself accepts them) but ask for more passes or memory than we write, so
// verify_password refuses them without running Argon2.
TEST(Password, VerifyRefusesParametersAboveOurs) {
  ASSERT_GE(sodium_init(), 0);
  char more_passes[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str_alg(more_passes, "tangerine", 9, 3, 64 * 1024 * 1024,
                                  crypto_pwhash_ALG_ARGON2ID13),
            0);
  ASSERT_EQ(crypto_pwhash_str_verify(more_passes, "tangerine", 9), 0);
  EXPECT_FALSE(verify_password(more_passes, "tangerine"));
  char more_memory[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str_alg(more_memory, "tangerine", 9, 1, 65 * 1024 * 1024,
                                  crypto_pwhash_ALG_ARGON2ID13),
            0);
  ASSERT_EQ(crypto_pwhash_str_verify(more_memory, "tangerine", 9), 0);
  EXPECT_FALSE(verify_password(more_memory, "tangerine"));

  // Edited parameter fields are refused too (and would not match anyway).
  const auto hash = hash_password("tangerine ocelot quarry");
  ASSERT_TRUE(hash.has_value());
  const auto with = [&](std::string_view from, std::string_view to) {
    std::string changed = *hash;
    const auto at = changed.find(from);
    EXPECT_NE(at, std::string::npos);
    changed.replace(at, from.size(), to);
    return changed;
  };
  EXPECT_FALSE(verify_password(with("m=65536", "m=4194304"), "tangerine ocelot quarry"));
  EXPECT_FALSE(verify_password(with("t=2", "t=3000"), "tangerine ocelot quarry"));
  EXPECT_FALSE(verify_password(with("p=1", "p=4"), "tangerine ocelot quarry"));
  EXPECT_FALSE(verify_password(with("v=19", "v=16"), "tangerine ocelot quarry"));
  EXPECT_FALSE(
      verify_password(with("m=65536", "m=99999999999999999999999"), "tangerine ocelot quarry"));
}

// The bound is an upper one: a well-formed hash with cheaper parameters (as an older default
// would have been) still verifies.
TEST(Password, VerifyAcceptsCheaperParameters) {
  ASSERT_GE(sodium_init(), 0);
  char cheap[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str_alg(cheap, "tangerine", 9, 1, 8 * 1024 * 1024,
                                  crypto_pwhash_ALG_ARGON2ID13),
            0);
  EXPECT_TRUE(std::string_view(cheap).starts_with("$argon2id$v=19$m=8192,t=1,p=1$"));
  EXPECT_TRUE(verify_password(cheap, "tangerine"));
  EXPECT_FALSE(verify_password(cheap, "tangerinE"));
}

TEST(Password, DummyHashIsComputedOnceAndMatchesNothingGuessable) {
  core::SystemRng rng;
  const std::string& first = dummy_hash(rng);
  const std::string& second = dummy_hash(rng);
  EXPECT_EQ(&first, &second);
  EXPECT_TRUE(first.starts_with("$argon2id$v=19$m=65536,t=2,p=1$"));
  EXPECT_FALSE(verify_password(first, ""));
  EXPECT_FALSE(verify_password(first, "password"));
}

TEST(Password, AtMostTwoHashesRunAtOnce) {
  std::vector<std::thread> threads;
  std::vector<bool> ok(6, false);
  for (std::size_t i = 0; i < ok.size(); ++i) {
    threads.emplace_back(
        [&ok, i] { ok[i] = hash_password("tangerine ocelot quarry").has_value(); });
  }
  for (auto& t : threads) t.join();
  for (const bool each : ok) EXPECT_TRUE(each);
  EXPECT_GE(peak_concurrent_hashes_for_test(), 1);
  EXPECT_LE(peak_concurrent_hashes_for_test(), kMaxConcurrentHashes);
}

TEST(PasswordPolicy, AcceptsALongUncommonPassword) {
  EXPECT_EQ(policy_error("tangerine ocelot quarry"), "");
  EXPECT_EQ(policy_error("Tangerine-0celot"), "");
  EXPECT_EQ(policy_error("tangerine ocelot quarry", ""), "");  // no e-mail to compare with
}

TEST(PasswordPolicy, CountsCodePointsNotBytes) {
  EXPECT_EQ(policy_error("abcdefghijk"), "Choose a password of at least 12 characters.");
  EXPECT_EQ(policy_error(""), "Choose a password of at least 12 characters.");
  EXPECT_EQ(policy_error("abcdefghijkm"), "");
  std::string accented;
  for (int i = 0; i < 11; ++i) accented += "\xc3\xa9";  // 11 x U+00E9, 22 bytes
  EXPECT_EQ(policy_error(accented), "Choose a password of at least 12 characters.");
  accented += "\xc3\xa9";
  EXPECT_EQ(policy_error(accented), "");
}

TEST(PasswordPolicy, BoundsTheLengthInBytes) {
  std::string longest;
  while (longest.size() < kMaxPasswordBytes) longest += "qx7Zv";
  longest.resize(kMaxPasswordBytes);
  EXPECT_EQ(policy_error(longest), "");
  EXPECT_EQ(policy_error(longest + "a"), "That password is too long; choose a shorter one.");
}

TEST(PasswordPolicy, RefusesInvalidUtf8) {
  const std::string msg = "That password contains characters that cannot be used; choose another.";
  EXPECT_EQ(policy_error("tangerine ocelot \xff quarry"), msg);
  EXPECT_EQ(policy_error("tangerine ocelot \xc0\xaf quarry"), msg);      // overlong '/'
  EXPECT_EQ(policy_error("tangerine ocelot \xed\xa0\x80 quarry"), msg);  // surrogate
  EXPECT_EQ(policy_error("tangerine ocelot quarry\xe2\x82"), msg);       // truncated
}

TEST(PasswordPolicy, RefusesTheEmailAddressOrItsLocalPart) {
  const std::string msg = "Choose a password that is not your e-mail address.";
  EXPECT_EQ(policy_error("alice.smith@clinic.example"), msg);
  EXPECT_EQ(policy_error("ALICE.SMITH@CLINIC.EXAMPLE"), msg);
  EXPECT_EQ(policy_error("alice.smith1"), msg);      // local part (11) + a digit
  EXPECT_EQ(policy_error("Alice.Smith2024!"), msg);  // ... or digits and punctuation
  EXPECT_EQ(policy_error("alice.smith.x", "alice.smith.x@clinic.example"), msg);
  EXPECT_EQ(policy_error("alice.smith.xy"), "");
}

TEST(PasswordPolicy, RefusesCommonPasswords) {
  const std::string msg = "That password is too common; choose another.";
  // Openwall's list (part 1), as typed and after stripping digits and punctuation.
  EXPECT_EQ(policy_error("winniethepooh"), msg);
  EXPECT_EQ(policy_error("WinnieThePooh"), msg);
  EXPECT_EQ(policy_error("Password1234!"), msg);
  EXPECT_EQ(policy_error("password!!!!!!!!"), msg);
  EXPECT_EQ(policy_error("Sunshine 2024."), msg);
  EXPECT_EQ(policy_error("letmein123456"), msg);
  // The hand-written long ones (part 2).
  EXPECT_EQ(policy_error("passwordpassword"), msg);
  EXPECT_EQ(policy_error("PASSWORDPASSWORD"), msg);
  EXPECT_EQ(policy_error("123456789012"), msg);
  EXPECT_EQ(policy_error("qwertyuiopasdfghjkl"), msg);
  EXPECT_EQ(policy_error("iloveyou1234"), msg);
  EXPECT_EQ(policy_error("correcthorsebatterystaple"), msg);
  // Only trailing characters are stripped; a word inside a longer phrase is fine.
  EXPECT_EQ(policy_error("password tangerine"), "");
  EXPECT_EQ(policy_error("1234password tangerine"), "");
}

}  // namespace
}  // namespace auth
