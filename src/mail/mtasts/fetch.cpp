// Trust: untrusted network input (a policy host on the Internet and the DNS answers naming
// it).
//
// SECURITY: the policy decides whether mail to a domain must be sent over verified TLS, so
// it is only ever taken from a server whose certificate chains to the configured CAs and
// names mta-sts.<domain> (RFC 8461 §3.3): mail::https refuses any other, reads at most
// kMaxHeaderBytes and kMaxPolicyBytes, and keeps one deadline for the whole fetch. Nothing
// of the body reaches a log: a failure is logged by its kind and a fixed reason.
#include "mail/mtasts/fetch.hpp"

#include <algorithm>
#include <boost/beast/http/verb.hpp>

#include "core/log.hpp"
#include "mail/https/client.hpp"

namespace mail::mtasts {

std::string_view failure_name(FetchFailure failure) {
  switch (failure) {
    case FetchFailure::none:
      return "";
    case FetchFailure::fetch_error:
      return "sts-policy-fetch-error";
    case FetchFailure::webpki_invalid:
      return "sts-webpki-invalid";
    case FetchFailure::policy_invalid:
      return "sts-policy-invalid";
  }
  return "sts-policy-fetch-error";
}

namespace {

FetchResult failed(FetchFailure failure, std::string detail) {
  FetchResult r;
  r.failure = failure;
  r.detail = std::move(detail);
  return r;
}

bool is_text_plain(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  constexpr std::string_view want = "text/plain";
  return media.size() == want.size() &&
         std::equal(media.begin(), media.end(), want.begin(), [](char a, char b) {
           return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
         });
}

}  // namespace

FetchResult check_response(unsigned status, std::string_view content_type, std::string_view body) {
  if (status >= 300 && status < 400) {
    return failed(FetchFailure::fetch_error,
                  "HTTP " + std::to_string(status) + ": a redirect, not followed (RFC 8461 3.3)");
  }
  if (status != 200) return failed(FetchFailure::fetch_error, "HTTP " + std::to_string(status));
  if (!is_text_plain(content_type)) {
    return failed(FetchFailure::policy_invalid,
                  "Content-Type is not text/plain: " + core::log_safe(content_type, 80));
  }
  auto policy = parse_policy(body);
  if (!policy) return failed(FetchFailure::policy_invalid, policy.error().detail());
  FetchResult r;
  r.policy = std::move(*policy);
  return r;
}

void async_fetch_policy(boost::asio::any_io_executor executor, dns::Resolver& resolver,
                        std::string domain, FetchOptions options, FetchHandler handler) {
  https::Request request{.host = "mta-sts." + domain,
                         .port = options.port,
                         .target = "/.well-known/mta-sts.txt",
                         .method = boost::beast::http::verb::get,
                         .accept = "text/plain"};
  https::Options http_options{.ca_file = options.ca_file,
                              .timeout = options.timeout,
                              .max_header_bytes = kMaxHeaderBytes,
                              .max_body_bytes = kMaxPolicyBytes};
  https::async_request(executor, resolver, std::move(request), std::move(http_options),
                       [handler = std::move(handler)](https::Response r) {
                         switch (r.failure) {
                           case https::Failure::none:
                             return handler(check_response(r.status, r.content_type, r.body));
                           case https::Failure::certificate:
                             // RFC 8461 §3.3: the policy host must present a valid
                             // certificate for its name.
                             return handler(failed(FetchFailure::webpki_invalid, r.detail));
                           case https::Failure::too_large:
                             return handler(failed(FetchFailure::policy_invalid, r.detail));
                           case https::Failure::unreachable:
                             break;
                         }
                         handler(failed(FetchFailure::fetch_error, r.detail));
                       });
}

}  // namespace mail::mtasts
