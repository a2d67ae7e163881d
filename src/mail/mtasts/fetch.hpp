#pragma once
// Trust: untrusted network input (the recipient domain's policy host, over HTTPS; its
// address from DNS).
//
// The HTTPS GET of an MTA-STS policy (RFC 8461 §3.3), through mail::https:
// https://mta-sts.<domain>/.well-known/mta-sts.txt, the host's addresses from sealpost's own
// resolver (A/AAAA), TLS 1.2 or later with SNI, the certificate verified against [mail]
// ca_file (or the system store) and the host name mta-sts.<domain>, HTTP/1.1 with
// `Connection: close`. No redirect is followed (§3.3), the status must be 200 and the
// Content-Type text/plain; the body is read up to kMaxPolicyBytes and a longer one is an
// error (reading stops there); the whole fetch has one deadline (kFetchTimeout). The body
// then goes through parse_policy.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "mail/dns/resolver.hpp"
#include "mail/mtasts/limits.hpp"
#include "mail/mtasts/policy.hpp"

namespace mail::mtasts {

// Why a policy could not be had, as RFC 8460 §4.3.2 names it (TLS-RPT).
enum class FetchFailure {
  none,
  fetch_error,     // sts-policy-fetch-error: DNS, connect, timeout, HTTP status, redirect
  webpki_invalid,  // sts-webpki-invalid: the policy host's certificate did not verify
  policy_invalid,  // sts-policy-invalid: not text/plain, too large, or malformed
};
// "sts-policy-fetch-error", "sts-webpki-invalid", "sts-policy-invalid" ("" for none).
std::string_view failure_name(FetchFailure failure);

struct FetchOptions {
  std::string ca_file;       // PEM bundle of trusted CAs; "" = the system store
  std::uint16_t port = 443;  // RFC 8461 §3.3 names HTTPS only; tests keep 443 too
  std::chrono::milliseconds timeout = kFetchTimeout;
};

struct FetchResult {
  FetchFailure failure = FetchFailure::none;
  Policy policy;       // when failure is none
  std::string detail;  // why it failed: for logs only (sanitised, no body bytes)
};

using FetchHandler = std::function<void(FetchResult)>;

// Fetches and parses the policy of `domain` (lower case, no trailing dot). `handler` runs
// exactly once, posted to `executor`. `resolver` must outlive the fetch.
void async_fetch_policy(boost::asio::any_io_executor executor, dns::Resolver& resolver,
                        std::string domain, FetchOptions options, FetchHandler handler);

// What the fetch checks once a response is complete (pure, for tests): 3xx is a redirect
// not followed, any other status but 200 a fetch error; the media type must be text/plain
// (parameters such as charset allowed, case-insensitive); the body must parse.
FetchResult check_response(unsigned status, std::string_view content_type, std::string_view body);

}  // namespace mail::mtasts
