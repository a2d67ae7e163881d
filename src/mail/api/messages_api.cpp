// Trust: untrusted network input (the Authorization header, the body, the id in the URL).
#include "mail/api/messages_api.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "auth/api_key.hpp"
#include "core/log.hpp"
#include "core/secret.hpp"
#include "mail/api/limits.hpp"
#include "mail/api/send_request.hpp"
#include "mail/queue/status.hpp"

namespace mail::api {

namespace {

using Json = nlohmann::json;

// Client-facing text is ours; a member name the client sent is encoded, never trusted.
std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

Reply error_reply(Status status, std::string_view code, std::string_view message,
                  std::string_view field) {
  Json body = {{"error", code}, {"message", message}};
  if (!field.empty()) body["field"] = field;
  return Reply{status, dump(body)};
}

Reply failure_reply(const core::Error& error, std::string_view request_id) {
  const bool unavailable = error.kind() == core::ErrorKind::unavailable;
  Reply r = error_reply(Status::failed, unavailable ? "unavailable" : "internal",
                        unavailable ? "The server could not store this just now; nothing was "
                                      "kept. Try again in a moment."
                                    : "An internal error occurred; nothing was kept.");
  r.failure = error.kind();
  spdlog::error("event=api_failed request_id={} detail={}", request_id,
                core::log_safe(error.detail()));
  return r;
}

bool is_json(std::string_view content_type) {
  const auto end = content_type.find(';');
  std::string_view type = content_type.substr(0, end);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  std::string lowered(type);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return lowered == "application/json";
}

namespace {

auth::LockoutPolicy lockout_policy() {
  auth::LockoutPolicy p;
  p.account_free_failures = kFreeAuthFailures;
  p.address_free_failures = kFreeAuthFailures;
  return p;
}

// The lockout's account is the client address too: a key id is public, so counting per key
// would let anyone lock a working integration out by sending its id with wrong secrets.
std::string lockout_account(std::string_view address) {
  return "api " + auth::address_key(address);
}

bool is_message_id(std::string_view id) {
  return id.size() == kMessageIdChars && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string actor_of(std::string_view key_id) { return "api:" + std::string(key_id); }

}  // namespace

MessagesApi::MessagesApi(store::Store& store, queue::Outbox* outbox, const core::Clock& clock,
                         Options options, auth::SharedFailureCounts* shared_failures)
    : store_(store),
      outbox_(outbox),
      clock_(clock),
      options_(std::move(options)),
      lockout_(clock, lockout_policy(), shared_failures) {}

Reply MessagesApi::refuse_authentication(const Call& call, std::string_view key_id,
                                         std::string_view why) {
  const auto failure =
      lockout_.record_failure(lockout_account(call.remote_address), call.remote_address);
  spdlog::warn("event=api_auth_failed key={} source={} reason={} request_id={}",
               key_id.empty() ? "-" : key_id, core::log_safe(call.remote_address), why,
               call.request_id);
  if (failure.alert) {
    spdlog::error("event=alert kind=api_auth_failures source={}",
                  core::log_safe(call.remote_address));
  }
  return error_reply(Status::unauthenticated, "unauthenticated",
                     "A valid API key is required (Authorization: Bearer <key>).");
}

bool MessagesApi::touch_due(const std::string& key_id, std::int64_t now) {
  std::lock_guard lock(touched_mutex_);
  auto [it, fresh] = touched_.try_emplace(key_id, now);
  if (fresh) return true;
  if (now - it->second < kLastUsedResolution.count()) return false;
  it->second = now;
  return true;
}

core::Expected<MessagesApi::Caller, Reply> MessagesApi::authenticate_blocking(
    const Call& call, std::string_view scope, std::optional<std::string_view> user,
    bool needs_mail) {
  if (needs_mail && outbox_ == nullptr) {
    return core::Unexpected<Reply>(error_reply(Status::unavailable, "unavailable",
                                               "Outbound mail is not set up on this server."));
  }
  if (auto wait = lockout_.delay(lockout_account(call.remote_address), call.remote_address)) {
    Reply r = error_reply(Status::too_many_attempts, "too_many_attempts",
                          "Too many failed authentications from this address; wait and try "
                          "again.");
    r.retry_after = *wait;
    return core::Unexpected<Reply>(std::move(r));
  }
  const auto presented = auth::parse_bearer(call.authorization);
  if (!presented) {
    return core::Unexpected<Reply>(refuse_authentication(
        call, "", call.authorization.empty() ? "no_credentials" : "malformed"));
  }
  auto key = store_.api_keys().find_api_key_blocking(presented->id);
  if (!key) return core::Unexpected<Reply>(failure_reply(key.error(), call.request_id));
  if (!*key)
    return core::Unexpected<Reply>(refuse_authentication(call, presented->id, "unknown_key"));
  if (!auth::api_key_matches(*presented, (*key)->secret_hash)) {
    return core::Unexpected<Reply>(refuse_authentication(call, presented->id, "wrong_secret"));
  }
  if (user && *user != (*key)->name && *user != presented->id) {
    return core::Unexpected<Reply>(refuse_authentication(call, presented->id, "wrong_user"));
  }
  if ((*key)->revoked_at) {
    return core::Unexpected<Reply>(refuse_authentication(call, presented->id, "revoked"));
  }
  const auto& scopes = (*key)->scopes;
  if (std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) {
    spdlog::warn("event=api_forbidden key={} scope={} request_id={}", presented->id, scope,
                 call.request_id);
    return core::Unexpected<Reply>(
        error_reply(Status::forbidden, "forbidden",
                    "This API key does not have the scope " + std::string(scope) + "."));
  }
  return Caller{presented->id, touch_due(presented->id, core::unix_seconds(clock_.now()))};
}

core::Expected<std::string, Reply> MessagesApi::authenticate_key_blocking(
    std::string_view user, std::string_view key, const std::string& remote_address) {
  std::string header = "Bearer " + std::string(key);
  const Call call{.authorization = header, .remote_address = remote_address, .request_id = "smtp"};
  auto caller = authenticate_blocking(call, auth::kScopeMessagesSend, user);
  core::secure_wipe(header.data(), header.size());
  if (!caller) return core::Unexpected<Reply>(std::move(caller).error());
  return std::move(caller->key_id);
}

Reply MessagesApi::send_blocking(const Call& call) {
  auto caller = authenticate_blocking(call, auth::kScopeMessagesSend);
  if (!caller) return std::move(caller).error();
  if (!is_json(call.content_type)) {
    return error_reply(Status::unsupported_media, "unsupported_media_type",
                       "Send the message as application/json.");
  }
  auto request = parse_send_request(call.body);
  if (!request) {
    const auto& e = request.error();
    spdlog::info("event=api_refused key={} status={} field={} request_id={}", caller->key_id,
                 e.too_large ? 413 : 400, core::log_safe(e.field, 64), call.request_id);
    return error_reply(e.too_large ? Status::too_large : Status::bad_request,
                       e.too_large ? "too_large" : "bad_request", e.message, e.field);
  }

  std::optional<Address> from = request->from;
  if (!from) {
    auto sender = Address::parse(options_.default_sender);
    if (!sender) {
      return error_reply(Status::bad_request, "bad_request",
                         "The field \"from\" is missing, and this server has no default "
                         "sender.",
                         "from");
    }
    from = std::move(*sender);
  }
  queue::Outgoing out{.from = std::move(*from)};
  if (out.from.domain() != outbox_->signing_domain()) {
    return error_reply(Status::bad_request, "bad_request",
                       "The field \"from\" must be an address at " + outbox_->signing_domain() +
                           ", the domain this server signs for.",
                       "from");
  }
  out.to = std::move(request->to);
  out.subject = std::move(request->subject);
  out.text_body = std::move(request->text);
  out.security = request->security.value_or(options_.default_policy);
  out.encrypt = request->encrypt;
  out.phi = request->phi;
  if (out.phi && out.security == policy::Policy::none) {
    return error_reply(Status::bad_request, "bad_request",
                       "The field \"security\" is missing, and this server's default policy "
                       "none is never used for a message marked as PHI.",
                       "security");
  }
  out.origin = actor_of(caller->key_id);

  const std::int64_t now = core::unix_seconds(clock_.now());
  const std::string key_id = caller->key_id;
  queue::Outbox::Also touch;
  if (caller->touch_due) {
    touch = [&key_id, now](store::Store& tx, const std::string&) {
      return tx.api_keys().touch_api_key_blocking(key_id, now);
    };
  }
  auto queued = outbox_->enqueue_blocking(out, call.remote_address, touch);
  core::secure_wipe(out.text_body.data(), out.text_body.size());
  if (!queued) {
    if (queued.error().kind() == core::ErrorKind::invalid_input) {
      return error_reply(Status::bad_request, "bad_request", queued.error().public_text());
    }
    return failure_reply(queued.error(), call.request_id);
  }
  spdlog::info("event=api_message_queued key={} message={} recipients={} request_id={}",
               caller->key_id, *queued, out.to.size(), call.request_id);
  return Reply{Status::accepted, dump(Json{{"id", *queued}})};
}

void MessagesApi::touch_now_blocking(const Caller& caller) {
  if (!caller.touch_due) return;
  if (auto s =
          store_.api_keys().touch_api_key_blocking(caller.key_id, core::unix_seconds(clock_.now()));
      !s) {
    spdlog::warn("event=api_key_touch_failed key={} detail={}", caller.key_id,
                 core::log_safe(s.error().detail()));
  }
}

core::Expected<std::string, Reply> MessagesApi::authenticate_for_blocking(const Call& call,
                                                                          std::string_view scope) {
  auto caller = authenticate_blocking(call, scope, std::nullopt, /*needs_mail=*/false);
  if (!caller) return core::Unexpected<Reply>(std::move(caller).error());
  touch_now_blocking(*caller);
  return std::move(caller->key_id);
}

Reply MessagesApi::show_blocking(const Call& call, std::string_view id) {
  auto caller = authenticate_blocking(call, auth::kScopeMessagesRead);
  if (!caller) return std::move(caller).error();
  touch_now_blocking(*caller);
  const Reply not_found = error_reply(Status::not_found, "not_found", "There is no such message.");
  if (!is_message_id(id)) return not_found;
  auto status = queue::load_status_blocking(store_, std::string(id));
  if (!status) return failure_reply(status.error(), call.request_id);
  if (!*status || (*status)->message.origin != actor_of(caller->key_id)) return not_found;
  return Reply{Status::ok, queue::status_json(**status)};
}

}  // namespace mail::api
