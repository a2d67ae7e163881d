#pragma once
// Structured, PHI-free logging. Every value passes through log_safe(), which escapes
// control characters and bounds length, so no client byte can forge a log line.
// Never pass a submitted value, a secret or key material to a log call.

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace core {

// Escapes control and non-ASCII bytes as \xNN and truncates to `max` bytes.
std::string log_safe(std::string_view raw, std::size_t max = 200);

// Sets up the process logger (stderr, one line per event, UTC timestamps). `format` is
// "text" (timestamp, level, message) or "json" (json_log_formatter.hpp).
void init_logging(std::string_view level, std::string_view format = "text");

}  // namespace core
