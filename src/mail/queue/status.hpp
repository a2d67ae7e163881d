#pragma once
// Where a queued message stands, recipient by recipient: what `sealpost mail show` prints
// and `GET /api/v1/messages/{id}` answers, both rendered from one MessageStatus.
//
// Per recipient: queued (next attempt); delivered (TLS version and cipher, how the
// certificate was verified: dane, mta-sts, ca or none; the remote's reply); deferred (the
// reason, the next attempt); bounced (the DSN's status and diagnostic); dropped by policy
// (the reason); awaiting_fallback (policy `forced`, no acceptable TLS). Then each portal
// copy: read (when), revoked (when) or unread (until when). Never the body.
// Trust: the records are our own; the remote's reply and the MX name in them came from the
// network (bounded and sanitised when recorded), so the text form escapes them and the JSON
// form encodes them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "store/store.hpp"

namespace mail::queue {

struct MessageStatus {
  store::MailMessageRecord message;                    // without its body
  std::vector<store::MailRecipientRecord> recipients;  // by index, each with its last attempt
  // Its secure-message portal copies (without their ciphertext), by recipient: the read
  // receipts — when each was first opened, revoked, or until when it can be.
  std::vector<store::SecureMessageRecord> portal;
};

// nullopt when there is no such message. Blocks.
core::Result<std::optional<MessageStatus>> load_status_blocking(store::Store& store,
                                                                const std::string& id);

// The CLI's lines (`mail show`).
std::string status_text(const MessageStatus& status);
// The API's JSON object (docs/OPERATIONS.md, "HTTP API").
std::string status_json(const MessageStatus& status);

// RFC 3339 in UTC ("2027-01-15T08:00:00Z"); "-" for 0 or less (never).
std::string utc_time_text(std::int64_t unix_seconds);

}  // namespace mail::queue
