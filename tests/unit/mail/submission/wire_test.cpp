// The submission server's pure parsers: commands, AUTH responses, DATA, the message.
#include <gtest/gtest.h>

#include <string>

#include "mail/submission/command.hpp"
#include "mail/submission/data.hpp"
#include "mail/submission/limits.hpp"
#include "mail/submission/message.hpp"
#include "mail/submission/sasl.hpp"

namespace mail::submission {
namespace {

TEST(Command, VerbsAnyCaseAndArgument) {
  auto c = parse_command("ehlo client.example");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->verb, Verb::ehlo);
  EXPECT_EQ(c->argument, "client.example");
  EXPECT_EQ(parse_command("QUIT")->verb, Verb::quit);
  EXPECT_EQ(parse_command("XYZZY")->verb, Verb::unknown);
  EXPECT_FALSE(parse_command(""));
  EXPECT_FALSE(parse_command(std::string("NOOP\0x", 6)));
  EXPECT_FALSE(parse_command("NOOP \r"));
  EXPECT_FALSE(parse_command("NOOP \xc3\xa9"));
  EXPECT_FALSE(parse_command(std::string(kMaxCommandLineBytes + 1, 'A')));
}

TEST(Command, MailFromWithParameters) {
  auto m = parse_mail_from("FROM:<clinic@example.org> SIZE=1234 BODY=8BITMIME");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->address, "clinic@example.org");
  EXPECT_EQ(m->size, 1234u);
  EXPECT_TRUE(m->eight_bit_mime);
  EXPECT_TRUE(parse_mail_from("from: <a@b.example>"));
  EXPECT_TRUE(parse_mail_from("FROM:<a@b.example> AUTH=<>"));
  EXPECT_EQ(parse_mail_from("FROM:<>").error(), PathError::address);
  EXPECT_EQ(parse_mail_from("FROM:a@b.example").error(), PathError::syntax);
  EXPECT_EQ(parse_mail_from("TO:<a@b.example>").error(), PathError::syntax);
  EXPECT_EQ(parse_mail_from("FROM:<a@b.example> SMTPUTF8").error(), PathError::parameter);
  EXPECT_EQ(parse_mail_from("FROM:<a@b.example> SIZE=99999999999999999999999").error(),
            PathError::parameter);
  EXPECT_EQ(parse_mail_from("FROM:<a@b.example> BODY=BINARYMIME").error(), PathError::parameter);
  EXPECT_EQ(parse_mail_from("FROM:<a@b.example> SIZE=1 SIZE=2").error(), PathError::parameter);
}

TEST(Command, RcptTo) {
  EXPECT_EQ(*parse_rcpt_to("TO:<p@example.net>"), "p@example.net");
  EXPECT_EQ(parse_rcpt_to("TO:<>").error(), PathError::address);
  EXPECT_EQ(parse_rcpt_to("TO:<p@example.net> NOTIFY=NEVER").error(), PathError::parameter);
  EXPECT_EQ(parse_rcpt_to("TO p@example.net").error(), PathError::syntax);
}

TEST(Sasl, PlainAndLogin) {
  // "\0ehr\0sp_key" and "id\0id\0pw"
  auto c = decode_plain("AGVocgBzcF9rZXk=");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "ehr");
  EXPECT_EQ(c->password.as_string_view(), "sp_key");
  EXPECT_TRUE(decode_plain("aWQAaWQAcHc="));
  EXPECT_FALSE(decode_plain("b3RoZXIAaWQAcHc="));  // authzid "other" != "id"
  EXPECT_FALSE(decode_plain("AGVocgA="));          // empty password
  EXPECT_FALSE(decode_plain("AGVocgBzcF9rZXk"));   // not padded
  EXPECT_FALSE(decode_plain("AGVocgBzcF9rZXk=="));
  EXPECT_FALSE(decode_plain("AGVo cgBzcF9rZXk="));
  EXPECT_FALSE(decode_plain(""));
  auto user = decode_login_field("ZWhy");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->as_string_view(), "ehr");
  EXPECT_FALSE(decode_login_field("ZWh="));  // non-canonical padding bits
  EXPECT_FALSE(decode_login_field("AA=="));  // NUL
  EXPECT_TRUE(is_cancel("*"));
}

std::string feed_all(DataReader& r, std::string_view in) {
  const auto used = r.feed(in);
  return std::string(in.substr(used));
}

TEST(Data, UnstuffsAndStopsAtTheEnd) {
  DataReader r(1000, false);
  const auto rest = feed_all(r, "Subject: x\r\n\r\n..dot\r\nline\r\n.\r\nQUIT\r\n");
  ASSERT_TRUE(r.done());
  EXPECT_EQ(r.error(), DataError::none);
  EXPECT_EQ(r.message().as_string_view(), "Subject: x\r\n\r\n.dot\r\nline\r\n");
  EXPECT_EQ(rest, "QUIT\r\n");
}

TEST(Data, InPieces) {
  DataReader r(1000, false);
  std::string all = "a\r\nb\r\n.\r\n";
  for (char c : all) r.feed(std::string_view(&c, 1));
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.message().as_string_view(), "a\r\nb\r\n");
}

TEST(Data, BareLineEndsRefusedAndNeverEndTheData) {
  DataReader r(1000, false);
  r.feed("a\n.\nMAIL FROM:<x@y.example>\r\n");
  EXPECT_FALSE(r.done());
  r.feed(".\r\n");
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.error(), DataError::bare_line_end);
  DataReader cr(1000, false);
  cr.feed("a\rb\r\n.\r\n");
  EXPECT_TRUE(cr.done());
  EXPECT_EQ(cr.error(), DataError::bare_line_end);
}

TEST(Data, Limits) {
  DataReader big(10, false);
  big.feed("0123456789\r\n.\r\n");
  EXPECT_TRUE(big.done());
  EXPECT_EQ(big.error(), DataError::too_large);
  DataReader line(100000, false);
  line.feed(std::string(kMaxDataLineBytes + 1, 'x') + "\r\n.\r\n");
  EXPECT_EQ(line.error(), DataError::line_too_long);
  DataReader ok(100000, false);
  ok.feed(std::string(kMaxDataLineBytes, 'x') + "\r\n.\r\n");
  EXPECT_EQ(ok.error(), DataError::none);
  DataReader eight(1000, false);
  eight.feed("Gr\xc3\xbc\xc3\x9f\x65\r\n.\r\n");
  EXPECT_EQ(eight.error(), DataError::eight_bit);
  DataReader allowed(1000, true);
  allowed.feed("Gr\xc3\xbc\xc3\x9f\x65\r\n.\r\n");
  EXPECT_EQ(allowed.error(), DataError::none);
}

TEST(Message, PlainText) {
  auto m = parse_message(
      "From: \"Praxis, Dr. A\" <clinic@example.org>\r\n"
      "To: a@example.net, B <b@example.net>\r\nCc: <c@example.net>\r\n"
      "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= =?utf-8?b?IGF1cw==?= and more\r\n"
      "Date: whatever\r\n\r\nHello\r\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->from.str(), "clinic@example.org");
  EXPECT_EQ(*m->from_name, "Praxis, Dr. A");
  ASSERT_EQ(m->to.size(), 2u);
  EXPECT_EQ(m->to[1].str(), "b@example.net");
  ASSERT_EQ(m->cc.size(), 1u);
  EXPECT_EQ(m->subject, "Grüße aus and more");
  EXPECT_EQ(m->text, "Hello\r\n");
}

TEST(Message, TabsInFoldedFields) {
  // What Postfix writes when it relays: a Received field folded with tabs.
  auto m = parse_message(
      "Received: from client (localhost [127.0.0.1])\r\n\tby mx.example (Postfix) with ESMTP "
      "id 1\r\n\tfor <a@example.net>; Fri,  4 Dec 2026 21:29:06 +0000 (UTC)\r\n"
      "From: clinic@example.org\r\nTo: a@example.net\r\nSubject:\tTabbed\r\n\r\nx\r\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->subject, "Tabbed");
}

TEST(Message, QuotedPrintableAndFolding) {
  auto m = parse_message(
      "From: clinic@example.org\r\nTo: a@example.net\r\nSubject: a\r\n long one\r\n"
      "Content-Type: text/plain; charset=\"UTF-8\"; format=flowed\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=\r\nsse\r\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->subject, "a long one");
  EXPECT_EQ(m->text, "Grüsse\r\n");
}

TEST(Message, Refusals) {
  const std::string head = "From: clinic@example.org\r\nTo: a@example.net\r\n";
  EXPECT_EQ(parse_message("To: a@example.net\r\n\r\nx").error(), MessageError::from);
  EXPECT_EQ(parse_message("From: a@x.example, b@x.example\r\n\r\nx").error(), MessageError::from);
  EXPECT_EQ(parse_message(head + "Content-Type: text/html\r\n\r\n<p>").error(),
            MessageError::content_type);
  EXPECT_EQ(parse_message(head + "Content-Type: multipart/mixed; boundary=x\r\n\r\n").error(),
            MessageError::content_type);
  EXPECT_EQ(parse_message(head + "Content-Type: text/plain; charset=iso-8859-1\r\n\r\n").error(),
            MessageError::content_type);
  EXPECT_EQ(parse_message(head + "Content-Transfer-Encoding: base64\r\n\r\naGk=").error(),
            MessageError::encoding);
  EXPECT_EQ(parse_message(head + "Subject: a\r\nSubject: b\r\n\r\n").error(),
            MessageError::subject);
  EXPECT_EQ(parse_message(head + "no colon here\r\n\r\n").error(), MessageError::header);
  EXPECT_EQ(parse_message(" folded first\r\n" + head + "\r\n").error(), MessageError::header);
  EXPECT_EQ(parse_message(head + "\r\n\x01").error(), MessageError::encoding);
  EXPECT_EQ(parse_message("From: clinic@example.org\r\nTo: undisclosed:;\r\n\r\n").error(),
            MessageError::recipients);
}

TEST(Message, Marker) {
  std::string s = "[secure] Lab results";
  EXPECT_TRUE(take_marker(s, "[secure]"));
  EXPECT_EQ(s, "Lab results");
  s = "Lab results [SECURE]";
  EXPECT_TRUE(take_marker(s, "[secure]"));
  EXPECT_EQ(s, "Lab results");
  s = "[secure]d stuff";
  EXPECT_FALSE(take_marker(s, "[secure]"));
  s = "anything";
  EXPECT_FALSE(take_marker(s, ""));
}

}  // namespace
}  // namespace mail::submission
