// mail::secure's pure parts: which user ids name an address, and the sealed message's MIME
// structure as mime::build_message writes it (RFC 3156 for PGP/MIME, RFC 8551 for S/MIME),
// read back with GMime's parser. The sealing function here is the test's own, so that the
// structure is checked apart from the cryptography; gpg, sq and rnp read the real thing in
// tests/integration/test_mail_secure.py.
#include <gmime/gmime.h>
#include <gtest/gtest.h>

#include <string>

#include "mail/mime/message.hpp"
#include "mail/secure/recipients.hpp"

namespace mail::secure {
namespace {

const core::TimePoint kDate{std::chrono::seconds(1'800'000'000)};

Address addr(std::string_view s) {
  auto a = Address::parse(s);
  EXPECT_TRUE(a) << s;
  return *a;
}

TEST(UserIdNames, AddressInBracketsOrAloneWithoutRegardToCase) {
  const Address a = addr("alice@example.org");
  EXPECT_TRUE(user_id_names("Alice <alice@example.org>", a));
  EXPECT_TRUE(user_id_names("alice@example.org", a));
  EXPECT_TRUE(user_id_names("Alice Example <Alice@Example.ORG>", a));
  EXPECT_TRUE(user_id_names("<alice@example.org>", a));
  EXPECT_FALSE(user_id_names("Alice <alice@example.org.evil>", a));
  EXPECT_FALSE(user_id_names("Alice <malice@example.org>", a));
  EXPECT_FALSE(user_id_names("alice@example.org <bob@example.org>", a));
  EXPECT_FALSE(user_id_names("Alice <alice@example.org", a));
  EXPECT_FALSE(user_id_names("Alice", a));
  EXPECT_FALSE(user_id_names("", a));
}

TEST(MethodName, Names) {
  EXPECT_EQ(method_name(Method::pgp_mime), "pgp-mime");
  EXPECT_EQ(method_name(Method::smime), "smime");
}

struct Parsed {
  GMimeMessage* message = nullptr;
  ~Parsed() {
    if (message != nullptr) g_object_unref(message);
  }
};

void parse(const std::string& bytes, Parsed& out) {
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  out.message = g_mime_parser_construct_message(parser, nullptr);
  g_object_unref(parser);
  g_object_unref(stream);
}

std::string content_of(GMimeObject* object) {
  GMimeDataWrapper* wrapper = g_mime_part_get_content(GMIME_PART(object));
  GMimeStream* out = g_mime_stream_mem_new();
  g_mime_data_wrapper_write_to_stream(wrapper, out);
  GByteArray* array = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
  std::string s(reinterpret_cast<const char*>(array->data), array->len);
  g_object_unref(out);
  return s;
}

mime::MessageSpec spec() {
  mime::MessageSpec s{.from = addr("clinic@example.org"), .to = {addr("alice@example.net")}};
  s.subject = "Your results";
  s.text_body = "Dear patient,\nthe secret body\n";
  s.message_id_domain = "example.org";
  return s;
}

constexpr const char* kArmored =
    "-----BEGIN PGP MESSAGE-----\r\n\r\nwcBMA0not+real+ciphertext\r\n=AbCd\r\n"
    "-----END PGP MESSAGE-----\r\n";

TEST(Sealing, PgpMimeIsRfc3156AndTheEntityIsTheContentOnly) {
  std::string entity;
  mime::MessageSpec s = spec();
  s.sealing = mime::Sealing{.envelope = mime::Envelope::pgp_mime,
                            .seal = [&](std::string_view e) -> core::Result<std::string> {
                              entity = std::string(e);
                              return std::string(kArmored);
                            }};
  core::FakeRng rng(3);
  auto built = mime::build_message(s, kDate, rng);
  ASSERT_TRUE(built) << built.error().detail();
  // What was sealed: the content entity (its own Content-Type, the body), CRLF lines, with
  // the message's header fields protected (RFC 9788): a copy of them, then what the outside
  // shows as HP-Outer fields.
  EXPECT_NE(entity.find("the secret body\r\n"), std::string::npos) << entity;
  {
    Parsed inner;
    parse(entity, inner);
    ASSERT_NE(inner.message, nullptr) << entity;
    EXPECT_STREQ(g_mime_message_get_subject(inner.message), "Your results");
    GMimeObject* object = GMIME_OBJECT(inner.message);
    EXPECT_STREQ(g_mime_object_get_header(object, "From"), "clinic@example.org");
    EXPECT_STREQ(g_mime_object_get_header(object, "To"), "alice@example.net");
    EXPECT_STREQ(g_mime_object_get_header(object, "Message-Id"),
                 ("<" + built->message_id + ">").c_str());
    GMimeObject* part = g_mime_message_get_mime_part(inner.message);
    GMimeContentType* type = g_mime_object_get_content_type(part);
    EXPECT_TRUE(g_mime_content_type_is_type(type, "text", "plain"));
    EXPECT_STREQ(g_mime_content_type_get_parameter(type, "hp"), "cipher");
  }
  EXPECT_NE(entity.find("HP-Outer: Subject: [...]\r\n"), std::string::npos) << entity;
  EXPECT_NE(entity.find("HP-Outer: From: clinic@example.org\r\n"), std::string::npos) << entity;
  EXPECT_EQ(entity.find("MIME-Version"), std::string::npos) << entity;
  // What goes out: never the body, nor the subject.
  EXPECT_EQ(built->bytes.find("the secret body"), std::string::npos);
  EXPECT_EQ(built->bytes.find("Your results"), std::string::npos);

  Parsed p;
  parse(built->bytes, p);
  ASSERT_NE(p.message, nullptr);
  EXPECT_STREQ(g_mime_message_get_subject(p.message), "[...]");
  GMimeObject* root = g_mime_message_get_mime_part(p.message);
  GMimeContentType* type = g_mime_object_get_content_type(root);
  EXPECT_TRUE(g_mime_content_type_is_type(type, "multipart", "encrypted"));
  EXPECT_STREQ(g_mime_content_type_get_parameter(type, "protocol"), "application/pgp-encrypted");
  ASSERT_TRUE(GMIME_IS_MULTIPART(root));
  ASSERT_EQ(g_mime_multipart_get_count(GMIME_MULTIPART(root)), 2);
  GMimeObject* first = g_mime_multipart_get_part(GMIME_MULTIPART(root), 0);
  GMimeObject* second = g_mime_multipart_get_part(GMIME_MULTIPART(root), 1);
  EXPECT_TRUE(g_mime_content_type_is_type(g_mime_object_get_content_type(first), "application",
                                          "pgp-encrypted"));
  EXPECT_EQ(content_of(first), "Version: 1\r\n");
  EXPECT_TRUE(g_mime_content_type_is_type(g_mime_object_get_content_type(second), "application",
                                          "octet-stream"));
  EXPECT_EQ(content_of(second), kArmored);
}

TEST(Sealing, SmimeIsOneBase64Pkcs7MimePart) {
  const std::string der("\x30\x82\x01\x00\x06\x09not-really-der\x00\xff", 22);
  mime::MessageSpec s = spec();
  s.sealing =
      mime::Sealing{.envelope = mime::Envelope::smime,
                    .seal = [&](std::string_view) -> core::Result<std::string> { return der; }};
  core::FakeRng rng(4);
  auto built = mime::build_message(s, kDate, rng);
  ASSERT_TRUE(built) << built.error().detail();
  Parsed p;
  parse(built->bytes, p);
  ASSERT_NE(p.message, nullptr);
  GMimeObject* root = g_mime_message_get_mime_part(p.message);
  GMimeContentType* type = g_mime_object_get_content_type(root);
  EXPECT_TRUE(g_mime_content_type_is_type(type, "application", "pkcs7-mime"));
  EXPECT_STREQ(g_mime_content_type_get_parameter(type, "smime-type"), "enveloped-data");
  EXPECT_EQ(g_mime_part_get_content_encoding(GMIME_PART(root)), GMIME_CONTENT_ENCODING_BASE64);
  EXPECT_EQ(content_of(root), der);
}

TEST(Sealing, AFailedSealBuildsNothing) {
  mime::MessageSpec s = spec();
  s.sealing = mime::Sealing{.envelope = mime::Envelope::pgp_mime,
                            .seal = [](std::string_view) -> core::Result<std::string> {
                              return core::fail(core::ErrorKind::invalid_input, "no key");
                            }};
  core::FakeRng rng(5);
  auto built = mime::build_message(s, kDate, rng);
  ASSERT_FALSE(built);
  EXPECT_EQ(built.error().public_text(), "no key");
}

TEST(Sealing, AReportIsNeverSealed) {
  mime::MessageSpec s = spec();
  s.tls_report = mime::TlsReportAttachment{.file_name = "r.json.gz", .gzip = "x"};
  s.sealing = mime::Sealing{
      .envelope = mime::Envelope::pgp_mime,
      .seal = [](std::string_view) -> core::Result<std::string> { return std::string(kArmored); }};
  core::FakeRng rng(6);
  EXPECT_FALSE(mime::build_message(s, kDate, rng));
}

TEST(Reseal, TheQueuedMessageAgainWithItsContentSealed) {
  core::FakeRng rng(8);
  auto plain = mime::build_message(spec(), kDate, rng);
  ASSERT_TRUE(plain) << plain.error().detail();
  // As queued: DKIM-signed (the signature field first).
  const std::string queued =
      "DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=x;\r\n b=AAAA\r\n" + plain->bytes;
  std::string entity;
  const mime::Sealing sealing{.envelope = mime::Envelope::pgp_mime,
                              .seal = [&](std::string_view e) -> core::Result<std::string> {
                                entity = std::string(e);
                                return std::string(kArmored);
                              }};
  auto resealed = mime::reseal_message(queued, sealing, "example.org", rng);
  ASSERT_TRUE(resealed) << resealed.error().detail();
  EXPECT_NE(resealed->message_id, plain->message_id);
  EXPECT_NE(entity.find("the secret body"), std::string::npos) << entity;
  EXPECT_EQ(resealed->bytes.find("the secret body"), std::string::npos);
  EXPECT_EQ(resealed->bytes.find("DKIM-Signature"), std::string::npos);
  EXPECT_NE(resealed->bytes.find("<" + resealed->message_id + ">"), std::string::npos);
  EXPECT_EQ(resealed->bytes.find(plain->message_id), std::string::npos);
  // The protected copy of the header names the copy's own Message-ID.
  EXPECT_NE(entity.find("Subject: Your results\r\n"), std::string::npos) << entity;
  EXPECT_NE(entity.find("<" + resealed->message_id + ">"), std::string::npos) << entity;
  EXPECT_EQ(entity.find("DKIM-Signature"), std::string::npos) << entity;
  Parsed p;
  parse(resealed->bytes, p);
  ASSERT_NE(p.message, nullptr);
  EXPECT_STREQ(g_mime_message_get_subject(p.message), "[...]");
  EXPECT_TRUE(g_mime_content_type_is_type(
      g_mime_object_get_content_type(g_mime_message_get_mime_part(p.message)), "multipart",
      "encrypted"));
  // Every line CRLF.
  for (std::size_t i = 0; i < resealed->bytes.size(); ++i) {
    if (resealed->bytes[i] == '\n') {
      ASSERT_TRUE(i > 0 && resealed->bytes[i - 1] == '\r') << i;
    }
  }
  // Never sealed twice.
  auto twice = mime::reseal_message(resealed->bytes, sealing, "example.org", rng);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().kind(), core::ErrorKind::invalid_input);
}

}  // namespace
}  // namespace mail::secure
