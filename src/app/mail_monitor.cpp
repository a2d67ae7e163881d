#include "app/mail_monitor.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "core/log.hpp"

namespace app {

namespace net = boost::asio;

Backlog backlog_of(const std::vector<store::MailQueueRow>& rows, std::int64_t now) {
  Backlog b;
  for (auto state : {store::MailState::queued, store::MailState::deferred,
                     store::MailState::delivered, store::MailState::bounced,
                     store::MailState::dropped, store::MailState::awaiting_fallback}) {
    b.by_state[std::string(store::mail_state_name(state))] = 0;
  }
  std::optional<std::int64_t> oldest;
  for (const auto& r : rows) {
    b.by_state[std::string(store::mail_state_name(r.state))] += r.count;
    if (r.state != store::MailState::queued && r.state != store::MailState::deferred) continue;
    b.waiting += r.count;
    oldest = std::min(oldest.value_or(r.oldest), r.oldest);
  }
  if (oldest) b.oldest_seconds = std::max<std::int64_t>(0, now - *oldest);
  return b;
}

MailMonitor::MailMonitor(net::io_context& io, store::Store& store, core::BlockingPool& pool,
                         audit::Auditor& auditor, Metrics& metrics,
                         std::shared_ptr<Readiness> readiness, const core::Clock& clock,
                         Thresholds thresholds, std::chrono::seconds period)
    : store_(store),
      pool_(pool),
      auditor_(auditor),
      metrics_(metrics),
      readiness_(std::move(readiness)),
      clock_(clock),
      thresholds_(thresholds),
      period_(period),
      timer_(io) {}

void MailMonitor::start() {
  auto self = shared_from_this();
  if (!pool_.post([self] {
        self->check_blocking();
        net::post(self->timer_.get_executor(), [self] { self->schedule(); });
      })) {
    schedule();
  }
}

void MailMonitor::stop() {
  stopped_ = true;
  net::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
}

void MailMonitor::schedule() {
  if (stopped_) return;
  timer_.expires_after(period_);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->stopped_) return;
    // The next wait starts when this check is done: checks never overlap.
    if (!self->pool_.post([self] {
          self->check_blocking();
          net::post(self->timer_.get_executor(), [self] { self->schedule(); });
        })) {
      self->schedule();
    }
  });
}

void MailMonitor::check_blocking() {
  if (stopped_) return;
  if (hourly_ && std::chrono::steady_clock::now() >= next_hourly_) {
    next_hourly_ = std::chrono::steady_clock::now() + std::chrono::hours(1);
    hourly_();
  }
  auto rows = store_.mail().queue_summary_blocking();
  if (!rows) {
    spdlog::warn("event=mail_backlog_check_failed detail={}",
                 core::log_safe(rows.error().detail()));
    return;
  }
  const Backlog b = backlog_of(*rows, core::unix_seconds(clock_.now()));
  metrics_.set_mail_queue(b.by_state, static_cast<double>(b.oldest_seconds));
  const bool over = b.waiting > thresholds_.recipients ||
                    (b.waiting > 0 && b.oldest_seconds > thresholds_.age.count());
  if (over == raised_) return;
  const std::string object =
      fmt::format("mail_backlog waiting:{} oldest_seconds:{}", b.waiting, b.oldest_seconds);
  if (over) {
    spdlog::error(
        "event=alert kind=mail_backlog waiting={} oldest_seconds={} limit_recipients={} "
        "limit_seconds={}",
        b.waiting, b.oldest_seconds, thresholds_.recipients, thresholds_.age.count());
  } else {
    spdlog::info("event=alert_cleared kind=mail_backlog waiting={} oldest_seconds={}", b.waiting,
                 b.oldest_seconds);
  }
  if (auto s = auditor_.record_blocking("system", over ? "alert.raise" : "alert.clear", object,
                                        "local", "ok");
      !s) {
    spdlog::error("event=audit_failed action=alert detail={}", core::log_safe(s.error().detail()));
  }
  readiness_->set_alert("mail_backlog", over);
  raised_ = over;
}

}  // namespace app
