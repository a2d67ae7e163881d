// The key record text we publish and the parser of published records (RFC 6376 §3.6.1,
// RFC 8463 §4).
#include "mail/dkim/record.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "mail/dkim/detail/base64.hpp"
#include "mail/dkim/limits.hpp"

namespace mail::dkim {
namespace {

const PrivateKey& ed_key() {
  static const PrivateKey k = *PrivateKey::generate(Algorithm::ed25519_sha256);
  return k;
}
const PrivateKey& rsa_key() {
  static const PrivateKey k = *PrivateKey::generate(Algorithm::rsa_sha256);
  return k;
}

TEST(Record, PublishedTextParsesBackAndMatches) {
  for (const PrivateKey* key : {&ed_key(), &rsa_key()}) {
    const std::string text = dns_record(*key);
    EXPECT_TRUE(text.starts_with(key->algorithm() == Algorithm::ed25519_sha256
                                     ? "v=DKIM1; k=ed25519; p="
                                     : "v=DKIM1; k=rsa; p=MII"))
        << text;
    auto record = parse_record(text);
    ASSERT_TRUE(record) << record.error().detail();
    EXPECT_EQ(record->algorithm, key->algorithm());
    EXPECT_EQ(record->public_key, key->public_key());
    EXPECT_TRUE(record_matches(*record, *key));
  }
  EXPECT_FALSE(record_matches(*parse_record(dns_record(ed_key())), rsa_key()));
  const auto other = *PrivateKey::generate(Algorithm::ed25519_sha256);
  EXPECT_FALSE(record_matches(*parse_record(dns_record(ed_key())), other));
  const auto other_rsa = *PrivateKey::generate(Algorithm::rsa_sha256);
  EXPECT_FALSE(record_matches(*parse_record(dns_record(rsa_key())), other_rsa));
}

TEST(Record, Rfc8463PublishedRecord) {
  // RFC 8463 A.2: brisbane._domainkey.football.example.com.
  auto record = parse_record("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->algorithm, Algorithm::ed25519_sha256);
  EXPECT_EQ(detail::base64_encode(record->public_key),
            "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
}

TEST(Record, RsaRecordAsPkcs1Matches) {
  // Some publish the bare RSAPublicKey: SubjectPublicKeyInfo minus its 24-byte header for a
  // 2048-bit key (the header is SEQUENCE, AlgorithmIdentifier, BIT STRING).
  const auto spki = rsa_key().public_key();
  ASSERT_GT(spki.size(), 24u);
  const std::vector<std::uint8_t> pkcs1(spki.begin() + 24, spki.end());
  auto record = parse_record("k=rsa; p=" + detail::base64_encode(pkcs1));
  ASSERT_TRUE(record);
  EXPECT_TRUE(record_matches(*record, rsa_key()));
}

TEST(Record, Grammar) {
  const std::string p = "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
  EXPECT_TRUE(parse_record("v=DKIM1;k=ed25519;" + p + ";"));
  EXPECT_TRUE(parse_record("  v = DKIM1 ;\tk=ed25519 ; " + p + " ; n=a note"));
  EXPECT_TRUE(
      parse_record("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQH\r\n Og7hcvPapiMlrwIaaPcHURo="));
  EXPECT_TRUE(parse_record("v=DKIM1; k=ed25519; h=sha256; s=email:*; t=y:s; x_1=ok; " + p));
  auto flags = parse_record("k=ed25519; t=Y : s; " + p);
  ASSERT_TRUE(flags);
  EXPECT_EQ(flags->flags, (std::vector<std::string>{"y", "s"}));
  auto rsa_default = parse_record("p=" + detail::base64_encode(rsa_key().public_key()));
  ASSERT_TRUE(rsa_default);
  EXPECT_EQ(rsa_default->algorithm, Algorithm::rsa_sha256);
  auto revoked = parse_record("v=DKIM1; k=ed25519; p=");
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(revoked->revoked());
  EXPECT_FALSE(record_matches(*revoked, ed_key()));

  EXPECT_FALSE(parse_record(""));
  EXPECT_FALSE(parse_record("v=DKIM1; k=ed25519"));        // no p=
  EXPECT_FALSE(parse_record("k=ed25519; v=DKIM1; " + p));  // v= not first
  EXPECT_FALSE(parse_record("v=DKIM2; k=ed25519; " + p));
  EXPECT_FALSE(parse_record("v=DKIM1; k=ed448; " + p));            // unknown key type
  EXPECT_FALSE(parse_record("v=DKIM1; k=ed25519; k=rsa; " + p));   // duplicate tag
  EXPECT_FALSE(parse_record("v=DKIM1; k=ed25519; p=AAAA"));        // not 32 bytes
  EXPECT_FALSE(parse_record("v=DKIM1; k=ed25519; p=11qY!"));       // not base64
  EXPECT_FALSE(parse_record("v=DKIM1; k=ed25519; h=sha1; " + p));  // sha256 not allowed
  EXPECT_FALSE(parse_record("v=DKIM1;; k=ed25519; " + p));         // empty tag
  EXPECT_FALSE(parse_record("v=DKIM1; 1k=ed25519; " + p));         // tag name
  EXPECT_FALSE(parse_record("v=DKIM1; k ed25519; " + p));          // no '='
  EXPECT_FALSE(parse_record("v=DKIM1; k=ed25519; " + p + "\n"));   // LF outside FWS
  EXPECT_FALSE(
      parse_record("v=DKIM1; k=ed\x01"
                   "25519; " +
                   p));                                         // control character
  EXPECT_FALSE(parse_record("v=DKIM1; k=ed25519; s=:; " + p));  // empty list item
  auto huge = parse_record("v=DKIM1; k=rsa; n=" + std::string(kMaxRecordBytes, 'a') + "; " + p);
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().kind(), core::ErrorKind::too_large);
}

TEST(Record, NamesAndZoneStrings) {
  EXPECT_EQ(record_name("mail", "example.org"), "mail._domainkey.example.org");
  const std::string text = dns_record(rsa_key());
  ASSERT_GT(text.size(), 255u);
  const std::string zone = dns_record_zone_strings(text);
  // Quoted strings of at most 255 bytes whose concatenation is the record.
  std::string joined;
  std::size_t pos = 0;
  while (pos < zone.size()) {
    ASSERT_EQ(zone[pos], '"');
    const auto end = zone.find('"', pos + 1);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - pos - 1, 255u);
    joined += zone.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    if (pos < zone.size()) {
      ASSERT_EQ(zone[pos], ' ');
      ++pos;
    }
  }
  EXPECT_EQ(joined, text);
  EXPECT_EQ(dns_record_zone_strings("abc"), "\"abc\"");
}

TEST(Key, PemRoundTripAndRefusals) {
  for (const PrivateKey* key : {&ed_key(), &rsa_key()}) {
    auto pem = key->to_pem();
    ASSERT_TRUE(pem);
    EXPECT_TRUE(pem->as_string_view().starts_with("-----BEGIN PRIVATE KEY-----"));
    auto back = PrivateKey::from_pem(*pem);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->public_key(), key->public_key());
    EXPECT_EQ(back->algorithm(), key->algorithm());
  }
  EXPECT_EQ(rsa_key().bits(), 2048);
  EXPECT_FALSE(PrivateKey::from_pem(core::SecretBytes(std::string_view("not a key"))));
  EXPECT_FALSE(PrivateKey::from_pem(core::SecretBytes()));
  EXPECT_FALSE(PrivateKey::generate(Algorithm::rsa_sha256, 1024));
  EXPECT_FALSE(PrivateKey::generate(Algorithm::rsa_sha256, 8192));
  // An EC key is neither Ed25519 nor RSA.
  EVP_PKEY* ec_key = EVP_EC_gen("P-256");
  ASSERT_NE(ec_key, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, ec_key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  const std::string ec(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(ec_key);
  auto refused = PrivateKey::from_pem(core::SecretBytes(ec));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().public_text(), "a DKIM key must be Ed25519 or RSA");
}

}  // namespace
}  // namespace mail::dkim
