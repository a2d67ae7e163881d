// Trust: untrusted network input (whoever can reach the admin port; loopback by default).
//
// SECURITY: plain HTTP, so it carries nothing secret and accepts nothing that changes
// state: GET routes only, no request body (body limit 0), a header limit, a deadline on
// every read and write, a small connection budget. Handlers' exceptions become a 500 with
// no detail. Every response carries the security headers like the public listeners'.
#include "http/admin_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/log.hpp"
#include "http/security_headers.hpp"

namespace http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

class AdminSession;

struct AdminServer::Shared {
  net::io_context& io;
  const Router& router;
  std::string listen;
  AdminLimits limits;
  std::optional<tcp::acceptor> acceptor;
  std::uint16_t port = 0;
  std::atomic<bool> draining{false};
  std::mutex mutex;  // guards sessions and connections
  std::unordered_map<AdminSession*, std::weak_ptr<AdminSession>> sessions;
  std::size_t connections = 0;

  Shared(net::io_context& io_, const Router& router_, std::string listen_, AdminLimits limits_)
      : io(io_), router(router_), listen(std::move(listen_)), limits(limits_) {}
};

namespace {

Response plain(unsigned status, std::string body) {
  Response r{static_cast<bhttp::status>(status), 11};
  r.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  r.body() = std::move(body);
  return r;
}

}  // namespace

// One connection: requests one at a time, each read whole (headers only: the body limit
// is 0) before its handler runs.
class AdminSession : public std::enable_shared_from_this<AdminSession> {
 public:
  AdminSession(tcp::socket&& socket, std::shared_ptr<AdminServer::Shared> shared)
      : shared_(std::move(shared)), stream_(std::move(socket)) {}
  ~AdminSession() {
    std::lock_guard lock(shared_->mutex);
    shared_->sessions.erase(this);
    --shared_->connections;
  }

  void run() {
    {
      std::lock_guard lock(shared_->mutex);
      shared_->sessions.emplace(this, weak_from_this());
    }
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
  }

  void on_drain() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->handling_) self->stream_.cancel();
    });
  }

 private:
  void do_read() {
    if (shared_->draining) return do_close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->limits.header_bytes));
    parser_->body_limit(0);
    stream_.expires_after(shared_->limits.request_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) return do_write(plain(431, "header too large\n"), false);
    if (ec == bhttp::error::body_limit) return do_write(plain(413, "no body expected\n"), false);
    if (ec) return do_close();  // end of stream, timeout, drain, malformed: nothing to say
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    auto match = shared_->router.match(req.method(), req.target());
    if (!match.route) {
      return do_write(plain(match.path_known ? 405 : 404,
                            match.path_known ? "method not allowed\n" : "not found\n"),
                      keep_alive_);
    }
    handling_ = true;
    auto work = std::make_shared<net::executor_work_guard<net::io_context::executor_type>>(
        shared_->io.get_executor());
    Responder responder([self = shared_from_this(), work](Response response) {
      net::dispatch(self->stream_.get_executor(), [self, r = std::move(response)]() mutable {
        if (!self->handling_) return;  // answered already (the handler threw)
        self->do_write(std::move(r), self->keep_alive_);
      });
    });
    try {
      match.route->handler(parser_->release(), RequestContext{{}, {}, std::move(match.params)},
                           std::move(responder));
    } catch (const std::exception& e) {
      spdlog::error("event=admin_handler_exception what={}", core::log_safe(e.what()));
      do_write(plain(500, "internal error\n"), false);
    }
  }

  void do_write(Response response, bool keep_alive) {
    handling_ = false;
    ++served_;
    bool keep =
        keep_alive && !shared_->draining && served_ < shared_->limits.max_requests_per_connection;
    apply_security_headers(response);
    response.keep_alive(keep);
    response.prepare_payload();
    auto message = std::make_shared<Response>(std::move(response));
    stream_.expires_after(shared_->limits.request_timeout);
    bhttp::async_write(
        stream_, *message,
        [self = shared_from_this(), message, keep](beast::error_code ec, std::size_t) {
          if (ec) return;
          if (keep) return self->do_read();
          self->do_close();
        });
  }

  void do_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  std::shared_ptr<AdminServer::Shared> shared_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keep_alive_ = false;
  bool handling_ = false;
  std::size_t served_ = 0;
};

namespace {

void accept_loop(const std::shared_ptr<AdminServer::Shared>& shared) {
  shared->acceptor->async_accept(
      net::make_strand(shared->io), [shared](beast::error_code ec, tcp::socket socket) {
        if (shared->draining || !shared->acceptor->is_open()) return;
        if (!ec) {
          bool admitted = false;
          {
            std::lock_guard lock(shared->mutex);
            if (shared->connections < shared->limits.max_connections) {
              ++shared->connections;
              admitted = true;
            }
          }
          if (admitted) {
            std::make_shared<AdminSession>(std::move(socket), shared)->run();
          } else {
            beast::error_code ignored;
            socket.close(ignored);
          }
        }
        accept_loop(shared);
      });
}

}  // namespace

core::Result<tcp::endpoint> parse_listen_address(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    return core::fail(core::ErrorKind::invalid_input,
                      "listen address \"" + text + "\" must be ADDR:PORT");
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = text.substr(colon + 1);
  unsigned long port = 0;
  std::size_t used = 0;
  try {
    port = std::stoul(port_text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (port_text.empty() || used != port_text.size() || port > 65535) {
    return core::fail(core::ErrorKind::invalid_input,
                      "listen address \"" + text + "\" has an invalid port");
  }
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) {
    return core::fail(core::ErrorKind::invalid_input,
                      "listen address \"" + text + "\" is not an IP address");
  }
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

AdminServer::AdminServer(net::io_context& io, const Router& router, std::string listen,
                         AdminLimits limits)
    : shared_(std::make_shared<Shared>(io, router, std::move(listen), limits)) {}

AdminServer::~AdminServer() = default;

core::Status AdminServer::start() {
  auto endpoint = parse_listen_address(shared_->listen);
  if (!endpoint) return core::fail(endpoint.error());
  shared_->acceptor.emplace(shared_->io);
  beast::error_code ec;
  shared_->acceptor->open(endpoint->protocol(), ec);
  if (!ec) shared_->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) shared_->acceptor->bind(*endpoint, ec);
  if (!ec) shared_->acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::fail(core::ErrorKind::unavailable,
                      "cannot listen on " + shared_->listen + " (admin): " + ec.message());
  }
  shared_->port = shared_->acceptor->local_endpoint().port();
  accept_loop(shared_);
  return core::ok();
}

std::uint16_t AdminServer::port() const { return shared_->port; }

void AdminServer::drain() {
  auto shared = shared_;
  net::post(shared->io, [shared] {
    shared->draining = true;
    beast::error_code ignored;
    if (shared->acceptor) shared->acceptor->close(ignored);
    std::vector<std::shared_ptr<AdminSession>> live;
    {
      std::lock_guard lock(shared->mutex);
      for (auto& [ptr, weak] : shared->sessions) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) s->on_drain();
  });
}

}  // namespace http
