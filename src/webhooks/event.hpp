#pragma once
// Webhook events (docs/OPERATIONS.md "Webhooks"): their types and JSON bodies. Pure. A body
// holds ids and metadata only, never PHI: a submission's form id and reference (never a
// field value), a message's queue id, the recipient's position and domain (never the
// address, the subject or the body).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace webhooks {

inline constexpr std::array<std::string_view, 7> kEventTypes = {
    "submission.received", "message.delivered", "message.bounced", "message.dropped",
    "message.deferred",    "message.read",      "message.replied"};

bool is_event_type(std::string_view type);

// "a,b,c" as `webhook add --events` takes it: each a known type, no duplicates, at least
// one. invalid_input naming the first unknown type otherwise.
core::Result<std::vector<std::string>> parse_event_list(std::string_view text);

struct Event {
  std::string id;  // the webhook-id header: stable across retries (and reruns)
  std::string type;
  std::string payload;  // the JSON body, as signed and sent
};

// `at`: seconds since the epoch, written as RFC 3339 UTC.
Event submission_received(std::string_view form_id, std::string_view reference, std::int64_t at);
// `type`: one of the message.* types; `recipient`: the recipient's position in the message.
Event message_event(std::string_view type, std::string_view message_id, int recipient,
                    std::string_view domain, std::int64_t at);

// The secure-message portal (issue 9): "message.read", the first open of a recipient's copy;
// "message.replied", a secure reply from it (`reply_id`: the reply's queue id). `domain`: the
// recipient's domain (never the address); `copy`: a hash-derived tag that tells the copies
// of one message apart without naming the link.
Event portal_event(std::string_view type, std::string_view message_id, std::string_view copy,
                   std::string_view domain, std::string_view reply_id, std::int64_t at);

}  // namespace webhooks
