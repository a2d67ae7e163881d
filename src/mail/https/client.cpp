// Trust: untrusted network input (a server named by another domain, and the DNS answers
// naming it).
//
// SECURITY: a response is only ever read from a server whose certificate chains to the
// configured CAs and names the requested host; every step shares one deadline; the header
// and body are read with Beast's hard limits, so a hostile server can make us read at most
// that much. Nothing of a body reaches a log: a failure is logged by its kind and a fixed
// reason.
#include "mail/https/client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/log.hpp"
#include "core/openssl_errors.hpp"
#include "core/result.hpp"

namespace mail::https {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

Response failed(Failure failure, std::string detail) {
  Response r;
  r.failure = failure;
  r.detail = std::move(detail);
  return r;
}

// One client context per CA file, made once: loading the system store takes tens of
// milliseconds, and a context is safe to share between connections once set up.
core::Result<std::shared_ptr<net::ssl::context>> context_for(const std::string& ca_file) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<net::ssl::context>> made;
  std::lock_guard lock(mutex);
  if (auto it = made.find(ca_file); it != made.end()) return it->second;
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  SSL_CTX* raw = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) != 1) {
    return core::fail(core::ErrorKind::internal, "TLS setup failed", core::openssl_errors());
  }
  SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  const int loaded = ca_file.empty() ? SSL_CTX_set_default_verify_paths(raw)
                                     : SSL_CTX_load_verify_locations(raw, ca_file.c_str(), nullptr);
  if (loaded != 1) {
    return core::fail(core::ErrorKind::unavailable, "cannot load the trusted CA certificates",
                      "cannot load the trusted CA certificates: " + core::openssl_errors());
  }
  // The handshake fails unless the chain verifies and the name matches (set per connection).
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  made.emplace(ca_file, ctx);
  return ctx;
}

// One exchange, start to end, on its own strand (Beast's client examples: one object per
// connection, each step an async call and its on_ handler).
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(net::any_io_executor executor, dns::Resolver& resolver, Request request, Options options,
           Handler handler)
      : executor_(executor),
        strand_(net::make_strand(executor)),
        resolver_(resolver),
        request_(std::move(request)),
        options_(std::move(options)),
        handler_(std::move(handler)),
        buffer_(options_.max_header_bytes + 8 * 1024) {}

  const net::strand<net::any_io_executor>& strand() const { return strand_; }

  void start() {
    deadline_ = std::chrono::steady_clock::now() + options_.timeout;
    auto context = context_for(options_.ca_file);
    if (!context) return finish(failed(Failure::unreachable, context.error().detail()));
    context_ = std::move(*context);
    resolver_.async_addresses(
        request_.host,
        net::bind_executor(strand_, [self = shared_from_this()](dns::AddressAnswer a) {
          self->on_resolve(std::move(a));
        }));
  }

 private:
  const std::string& host() const { return request_.host; }

  void on_resolve(dns::AddressAnswer answer) {
    if (answer.info.security == dns::Security::bogus) {
      return finish(failed(Failure::unreachable, "DNSSEC validation of " + host() + " failed"));
    }
    if (answer.info.outcome != dns::Outcome::ok || answer.addresses.empty()) {
      return finish(failed(
          Failure::unreachable,
          host() + " has no address (" + std::string(dns::to_string(answer.info.outcome)) + ")"));
    }
    addresses_ = std::move(answer.addresses);
    if (addresses_.size() > kMaxAddresses) addresses_.resize(kMaxAddresses);
    connect_next();
  }

  void connect_next() {
    if (next_ >= addresses_.size()) {
      return finish(failed(Failure::unreachable,
                           "cannot connect to " + host() + ": " + core::log_safe(last_error_)));
    }
    const tcp::endpoint endpoint(addresses_[next_++], request_.port);
    stream_.emplace(strand_, *context_);
    SSL* ssl = stream_->native_handle();
    // SNI, and the name the certificate must carry (RFC 6125 rules, no partial wildcards).
    if (SSL_set_tlsext_host_name(ssl, host().c_str()) != 1 ||
        SSL_set1_host(ssl, host().c_str()) != 1) {
      return finish(failed(Failure::unreachable, "TLS setup failed: " + core::openssl_errors()));
    }
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    beast::get_lowest_layer(*stream_).expires_at(deadline_);
    beast::get_lowest_layer(*stream_).async_connect(
        endpoint, [self = shared_from_this()](beast::error_code ec) { self->on_connect(ec); });
  }

  void on_connect(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      return finish(failed(Failure::unreachable, "timeout connecting to " + host()));
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
      return finish(failed(Failure::unreachable, "timeout in the TLS handshake"));
    }
    if (verify != X509_V_OK) {
      ERR_clear_error();
      return finish(
          failed(Failure::certificate, std::string("certificate of ") + host() +
                                           " not valid: " + X509_verify_cert_error_string(verify)));
    }
    if (ec) {
      return finish(failed(Failure::unreachable, "TLS handshake with " + host() +
                                                     " failed: " + core::log_safe(ec.message())));
    }
    if (SSL_get0_peer_certificate(stream_->native_handle()) == nullptr) {
      return finish(failed(Failure::certificate, "no certificate from " + host()));
    }
    message_.method(request_.method);
    message_.target(request_.target);
    message_.version(11);
    message_.set(http::field::host, host());
    message_.set(http::field::user_agent, "sealpost");
    if (!request_.accept.empty()) message_.set(http::field::accept, request_.accept);
    if (!request_.content_type.empty()) {
      message_.set(http::field::content_type, request_.content_type);
    }
    for (const auto& [name, value] : request_.headers) message_.set(name, value);
    message_.set(http::field::connection, "close");
    message_.body() = std::move(request_.body);
    if (request_.method != http::verb::get) message_.prepare_payload();
    beast::get_lowest_layer(*stream_).expires_at(deadline_);
    http::async_write(
        *stream_, message_,
        [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_write(e); });
  }

  void on_write(beast::error_code ec) {
    if (ec) {
      return finish(failed(Failure::unreachable,
                           "sending the request failed: " + core::log_safe(ec.message())));
    }
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    // Beast stops reading at the limit (a Content-Length over it fails before any body is
    // read): a larger body is an error, never a truncated one.
    parser_->body_limit(options_.max_body_bytes);
    beast::get_lowest_layer(*stream_).expires_at(deadline_);
    http::async_read(
        *stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_read(e); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return finish(failed(
          Failure::too_large,
          "the response is larger than " + std::to_string(options_.max_body_bytes) + " bytes"));
    }
    if (ec == beast::error::timeout) {
      return finish(failed(Failure::unreachable, "timeout reading the response"));
    }
    if (ec) {
      return finish(failed(Failure::unreachable,
                           "reading the response failed: " + core::log_safe(ec.message())));
    }
    auto& response = parser_->get();
    Response r;
    r.status = response.result_int();
    r.content_type = std::string(response[http::field::content_type]);
    r.body = std::move(response.body());
    finish(std::move(r));
  }

  void finish(Response result) {
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
  Request request_;
  Options options_;
  Handler handler_;
  std::chrono::steady_clock::time_point deadline_;
  std::shared_ptr<net::ssl::context> context_;
  std::vector<net::ip::address> addresses_;
  std::size_t next_ = 0;
  std::string last_error_ = "no address tried";
  std::optional<net::ssl::stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> message_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

}  // namespace

void async_request(net::any_io_executor executor, dns::Resolver& resolver, Request request,
                   Options options, Handler handler) {
  auto exchange = std::make_shared<Exchange>(executor, resolver, std::move(request),
                                             std::move(options), std::move(handler));
  net::post(exchange->strand(), [exchange] { exchange->start(); });
}

Response request_blocking(dns::Resolver& resolver, Request request, Options options) {
  net::io_context io;
  Response out;
  async_request(io.get_executor(), resolver, std::move(request), std::move(options),
                [&out](Response r) { out = std::move(r); });
  io.run();
  return out;
}

}  // namespace mail::https
