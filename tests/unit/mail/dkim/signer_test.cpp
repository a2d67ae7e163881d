// The signer's output: structure (tags, h=, folding), and each signature checked with
// OpenSSL's verify against the published record; a changed signed field or body breaks it.
// The canonicalisation itself is pinned by the RFC vectors (canonical_test.cpp); the real
// verifier, dkimpy, checks the same output in tests/interop/test_dkim.py.
#include "mail/dkim/signer.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <map>
#include <regex>
#include <thread>

#include "mail/dkim/detail/base64.hpp"
#include "mail/dkim/detail/canonical.hpp"
#include "mail/dkim/record.hpp"

namespace mail::dkim {
namespace {

const core::TimePoint kNow{std::chrono::seconds(1'800'000'000)};

constexpr std::string_view kMessage =
    "Date: Fri, 15 Jan 2027 08:00:00 +0000\r\n"
    "From: Clinic <clinic@example.org>\r\n"
    "Subject: Hello\r\n"
    "To: p@example.net\r\n"
    "Message-Id: <abc@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "List-Unsubscribe: <https://example.org/u>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 7bit\r\n"
    "\r\n"
    "Hello  there \r\n"
    ".\r\n"
    "From the clinic\r\n"
    "\r\n";

struct Keys {
  PrivateKey ed = *PrivateKey::generate(Algorithm::ed25519_sha256);
  PrivateKey rsa = *PrivateKey::generate(Algorithm::rsa_sha256);
};
const Keys& keys() {
  static const Keys k;
  return k;
}
PrivateKey copy(const PrivateKey& key) { return *PrivateKey::from_pem(*key.to_pem()); }

Signer dual() {
  std::vector<SigningKey> k;
  k.push_back({"mail-rsa", copy(keys().rsa)});
  k.push_back({"mail", copy(keys().ed)});
  auto s = Signer::create("Example.ORG", std::move(k));
  EXPECT_TRUE(s) << s.error().detail();
  return std::move(*s);
}

// The tags of a DKIM-Signature field, whitespace removed.
std::map<std::string, std::string> tags_of(std::string_view raw) {
  std::string compact;
  for (char c : raw.substr(raw.find(':') + 1))
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') compact += c;
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start < compact.size()) {
    auto semi = compact.find(';', start);
    if (semi == std::string::npos) semi = compact.size();
    const auto spec = compact.substr(start, semi - start);
    const auto eq = spec.find('=');
    out[spec.substr(0, eq)] = spec.substr(eq + 1);
    start = semi + 1;
  }
  return out;
}

std::vector<detail::HeaderField> signature_fields(const detail::SplitMessage& split) {
  std::vector<detail::HeaderField> out;
  for (const auto& f : split.fields)
    if (detail::iequals(f.name, "DKIM-Signature")) out.push_back(f);
  return out;
}

// Verifies signature field `which` of `message` with OpenSSL against `record_text`, rebuilding
// the signed data from the field's own h= and from the field with its b= value removed.
bool verifies(std::string_view message, std::size_t which, const std::string& record_text) {
  auto split = detail::split_message(message);
  if (!split) return false;
  const auto sigs = signature_fields(*split);
  if (which >= sigs.size()) return false;
  const auto tags = tags_of(sigs[which].raw);
  auto record = parse_record(record_text);
  if (!record) return false;

  const std::string body = detail::relaxed_body(split->body);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
  if (detail::base64_encode(digest) != tags.at("bh")) return false;

  std::vector<std::string> names;
  std::stringstream h(tags.at("h"));
  for (std::string n; std::getline(h, n, ':');) names.push_back(n);
  std::string data = detail::relaxed_signed_headers(split->fields, names);
  const std::string without_b =
      std::regex_replace(std::string(sigs[which].raw), std::regex("(;[ \\t\\r\\n]*b=)[^;]*"), "$1");
  std::string own = detail::relaxed_header(without_b);
  data += own.substr(0, own.size() - 2);

  const auto sig = detail::base64_decode(tags.at("b"));
  if (!sig) return false;
  EVP_PKEY* pkey = nullptr;
  std::string signed_bytes;
  const EVP_MD* md = nullptr;
  if (record->algorithm == Algorithm::ed25519_sha256) {
    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, record->public_key.data(),
                                       record->public_key.size());
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
    signed_bytes.assign(reinterpret_cast<char*>(d), sizeof d);
  } else {
    const unsigned char* p = record->public_key.data();
    pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(record->public_key.size()));
    signed_bytes = data;
    md = EVP_sha256();
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = pkey != nullptr && EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, pkey) == 1 &&
                  EVP_DigestVerify(ctx, sig->data(), sig->size(),
                                   reinterpret_cast<const unsigned char*>(signed_bytes.data()),
                                   signed_bytes.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

TEST(Signer, DualSignatureStructure) {
  const Signer signer = dual();
  EXPECT_EQ(signer.domain(), "example.org");
  auto signed_message = signer.sign(kMessage, kNow);
  ASSERT_TRUE(signed_message) << signed_message.error().detail();
  ASSERT_TRUE(signed_message->ends_with(kMessage));
  auto split = detail::split_message(*signed_message);
  ASSERT_TRUE(split);
  const auto sigs = signature_fields(*split);
  ASSERT_EQ(sigs.size(), 2u);
  // Prepended, Ed25519 first.
  EXPECT_EQ(split->fields[0].raw, sigs[0].raw);
  EXPECT_EQ(split->fields[1].raw, sigs[1].raw);
  const auto ed = tags_of(sigs[0].raw);
  const auto rsa = tags_of(sigs[1].raw);
  EXPECT_EQ(ed.at("a"), "ed25519-sha256");
  EXPECT_EQ(ed.at("s"), "mail");
  EXPECT_EQ(rsa.at("a"), "rsa-sha256");
  EXPECT_EQ(rsa.at("s"), "mail-rsa");
  for (const auto* t : {&ed, &rsa}) {
    EXPECT_EQ(t->at("v"), "1");
    EXPECT_EQ(t->at("c"), "relaxed/relaxed");
    EXPECT_EQ(t->at("d"), "example.org");
    EXPECT_EQ(t->at("t"), "1800000000");
    EXPECT_EQ(t->at("h"),
              "from:to:subject:date:message-id:mime-version:content-type:"
              "content-transfer-encoding:list-unsubscribe:from");
    EXPECT_FALSE(t->contains("l"));
    EXPECT_EQ(t->at("bh"), ed.at("bh"));
  }
  // Folded to 78 columns.
  for (const auto& f : sigs) {
    std::size_t start = 0;
    while (start < f.raw.size()) {
      const auto end = f.raw.find("\r\n", start);
      EXPECT_LE(end - start, 78u) << f.raw.substr(start, end - start);
      start = end + 2;
    }
  }
  EXPECT_TRUE(verifies(*signed_message, 0, dns_record(keys().ed)));
  EXPECT_TRUE(verifies(*signed_message, 1, dns_record(keys().rsa)));
  // Each against the other's key: no.
  EXPECT_FALSE(
      verifies(*signed_message, 0, dns_record(*PrivateKey::generate(Algorithm::ed25519_sha256))));
}

TEST(Signer, ChangedSignedFieldOrBodyOrAddedFromBreaksEverySignature) {
  const auto signed_message = *dual().sign(kMessage, kNow);
  const std::string ed_record = dns_record(keys().ed);
  const std::string rsa_record = dns_record(keys().rsa);
  const auto both_fail = [&](const std::string& m) {
    return !verifies(m, 0, ed_record) && !verifies(m, 1, rsa_record);
  };
  std::string subject = signed_message;
  subject.replace(subject.find("Subject: Hello"), 14, "Subject: Hellp");
  EXPECT_TRUE(both_fail(subject));
  std::string body = signed_message;
  body.replace(body.find("From the clinic"), 15, "From the clinik");
  EXPECT_TRUE(both_fail(body));
  // A second From, above or below the first: the over-signed "from" catches both.
  std::string above = signed_message;
  above.insert(above.find("Date:"), "From: evil@example.com\r\n");
  EXPECT_TRUE(both_fail(above));
  std::string below = signed_message;
  below.insert(below.find("Subject:"), "From: evil@example.com\r\n");
  EXPECT_TRUE(both_fail(below));
  // Whitespace changes that relaxed canonicalisation forgives: still valid.
  std::string relaxed = signed_message;
  relaxed.replace(relaxed.find("Subject: Hello"), 14, "Subject:   Hello  ");
  EXPECT_TRUE(verifies(relaxed, 0, ed_record));
  EXPECT_TRUE(verifies(relaxed, 1, rsa_record));
}

TEST(Signer, RsaOnly) {
  std::vector<SigningKey> k;
  k.push_back({"s1", copy(keys().rsa)});
  auto signer = Signer::create("example.org", std::move(k));
  ASSERT_TRUE(signer);
  auto m = signer->sign(kMessage, kNow);
  ASSERT_TRUE(m);
  auto split = detail::split_message(*m);
  ASSERT_EQ(signature_fields(*split).size(), 1u);
  EXPECT_TRUE(verifies(*m, 0, dns_record(keys().rsa)));
}

TEST(Signer, SignsOptionalFieldsWhenPresent) {
  std::string m(kMessage);
  m.insert(m.find("MIME-Version"), "Cc: c@example.net\r\nReply-To: r@example.org\r\n");
  const auto signed_message = *dual().sign(m, kNow);
  const auto tags = tags_of(signature_fields(*detail::split_message(signed_message))[0].raw);
  EXPECT_EQ(tags.at("h"),
            "from:to:cc:subject:date:message-id:mime-version:content-type:"
            "content-transfer-encoding:reply-to:list-unsubscribe:from");
  EXPECT_TRUE(verifies(signed_message, 0, dns_record(keys().ed)));
}

TEST(Signer, CreateRefuses) {
  const auto make = [](std::string_view domain,
                       std::vector<std::pair<std::string, const PrivateKey*>> ks) {
    std::vector<SigningKey> k;
    for (auto& [sel, key] : ks) k.push_back({sel, copy(*key)});
    return Signer::create(domain, std::move(k));
  };
  EXPECT_FALSE(make("example.org", {{"a", &keys().ed}}));  // Ed25519 alone
  EXPECT_FALSE(make("example.org", {{"a", &keys().rsa}, {"b", &keys().rsa}}));
  EXPECT_FALSE(make("example.org", {{"a", &keys().ed}, {"a", &keys().rsa}}));  // one selector
  EXPECT_FALSE(make("example.org", {}));
  EXPECT_FALSE(make("example", {{"a", &keys().rsa}}));
  EXPECT_FALSE(make("exa mple.org", {{"a", &keys().rsa}}));
  EXPECT_FALSE(make("example.org", {{"A", &keys().rsa}}));
  EXPECT_FALSE(make("example.org", {{"a;b", &keys().rsa}}));
  EXPECT_FALSE(make("example.org", {{"-a", &keys().rsa}}));
  EXPECT_FALSE(make("example.org", {{std::string(60, 'a'), &keys().rsa}}));
  EXPECT_TRUE(make("example.org", {{"2027.mail", &keys().rsa}}));
}

TEST(Signer, SignRefusesMalformedMessages) {
  const Signer signer = dual();
  std::string bare_lf(kMessage);
  bare_lf.replace(bare_lf.find("Hello  there \r\n"), 15, "Hello  there \n");
  EXPECT_FALSE(signer.sign(bare_lf, kNow));
  std::string two_from(kMessage);
  two_from.insert(0, "From: x@example.org\r\n");
  EXPECT_FALSE(signer.sign(two_from, kNow));
  std::string no_from(kMessage);
  no_from.erase(no_from.find("From: Clinic"), 34);
  ASSERT_EQ(no_from.find("From: Clinic"), std::string::npos);
  EXPECT_FALSE(signer.sign(no_from, kNow));
  auto too_large =
      signer.sign(std::string(kMessage) + std::string(kMaxSignedMessageBytes, 'a'), kNow);
  ASSERT_FALSE(too_large);
  EXPECT_EQ(too_large.error().kind(), core::ErrorKind::too_large);
}

TEST(Signer, ConcurrentSigningGivesValidSignatures) {
  const Signer signer = dual();
  std::vector<std::string> results(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < 20; ++n) results[i] = *signer.sign(kMessage, kNow);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    EXPECT_TRUE(verifies(r, 0, dns_record(keys().ed)));
    EXPECT_TRUE(verifies(r, 1, dns_record(keys().rsa)));
  }
}

}  // namespace
}  // namespace mail::dkim
