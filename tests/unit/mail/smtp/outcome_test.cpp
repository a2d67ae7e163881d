#include "mail/smtp/outcome.hpp"

#include <gtest/gtest.h>

namespace mail::smtp {
namespace {

Reply reply_of(std::string_view text, bool enhanced) {
  auto parsed = parse_reply(text, enhanced);
  EXPECT_EQ(parsed.status, ReplyParse::Status::complete);
  return parsed.reply;
}

TEST(SmtpOutcome, ReplyClasses) {
  EXPECT_EQ(outcome_of(Stage::data_end, 250), Outcome::delivered);
  EXPECT_EQ(outcome_of(Stage::data_end, 451), Outcome::temporary);
  EXPECT_EQ(outcome_of(Stage::data_end, 554), Outcome::permanent);
  EXPECT_EQ(outcome_of(Stage::rcpt, 550), Outcome::permanent);
  EXPECT_EQ(outcome_of(Stage::rcpt, 450), Outcome::temporary);
  EXPECT_EQ(outcome_of(Stage::mail, 553), Outcome::permanent);
  EXPECT_EQ(outcome_of(Stage::data, 554), Outcome::permanent);
}

TEST(SmtpOutcome, RefusalsBeforeMailConcernTheConnection) {
  for (Stage s : {Stage::greeting, Stage::ehlo, Stage::helo, Stage::starttls, Stage::rset}) {
    EXPECT_EQ(outcome_of(s, 554), Outcome::temporary) << stage_name(s);
  }
}

TEST(SmtpOutcome, Rcpt552IsTemporary) {
  EXPECT_EQ(outcome_of(Stage::rcpt, 552), Outcome::temporary);
  EXPECT_EQ(outcome_of(Stage::data_end, 552), Outcome::permanent);
}

TEST(SmtpOutcome, StatusFromReplyKeepsTheServersCodes) {
  auto s = status_from_reply(Stage::rcpt, reply_of("550 5.1.1 <x@y>: no such user\r\n", true));
  EXPECT_EQ(s.outcome, Outcome::permanent);
  EXPECT_EQ(s.code, 550);
  EXPECT_EQ(s.enhanced, "5.1.1");
  EXPECT_EQ(s.text, "<x@y>: no such user");
  EXPECT_TRUE(s.from_server);
  EXPECT_EQ(s.stage, Stage::rcpt);

  // No enhanced code: class.0.0.
  s = status_from_reply(Stage::data_end, reply_of("451 later\r\n", false));
  EXPECT_EQ(s.outcome, Outcome::temporary);
  EXPECT_EQ(s.enhanced, "4.0.0");
  s = status_from_reply(Stage::data_end, reply_of("250 queued as X\r\n", false));
  EXPECT_EQ(s.outcome, Outcome::delivered);
  EXPECT_EQ(s.enhanced, "2.0.0");
}

TEST(SmtpOutcome, EnhancedClassFollowsTheOutcome) {
  // A 5xx greeting is a temporary failure: the DSN code must say 4, the reply code stays.
  auto s = status_from_reply(Stage::greeting, reply_of("554 5.7.1 go away\r\n", true));
  EXPECT_EQ(s.outcome, Outcome::temporary);
  EXPECT_EQ(s.code, 554);
  EXPECT_EQ(s.enhanced, "4.7.1");
  s = status_from_reply(Stage::rcpt, reply_of("552 5.5.3 too many recipients\r\n", true));
  EXPECT_EQ(s.outcome, Outcome::temporary);
  EXPECT_EQ(s.enhanced, "4.5.3");
}

TEST(SmtpOutcome, LocalFailures) {
  auto s = local_status(Stage::starttls, LocalFailure::tls_not_offered);
  EXPECT_EQ(s.outcome, Outcome::temporary);
  EXPECT_EQ(s.enhanced, "4.7.4");
  EXPECT_EQ(s.code, 0);
  EXPECT_FALSE(s.from_server);
  EXPECT_EQ(local_status(Stage::tls_handshake, LocalFailure::tls_unverified).enhanced, "4.7.5");
  EXPECT_EQ(local_status(Stage::tls_handshake, LocalFailure::tls_failed).enhanced, "4.7.5");
  EXPECT_EQ(local_status(Stage::connect, LocalFailure::connect_failed).enhanced, "4.4.1");
  EXPECT_EQ(local_status(Stage::data, LocalFailure::timeout).enhanced, "4.4.2");
  s = local_status(Stage::mail, LocalFailure::message_too_big);
  EXPECT_EQ(s.outcome, Outcome::permanent);
  EXPECT_EQ(s.enhanced, "5.3.4");
  EXPECT_EQ(local_status(Stage::mail, LocalFailure::smtputf8_unsupported).outcome,
            Outcome::permanent);
  EXPECT_EQ(local_status(Stage::rcpt, LocalFailure::bad_recipient).outcome, Outcome::permanent);
}

}  // namespace
}  // namespace mail::smtp
