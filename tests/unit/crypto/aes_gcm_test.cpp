// AES-256-GCM in the portal's layout, IV || ciphertext || tag: checked against the GCM
// specification's test case 14 (McGrew & Viega; also NIST's vectors), so the layout is the
// standard one WebCrypto decrypts (the browser test decrypts it with Chromium's WebCrypto).

#include "crypto/aes_gcm.hpp"

#include <gtest/gtest.h>

#include "core/encoding.hpp"

namespace crypto {
namespace {

// An Rng whose IVs are all zero: test case 14's IV.
class ZeroRng final : public core::Rng {
 public:
  void fill(std::span<std::uint8_t> out) override { std::fill(out.begin(), out.end(), 0); }
};

TEST(AesGcm, MatchesTheSpecificationsTestCase14) {
  ZeroRng rng;
  core::SecretBytes key(kAesGcmKeyBytes);  // zeros
  std::vector<std::uint8_t> plain(16, 0);
  auto sealed = seal_aes256_gcm(key, {}, plain, rng);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(core::to_hex(*sealed),
            "000000000000000000000000"            // IV
            "cea7403d4d606b6e074ec5d3baf39d18"    // ciphertext
            "d0d1c8a799996bf0265b98b5d48ab919");  // tag
  auto back = open_aes256_gcm(key, {}, *sealed);
  ASSERT_TRUE(back);
  EXPECT_EQ(std::vector<std::uint8_t>(back->view().begin(), back->view().end()), plain);
}

TEST(AesGcm, RoundTripsWithAdditionalDataAndFreshIvs) {
  core::SystemRng rng;
  core::SecretBytes key(kAesGcmKeyBytes);
  rng.fill(key.mutable_view());
  const std::string aad = "0123456789abcdef0123456789abcdef";
  const std::string text = "{\"subject\":\"s\",\"body\":\"b\"}";
  auto span = [](const std::string& s) {
    return std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  };
  auto a = seal_aes256_gcm(key, span(aad), span(text), rng).value();
  auto b = seal_aes256_gcm(key, span(aad), span(text), rng).value();
  EXPECT_EQ(a.size(), kAesGcmIvBytes + text.size() + kAesGcmTagBytes);
  EXPECT_NE(a, b) << "each seal draws its own IV";
  EXPECT_EQ(open_aes256_gcm(key, span(aad), a).value().as_string_view(), text);
}

TEST(AesGcm, WrongKeyAadEditedOrShortIsAnIntegrityError) {
  core::SystemRng rng;
  core::SecretBytes key(kAesGcmKeyBytes);
  rng.fill(key.mutable_view());
  const std::vector<std::uint8_t> aad{'m', '1'};
  const std::vector<std::uint8_t> plain{'h', 'i'};
  auto sealed = seal_aes256_gcm(key, aad, plain, rng).value();
  core::SecretBytes other(kAesGcmKeyBytes);
  EXPECT_EQ(open_aes256_gcm(other, aad, sealed).error().kind(), core::ErrorKind::integrity);
  const std::vector<std::uint8_t> aad2{'m', '2'};
  EXPECT_EQ(open_aes256_gcm(key, aad2, sealed).error().kind(), core::ErrorKind::integrity);
  auto edited = sealed;
  edited[kAesGcmIvBytes] ^= 1;
  EXPECT_EQ(open_aes256_gcm(key, aad, edited).error().kind(), core::ErrorKind::integrity);
  std::vector<std::uint8_t> short_one(sealed.begin(), sealed.begin() + 20);
  EXPECT_EQ(open_aes256_gcm(key, aad, short_one).error().kind(), core::ErrorKind::integrity);
  core::SecretBytes short_key(16);
  EXPECT_EQ(seal_aes256_gcm(short_key, aad, plain, rng).error().kind(),
            core::ErrorKind::invalid_input);
}

}  // namespace
}  // namespace crypto
