#pragma once
// Trust: untrusted network input (a server on the Internet, its address from DNS).
//
// mail::https: the one HTTPS client outbound mail needs, for two short exchanges with hosts
// named by other domains: the GET of an MTA-STS policy (RFC 8461 §3.3) and the POST of a
// TLS report (RFC 8460 §3). Each request resolves the host with sealpost's own resolver
// (A/AAAA; a bogus DNSSEC answer is a failure), tries at most kMaxAddresses of its
// addresses, speaks TLS 1.2 or later with SNI, and accepts only a certificate that chains to
// the configured CAs (or the system store) and names the host (RFC 6125 rules, no partial
// wildcards); then HTTP/1.1 with `Connection: close`, one request, one response. No redirect
// is followed. The response header and body are read with hard limits (a larger body is a
// failure, reading stops there, it is never truncated), and the whole exchange has one
// deadline. Nothing of either body reaches a log.

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "mail/dns/resolver.hpp"

namespace mail::https {

// Addresses of a host tried, in the resolver's order, when a connect fails.
inline constexpr std::size_t kMaxAddresses = 4;

struct Request {
  std::string host;  // a DNS name (lower case, no trailing dot): SNI and the name verified
  std::uint16_t port = 443;
  std::string target = "/";  // path and query, as sent
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string accept;        // Accept, when not empty
  std::string content_type;  // Content-Type of `body`, when the request has one
  std::string body;
  // Further request headers (webhooks' signature headers). The caller passes only its own
  // names and values: Beast refuses neither CR nor LF, so they must hold none.
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Options {
  std::string ca_file;  // PEM bundle of trusted CAs; "" = the system store
  std::chrono::milliseconds timeout{30'000};
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
};

enum class Failure {
  none,         // a response was read whole (any status)
  unreachable,  // DNS, connect, TLS (other than the certificate), timeout, read or write
  certificate,  // the server's certificate did not verify for the host
  too_large,    // the response body is over max_body_bytes
};

struct Response {
  Failure failure = Failure::none;
  unsigned status = 0;
  std::string content_type;
  std::string body;
  std::string detail;  // why it failed, for logs (sanitised; no body bytes)
};

using Handler = std::function<void(Response)>;

// One exchange. `handler` runs exactly once, posted to `executor`. `resolver` must outlive
// the exchange.
void async_request(boost::asio::any_io_executor executor, dns::Resolver& resolver, Request request,
                   Options options, Handler handler);

// The same, waiting on the calling thread (its own io_context): for the blocking pool and
// CLI commands, never on an event loop.
Response request_blocking(dns::Resolver& resolver, Request request, Options options);

}  // namespace mail::https
