#include "mail/smtp/reply.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mail::smtp {
namespace {

using Status = ReplyParse::Status;

TEST(SmtpReply, SingleLine) {
  const auto r = parse_reply("250 OK\r\n", false);
  ASSERT_EQ(r.status, Status::complete);
  EXPECT_EQ(r.reply.code, 250);
  EXPECT_EQ(r.consumed, 8u);
  ASSERT_EQ(r.reply.lines.size(), 1u);
  EXPECT_EQ(r.reply.lines[0], "OK");
  EXPECT_FALSE(r.reply.enhanced);
}

TEST(SmtpReply, MultiLineStopsAtLastLineAndLeavesTheRest) {
  const std::string data = "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n354 go\r\n";
  const auto r = parse_reply(data, false);
  ASSERT_EQ(r.status, Status::complete);
  EXPECT_EQ(r.reply.lines.size(), 3u);
  EXPECT_EQ(r.reply.lines[2], "SIZE 100");
  EXPECT_EQ(data.substr(r.consumed), "354 go\r\n");
  const auto next = parse_reply(std::string_view(data).substr(r.consumed), false);
  ASSERT_EQ(next.status, Status::complete);
  EXPECT_EQ(next.reply.code, 354);
}

TEST(SmtpReply, CodeWithoutTextAndBareLf) {
  auto r = parse_reply("250\r\n", false);
  ASSERT_EQ(r.status, Status::complete);
  EXPECT_EQ(r.reply.lines[0], "");
  r = parse_reply("221 bye\n", false);
  ASSERT_EQ(r.status, Status::complete);
  EXPECT_EQ(r.reply.lines[0], "bye");
}

TEST(SmtpReply, IncompleteUntilTheLastLine) {
  EXPECT_EQ(parse_reply("", false).status, Status::incomplete);
  EXPECT_EQ(parse_reply("25", false).status, Status::incomplete);
  EXPECT_EQ(parse_reply("250 OK", false).status, Status::incomplete);
  EXPECT_EQ(parse_reply("250-a\r\n250-b\r\n", false).status, Status::incomplete);
}

TEST(SmtpReply, RejectsBadCodesAndSeparators) {
  EXPECT_EQ(parse_reply("hello\r\n", false).error, ReplyError::bad_code);
  EXPECT_EQ(parse_reply("hello\r\n", false).status, Status::error);
  EXPECT_EQ(parse_reply("650 x\r\n", false).error, ReplyError::bad_code);
  EXPECT_EQ(parse_reply("160 x\r\n", false).error, ReplyError::bad_code);
  EXPECT_EQ(parse_reply("260 x\r\n", false).error, ReplyError::bad_code);
  EXPECT_EQ(parse_reply("25\r\n", false).error, ReplyError::bad_code);
  EXPECT_EQ(parse_reply("250x\r\n", false).error, ReplyError::bad_separator);
  EXPECT_EQ(parse_reply("2500 x\r\n", false).error, ReplyError::bad_separator);
}

TEST(SmtpReply, AllLinesMustCarryTheSameCode) {
  const auto r = parse_reply("250-a\r\n550 b\r\n", false);
  EXPECT_EQ(r.status, Status::error);
  EXPECT_EQ(r.error, ReplyError::inconsistent_code);
}

TEST(SmtpReply, EnhancedCodesOnlyWhenOfferedAndConsistent) {
  auto r = parse_reply("550 5.1.1 no such user\r\n", true);
  ASSERT_EQ(r.status, Status::complete);
  ASSERT_TRUE(r.reply.enhanced);
  EXPECT_EQ(r.reply.enhanced->str(), "5.1.1");
  EXPECT_EQ(r.reply.lines[0], "no such user");
  EXPECT_EQ(r.reply.text(), "no such user");

  r = parse_reply("550 5.1.1 no such user\r\n", false);
  EXPECT_FALSE(r.reply.enhanced);
  EXPECT_EQ(r.reply.lines[0], "5.1.1 no such user");

  // A class that disagrees with the reply code is not believed (RFC 3463 §2).
  r = parse_reply("450 5.1.1 busy\r\n", true);
  EXPECT_FALSE(r.reply.enhanced);
  EXPECT_EQ(r.reply.lines[0], "5.1.1 busy");

  r = parse_reply("451-4.3.0 first\r\n451 4.3.0 second\r\n", true);
  ASSERT_TRUE(r.reply.enhanced);
  EXPECT_EQ(r.reply.text(), "first second");

  EXPECT_FALSE(parse_reply("250 2.1000.0 x\r\n", true).reply.enhanced);
  EXPECT_FALSE(parse_reply("250 2.1.0x\r\n", true).reply.enhanced);
  EXPECT_FALSE(parse_reply("250 3.1.0 x\r\n", true).reply.enhanced);
  EXPECT_TRUE(parse_reply("250 2.1.0\r\n", true).reply.enhanced);
  EXPECT_TRUE(parse_reply("250 2.999.999 x\r\n", true).reply.enhanced);
}

TEST(SmtpReply, TextIsSanitisedAndBounded) {
  const auto r = parse_reply(std::string("550 bad\x01\x7f\xff\tuser\r\n"), false);
  ASSERT_EQ(r.status, Status::complete);
  EXPECT_EQ(r.reply.lines[0], "bad??? user");
  Reply long_reply;
  long_reply.lines = {std::string(400, 'a'), std::string(400, 'b')};
  EXPECT_EQ(long_reply.text(512).size(), 512u);
  EXPECT_EQ(long_reply.text(10), "aaaaaaaaaa");
}

TEST(SmtpReply, LineLengthBound) {
  // RFC 5321 says 512; we tolerate up to kMaxReplyLineBytes with the line end.
  const std::string ok = "250 " + std::string(kMaxReplyLineBytes - 6, 'x') + "\r\n";
  ASSERT_EQ(ok.size(), kMaxReplyLineBytes);
  EXPECT_EQ(parse_reply(ok, false).status, Status::complete);
  const std::string too_long = "250 " + std::string(kMaxReplyLineBytes - 5, 'x') + "\r\n";
  EXPECT_EQ(parse_reply(too_long, false).error, ReplyError::line_too_long);
  // Without a line end, it is refused as soon as it cannot become a valid line.
  const std::string unfinished = "250 " + std::string(kMaxReplyLineBytes, 'x');
  EXPECT_EQ(parse_reply(unfinished, false).error, ReplyError::line_too_long);
}

TEST(SmtpReply, LineCountAndTotalBounds) {
  std::string many;
  for (std::size_t i = 0; i < kMaxReplyLines; ++i) many += "250-x\r\n";
  EXPECT_EQ(parse_reply(many, false).status, Status::incomplete);
  EXPECT_EQ(parse_reply(many + "250 x\r\n", false).error, ReplyError::too_many_lines);

  std::string big;
  while (big.size() < kMaxReplyBytes) big += "250-" + std::string(200, 'y') + "\r\n";
  const auto r = parse_reply(big, false);
  EXPECT_EQ(r.status, Status::error);
  EXPECT_TRUE(r.error == ReplyError::too_large || r.error == ReplyError::too_many_lines);
}

TEST(SmtpReply, EnhancedCodeParser) {
  std::size_t length = 0;
  auto e = parse_enhanced_code("4.7.5 tls", &length);
  ASSERT_TRUE(e);
  EXPECT_EQ(length, 6u);
  EXPECT_EQ((EnhancedCode{4, 7, 5}), *e);
  EXPECT_FALSE(parse_enhanced_code("3.1.1 x", &length));
  EXPECT_FALSE(parse_enhanced_code("4..5 x", &length));
  EXPECT_FALSE(parse_enhanced_code("4.7. x", &length));
  EXPECT_FALSE(parse_enhanced_code("4.7", &length));
}

}  // namespace
}  // namespace mail::smtp
