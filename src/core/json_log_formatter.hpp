#pragma once
// `[log] format = "json"`: one JSON object per line for log shippers (journald, Loki,
// Elasticsearch), with the fields time (UTC, RFC 3339 with milliseconds), level, event
// (when the message starts with `event=NAME`) and message. The message is the same text
// the plain format prints, values already passed through log_safe(); the formatter escapes
// it again for JSON, and every byte outside printable ASCII becomes \u00XX, so a line is
// always valid JSON and always one line.

#include <spdlog/formatter.h>

#include <memory>

namespace core {

class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace core
