// Trust: untrusted network input (the endpoint's response: its status only).
#include "webhooks/sender.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "core/log.hpp"
#include "crypto/seal.hpp"
#include "mail/https/client.hpp"
#include "mail/tlsrpt/record.hpp"
#include "webhooks/limits.hpp"
#include "webhooks/signature.hpp"

namespace webhooks {

std::chrono::seconds retry_delay(int attempts, double unit) {
  const double first = static_cast<double>(kRetryFirst.count());
  const double most = static_cast<double>(kRetryMax.count());
  const int doublings = std::clamp(attempts - 1, 0, 30);
  const double base = std::min(most, first * std::ldexp(1.0, doublings));
  const double scaled = base * (0.8 + 0.4 * std::clamp(unit, 0.0, 1.0));
  return std::chrono::seconds(std::max<std::int64_t>(1, std::llround(scaled)));
}

Sender::Sender(store::Store& store, mail::dns::Resolver& resolver,
               const core::SecretBytes& seal_key, const core::Clock& clock, SenderOptions options)
    : store_(store),
      resolver_(resolver),
      seal_key_(seal_key),
      clock_(clock),
      options_(std::move(options)),
      jitter_(std::random_device{}()) {}

Sender::~Sender() { stop(); }

void Sender::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void Sender::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    if (auto r = store_.webhooks().release_leases_blocking(options_.node_id); !r) {
      spdlog::warn("event=webhook_release_failed detail={}", core::log_safe(r.error().detail()));
    }
  }
}

void Sender::loop() {
  for (;;) {
    const std::size_t sent = run_once_blocking();
    std::unique_lock lock(mutex_);
    if (stopping_) return;
    // Work left over (a full batch): straight on; otherwise wait for the next poll.
    if (sent < kClaimBatch) cv_.wait_for(lock, kIdlePoll, [this] { return stopping_; });
    if (stopping_) return;
  }
}

std::size_t Sender::run_once_blocking() {
  const std::int64_t now = core::unix_seconds(clock_.now());
  auto claimed = store_.webhooks().claim_due_blocking(options_.node_id, now, now + kLease.count(),
                                                      kClaimBatch);
  if (!claimed) {
    spdlog::warn("event=webhook_claim_failed detail={}", core::log_safe(claimed.error().detail()));
    return 0;
  }
  for (const auto& c : *claimed) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;  // the rest is released by stop()
    }
    send_blocking(c, core::unix_seconds(clock_.now()));
  }
  return claimed->size();
}

void Sender::send_blocking(const store::ClaimedWebhookDelivery& c, std::int64_t now) {
  const auto& d = c.delivery;
  std::optional<std::int64_t> status;
  std::string error;
  bool delivered = false;
  bool permanent = false;

  auto url = mail::tlsrpt::parse_https_url(c.url);
  auto secret = crypto::unseal(seal_key_, c.sealed_secret);
  if (!url) {
    error = "the URL is not a valid https URL";
    permanent = true;
  } else if (!secret) {
    // Our own data failing its check (another queue.key, an edited row): never sent.
    error = "the secret does not unseal with this node's queue.key";
    permanent = true;
    spdlog::error("event=webhook_secret_integrity webhook={}", d.webhook_id);
  } else {
    mail::https::Request request;
    request.host = url->host;
    request.port = url->port;
    request.target = url->path;
    request.method = boost::beast::http::verb::post;
    request.content_type = "application/json";
    request.body = d.payload;
    request.headers = {{"webhook-id", d.event_id},
                       {"webhook-timestamp", std::to_string(now)},
                       {"webhook-signature", sign(*secret, d.event_id, now, d.payload)}};
    mail::https::Options options;
    options.ca_file = options_.ca_file;
    options.timeout = options_.timeout.count() > 0
                          ? options_.timeout
                          : std::chrono::duration_cast<std::chrono::milliseconds>(kRequestTimeout);
    options.max_header_bytes = kMaxResponseHeader;
    options.max_body_bytes = kMaxResponseBody;
    auto response = mail::https::request_blocking(resolver_, std::move(request), options);
    switch (response.failure) {
      case mail::https::Failure::none:
        status = response.status;
        delivered = response.status >= 200 && response.status < 300;
        if (!delivered) error = "HTTP " + std::to_string(response.status);
        break;
      case mail::https::Failure::certificate:
        error = "the certificate did not verify";
        break;
      case mail::https::Failure::too_large:
        status = response.status;
        error = "the response is too large";
        break;
      case mail::https::Failure::unreachable:
        error = "unreachable or timed out";
        break;
    }
    if (!delivered) {
      spdlog::info("event=webhook_attempt_failed webhook={} event={} detail={}", d.webhook_id,
                   d.event_id, core::log_safe(response.detail));
    }
  }

  const int attempts = d.attempts + 1;
  store::WebhookDeliveryState state = store::WebhookDeliveryState::delivered;
  std::int64_t next = now;
  if (!delivered) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    next = now + retry_delay(attempts, unit(jitter_)).count();
    const bool too_late = next >= d.created_at + kGiveUpAfter.count();
    state = permanent || too_late || attempts >= kMaxAttempts
                ? store::WebhookDeliveryState::failed
                : store::WebhookDeliveryState::pending;
  }
  auto recorded = store_.webhooks().record_attempt_blocking(
      options_.node_id, d.event_id, d.webhook_id, state, next, status, error, now);
  if (!recorded) {
    spdlog::error("event=webhook_record_failed webhook={} event={} detail={}", d.webhook_id,
                  d.event_id, core::log_safe(recorded.error().detail()));
  } else if (!*recorded) {
    spdlog::warn("event=webhook_lease_lost webhook={} event={}", d.webhook_id, d.event_id);
  }
  spdlog::info("event=webhook_attempt webhook={} event={} type={} result={} status={} attempt={}",
               d.webhook_id, d.event_id, d.type, store::webhook_delivery_state_name(state),
               status.value_or(0), attempts);
}

}  // namespace webhooks
