#pragma once
// TLS-RPT (RFC 8460), the sending side: once a day, for each recipient domain we sent to
// the day before, the aggregate report of how our TLS sessions to it went (the tallies
// Delivery keeps in store: mail_tls_sessions) goes to the destinations its
// `_smtp._tls.<domain>` record names. mailto: destinations get a message through our own
// queue (multipart/report; report-type=tlsrpt, DKIM-signed, null envelope sender so that a
// failure is never bounced, policy `verify`); https: destinations get it by POST (RFC 8460
// §3: Content-Type application/tlsrpt+gzip, any 2xx is success) over verified TLS, from
// the node that sends the report, once (a failure is in the outcome, not retried: reports
// are best effort). Of several nodes exactly one sends each (day, domain)
// report: the one whose claim in mail_tls_reports wins. A domain without a record gets no
// report (its outcome says so too). Reports carry counts, MX names and addresses, never a
// message or a recipient.

#include <cstdint>
#include <string>
#include <vector>

#include "audit/auditor.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "mail/dkim/signer.hpp"
#include "mail/dns/resolver.hpp"
#include "store/store.hpp"

namespace mail::queue {

struct TlsReportOptions {
  std::string organization;  // organization-name in the report
  std::string sender;        // From: of the report messages; also contact-info
  std::string hostname;      // our host name: Message-ID, the report id's right side
  std::string owner;         // who claims the reports: a node id, or "cli:<user>"
  std::string ca_file;       // CAs trusted for https: destinations; "" = the system store
};

struct TlsReportOutcome {
  std::string domain;
  std::string outcome;  // "sent: ...", "no record", "failed: ..."
};

// The UTC day (its 00:00 as unix seconds) that holds `unix_seconds`.
std::int64_t utc_day(std::int64_t unix_seconds);

// Builds and sends every report of `day` that nobody has taken on yet. Blocking: for the
// blocking pool or a CLI command. A report that fails stays claimed, with its outcome; it
// is not tried again (RFC 8460 reports are best effort).
core::Result<std::vector<TlsReportOutcome>> send_tls_reports_blocking(
    std::int64_t day, store::Store& store, dns::Resolver& resolver, const dkim::Signer& signer,
    const core::SecretBytes& queue_key, audit::Auditor& auditor, const TlsReportOptions& options,
    const core::Clock& clock, core::Rng& rng);

}  // namespace mail::queue
