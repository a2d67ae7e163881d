#pragma once
// The aggregate report of RFC 8460 4: for one policy domain and one UTC day, how many TLS
// sessions we attempted to it succeeded and how many failed, and why, per policy we
// applied (DANE's TLSA records, an MTA-STS policy, or none found). JSON as section 4.4
// defines it, gzip-compressed for sending (section 5).

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace mail::tlsrpt {

enum class PolicyType { tlsa, sts, no_policy_found };
std::string_view policy_type_name(PolicyType type);

// One connection attempt as the report counts it.
struct Session {
  PolicyType policy = PolicyType::no_policy_found;
  // The policy as applied: the TLSA records ("3 1 1 ab12...") or the MTA-STS policy's
  // lines; and for MTA-STS its mx patterns. Empty for no-policy-found.
  std::vector<std::string> policy_strings;
  std::vector<std::string> mx_patterns;
  bool success = false;
  // Failures: an RFC 8460 4.3 result type ("starttls-not-supported", "certificate-expired",
  // "certificate-host-mismatch", "certificate-not-trusted", "validation-failure",
  // "tlsa-invalid", "dnssec-invalid", "dane-required", "sts-policy-fetch-error",
  // "sts-policy-invalid", "sts-webpki-invalid").
  std::string result_type;
  std::string sending_ip;    // our address, when known
  std::string receiving_mx;  // the MX host name
  std::string receiving_ip;
  std::int64_t count = 1;  // sessions alike in all of the above
};

struct ReportSpec {
  std::string organization;  // organization-name: who we are
  std::string contact;       // contact-info: an address or URL
  std::string report_id;     // unique per report
  std::string policy_domain;
  core::TimePoint start;  // the UTC day's first second
  core::TimePoint end;    // its last second
  std::vector<Session> sessions;
};

// The report's JSON: policies grouped by (type, strings, patterns), each with its summary
// and at most kMaxFailureDetails failure-details entries grouped by (result type, MX,
// addresses). Deterministic: the same sessions give the same bytes.
std::string report_json(const ReportSpec& spec);

// gzip (RFC 1952) of `data`, as application/tlsrpt+gzip wants it.
core::Result<std::string> gzip(std::string_view data);

// The file name RFC 8460 5.3 asks for: submitter!policy-domain!begin!end!unique.json.gz,
// begin and end in unix seconds.
std::string report_file_name(std::string_view submitter, const ReportSpec& spec,
                             std::string_view unique);

}  // namespace mail::tlsrpt
