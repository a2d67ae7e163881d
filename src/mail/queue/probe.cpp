// Trust: DNS answers and the receiver's replies and certificate are untrusted network
// input; the resolver and the SMTP session parse and verify them with their own limits.
#include "mail/queue/probe.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>

#include "core/log.hpp"
#include "mail/dns/records.hpp"
#include "mail/smtp/session.hpp"

namespace mail::queue {
namespace {

using core::ErrorKind;

// MX hosts tried, and addresses per host: enough to get past one broken host, few enough
// that a command waiting on a black-holed domain ends.
constexpr std::size_t kMaxProbeHosts = 3;
constexpr std::size_t kMaxProbeAddresses = 2;

core::Error refused(const std::string& domain, const std::string& why) {
  return core::Error(ErrorKind::unavailable,
                     fmt::format("{} does not pass TLS ({})", core::log_safe(domain), why));
}

// The TLS requirement for `host`: DANE when usable TLSA records are published under a
// secure chain, else a certificate verified against the CA file for the host's name. An
// error text when the TLSA lookup cannot be trusted.
core::Result<smtp::TlsRequirement> requirement_for(dns::Resolver& resolver, const dns::MxAnswer& mx,
                                                   const dns::AddressAnswer& addresses,
                                                   const ProbeOptions& options) {
  smtp::TlsRequirement r;
  r.level = smtp::TlsLevel::verify;
  r.ca_file = options.ca_file;
  if (!resolver.validating() || mx.info.security != dns::Security::secure) return r;
  for (const auto& name : dns::tlsa_query_names(addresses.info, options.remote_port)) {
    auto answer = resolver.tlsa_blocking(name);
    if (answer.info.security == dns::Security::bogus ||
        answer.info.outcome == dns::Outcome::servfail ||
        answer.info.outcome == dns::Outcome::timeout) {
      return core::fail(ErrorKind::unavailable, "its TLSA lookup failed or was not validated");
    }
    if (answer.info.outcome == dns::Outcome::ok && answer.info.authenticated() &&
        !answer.records.empty()) {
      for (const auto& t : answer.records) {
        smtp::Tlsa tlsa{t.usage, t.selector, t.matching_type, t.data};
        if (smtp::usable_for_smtp(tlsa)) r.tlsa.push_back(std::move(tlsa));
      }
      if (!r.tlsa.empty()) r.level = smtp::TlsLevel::dane;
      return r;
    }
  }
  return r;
}

smtp::DeliveryReport run_probe(smtp::Destination destination) {
  boost::asio::io_context io;
  auto session = smtp::Session::create(io.get_executor(), std::move(destination));
  smtp::DeliveryReport out;
  smtp::Transaction probe;
  probe.probe = true;
  session->async_deliver(std::move(probe), [&out](smtp::DeliveryReport r) { out = std::move(r); });
  io.run();
  return out;
}

}  // namespace

core::Result<TlsProbe> probe_tls_blocking(dns::Resolver& resolver, const ProbeOptions& options,
                                          const std::string& domain) {
  auto mx = resolver.mx_blocking(domain);
  if (mx.info.security == dns::Security::bogus) {
    return core::fail(refused(domain, "DNSSEC validation of its MX failed"));
  }
  if (mx.info.outcome == dns::Outcome::nxdomain) {
    return core::fail(refused(domain, "the domain does not exist"));
  }
  if (mx.null_mx) return core::fail(refused(domain, "it accepts no mail: null MX"));
  if (mx.info.outcome != dns::Outcome::ok || mx.hosts.empty()) {
    return core::fail(
        refused(domain, fmt::format("its MX lookup failed: {}", dns::to_string(mx.info.outcome))));
  }
  std::string last = "no MX host answered";
  std::size_t hosts = 0;
  for (const auto& host : mx.hosts) {
    if (++hosts > kMaxProbeHosts) break;
    const std::string name = core::log_safe(host.host);
    auto addresses = resolver.addresses_blocking(host.host);
    if (addresses.info.security == dns::Security::bogus) {
      last = name + ": DNSSEC validation of its address failed";
      continue;
    }
    if (addresses.info.outcome != dns::Outcome::ok || addresses.addresses.empty()) {
      last = name + ": no address";
      continue;
    }
    auto requirement = requirement_for(resolver, mx, addresses, options);
    if (!requirement) {
      last = name + ": " + requirement.error().public_text();
      continue;
    }
    std::size_t tried = 0;
    for (const auto& address : addresses.addresses) {
      if (++tried > kMaxProbeAddresses) break;
      smtp::Destination d;
      d.address = address;
      d.port = options.remote_port;
      d.mx_host = host.host;
      d.ehlo_name = options.ehlo_name;
      d.tls = *requirement;
      d.timeouts = options.timeouts;
      auto report = run_probe(std::move(d));
      if (report.probe_passed && report.tls.tls &&
          report.tls.verified != smtp::Verification::none) {
        return TlsProbe{.mx_host = host.host,
                        .ip = address.to_string(),
                        .version = report.tls.version,
                        .cipher = report.tls.cipher,
                        .verified = std::string(smtp::verification_name(report.tls.verified))};
      }
      last = fmt::format("{} [{}]: {}", name, address.to_string(),
                         report.tls.failure.empty() ? std::string("the SMTP session failed")
                                                    : core::log_safe(report.tls.failure));
    }
  }
  spdlog::info("event=mail_tls_probe_failed domain={} reason=\"{}\"", core::log_safe(domain),
               core::log_safe(last));
  return core::fail(refused(domain, last));
}

}  // namespace mail::queue
