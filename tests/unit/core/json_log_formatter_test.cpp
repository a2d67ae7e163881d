#include "core/json_log_formatter.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/log.hpp"

namespace {

// Logs `lines` through a logger that uses the JSON formatter; returns what it wrote.
std::string log_json(const std::vector<std::string>& lines) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("json-test", sink);
  logger.set_formatter(std::make_unique<core::JsonLogFormatter>());
  for (const auto& line : lines) logger.warn("{}", line);
  logger.flush();
  return out.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(JsonLogFormatter, OneObjectPerLineWithTimeLevelEventAndMessage) {
  auto text = log_json({"event=store_failed form=intake request_id=ab-1 detail=disk full"});
  auto lines = split_lines(text);
  ASSERT_EQ(lines.size(), 1u);
  auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j.at("level"), "warning");
  EXPECT_EQ(j.at("event"), "store_failed");
  EXPECT_EQ(j.at("message"), "event=store_failed form=intake request_id=ab-1 detail=disk full");
  // 2026-12-04T05:43:02.123Z
  std::string time = j.at("time");
  ASSERT_EQ(time.size(), 24u) << time;
  EXPECT_EQ(time[10], 'T');
  EXPECT_EQ(time[19], '.');
  EXPECT_EQ(time.back(), 'Z');
  EXPECT_EQ(j.size(), 4u);
}

TEST(JsonLogFormatter, NoEventFieldWithoutEventPrefix) {
  auto j = nlohmann::json::parse(split_lines(log_json({"plain words"}))[0]);
  EXPECT_FALSE(j.contains("event"));
  EXPECT_EQ(j.at("message"), "plain words");
}

TEST(JsonLogFormatter, HostileTextCannotBreakTheLineOrTheObject) {
  // Quotes, backslashes, line breaks, NUL and bytes that are not UTF-8: each line is still
  // exactly one valid JSON object whose message holds the same bytes.
  std::string hostile = "event=x a=\"}\\\n{\"level\":\"error\"}\r\x01";
  hostile += std::string("\0\xff\xc3", 3);
  auto lines = split_lines(log_json({hostile, "event=second"}));
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& line : lines) {
    for (char c : line) {
      auto u = static_cast<unsigned char>(c);
      EXPECT_TRUE(u >= 0x20 && u < 0x7F) << "byte " << int(u) << " in " << line;
    }
  }
  auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first.at("level"), "warning");
  std::string message = first.at("message");
  // \u00XX escapes decode to code points U+0000..U+00FF: compare byte by byte.
  std::u32string expected;
  for (char c : hostile) expected.push_back(static_cast<unsigned char>(c));
  std::string utf8 = message;
  std::u32string decoded;
  for (std::size_t i = 0; i < utf8.size();) {
    auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      decoded.push_back(c);
      i += 1;
    } else {
      decoded.push_back(((c & 0x1F) << 6) | (static_cast<unsigned char>(utf8[i + 1]) & 0x3F));
      i += 2;
    }
  }
  EXPECT_EQ(decoded, expected);
  EXPECT_EQ(nlohmann::json::parse(lines[1]).at("event"), "second");
}

TEST(JsonLogFormatter, LogSafeValuesStayEscapedInsideJson) {
  // What callers pass is log_safe() text already: the JSON carries it unchanged.
  std::string value = core::log_safe("Bobby\"\n<script>");
  auto j = nlohmann::json::parse(split_lines(log_json({"event=e detail=" + value}))[0]);
  EXPECT_EQ(j.at("message"), "event=e detail=Bobby\\x22\\x0a<script>");
}

}  // namespace
