#include "mail/queue/tls_report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <array>

#include "core/encoding.hpp"
#include "core/log.hpp"
#include "mail/https/client.hpp"
#include "mail/queue/compose.hpp"
#include "mail/queue/outbox.hpp"
#include "mail/tlsrpt/record.hpp"
#include "mail/tlsrpt/report.hpp"

namespace mail::queue {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    out.push_back(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

tlsrpt::PolicyType policy_type_of(const std::string& name) {
  if (name == "tlsa") return tlsrpt::PolicyType::tlsa;
  if (name == "sts") return tlsrpt::PolicyType::sts;
  return tlsrpt::PolicyType::no_policy_found;
}

// What a report destination's server may answer with: its body is not read for anything.
constexpr std::size_t kMaxPostResponseBytes = 8 * 1024;
// One POST, start to end (RFC 8460 gives none; a report is small and best effort).
constexpr std::chrono::seconds kPostTimeout{30};

// RFC 8460 §3: the gzip report as the body of an HTTPS POST. "" when the server took it (any
// 2xx), else why not (for the outcome: no body bytes).
std::string post_report(const tlsrpt::Destination& dest, const std::string& gzip,
                        dns::Resolver& resolver, const TlsReportOptions& options) {
  https::Request request{.host = dest.host,
                         .port = dest.port,
                         .target = dest.path,
                         .method = boost::beast::http::verb::post,
                         .content_type = "application/tlsrpt+gzip",
                         .body = gzip};
  auto response = https::request_blocking(resolver, std::move(request),
                                          https::Options{.ca_file = options.ca_file,
                                                         .timeout = kPostTimeout,
                                                         .max_body_bytes = kMaxPostResponseBytes});
  if (response.failure == https::Failure::too_large) return "";  // answered; body ignored
  if (response.failure != https::Failure::none) return response.detail;
  if (response.status < 200 || response.status > 299)
    return "HTTP " + std::to_string(response.status);
  return "";
}

std::string date_text(std::int64_t day) {
  const std::time_t t = day;
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

// One report: build, look up where it goes, send. Returns its outcome in words.
std::string send_one(std::int64_t day, const std::string& domain, store::Store& store,
                     dns::Resolver& resolver, const dkim::Signer& signer,
                     const core::SecretBytes& queue_key, audit::Auditor& auditor,
                     const TlsReportOptions& options, const core::Clock& clock, core::Rng& rng) {
  auto answer = resolver.txt_blocking("_smtp._tls." + domain);
  if (answer.info.outcome == dns::Outcome::nxdomain || answer.info.outcome == dns::Outcome::nodata)
    return "no record";
  if (answer.info.outcome != dns::Outcome::ok) return "failed: the _smtp._tls lookup failed";
  if (answer.info.security == dns::Security::bogus)
    return "failed: the _smtp._tls answer failed DNSSEC validation";
  auto record = tlsrpt::select_record(answer.texts);
  if (!record) return "failed: " + record.error().public_text();
  if (!*record) return "no record";

  auto rows = store.mail().tls_sessions_blocking(day, domain);
  if (!rows) return "failed: " + rows.error().public_text();
  tlsrpt::ReportSpec spec;
  spec.organization = options.organization;
  spec.contact = options.sender;
  std::array<std::uint8_t, 8> tag{};
  rng.fill(tag);
  spec.report_id = fmt::format("{}.{}.{}@{}", date_text(day), domain,
                               core::to_hex(std::span<const std::uint8_t>(tag)), options.hostname);
  spec.policy_domain = domain;
  spec.start = core::TimePoint(std::chrono::seconds(day));
  spec.end = core::TimePoint(std::chrono::seconds(day + 86399));
  for (const auto& r : *rows) {
    tlsrpt::Session s{.policy = policy_type_of(r.policy_type),
                      .policy_strings = lines_of(r.policy_text),
                      .mx_patterns = lines_of(r.mx_patterns),
                      .success = r.result_type.empty(),
                      .result_type = r.result_type,
                      .receiving_mx = r.mx_host,
                      .receiving_ip = r.ip,
                      .count = r.count};
    spec.sessions.push_back(std::move(s));
  }
  auto gz = tlsrpt::gzip(tlsrpt::report_json(spec));
  if (!gz) return "failed: " + gz.error().public_text();

  auto from = Address::parse(options.sender);
  if (!from) return "failed: [mail] default_sender is not an address";
  std::vector<std::string> ids;
  std::size_t posted = 0;
  std::vector<std::string> not_posted;
  for (const auto& dest : (*record)->rua) {
    if (dest.kind == tlsrpt::Destination::Kind::https) {
      if (auto why = post_report(dest, *gz, resolver, options); why.empty()) {
        ++posted;
      } else {
        not_posted.push_back(dest.target + ": " + why);
      }
      continue;
    }
    auto to = Address::parse(dest.target);
    if (!to) continue;
    Outgoing out{.from = *from};
    out.to = {*to};
    const std::string submitter = from->domain();
    out.subject = fmt::format("Report Domain: {} Submitter: {} Report-ID: <{}>", domain, submitter,
                              spec.report_id);
    out.text_body =
        fmt::format("This is an aggregate TLS report (RFC 8460) from {} for {}, covering {}.\n",
                    submitter, domain, date_text(day));
    out.extra_headers = {{"TLS-Report-Domain", domain},
                         {"TLS-Report-Submitter", submitter},
                         {"Auto-Submitted", "auto-generated"}};
    out.security = policy::Policy::verify;
    out.origin = "tlsrpt";
    out.null_sender = true;
    out.tls_report = mime::TlsReportAttachment{
        .file_name = tlsrpt::report_file_name(submitter, spec,
                                              core::to_hex(std::span<const std::uint8_t>(tag))),
        .gzip = *gz};
    // The same path as every producer: one unit of work with its mail.queue entry.
    Outbox outbox(store, auditor, signer, queue_key, options.hostname, clock, rng);
    auto id = outbox.enqueue_blocking(out, "local");
    if (!id) return "failed: " + id.error().public_text();
    ids.push_back(*id);
  }
  std::string outcome = fmt::format("sent: {} by mail", ids.size());
  if (!ids.empty()) outcome += fmt::format(" ({})", fmt::join(ids, ", "));
  outcome += fmt::format(", {} by https", posted);
  if (!not_posted.empty())
    outcome += fmt::format("; not posted to {}", fmt::join(not_posted, "; "));
  return outcome;
}

}  // namespace

std::int64_t utc_day(std::int64_t unix_seconds) {
  return unix_seconds - (((unix_seconds % 86400) + 86400) % 86400);
}

core::Result<std::vector<TlsReportOutcome>> send_tls_reports_blocking(
    std::int64_t day, store::Store& store, dns::Resolver& resolver, const dkim::Signer& signer,
    const core::SecretBytes& queue_key, audit::Auditor& auditor, const TlsReportOptions& options,
    const core::Clock& clock, core::Rng& rng) {
  auto due = store.mail().tls_report_due_blocking(day);
  if (!due) return core::fail(std::move(due).error());
  std::vector<TlsReportOutcome> outcomes;
  for (const auto& domain : *due) {
    const std::int64_t now = core::unix_seconds(clock.now());
    auto mine = store.mail().claim_tls_report_blocking(day, domain, options.owner, now);
    if (!mine) return core::fail(std::move(mine).error());
    if (!*mine) continue;  // another node took it
    std::string outcome =
        send_one(day, domain, store, resolver, signer, queue_key, auditor, options, clock, rng);
    if (auto s = store.mail().finish_tls_report_blocking(day, domain, outcome); !s)
      return core::fail(std::move(s).error());
    spdlog::info("event=tls_report day={} domain={} outcome=\"{}\"", date_text(day),
                 core::log_safe(domain), core::log_safe(outcome));
    outcomes.push_back({domain, std::move(outcome)});
  }
  return outcomes;
}

}  // namespace mail::queue
