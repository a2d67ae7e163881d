#include "core/json_log_formatter.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <string_view>

namespace core {
namespace {

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

// A JSON string body. Bytes outside printable ASCII are written as \u00XX (one per byte):
// a line stays valid JSON even if some caller passed bytes that are not UTF-8.
void append_json_string(spdlog::memory_buf_t& dest, std::string_view text) {
  static constexpr char kDigits[] = "0123456789abcdef";
  dest.push_back('"');
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      dest.push_back('\\');
      dest.push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7F) {
      dest.push_back(static_cast<char>(c));
    } else {
      append(dest, "\\u00");
      dest.push_back(kDigits[c >> 4]);
      dest.push_back(kDigits[c & 0xF]);
    }
  }
  dest.push_back('"');
}

}  // namespace

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  using namespace std::chrono;
  auto since_epoch = msg.time.time_since_epoch();
  auto secs = duration_cast<seconds>(since_epoch);
  auto millis = duration_cast<milliseconds>(since_epoch - secs).count();
  std::time_t t = static_cast<std::time_t>(secs.count());
  fmt::format_to(std::back_inserter(dest), "{{\"time\":\"{:%Y-%m-%dT%H:%M:%S}.{:03}Z\"",
                 fmt::gmtime(t), millis);
  append(dest, ",\"level\":");
  auto level = spdlog::level::to_string_view(msg.level);
  append_json_string(dest, std::string_view(level.data(), level.size()));
  std::string_view payload(msg.payload.data(), msg.payload.size());
  if (payload.starts_with("event=")) {
    auto name =
        payload.substr(6, payload.find(' ') == std::string_view::npos ? std::string_view::npos
                                                                      : payload.find(' ') - 6);
    append(dest, ",\"event\":");
    append_json_string(dest, name);
  }
  append(dest, ",\"message\":");
  append_json_string(dest, payload);
  append(dest, "}\n");
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

}  // namespace core
