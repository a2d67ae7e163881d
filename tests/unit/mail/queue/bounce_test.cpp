// prepare_bounce: who gets a notice and who does not, what it says (RFC 3464 fields read
// back from the sealed, signed bytes), and that it keeps the original's policy and PHI mark.
#include "mail/queue/bounce.hpp"

#include <gtest/gtest.h>

#include "crypto/seal.hpp"

namespace mail::queue {
namespace {

const core::TimePoint kNow{std::chrono::seconds(1'800'000'000)};

dkim::Signer signer() {
  std::vector<dkim::SigningKey> keys;
  keys.push_back({"s1", *dkim::PrivateKey::generate(dkim::Algorithm::rsa_sha256)});
  return *dkim::Signer::create("example.org", std::move(keys));
}

struct Fixture : ::testing::Test {
  core::FakeRng rng{3};
  core::SecretBytes key{std::string(32, 'k')};
  dkim::Signer sign = signer();
  store::MailMessageRecord original;

  void SetUp() override {
    Outgoing out{.from = *Address::parse("clinic@example.org")};
    out.to = {*Address::parse("a@example.net"), *Address::parse("b@example.net")};
    out.subject = "Your results";
    out.text_body = "secret body text\n";
    out.security = policy::Policy::verify;
    out.phi = true;
    auto p = prepare(out, sign, key, "forms.example.org", kNow - std::chrono::hours(2), rng);
    ASSERT_TRUE(p) << p.error().detail();
    original = p->record;
  }

  FailedRecipient failed(std::string address, int code, std::string enhanced, std::string reply) {
    store::MailAttempt a;
    a.message_id = original.id;
    a.at = core::unix_seconds(kNow);
    a.result = store::MailState::bounced;
    a.code = code;
    a.enhanced = std::move(enhanced);
    a.reply = std::move(reply);
    a.mx_host = code ? "mx.example.net" : "";
    return {.address = std::move(address), .attempt = a};
  }

  std::string open(const Prepared& p) {
    return std::string(open_body(p.record, key)->as_string_view());
  }
};

TEST_F(Fixture, NoticeToTheSenderWithNullEnvelopeSender) {
  auto n = prepare_bounce(original,
                          {failed("a@example.net", 550, "5.1.1", "no such user"),
                           failed("b@example.net", 0, "4.4.1", "expired after 432000 s")},
                          sign, key, "forms.example.org", kNow, rng);
  ASSERT_TRUE(n) << n.error().detail();
  ASSERT_TRUE(n->has_value());
  const Prepared& p = **n;
  EXPECT_EQ(p.record.sender, "");  // MAIL FROM:<>
  EXPECT_EQ(p.recipients, std::vector<std::string>{"clinic@example.org"});
  EXPECT_EQ(p.record.origin, "dsn");
  EXPECT_EQ(p.record.security, "verify");
  EXPECT_TRUE(p.record.phi);
  const std::string bytes = open(p);
  EXPECT_TRUE(bytes.starts_with("DKIM-Signature:")) << bytes.substr(0, 80);
  EXPECT_NE(bytes.find("From: Mail Delivery System <MAILER-DAEMON@forms.example.org>"),
            std::string::npos);
  EXPECT_NE(bytes.find("Auto-Submitted: auto-replied"), std::string::npos);
  EXPECT_NE(bytes.find("report-type=delivery-status"), std::string::npos);
  EXPECT_NE(bytes.find("Final-Recipient: rfc822; a@example.net\r\nAction: failed\r\n"
                       "Status: 5.1.1\r\nRemote-MTA: dns; mx.example.net\r\n"
                       "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"),
            std::string::npos)
      << bytes;
  // The expired one: delivery time expired, no remote reply to quote.
  EXPECT_NE(bytes.find("Final-Recipient: rfc822; b@example.net\r\nAction: failed\r\n"
                       "Status: 4.4.7\r\nLast-Attempt-Date:"),
            std::string::npos)
      << bytes;
  // The original's header comes back (it names the message); its body never does.
  EXPECT_NE(bytes.find("Content-Type: text/rfc822-headers"), std::string::npos);
  EXPECT_NE(bytes.find("Subject: Your results"), std::string::npos);
  EXPECT_EQ(bytes.find("secret body text"), std::string::npos);
}

TEST_F(Fixture, ABounceIsNeverAnsweredByAnother) {
  original.sender.clear();
  auto n = prepare_bounce(original, {failed("a@example.net", 550, "5.1.1", "550 no")}, sign, key,
                          "forms.example.org", kNow, rng);
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->has_value());
}

TEST_F(Fixture, APermanentReplyWithoutEnhancedCodeIsFiveZeroZero) {
  auto n = prepare_bounce(original, {failed("a@example.net", 554, "", "go away\x01")}, sign, key,
                          "forms.example.org", kNow, rng);
  ASSERT_TRUE(n && n->has_value());
  const std::string bytes = open(**n);
  EXPECT_NE(bytes.find("Status: 5.0.0\r\n"), std::string::npos);
  EXPECT_NE(bytes.find("Diagnostic-Code: smtp; 554 go away?\r\n"), std::string::npos);
}

TEST_F(Fixture, ASenderWeCannotWriteToIsAnError) {
  original.sender = "not an address";
  EXPECT_FALSE(prepare_bounce(original, {failed("a@example.net", 550, "5.1.1", "550 no")}, sign,
                              key, "forms.example.org", kNow, rng));
}

}  // namespace
}  // namespace mail::queue
