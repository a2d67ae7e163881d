// Trust: untrusted network input (a policy host on the Internet and the DNS answers naming
// it).
//
// SECURITY: the policy decides whether mail to a domain must be sent over verified TLS, so
// it is only ever taken from a server whose certificate chains to the configured CAs and
// names mta-sts.<domain> (RFC 8461 §3.3). Every step has one overall deadline; the response
// header and body are read with Beast's hard limits (kMaxHeaderBytes, kMaxPolicyBytes), so a
// hostile server can make us read at most that much. Nothing of the body reaches a log: a
// failure is logged by its kind and a fixed reason.
#include "mail/mtasts/fetch.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "core/log.hpp"

namespace mail::mtasts {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

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

// The OpenSSL error queue as one line, for logs only (emptied).
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

// One fetch, start to end, on its own strand (Beast's client examples: one object per
// connection, each step an async call and its on_ handler).
class Fetch : public std::enable_shared_from_this<Fetch> {
 public:
  Fetch(net::any_io_executor executor, dns::Resolver& resolver, std::string domain,
        FetchOptions options, FetchHandler handler)
      : executor_(executor),
        strand_(net::make_strand(executor)),
        resolver_(resolver),
        host_("mta-sts." + domain),
        options_(std::move(options)),
        handler_(std::move(handler)),
        buffer_(kMaxHeaderBytes + 8 * 1024) {}

  const net::strand<net::any_io_executor>& strand() const { return strand_; }

  void start() {
    deadline_ = std::chrono::steady_clock::now() + options_.timeout;
    auto context = make_context();
    if (!context) return finish(failed(FetchFailure::fetch_error, context.error().detail()));
    context_ = std::move(*context);
    resolver_.async_addresses(
        host_, net::bind_executor(strand_, [self = shared_from_this()](dns::AddressAnswer a) {
          self->on_resolve(std::move(a));
        }));
  }

 private:
  core::Result<std::shared_ptr<net::ssl::context>> make_context() const {
    auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
    SSL_CTX* raw = ctx->native_handle();
    if (SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) != 1) {
      return core::fail(core::ErrorKind::internal, "TLS setup failed", openssl_errors());
    }
    SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    const int loaded = options_.ca_file.empty()
                           ? SSL_CTX_set_default_verify_paths(raw)
                           : SSL_CTX_load_verify_locations(raw, options_.ca_file.c_str(), nullptr);
    if (loaded != 1) {
      return core::fail(core::ErrorKind::unavailable, "cannot load the trusted CA certificates",
                        "cannot load the trusted CA certificates: " + openssl_errors());
    }
    // The handshake fails unless the chain verifies and the name matches (set per connection).
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
    return ctx;
  }

  void on_resolve(dns::AddressAnswer answer) {
    if (answer.info.security == dns::Security::bogus) {
      return finish(failed(FetchFailure::fetch_error, "DNSSEC validation of " + host_ + " failed"));
    }
    if (answer.info.outcome != dns::Outcome::ok || answer.addresses.empty()) {
      return finish(failed(
          FetchFailure::fetch_error,
          host_ + " has no address (" + std::string(dns::to_string(answer.info.outcome)) + ")"));
    }
    addresses_ = std::move(answer.addresses);
    if (addresses_.size() > kMaxFetchAddresses) addresses_.resize(kMaxFetchAddresses);
    connect_next();
  }

  void connect_next() {
    if (next_ >= addresses_.size()) {
      return finish(failed(FetchFailure::fetch_error,
                           "cannot connect to " + host_ + ": " + core::log_safe(last_error_)));
    }
    const tcp::endpoint endpoint(addresses_[next_++], options_.port);
    stream_.emplace(strand_, *context_);
    SSL* ssl = stream_->native_handle();
    // SNI, and the name the certificate must carry (RFC 6125 rules, no partial wildcards).
    if (SSL_set_tlsext_host_name(ssl, host_.c_str()) != 1 ||
        SSL_set1_host(ssl, host_.c_str()) != 1) {
      return finish(failed(FetchFailure::fetch_error, "TLS setup failed: " + openssl_errors()));
    }
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    beast::get_lowest_layer(*stream_).expires_at(deadline_);
    beast::get_lowest_layer(*stream_).async_connect(
        endpoint, [self = shared_from_this()](beast::error_code ec) { self->on_connect(ec); });
  }

  void on_connect(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      return finish(failed(FetchFailure::fetch_error, "timeout connecting to " + host_));
    }
    if (ec) {
      last_error_ = ec.message();
      return connect_next();
    }
    beast::get_lowest_layer(*stream_).expires_at(deadline_);
    stream_->async_handshake(
        net::ssl::stream_base::client,
        [self = shared_from_this()](beast::error_code e) { self->on_handshake(e); });
  }

  void on_handshake(beast::error_code ec) {
    const long verify = SSL_get_verify_result(stream_->native_handle());
    if (ec == beast::error::timeout) {
      return finish(failed(FetchFailure::fetch_error, "timeout in the TLS handshake"));
    }
    if (verify != X509_V_OK) {
      // RFC 8461 §3.3: the policy host must present a valid certificate for its name.
      ERR_clear_error();
      return finish(failed(FetchFailure::webpki_invalid,
                           std::string("certificate of ") + host_ +
                               " not valid: " + X509_verify_cert_error_string(verify)));
    }
    if (ec) {
      return finish(failed(FetchFailure::fetch_error, "TLS handshake with " + host_ + " failed: " +
                                                          core::log_safe(ec.message())));
    }
    X509* peer = SSL_get0_peer_certificate(stream_->native_handle());
    if (peer == nullptr) {
      return finish(failed(FetchFailure::webpki_invalid, "no certificate from " + host_));
    }
    request_.method(http::verb::get);
    request_.target("/.well-known/mta-sts.txt");
    request_.version(11);
    request_.set(http::field::host, host_);
    request_.set(http::field::user_agent, "sealpost");
    request_.set(http::field::accept, "text/plain");
    request_.set(http::field::connection, "close");
    beast::get_lowest_layer(*stream_).expires_at(deadline_);
    http::async_write(
        *stream_, request_,
        [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_write(e); });
  }

  void on_write(beast::error_code ec) {
    if (ec) {
      return finish(failed(FetchFailure::fetch_error,
                           "sending the request failed: " + core::log_safe(ec.message())));
    }
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
    // Beast stops reading at the limit (a Content-Length over it fails before any body is
    // read): a larger policy is an error, never a truncated policy.
    parser_->body_limit(kMaxPolicyBytes);
    beast::get_lowest_layer(*stream_).expires_at(deadline_);
    http::async_read(
        *stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_read(e); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return finish(
          failed(FetchFailure::policy_invalid,
                 "the policy is larger than " + std::to_string(kMaxPolicyBytes) + " bytes"));
    }
    if (ec == beast::error::timeout) {
      return finish(failed(FetchFailure::fetch_error, "timeout reading the response"));
    }
    if (ec) {
      return finish(failed(FetchFailure::fetch_error,
                           "reading the response failed: " + core::log_safe(ec.message())));
    }
    const auto& response = parser_->get();
    finish(check_response(response.result_int(), response[http::field::content_type],
                          response.body()));
  }

  void finish(FetchResult result) {
    if (!handler_) return;
    if (stream_) {
      // Everything was read (or nothing more will be): close without a TLS shutdown, which
      // would only wait for a peer we no longer need.
      beast::error_code ignored;
      beast::get_lowest_layer(*stream_).socket().close(ignored);
    }
    net::post(executor_,
              [h = std::move(handler_), r = std::move(result)]() mutable { h(std::move(r)); });
    handler_ = nullptr;
  }

  net::any_io_executor executor_;
  net::strand<net::any_io_executor> strand_;
  dns::Resolver& resolver_;
  std::string host_;
  FetchOptions options_;
  FetchHandler handler_;
  std::chrono::steady_clock::time_point deadline_;
  std::shared_ptr<net::ssl::context> context_;
  std::vector<net::ip::address> addresses_;
  std::size_t next_ = 0;
  std::string last_error_ = "no address tried";
  std::optional<net::ssl::stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

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

void async_fetch_policy(net::any_io_executor executor, dns::Resolver& resolver, std::string domain,
                        FetchOptions options, FetchHandler handler) {
  auto fetch = std::make_shared<Fetch>(executor, resolver, std::move(domain), std::move(options),
                                       std::move(handler));
  net::post(fetch->strand(), [fetch] { fetch->start(); });
}

}  // namespace mail::mtasts
