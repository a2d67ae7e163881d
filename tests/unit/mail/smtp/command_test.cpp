#include "mail/smtp/command.hpp"

#include <gtest/gtest.h>

#include "mail/smtp/limits.hpp"

namespace mail::smtp {
namespace {

TEST(SmtpCommand, MailWithParameters) {
  auto c = mail_command("a@example.org", {});
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, "MAIL FROM:<a@example.org>\r\n");
  c = mail_command("a@example.org", {.size = 1234, .eight_bit_mime = true, .smtputf8 = true});
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, "MAIL FROM:<a@example.org> SIZE=1234 BODY=8BITMIME SMTPUTF8\r\n");
  c = mail_command("", {});
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, "MAIL FROM:<>\r\n");
}

TEST(SmtpCommand, RcptAndRefusals) {
  auto c = rcpt_command("b@example.net");
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, "RCPT TO:<b@example.net>\r\n");
  EXPECT_FALSE(rcpt_command(""));
  EXPECT_FALSE(rcpt_command("b@example.net>\r\nDATA"));
  EXPECT_FALSE(rcpt_command("b@exa\nmple.net"));
  EXPECT_FALSE(rcpt_command("b@exa\rmple.net"));
  EXPECT_FALSE(rcpt_command(std::string("b@exa\0mple.net", 15)));
  EXPECT_FALSE(rcpt_command("<b@example.net>"));
  EXPECT_FALSE(rcpt_command(std::string(kMaxPathBytes + 1, 'a')));
  EXPECT_FALSE(mail_command("a@x\r\nRCPT TO:<evil@x>", {}));
  EXPECT_EQ(mail_command("a@x\r\n", {}).error().kind(), core::ErrorKind::invalid_input);
}

TEST(SmtpCommand, Utf8Addresses) {
  EXPECT_TRUE(needs_smtputf8("j\xc3\xb6rg@example.de"));
  EXPECT_FALSE(needs_smtputf8("jorg@example.de"));
  EXPECT_TRUE(rcpt_command("j\xc3\xb6rg@example.de"));
}

TEST(SmtpCommand, Hello) {
  EXPECT_EQ(*hello_command("EHLO", "mail.sealpost.test"), "EHLO mail.sealpost.test\r\n");
  EXPECT_EQ(*hello_command("HELO", "[127.0.0.1]"), "HELO [127.0.0.1]\r\n");
  EXPECT_FALSE(hello_command("EHLO", ""));
  EXPECT_FALSE(hello_command("EHLO", "a b"));
  EXPECT_FALSE(hello_command("EHLO", "a\r\nMAIL"));
  EXPECT_FALSE(hello_command("QUIT", "a"));
}

TEST(SmtpDotStuff, Transparency) {
  EXPECT_EQ(dot_stuff("a\r\n.b\r\n"), "a\r\n..b\r\n.\r\n");
  EXPECT_EQ(dot_stuff(".\r\n"), "..\r\n.\r\n");
  EXPECT_EQ(dot_stuff("x\r\n.\r\ny"), "x\r\n..\r\ny\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a.b\r\n"), "a.b\r\n.\r\n");  // only at the start of a line
}

TEST(SmtpDotStuff, LineEndsBecomeCrlf) {
  EXPECT_EQ(dot_stuff("a\nb\n"), "a\r\nb\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\rb"), "a\r\nb\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\n.b"), "a\r\n..b\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\r\r\nb"), "a\r\n\r\nb\r\n.\r\n");
  EXPECT_EQ(dot_stuff("no end"), "no end\r\n.\r\n");
  EXPECT_EQ(dot_stuff(""), ".\r\n");
}

TEST(SmtpDotStuff, SizeParameterCountsTheMessageNotTheStuffing) {
  EXPECT_EQ(size_parameter(dot_stuff("a\r\n.b\r\n")), 7u);
  EXPECT_EQ(size_parameter(dot_stuff(".\n..\nx")), 10u);  // ".\r\n..\r\nx\r\n"
  EXPECT_EQ(size_parameter(dot_stuff("")), 0u);
  EXPECT_EQ(size_parameter(""), 0u);
}

TEST(SmtpDotStuff, NeverEndsEarly) {
  // No input can produce a "\r\n.\r\n" before the end: the receiver would cut the message.
  for (const char* in : {"\n.\n", "\r.\r", ".\n.\n", "\r\n.\r\n", "a\n.\r\n.\n", "."}) {
    const std::string out = dot_stuff(in);
    EXPECT_EQ(out.find("\r\n.\r\n"), out.size() - 5) << in;
    EXPECT_TRUE(out.starts_with(".\r\n") == false || out == ".\r\n");
  }
}

}  // namespace
}  // namespace mail::smtp
