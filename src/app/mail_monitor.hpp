#pragma once
// A3: the outbound queue's backlog, watched. Every `period` this node reads the shared
// queue's summary (all nodes' mail), publishes it as metrics (sealpost_mail_recipients,
// sealpost_mail_oldest_waiting_seconds), and raises the alert `mail_backlog` while more
// recipients wait (queued or deferred) than [mail] backlog_alert_recipients, or the oldest
// waiting message is older than backlog_alert_seconds. Raising and clearing are each logged
// (event=alert / event=alert_cleared), audited (alert.raise / alert.clear, object
// "mail_backlog waiting:N oldest_seconds:S") and shown by /readyz and sealpost_alert; the
// node stays ready (mail waiting is a reason to look, not to stop serving forms). Every
// node watches the same queue, so each node raises and clears its own alert.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "app/admin.hpp"
#include "app/metrics.hpp"
#include "audit/auditor.hpp"
#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "store/store.hpp"

namespace app {

struct Backlog {
  std::int64_t waiting = 0;         // recipients queued or deferred
  std::int64_t oldest_seconds = 0;  // age of the oldest message among them; 0 when none
  std::map<std::string, std::int64_t> by_state;
};

// The backlog in a queue summary, at `now` (unix seconds).
Backlog backlog_of(const std::vector<store::MailQueueRow>& rows, std::int64_t now);

class MailMonitor : public std::enable_shared_from_this<MailMonitor> {
 public:
  struct Thresholds {
    std::int64_t recipients = 5000;
    std::chrono::seconds age{4 * 3600};
  };
  // Everything given must outlive the monitor (serve's locals).
  MailMonitor(boost::asio::io_context& io, store::Store& store, core::BlockingPool& pool,
              audit::Auditor& auditor, Metrics& metrics, std::shared_ptr<Readiness> readiness,
              const core::Clock& clock, Thresholds thresholds, std::chrono::seconds period);

  // Also run `hourly` (on the blocking pool, after a check) once an hour, the first time
  // a minute after start: TLS-RPT's daily reports (each (day, domain) is sent once by
  // whichever node claims it first, so every node may try).
  void set_hourly(std::function<void()> hourly) { hourly_ = std::move(hourly); }
  // The first check at once, then every period.
  void start();
  void stop();

 private:
  void schedule();
  void check_blocking();  // on the blocking pool, one at a time

  store::Store& store_;
  core::BlockingPool& pool_;
  audit::Auditor& auditor_;
  Metrics& metrics_;
  std::shared_ptr<Readiness> readiness_;
  const core::Clock& clock_;
  Thresholds thresholds_;
  std::chrono::seconds period_;
  boost::asio::steady_timer timer_;
  std::atomic<bool> stopped_{false};
  bool raised_ = false;  // only in check_blocking, which never runs twice at once
  std::function<void()> hourly_;
  std::chrono::steady_clock::time_point next_hourly_ =
      std::chrono::steady_clock::now() + std::chrono::minutes(1);
};

}  // namespace app
