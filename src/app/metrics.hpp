#pragma once
// The metrics of /metrics on the admin listener (O3), in the Prometheus text format,
// through prometheus-cpp's core library (registry, families, text serialiser; not its
// civetweb exposer: the admin listener is ours). docs/OPERATIONS.md lists every metric.
//
// Labels have a fixed, small set of values (route classes, status codes we produce,
// outcomes): never a path, a form id, an address or anything a client chooses.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "http/server.hpp"
#include "intake/intake.hpp"

namespace app {

// What became of one POST /f/{form}: intake's outcome as a pair of metric labels.
struct SubmissionOutcome {
  std::string_view outcome;  // stored, replay, invalid, rejected, rate_limited, unavailable, error
  std::string_view reason;
};
SubmissionOutcome classify_submission(intake::PostOutcome::Kind kind);

// The route class of a response: form, submit, thanks, portal, portal_api, portal_static,
// other, unmatched (no route: 404/405 and errors before routing) or redirect.
std::string_view route_class(const http::ResponseRecord& record);

class Metrics {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // http::ServerOptions::on_response: requests and latency.
  void observe_response(const http::ResponseRecord& record);
  // register_form_routes' observer: submissions by outcome and reason.
  void observe_submission(intake::PostOutcome::Kind kind);
  // store::Store::set_commit_observer: group-commit batches.
  void observe_commit(std::size_t batch, double seconds, bool committed);
  void count_audit_append(bool ok);
  void set_portal_sessions(double sessions);
  void set_ready(bool ready);
  // sealpost_alert{kind} = 1 while raised, 0 once cleared (Readiness::set_alert).
  void set_alert(const std::string& kind, bool raised = true);
  // Outbound mail: each attempt's outcome per recipient and how its TLS was verified
  // (Delivery's on_attempt), and the shared queue as the last backlog check saw it.
  void count_mail_attempt(std::string_view result, std::string_view verified);
  void set_mail_queue(const std::map<std::string, std::int64_t>& recipients_by_state,
                      double oldest_waiting_seconds);

  // Gauges read when scraped; each must be cheap and thread-safe.
  struct Samplers {
    std::function<std::size_t()> pool_queued;
    std::function<std::size_t()> open_connections;
    std::function<std::size_t()> commit_pending;
  };
  void set_samplers(Samplers samplers);

  // The exposition text (Content-Type text/plain; version=0.0.4).
  std::string render();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  // One histogram per route class, made up front: no allocation per request.
  std::map<std::string_view, prometheus::Histogram*, std::less<>> latency_by_route_;
  prometheus::Family<prometheus::Counter>& submissions_;
  prometheus::Family<prometheus::Counter>& batches_;
  prometheus::Histogram& batch_size_;
  prometheus::Histogram& commit_seconds_;
  prometheus::Family<prometheus::Counter>& audit_appends_;
  prometheus::Gauge& pool_queued_;
  prometheus::Gauge& open_connections_;
  prometheus::Gauge& commit_pending_;
  prometheus::Gauge& portal_sessions_;
  prometheus::Gauge& ready_;
  prometheus::Family<prometheus::Gauge>& alerts_;
  prometheus::Family<prometheus::Counter>& mail_attempts_;
  prometheus::Family<prometheus::Gauge>& mail_recipients_;
  prometheus::Gauge& mail_oldest_;
  std::mutex samplers_mutex_;
  Samplers samplers_;
};

}  // namespace app
