#include "mail/tlsrpt/report.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "mail/tlsrpt/limits.hpp"

namespace mail::tlsrpt {
namespace {

std::string utc(core::TimePoint t) {
  const std::time_t s = core::unix_seconds(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

using PolicyKey = std::tuple<int, std::vector<std::string>, std::vector<std::string>>;
using FailureKey = std::tuple<std::string, std::string, std::string, std::string>;

struct PolicyCounts {
  std::int64_t ok = 0;
  std::int64_t failed = 0;
  std::map<FailureKey, std::int64_t> failures;
};

}  // namespace

std::string_view policy_type_name(PolicyType type) {
  switch (type) {
    case PolicyType::tlsa:
      return "tlsa";
    case PolicyType::sts:
      return "sts";
    case PolicyType::no_policy_found:
      return "no-policy-found";
  }
  return "no-policy-found";
}

std::string report_json(const ReportSpec& spec) {
  std::map<PolicyKey, PolicyCounts> policies;
  for (const auto& s : spec.sessions) {
    auto& counts = policies[{static_cast<int>(s.policy), s.policy_strings, s.mx_patterns}];
    const std::int64_t n = std::max<std::int64_t>(0, s.count);
    if (s.success) {
      counts.ok += n;
    } else {
      counts.failed += n;
      counts.failures[{s.result_type, s.sending_ip, s.receiving_mx, s.receiving_ip}] += n;
    }
  }
  nlohmann::ordered_json report;
  report["organization-name"] = spec.organization;
  report["date-range"] = {{"start-datetime", utc(spec.start)}, {"end-datetime", utc(spec.end)}};
  report["contact-info"] = spec.contact;
  report["report-id"] = spec.report_id;
  auto list = nlohmann::ordered_json::array();
  for (const auto& [key, counts] : policies) {
    const auto& [type, strings, patterns] = key;
    nlohmann::ordered_json policy;
    policy["policy-type"] = policy_type_name(static_cast<PolicyType>(type));
    if (!strings.empty()) policy["policy-string"] = strings;
    policy["policy-domain"] = spec.policy_domain;
    if (!patterns.empty()) policy["mx-host"] = patterns;
    nlohmann::ordered_json entry;
    entry["policy"] = policy;
    entry["summary"] = {{"total-successful-session-count", counts.ok},
                        {"total-failure-session-count", counts.failed}};
    auto details = nlohmann::ordered_json::array();
    for (const auto& [fk, n] : counts.failures) {
      if (details.size() >= kMaxFailureDetails) break;
      const auto& [result, sending, mx, receiving] = fk;
      nlohmann::ordered_json d;
      d["result-type"] = result;
      if (!sending.empty()) d["sending-mta-ip"] = sending;
      if (!mx.empty()) d["receiving-mx-hostname"] = mx;
      if (!receiving.empty()) d["receiving-ip"] = receiving;
      d["failed-session-count"] = n;
      details.push_back(std::move(d));
    }
    if (!details.empty()) entry["failure-details"] = std::move(details);
    list.push_back(std::move(entry));
  }
  report["policies"] = std::move(list);
  // Never throws: every string put in was checked UTF-8 by its producer; replace anyway.
  return report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

core::Result<std::string> gzip(std::string_view data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return core::fail(core::ErrorKind::internal, "compression failed", "deflateInit2");
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const auto written = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END)
    return core::fail(core::ErrorKind::internal, "compression failed", "deflate");
  out.resize(written);
  return out;
}

std::string report_file_name(std::string_view submitter, const ReportSpec& spec,
                             std::string_view unique) {
  return fmt::format("{}!{}!{}!{}!{}.json.gz", submitter, spec.policy_domain,
                     core::unix_seconds(spec.start), core::unix_seconds(spec.end), unique);
}

}  // namespace mail::tlsrpt
