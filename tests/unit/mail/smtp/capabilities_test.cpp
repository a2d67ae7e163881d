#include "mail/smtp/capabilities.hpp"

#include <gtest/gtest.h>

namespace mail::smtp {
namespace {

Reply reply_of(std::string_view text) {
  auto parsed = parse_reply(text, false);
  EXPECT_EQ(parsed.status, ReplyParse::Status::complete);
  return parsed.reply;
}

TEST(SmtpEhlo, ReadsTheExtensionsWeUse) {
  const auto caps = parse_ehlo(
      reply_of("250-mx.example.com Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-starttls\r\n"
               "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"));
  EXPECT_TRUE(caps.pipelining);
  EXPECT_TRUE(caps.starttls);
  EXPECT_TRUE(caps.enhanced_status_codes);
  EXPECT_TRUE(caps.eight_bit_mime);
  EXPECT_TRUE(caps.smtputf8);
  EXPECT_TRUE(caps.size_offered);
  ASSERT_TRUE(caps.size);
  EXPECT_EQ(*caps.size, 10240000u);
}

TEST(SmtpEhlo, FirstLineIsNeverAKeyword) {
  const auto caps = parse_ehlo(reply_of("250 STARTTLS\r\n"));
  EXPECT_FALSE(caps.starttls);
}

TEST(SmtpEhlo, OnlyA250ReplyOffersAnything) {
  const auto caps = parse_ehlo(reply_of("550-x\r\n550 STARTTLS\r\n"));
  EXPECT_FALSE(caps.starttls);
}

TEST(SmtpEhlo, SizeWithoutALimitOrWithJunk) {
  auto caps = parse_ehlo(reply_of("250-x\r\n250 SIZE\r\n"));
  EXPECT_TRUE(caps.size_offered);
  EXPECT_FALSE(caps.size);
  caps = parse_ehlo(reply_of("250-x\r\n250 SIZE 0\r\n"));
  EXPECT_FALSE(caps.size);
  caps = parse_ehlo(reply_of("250-x\r\n250 SIZE 12a\r\n"));
  EXPECT_FALSE(caps.size);
  caps = parse_ehlo(reply_of("250-x\r\n250 SIZE 99999999999999999999\r\n"));
  EXPECT_FALSE(caps.size);  // over 2^64
  caps = parse_ehlo(reply_of("250-x\r\n250 SIZE 18446744073709551615\r\n"));
  ASSERT_TRUE(caps.size);
  EXPECT_EQ(*caps.size, UINT64_MAX);
}

TEST(SmtpEhlo, KeywordsMustMatchWhole) {
  const auto caps = parse_ehlo(reply_of("250-x\r\n250-STARTTLSX\r\n250 XPIPELINING\r\n"));
  EXPECT_FALSE(caps.starttls);
  EXPECT_FALSE(caps.pipelining);
}

}  // namespace
}  // namespace mail::smtp
