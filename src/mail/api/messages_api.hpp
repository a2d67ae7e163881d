#pragma once
// The HTTP messages API (issue 8), apart from HTTP: app/api_routes.cpp carries requests in
// and maps a Reply's Status to the wire.
// Trust: untrusted network input (the Authorization header, the body, the id in the URL).
//
//   POST /api/v1/messages       scope messages:send  -> 202 {"id": ...}, once committed
//   GET  /api/v1/messages/{id}  scope messages:read  -> 200 the per-recipient state
//                                                       (mail/queue/status.hpp)
//
// Authentication: `Authorization: Bearer sp_<id>_<secret>` (auth/api_key.hpp). A missing,
// malformed, unknown, revoked or wrong key gets the same 401 with `WWW-Authenticate:
// Bearer`; the log says which (with the key id only). Each failure counts against the client
// address in an auth::Lockout: after kFreeAuthFailures, 429 with Retry-After (doubling), and
// app/block_guard counts these 401/429 toward the automatic block. Several nodes on one
// database share the lockout's counts (auth::SharedFailureCounts, given by app/), so N nodes
// allow the free failures once, not N times. A key lacking the route's scope gets 403.
//
// A key reads only the messages it queued itself (another's id is the same 404 as an
// unknown one): a key for one integration learns nothing of another's recipients.
// From must be at the domain messages are DKIM-signed for (d=): a From elsewhere fails DMARC
// alignment at receivers and would let a key's holder speak for others.
//
// Every accepted message is audited (mail.queue, actor "api:<key id>", source the client
// address) in the unit of work that queues it. Never logged: the body, the subject, any
// address, the key's secret.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/lockout.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "mail/policy/policy.hpp"
#include "mail/queue/outbox.hpp"
#include "store/store.hpp"

namespace mail::api {

enum class Status {
  created,            // 201
  accepted,           // 202
  ok,                 // 200
  bad_request,        // 400
  unauthenticated,    // 401, with WWW-Authenticate: Bearer
  forbidden,          // 403
  not_found,          // 404
  too_large,          // 413
  unsupported_media,  // 415
  too_many_attempts,  // 429, with Retry-After
  unavailable,        // 503: mail is not set up on this node
  failed,             // `failure` says which (http::status_for)
};

struct Reply {
  Status status = Status::failed;
  std::string body;  // one JSON object
  core::ErrorKind failure = core::ErrorKind::internal;
  std::optional<std::chrono::seconds> retry_after;
};

// What the API needs of an HTTP request.
struct Call {
  std::string_view authorization;  // the header, raw; empty when absent
  std::string_view content_type;
  std::string_view body;
  std::string remote_address;
  std::string request_id;
};

struct Options {
  std::string default_sender;  // "" = every request names its From
  policy::Policy default_policy = policy::Policy::opportunistic;
};

// An error answer: {"error": code, "message": message[, "field": field]}.
Reply error_reply(Status status, std::string_view code, std::string_view message,
                  std::string_view field = {});
// Whether a Content-Type is application/json (parameters ignored, case-insensitive).
bool is_json(std::string_view content_type);
// The answer to a store failure (503 when unavailable, else 500), logged with the request id.
Reply failure_reply(const core::Error& error, std::string_view request_id);

class MessagesApi {
 public:
  // `outbox` nullptr: mail is not set up on this node (no DKIM key, no resolver): every call
  // is answered 503. `shared_failures`: the authentication lockout's counts shared with the
  // other nodes (nullptr: this node's memory only). Everything passed must outlive the
  // MessagesApi. Thread-safe.
  MessagesApi(store::Store& store, queue::Outbox* outbox, const core::Clock& clock, Options options,
              auth::SharedFailureCounts* shared_failures = nullptr);

  // Both block on the store (and send on the signer): call them from the blocking pool.
  Reply send_blocking(const Call& call);
  Reply show_blocking(const Call& call, std::string_view id);

  // For the other APIs on the same keys (campaigns' contacts API): the caller's key id if
  // the call carries a valid, live key holding `scope` (the same lockout and log lines as
  // the messages routes, last_used_at written when due), else the Reply to send. Unlike
  // the messages routes it does not need mail to be set up. Blocks on the store.
  core::Expected<std::string, Reply> authenticate_for_blocking(const Call& call,
                                                               std::string_view scope);

  // SMTP submission's AUTH (mail/submission): the API key `key` (the password) for the user
  // name `user`, which must be the key's name or its id, checked exactly as a Bearer key is
  // (the same lockout, shared counts and log lines, the scope messages:send). The key id, or
  // the Reply the API would give (unauthenticated, too_many_attempts, forbidden,
  // unavailable, failed). Blocks on the store.
  core::Expected<std::string, Reply> authenticate_key_blocking(std::string_view user,
                                                               std::string_view key,
                                                               const std::string& remote_address);

 private:
  struct Caller {
    std::string key_id;
    bool touch_due = false;  // last_used_at is to be written with this request
  };
  // The caller's key if it is valid, live and holds `scope`; else the reply to send.
  // `user`: SMTP AUTH's user name, which must name the key (its name or id).
  core::Expected<Caller, Reply> authenticate_blocking(const Call& call, std::string_view scope,
                                                      std::optional<std::string_view> user = {},
                                                      bool needs_mail = true);
  // Writes last_used_at now (best effort: a failure is logged, the next request writes it).
  void touch_now_blocking(const Caller& caller);
  Reply refuse_authentication(const Call& call, std::string_view key_id, std::string_view why);
  bool touch_due(const std::string& key_id, std::int64_t now);

  store::Store& store_;
  queue::Outbox* outbox_;
  const core::Clock& clock_;
  const Options options_;
  auth::Lockout lockout_;
  std::mutex touched_mutex_;
  std::unordered_map<std::string, std::int64_t> touched_;  // key id -> last write of last_used_at
};

}  // namespace mail::api
