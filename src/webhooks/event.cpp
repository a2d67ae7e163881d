// Trust: our own values (validated form ids and references, queue ids, domains).
#include "webhooks/event.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

namespace webhooks {

namespace {

std::string rfc3339(std::int64_t at) {
  const std::time_t t = static_cast<std::time_t>(at);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string body(std::string_view type, std::int64_t at, nlohmann::json data) {
  nlohmann::json j;
  j["type"] = std::string(type);
  j["timestamp"] = rfc3339(at);
  j["data"] = std::move(data);
  // Replace: a value that is not UTF-8 (none of ours should be) never aborts a delivery.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

bool is_event_type(std::string_view type) {
  return std::find(kEventTypes.begin(), kEventTypes.end(), type) != kEventTypes.end();
}

core::Result<std::vector<std::string>> parse_event_list(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::size_t end = comma == std::string_view::npos ? text.size() : comma;
    const std::string_view item = text.substr(start, end - start);
    if (!is_event_type(item)) {
      return core::fail(core::ErrorKind::invalid_input,
                        fmt::format("unknown event type \"{}\" (one of: submission.received, "
                                    "message.delivered, message.bounced, message.dropped, "
                                    "message.deferred, message.read, message.replied)",
                                    item.substr(0, 64)));
    }
    if (std::find(out.begin(), out.end(), item) == out.end()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

Event submission_received(std::string_view form_id, std::string_view reference, std::int64_t at) {
  Event e;
  e.type = "submission.received";
  // A reference is unique within its form: the id is the same if the commit is retried.
  e.id = fmt::format("evt_sub_{}_{}", form_id, reference);
  e.payload =
      body(e.type, at, {{"form", std::string(form_id)}, {"reference", std::string(reference)}});
  return e;
}

Event message_event(std::string_view type, std::string_view message_id, int recipient,
                    std::string_view domain, std::int64_t at) {
  Event e;
  e.type = std::string(type);
  // One attempt per recipient and second at most: the same id when the unit of work that
  // records the attempt runs again.
  e.id = fmt::format("evt_msg_{}_{}_{}_{}", message_id, recipient, type.substr(8), at);
  e.payload = body(type, at,
                   {{"message", std::string(message_id)},
                    {"recipient", recipient},
                    {"domain", std::string(domain)}});
  return e;
}

Event portal_event(std::string_view type, std::string_view message_id, std::string_view copy,
                   std::string_view domain, std::string_view reply_id, std::int64_t at) {
  Event e;
  e.type = std::string(type);
  nlohmann::json data{{"message", std::string(message_id)},
                      {"copy", std::string(copy)},
                      {"domain", std::string(domain)}};
  if (reply_id.empty()) {
    // A copy is read for the first time once: one event per copy.
    e.id = fmt::format("evt_read_{}_{}", message_id, copy);
  } else {
    data["reply"] = std::string(reply_id);
    e.id = fmt::format("evt_reply_{}", reply_id);
  }
  e.payload = body(type, at, std::move(data));
  return e;
}

}  // namespace webhooks
