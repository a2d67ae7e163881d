// Trust: untrusted network input (an authenticated client's envelope and message).
#include "mail/submission/submitter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "core/log.hpp"
#include "mail/submission/message.hpp"

namespace mail::submission {

namespace {

bool same_address(const Address& a, const Address& b) {
  // The domain is kept lower case; the local part as written, compared without case (what
  // a mail client writes in From and in MAIL FROM may differ only so).
  if (a.domain() != b.domain() || a.local_part().size() != b.local_part().size()) return false;
  return std::equal(a.local_part().begin(), a.local_part().end(), b.local_part().begin(),
                    [](char x, char y) {
                      return std::tolower(static_cast<unsigned char>(x)) ==
                             std::tolower(static_cast<unsigned char>(y));
                    });
}

}  // namespace

AuthResult Submitter::authenticate_blocking(const Credentials* credentials,
                                            const std::string& remote_address,
                                            std::string& key_id) {
  auto checked =
      credentials == nullptr
          ? api_.authenticate_key_blocking("", "", remote_address)
          : api_.authenticate_key_blocking(credentials->user,
                                           credentials->password.as_string_view(), remote_address);
  if (checked) {
    key_id = std::move(*checked);
    spdlog::info("event=submission_auth key={} source={}", key_id, core::log_safe(remote_address));
    return AuthResult::ok;
  }
  AuthResult result = AuthResult::refused;
  switch (checked.error().status) {
    case api::Status::too_many_attempts:
      result = AuthResult::locked;
      break;
    case api::Status::forbidden:
      result = AuthResult::forbidden;
      break;
    case api::Status::unauthenticated:
      result = AuthResult::refused;
      break;
    default:
      return AuthResult::unavailable;
  }
  // The trail records the attempt, not what was tried: no user name, no key.
  if (auto s =
          auditor_.record_blocking("smtp", "submission.auth_failed", "submission", remote_address,
                                   result == AuthResult::locked ? "locked" : "failed");
      !s) {
    spdlog::error("event=audit_failed detail={}", core::log_safe(s.error().detail()));
  }
  return result;
}

std::string Submitter::mail_blocking(const std::string& key_id, const Address& sender) {
  if (outbox_ == nullptr) return "451 4.3.0 Outbound mail is not set up on this server";
  if (sender.domain() != outbox_->signing_domain()) {
    return "553 5.7.1 The sender must be an address at " + outbox_->signing_domain() +
           ", the domain this server signs for";
  }
  static constexpr const char* kSlowDown =
      "451 4.7.1 Too many messages from this key; try again later";
  if (!limiter_.allow(key_id)) {
    spdlog::warn("event=submission_rate_limited key={} where=node", key_id);
    return kSlowDown;
  }
  if (shared_budget_ != nullptr) {
    auto allowed = shared_budget_->take_blocking(key_id);
    if (!allowed) {
      // Fail closed: a budget that cannot be read is not a budget.
      spdlog::error("event=rate_limit_failed detail={}", core::log_safe(allowed.error().detail()));
      return "451 4.3.0 Temporary failure; try again later";
    }
    if (!*allowed) {
      spdlog::warn("event=submission_rate_limited key={} where=database", key_id);
      return kSlowDown;
    }
  }
  return {};
}

std::string Submitter::submit_blocking(const Envelope& envelope, core::SecretBytes& message,
                                       const std::string& remote_address) {
  if (outbox_ == nullptr) return "451 4.3.0 Outbound mail is not set up on this server";
  auto parsed = parse_message(message.as_string_view());
  message.wipe();
  if (!parsed) {
    spdlog::info("event=submission_refused key={} reason=message source={}", envelope.key_id,
                 core::log_safe(remote_address));
    return "554 5.6.0 " + std::string(describe(parsed.error())) + "; nothing was queued";
  }
  queue::Outgoing out{.from = envelope.sender};
  struct Wipe {
    std::string& text;
    ~Wipe() { core::secure_wipe(text.data(), text.size()); }
  } wipe_out{out.text_body}, wipe_parsed{parsed->text};

  if (!same_address(parsed->from, envelope.sender)) {
    return "554 5.7.1 The From header must be the MAIL FROM address; nothing was queued";
  }
  for (const auto& r : envelope.recipients) {
    const auto named = [&r](const Address& a) { return same_address(a, r); };
    if (std::none_of(parsed->to.begin(), parsed->to.end(), named) &&
        std::none_of(parsed->cc.begin(), parsed->cc.end(), named)) {
      return "554 5.7.0 Every recipient must be named in To or Cc (blind copies are not sent: "
             "they would not stay blind); nothing was queued";
    }
  }
  std::string subject = std::move(parsed->subject);
  // The marker asks for message-level encryption (M6), as the API's "security": "encrypt":
  // the Outbox seals the message to each recipient's key or certificate, or refuses it
  // naming the recipient that has neither (invalid_input below).
  out.encrypt = take_marker(subject, options_.secure_marker);
  out.from_name = std::move(parsed->from_name);
  out.to = envelope.recipients;
  out.subject = std::move(subject);
  out.text_body = std::move(parsed->text);
  out.security = options_.default_policy;
  out.phi = false;
  out.origin = "api:" + envelope.key_id;

  auto queued = outbox_->enqueue_blocking(out, remote_address);
  if (!queued) {
    if (queued.error().kind() == core::ErrorKind::invalid_input) {
      return "554 5.6.0 " + queued.error().public_text() + "; nothing was queued";
    }
    spdlog::error("event=submission_failed key={} detail={}", envelope.key_id,
                  core::log_safe(queued.error().detail()));
    return "451 4.3.0 The message could not be queued just now; nothing was kept. Try again";
  }
  spdlog::info("event=submission_queued key={} message={} recipients={} source={}", envelope.key_id,
               *queued, out.to.size(), core::log_safe(remote_address));
  return "250 2.0.0 Ok: queued as " + *queued;
}

}  // namespace mail::submission
