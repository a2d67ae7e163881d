#include "app/admin.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "core/log.hpp"
#include "http/admin_server.hpp"

namespace app {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;

core::Status check_admin_listen(const Config& config) {
  if (config.admin_listen.empty()) return core::ok();
  auto endpoint = http::parse_listen_address(config.admin_listen);
  if (!endpoint) {
    return core::fail(core::ErrorKind::invalid_input,
                      "[server] admin_listen: " + endpoint.error().public_text());
  }
  if (!endpoint->address().is_loopback() && !config.admin_listen_public) {
    return core::fail(core::ErrorKind::invalid_input,
                      "[server] admin_listen " + config.admin_listen +
                          " is not a loopback address; set [server] admin_listen_public = true "
                          "to serve health checks and metrics on it");
  }
  return core::ok();
}

Readiness::Readiness(net::io_context& io, store::Store& store, core::BlockingPool& pool,
                     const intake::Intake& forms, const Config& config, Metrics& metrics,
                     const core::Clock& clock)
    : io_(io),
      store_(store),
      pool_(pool),
      forms_(forms),
      config_(config),
      metrics_(metrics),
      clock_(clock),
      timer_(net::make_strand(io)) {}

void Readiness::record(const Result& result) {
  metrics_.set_ready(result.ready);
  std::lock_guard lock(last_mutex_);
  if (last_ready_ == result.ready) return;
  last_ready_ = result.ready;
  // Logged on changes only: a load balancer probing every second must not flood the log.
  if (result.ready) {
    spdlog::info("event=ready");
  } else {
    spdlog::warn("event=not_ready reason={}", core::log_safe(result.reason));
  }
}

void Readiness::check(std::function<void(Result)> done) {
  // Exactly one answer: the pool job's or the deadline's, whichever comes first.
  struct Once {
    std::atomic<bool> answered{false};
    std::function<void(Result)> done;
  };
  auto once = std::make_shared<Once>();
  auto self = shared_from_this();
  once->done = [self, done = std::move(done)](Result result) {
    {
      std::lock_guard lock(self->last_mutex_);
      result.alerts = self->alerts_;
    }
    self->record(result);
    done(std::move(result));
  };
  auto answer = [once](Result result) {
    if (!once->answered.exchange(true)) once->done(std::move(result));
  };

  if (stopped_) return answer({false, "draining"});
  auto catalog = forms_.catalog();
  if (!catalog) return answer({false, "form catalog not loaded"});
  if (!catalog->encryptor) return answer({false, "signing key not usable"});

  auto deadline = std::make_shared<net::steady_timer>(net::make_strand(io_), kDeadline);
  deadline->async_wait([answer, deadline](boost::system::error_code ec) {
    if (!ec) answer({false, "database check timed out"});
  });
  bool posted = pool_.post([self, answer, deadline] {
    auto generation = self->store_.forms().config_generation_blocking();
    if (!generation) {
      spdlog::debug("event=readiness_database_failed detail={}",
                    core::log_safe(generation.error().detail()));
      answer({false, "database unreachable"});
    } else {
      auto now = core::unix_seconds(self->clock_.now());
      auto sessions = self->store_.accounts().count_sessions_blocking(
          now - self->config_.portal.absolute_timeout.count(),
          now - self->config_.portal.idle_timeout.count());
      if (sessions) self->metrics_.set_portal_sessions(static_cast<double>(*sessions));
      answer({true, {}});
    }
    // The timer is cancelled on its own executor's terms: post, never touch it across threads.
    net::post(deadline->get_executor(), [deadline] { deadline->cancel(); });
  });
  if (!posted) {
    net::post(deadline->get_executor(), [deadline] { deadline->cancel(); });
    answer({false, "blocking pool full"});
  }
}

void Readiness::set_alert(std::string kind, bool raised) {
  metrics_.set_alert(kind, raised);
  std::lock_guard lock(last_mutex_);
  auto it = std::find(alerts_.begin(), alerts_.end(), kind);
  if (raised && it == alerts_.end()) alerts_.push_back(std::move(kind));
  if (!raised && it != alerts_.end()) alerts_.erase(it);
}

void Readiness::start_periodic(std::chrono::seconds period) {
  period_ = period;
  schedule();
}

void Readiness::schedule() {
  if (stopped_) return;
  timer_.expires_after(period_);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->stopped_) return;
    self->check([](Result) {});
    self->schedule();
  });
}

void Readiness::stop() {
  stopped_ = true;
  net::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
}

namespace {

http::Response text(unsigned status, std::string body,
                    std::string_view content_type = "text/plain; charset=utf-8") {
  http::Response r{static_cast<bhttp::status>(status), 11};
  r.set(bhttp::field::content_type, content_type);
  r.body() = std::move(body);
  return r;
}

}  // namespace

void register_admin_routes(http::Router& router, std::shared_ptr<Readiness> readiness,
                           Metrics& metrics) {
  router.add(bhttp::verb::get, "/healthz",
             [](http::Request&&, http::RequestContext&&, http::Responder responder) {
               responder.send(text(200, "ok\n"));
             });
  router.add(bhttp::verb::get, "/readyz",
             [readiness](http::Request&&, http::RequestContext&&, http::Responder responder) {
               readiness->check([responder](Readiness::Result result) {
                 std::string body =
                     result.ready ? std::string("ready\n") : "not ready: " + result.reason + "\n";
                 for (const auto& alert : result.alerts) body += "alert: " + alert + "\n";
                 responder.send(text(result.ready ? 200 : 503, std::move(body)));
               });
             });
  router.add(
      bhttp::verb::get, "/metrics",
      [&metrics](http::Request&&, http::RequestContext&&, http::Responder responder) {
        responder.send(text(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8"));
      });
}

}  // namespace app
