#pragma once
// The admin listener's routes (O3): GET /healthz, /readyz and /metrics, and the readiness
// check behind /readyz. docs/OPERATIONS.md "Admin listener" says what each answers.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "app/metrics.hpp"
#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "http/router.hpp"
#include "intake/intake.hpp"
#include "store/store.hpp"

namespace app {

// The address to serve the admin listener on: refuses anything but a loopback address
// unless [server] admin_listen_public = true (the metrics are PHI-free but describe the
// service; a probe port on every interface is an operator's decision, not a default).
core::Status check_admin_listen(const Config& config);

// Ready = the database answers a cheap read within the deadline, the catalog is loaded
// (forms and keys read from the store) and the signing key is usable (the catalog's
// encryptor holds it), and the server is not draining. Also refreshes the gauges that
// need the database (portal sessions) and sealpost_ready, every `period` on its own and
// on every /readyz.
class Readiness : public std::enable_shared_from_this<Readiness> {
 public:
  struct Result {
    bool ready = false;
    std::string reason;               // one line, fixed texts only: no secret, no PHI, no SQL
    std::vector<std::string> alerts;  // raised since start (add_alert), ready or not
  };
  // Everything given must outlive the Readiness (serve's locals).
  Readiness(boost::asio::io_context& io, store::Store& store, core::BlockingPool& pool,
            const intake::Intake& forms, const Config& config, Metrics& metrics,
            const core::Clock& clock);

  // Answers `done` exactly once, on an io_context thread or the pool's, within the
  // deadline (a database that hangs is "not ready", not a hung probe).
  void check(std::function<void(Result)> done);
  void start_periodic(std::chrono::seconds period);
  // Drain: from now on not ready; the periodic check stops.
  void stop();
  // An alert that needs a person (e.g. "audit_chain_broken"): shown by /readyz and as
  // sealpost_alert{kind} = 1 until the process restarts. It does not make the node unready:
  // whoever raised it decided whether serving goes on. `kind` is a fixed name, no detail.
  void add_alert(std::string kind) { set_alert(std::move(kind), true); }
  // An alert that clears itself when its cause goes (e.g. "mail_backlog").
  void set_alert(std::string kind, bool raised);

  static constexpr std::chrono::seconds kDeadline{3};

 private:
  void schedule();
  void record(const Result& result);

  boost::asio::io_context& io_;
  store::Store& store_;
  core::BlockingPool& pool_;
  const intake::Intake& forms_;
  const Config& config_;
  Metrics& metrics_;
  const core::Clock& clock_;
  boost::asio::steady_timer timer_;
  std::chrono::seconds period_{15};
  std::atomic<bool> stopped_{false};
  std::mutex last_mutex_;
  std::optional<bool> last_ready_;   // for logging changes only
  std::vector<std::string> alerts_;  // guarded by last_mutex_
};

void register_admin_routes(http::Router& router, std::shared_ptr<Readiness> readiness,
                           Metrics& metrics);

}  // namespace app
