#include "app/metrics.hpp"

#include <prometheus/text_serializer.h>

#include <mutex>
#include <string>

namespace app {

namespace {

using prometheus::Histogram;

// Request latency: from 1 ms (a cached form page) to 10 s (a large export batch, a slow
// database).
const Histogram::BucketBoundaries kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                     0.25,  0.5,    1,     2.5,  5,     10};
// Group commit takes at most 256 submissions per transaction (store::StoreOptions).
const Histogram::BucketBoundaries kBatchBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256};
// A COMMIT is one fsync (SQLite) or one WAL flush (PostgreSQL): sub-millisecond on fast
// disks, seconds on a struggling one.
const Histogram::BucketBoundaries kCommitBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                    0.05,   0.1,   0.25,   0.5,   1,    2.5};

// Every outcome appears from the start (as 0), so a rate() over it never starts missing.
using PostKind = intake::PostOutcome::Kind;
constexpr PostKind kPostKinds[] = {
    PostKind::stored,        PostKind::unknown_form,     PostKind::form_unavailable,
    PostKind::rate_limited,  PostKind::unsupported_type, PostKind::malformed,
    PostKind::not_verified,  PostKind::resubmit,         PostKind::replay,
    PostKind::not_encrypted, PostKind::not_stored,       PostKind::overloaded,
};

constexpr std::string_view kRouteClasses[] = {"form",       "submit",        "thanks", "portal",
                                              "portal_api", "portal_static", "other",  "unmatched"};

std::string status_text(unsigned status) { return std::to_string(status); }

}  // namespace

SubmissionOutcome classify_submission(intake::PostOutcome::Kind kind) {
  using Kind = intake::PostOutcome::Kind;
  switch (kind) {
    case Kind::stored:
      return {"stored", "ok"};
    case Kind::replay:
      return {"replay", "token_used"};
    case Kind::resubmit:  // expired token, older form version or field errors: shown again
      return {"invalid", "resubmit"};
    case Kind::not_verified:
      return {"rejected", "bad_token"};
    case Kind::malformed:  // the body, the reserved inputs or the honeypot
      return {"rejected", "malformed"};
    case Kind::unsupported_type:
      return {"rejected", "content_type"};
    case Kind::unknown_form:
      return {"rejected", "unknown_form"};
    case Kind::rate_limited:
      return {"rate_limited", "rate_limit"};
    case Kind::not_stored:
      return {"unavailable", "not_stored"};
    case Kind::overloaded:
      return {"unavailable", "overloaded"};
    case Kind::form_unavailable:
      return {"unavailable", "form_unavailable"};
    case Kind::not_encrypted:
      return {"error", "not_encrypted"};
  }
  return {"error", "unknown"};
}

std::string_view route_class(const http::ResponseRecord& record) {
  if (record.redirect_listener) return "redirect";
  if (record.route == nullptr) return "unmatched";
  const auto& segments = record.route->segments;
  if (segments.empty()) return "other";
  if (segments[0] == "f") {
    if (segments.size() == 2) {
      return record.route->method == http::bhttp::verb::post ? "submit" : "form";
    }
    return "thanks";
  }
  if (segments[0] == "portal") {
    if (segments.size() > 1 && segments[1] == "api") return "portal_api";
    if (segments.size() > 1 && segments[1] == "static") return "portal_static";
    return "portal";
  }
  return "other";
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("sealpost_http_requests_total")
                    .Help("HTTP responses written by the public listeners, by route class and "
                          "status code")
                    .Register(*registry_)),
      latency_(prometheus::BuildHistogram()
                   .Name("sealpost_http_request_duration_seconds")
                   .Help("Time from a request's headers arriving to its response being "
                         "queued, by route class")
                   .Register(*registry_)),
      submissions_(prometheus::BuildCounter()
                       .Name("sealpost_submissions_total")
                       .Help("Form posts (POST /f/{form}) by outcome and reason")
                       .Register(*registry_)),
      batches_(prometheus::BuildCounter()
                   .Name("sealpost_group_commit_batches_total")
                   .Help("Group-commit transactions, by result (committed or failed)")
                   .Register(*registry_)),
      batch_size_(prometheus::BuildHistogram()
                      .Name("sealpost_group_commit_batch_size")
                      .Help("Submissions per group-commit transaction")
                      .Register(*registry_)
                      .Add({}, kBatchBuckets)),
      commit_seconds_(prometheus::BuildHistogram()
                          .Name("sealpost_group_commit_seconds")
                          .Help("Seconds each group-commit COMMIT took (the batch's fsync or "
                                "WAL flush)")
                          .Register(*registry_)
                          .Add({}, kCommitBuckets)),
      audit_appends_(prometheus::BuildCounter()
                         .Name("sealpost_audit_appends_total")
                         .Help("Entries appended to the audit trail by this process, by result")
                         .Register(*registry_)),
      pool_queued_(prometheus::BuildGauge()
                       .Name("sealpost_blocking_pool_queued")
                       .Help("Jobs (encryption, database reads) waiting for a blocking-pool "
                             "thread")
                       .Register(*registry_)
                       .Add({})),
      open_connections_(prometheus::BuildGauge()
                            .Name("sealpost_http_open_connections")
                            .Help("Connections open on the public HTTPS and redirect listeners")
                            .Register(*registry_)
                            .Add({})),
      commit_pending_(prometheus::BuildGauge()
                          .Name("sealpost_group_commit_pending")
                          .Help("Submissions waiting for the group-commit writer")
                          .Register(*registry_)
                          .Add({})),
      portal_sessions_(prometheus::BuildGauge()
                           .Name("sealpost_portal_sessions")
                           .Help("Live staff-portal sessions in the database (all nodes), as of "
                                 "the last readiness check")
                           .Register(*registry_)
                           .Add({})),
      ready_(prometheus::BuildGauge()
                 .Name("sealpost_ready")
                 .Help("1 when the last readiness check passed (see /readyz), else 0")
                 .Register(*registry_)
                 .Add({})),
      alerts_(prometheus::BuildGauge()
                  .Name("sealpost_alert")
                  .Help("1 for each alert that needs a person while it is raised (kinds: "
                        "audit_chain_broken, mail_disabled, mail_backlog)")
                  .Register(*registry_)),
      mail_attempts_(prometheus::BuildCounter()
                         .Name("sealpost_mail_attempts_total")
                         .Help("Delivery attempts by this node, per recipient, by the state "
                               "they left it in and how the TLS certificate was verified")
                         .Register(*registry_)),
      mail_recipients_(prometheus::BuildGauge()
                           .Name("sealpost_mail_recipients")
                           .Help("Recipients in the shared mail queue by state, as of the last "
                                 "backlog check (all nodes)")
                           .Register(*registry_)),
      mail_oldest_(prometheus::BuildGauge()
                       .Name("sealpost_mail_oldest_waiting_seconds")
                       .Help("Age of the oldest message with a recipient still queued or "
                             "deferred, as of the last backlog check")
                       .Register(*registry_)
                       .Add({})) {
  for (auto kind : kPostKinds) {
    const auto known = classify_submission(kind);
    submissions_.Add(
        {{"outcome", std::string(known.outcome)}, {"reason", std::string(known.reason)}});
  }
  for (auto route : kRouteClasses) {
    latency_by_route_.emplace(route,
                              &latency_.Add({{"route", std::string(route)}}, kLatencyBuckets));
  }
  batches_.Add({{"result", "committed"}});
  batches_.Add({{"result", "failed"}});
  audit_appends_.Add({{"result", "ok"}});
  audit_appends_.Add({{"result", "failed"}});
}

void Metrics::observe_response(const http::ResponseRecord& record) {
  const std::string route(route_class(record));
  requests_.Add({{"route", route}, {"code", status_text(record.status)}}).Increment();
  if (auto it = latency_by_route_.find(route); it != latency_by_route_.end()) {
    it->second->Observe(std::chrono::duration<double>(record.elapsed).count());
  }
}

void Metrics::observe_submission(intake::PostOutcome::Kind kind) {
  auto outcome = classify_submission(kind);
  submissions_
      .Add({{"outcome", std::string(outcome.outcome)}, {"reason", std::string(outcome.reason)}})
      .Increment();
}

void Metrics::observe_commit(std::size_t batch, double seconds, bool committed) {
  batches_.Add({{"result", committed ? "committed" : "failed"}}).Increment();
  if (!committed) return;
  batch_size_.Observe(static_cast<double>(batch));
  commit_seconds_.Observe(seconds);
}

void Metrics::count_audit_append(bool ok) {
  audit_appends_.Add({{"result", ok ? "ok" : "failed"}}).Increment();
}

void Metrics::set_portal_sessions(double sessions) { portal_sessions_.Set(sessions); }
void Metrics::set_ready(bool ready) { ready_.Set(ready ? 1 : 0); }
void Metrics::set_alert(const std::string& kind, bool raised) {
  alerts_.Add({{"kind", kind}}).Set(raised ? 1 : 0);
}

void Metrics::count_mail_attempt(std::string_view result, std::string_view verified) {
  mail_attempts_.Add({{"result", std::string(result)}, {"verified", std::string(verified)}})
      .Increment();
}

void Metrics::set_mail_queue(const std::map<std::string, std::int64_t>& recipients_by_state,
                             double oldest_waiting_seconds) {
  for (const auto& [state, count] : recipients_by_state)
    mail_recipients_.Add({{"state", state}}).Set(static_cast<double>(count));
  mail_oldest_.Set(oldest_waiting_seconds);
}

void Metrics::set_samplers(Samplers samplers) {
  std::lock_guard lock(samplers_mutex_);
  samplers_ = std::move(samplers);
}

std::string Metrics::render() {
  {
    std::lock_guard lock(samplers_mutex_);
    if (samplers_.pool_queued) pool_queued_.Set(static_cast<double>(samplers_.pool_queued()));
    if (samplers_.open_connections) {
      open_connections_.Set(static_cast<double>(samplers_.open_connections()));
    }
    if (samplers_.commit_pending) {
      commit_pending_.Set(static_cast<double>(samplers_.commit_pending()));
    }
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace app
