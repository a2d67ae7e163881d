// Trust: untrusted network input (every byte a client sends).
//
// SECURITY: this file faces the Internet. Each connection runs on its own strand; every
// read has a deadline and a size limit; a request is parsed once by Beast and then handed
// to the router. No exception or library text reaches a client: handlers' exceptions
// become a 500 with a request id. Before TLS (or plain HTTP), the first bytes are read with
// the handshake deadline: a PROXY protocol header is taken from trusted_proxies only, and
// one from anyone else closes the connection (its claim is never used).
#include "http/server.hpp"

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/encoding.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "http/proxy_protocol.hpp"
#include "http/security_headers.hpp"

namespace http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void on_drain() = 0;
};

struct Server::Shared {
  net::io_context& io;
  std::shared_ptr<net::ssl::context> tls;
  const Router& router;
  ServerOptions options;
  ErrorPageFn error_page;

  std::optional<tcp::acceptor> https_acceptor;
  std::optional<tcp::acceptor> http_acceptor;
  std::uint16_t https_port = 0;
  std::uint16_t http_port = 0;
  std::string origin;

  // Connection accounting (limits.hpp): per listener, and per client address across both,
  // so that one client cannot hold every slot. Guarded by connections_mutex.
  std::mutex connections_mutex;
  std::size_t tls_connections = 0;
  std::size_t redirect_connections = 0;
  std::unordered_map<std::string, std::size_t> per_address;
  // Refusals are logged at most once a second, so a flood cannot flood the log too.
  std::atomic<std::int64_t> last_refusal_log{0};
  std::atomic<bool> draining{false};
  std::mutex sessions_mutex;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;

  std::string id_prefix;
  std::atomic<std::uint64_t> next_id{0};

  Shared(net::io_context& io_, std::shared_ptr<net::ssl::context> tls_, const Router& router_,
         ServerOptions options_, ErrorPageFn error_page_, core::Rng& rng)
      : io(io_),
        tls(std::move(tls_)),
        router(router_),
        options(std::move(options_)),
        error_page(std::move(error_page_)) {
    std::uint8_t bytes[4];
    rng.fill(bytes);
    id_prefix = core::to_hex(bytes);
  }

  std::string new_request_id() { return fmt::format("{}-{}", id_prefix, next_id++); }

  void add(const std::shared_ptr<SessionBase>& s) {
    std::lock_guard lock(sessions_mutex);
    sessions.emplace(s.get(), s);
  }
  void remove(SessionBase* s) {
    std::lock_guard lock(sessions_mutex);
    sessions.erase(s);
  }

  Response make_error(unsigned status, std::string_view request_id) {
    if (error_page) return error_page(status, request_id);
    Response r{static_cast<bhttp::status>(status), 11};
    r.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    r.body() = std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(status))) + "\n";
    return r;
  }
};

namespace {

// The TCP peer, in its canonical spelling (IPv4-mapped IPv6 as IPv4). nullopt when the
// socket is already gone.
std::optional<net::ip::address> peer_address(const tcp::socket& socket) {
  beast::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return std::nullopt;
  return canonical(ep.address());
}

enum class Listener { tls, redirect };

// Holds one connection's place in the accounting for the connection's whole life.
class ConnectionSlot {
 public:
  // Takes a place, or returns nothing when the listener or the address is at its limit.
  // A trusted proxy carries many clients, so its address has no per-address limit (the
  // listener's still applies); once its PROXY header names the client, rekey() counts the
  // connection against the client instead.
  static std::unique_ptr<ConnectionSlot> acquire(Server::Shared& shared, Listener listener,
                                                 std::string address, bool trusted_proxy) {
    const Limits& limits = shared.options.limits;
    std::lock_guard lock(shared.connections_mutex);
    std::size_t& count =
        listener == Listener::tls ? shared.tls_connections : shared.redirect_connections;
    std::size_t limit =
        listener == Listener::tls ? limits.max_connections : limits.redirect_max_connections;
    std::size_t& mine = shared.per_address[address];
    if (count >= limit || (!trusted_proxy && mine >= limits.max_connections_per_address)) {
      if (mine == 0) shared.per_address.erase(address);
      return nullptr;
    }
    ++count;
    ++mine;
    return std::unique_ptr<ConnectionSlot>(new ConnectionSlot(shared, count, std::move(address)));
  }
  // Moves this connection's per-address count to `address` (the client a PROXY header
  // named). false, and nothing changed, when that address is at its limit.
  bool rekey(std::string address) {
    std::lock_guard lock(shared_.connections_mutex);
    std::size_t& theirs = shared_.per_address[address];
    if (theirs >= shared_.options.limits.max_connections_per_address) {
      if (theirs == 0) shared_.per_address.erase(address);
      return false;
    }
    ++theirs;
    auto it = shared_.per_address.find(address_);
    if (it != shared_.per_address.end() && --it->second == 0) shared_.per_address.erase(it);
    address_ = std::move(address);
    return true;
  }
  ~ConnectionSlot() {
    std::lock_guard lock(shared_.connections_mutex);
    --count_;
    auto it = shared_.per_address.find(address_);
    if (it != shared_.per_address.end() && --it->second == 0) shared_.per_address.erase(it);
  }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  const std::string& address() const { return address_; }

 private:
  ConnectionSlot(Server::Shared& shared, std::size_t& count, std::string address)
      : shared_(shared), count_(count), address_(std::move(address)) {}
  Server::Shared& shared_;
  std::size_t& count_;
  std::string address_;
};

// Beast's parse errors (bad method, bad target, bad header, ...) share one category with
// the limit and end-of-stream codes, which callers handle before asking.
bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

// What the first bytes of a connection said about whom it is from.
struct Preface {
  bool ok = false;                         // false: close the connection, say nothing
  std::optional<net::ip::address> client;  // from a trusted proxy's PROXY header
};

// Reads the start of a connection into `buffer` until it is known whether it is a PROXY
// protocol header, and acts on it: from a peer that must send one (a trusted proxy, with
// proxy_protocol on) the header is required and consumed; from any other peer, bytes that
// start like one close the connection, and anything else stays in `buffer` for TLS or HTTP.
// The caller sets the deadline. `done` owns the session that owns the other arguments.
template <class Done>
void read_preface(beast::tcp_stream& tcp, beast::flat_buffer& buffer, bool expect_proxy,
                  const std::string& remote, Done&& done) {
  const auto data = buffer.cdata();
  const auto parse =
      parse_proxy_header(std::span(static_cast<const std::uint8_t*>(data.data()), data.size()));
  using Status = ProxyParse::Status;
  const bool more = parse.status == Status::incomplete && buffer.size() < kMaxProxyHeaderBytes;
  if (!more) {
    if (!expect_proxy) {
      if (parse.status == Status::not_proxy) return done(Preface{.ok = true});
      // Someone who is not a trusted proxy claims to speak for another address: never
      // believed. Logged without the claim (it is whatever the peer chose to write).
      spdlog::warn("event=proxy_header_refused reason=untrusted_peer remote={}", remote);
      return done(Preface{});
    }
    if (parse.status == Status::header) {
      buffer.consume(parse.header.length);
      return done(Preface{.ok = true, .client = parse.header.source});
    }
    spdlog::warn("event=proxy_header_refused reason=\"{}\" remote={}",
                 parse.status == Status::error ? proxy_error_text(parse.error)
                                               : "trusted proxy sent no PROXY header",
                 remote);
    return done(Preface{});
  }
  // Never past the longest header: the bytes after it belong to TLS, and a peer that has
  // not finished its header by then has sent none.
  tcp.async_read_some(buffer.prepare(kMaxProxyHeaderBytes - buffer.size()),
                      [&tcp, &buffer, expect_proxy, &remote, done = std::forward<Done>(done)](
                          beast::error_code ec, std::size_t n) mutable {
                        // Closed, reset, timed out, drained: nothing to answer.
                        if (ec) return done(Preface{});
                        buffer.commit(n);
                        read_preface(tcp, buffer, expect_proxy, remote, std::move(done));
                      });
}

// One TLS connection: handshake, then requests one at a time (no pipelining of handlers),
// each with a fresh parser whose limits are set per route before the body is read.
class TlsSession final : public SessionBase, public std::enable_shared_from_this<TlsSession> {
 public:
  TlsSession(tcp::socket&& socket, std::shared_ptr<Server::Shared> shared,
             std::unique_ptr<ConnectionSlot> slot, net::ip::address peer)
      : shared_(std::move(shared)),
        slot_(std::move(slot)),
        peer_(peer),
        remote_(slot_->address()),
        stream_(std::move(socket), *shared_->tls) {}
  ~TlsSession() override { shared_->remove(this); }

  void run() {
    shared_->add(shared_from_this());
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_preface(); });
  }

  void on_drain() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      // Idle between requests (or still handshaking): close now. A request being read or
      // handled is finished first; do_read() sees `draining` afterwards.
      bool idle = self->state_ == State::handshaking ||
                  (self->state_ == State::reading && !self->parser_->got_some());
      if (idle) beast::get_lowest_layer(self->stream_).cancel();
    });
  }

 private:
  enum class State { handshaking, reading, handling, writing, closing };

  const Limits& limits() const { return shared_->options.limits; }

  void do_preface() {
    const bool trusted = shared_->options.trusted_proxies.contains(peer_);
    beast::get_lowest_layer(stream_).expires_after(limits().handshake_timeout);
    read_preface(beast::get_lowest_layer(stream_), preface_,
                 trusted && shared_->options.proxy_protocol, remote_,
                 [self = shared_from_this()](Preface preface) { self->on_preface(preface); });
  }

  void on_preface(const Preface& preface) {
    if (!preface.ok) return;  // the socket closes with the session
    if (preface.client) {
      peer_ = canonical(*preface.client);
      if (!slot_->rekey(peer_.to_string())) {
        spdlog::warn("event=connection_refused reason=connection_limit listener=https");
        return;
      }
      remote_ = slot_->address();
    }
    do_handshake();
  }

  void do_handshake() {
    beast::get_lowest_layer(stream_).expires_after(limits().handshake_timeout);
    // The bytes read while looking for a PROXY header are the start of the ClientHello.
    stream_.async_handshake(net::ssl::stream_base::server, preface_.data(),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->preface_.clear();
                              if (ec) return;  // scanners, plain HTTP on the TLS port, timeouts
                              self->do_read();
                            });
  }

  void do_read() {
    if (shared_->draining) return do_close();
    state_ = State::reading;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits().header_bytes));
    // No body limit until the route is known (on_header sets it): otherwise Beast would
    // judge Content-Length against the default while parsing the headers. (Not
    // boost::none: Boost 1.74 compares Content-Length against an empty optional as
    // "exceeded".)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::get_lowest_layer(stream_).expires_after(limits().request_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    started_ = std::chrono::steady_clock::now();
    match_ = {};
    if (ec == bhttp::error::end_of_stream) return do_close();
    if (ec == bhttp::error::header_limit) return send_error(431);
    if (ec == bhttp::error::body_limit) return send_error(413);
    if (ec) {
      if (is_parse_error(ec)) return send_error(400);
      return;  // timeout, reset, cancelled by drain: nothing to answer
    }
    request_id_ = shared_->new_request_id();
    auto& req = parser_->get();
    match_ = shared_->router.match(req.method(), req.target());
    if (!match_.route) return send_error(match_.path_known ? 405 : 404);
    std::size_t limit = match_.route->body_limit ? match_.route->body_limit(match_.params)
                                                 : limits().default_body_bytes;
    if (auto length = parser_->content_length(); length && *length > limit) {
      return send_error(413);
    }
    parser_->body_limit(limit);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) return send_error(413);
    if (ec) {
      if (is_parse_error(ec)) return send_error(400);
      if (ec == beast::error::timeout) {
        spdlog::info("event=request_timeout request_id={} remote={}", request_id_, remote_);
      }
      return;
    }
    state_ = State::handling;
    keep_alive_ = parser_->get().keep_alive();
    RequestContext context{request_client(), request_id_, std::move(match_.params)};
    // The handler may answer later, from another thread (encryption and the store's
    // commit run off the event loop). The work guard keeps the io_context running until
    // it has, so a graceful drain still answers every request in flight.
    auto work = std::make_shared<net::executor_work_guard<net::io_context::executor_type>>(
        shared_->io.get_executor());
    // An answer belongs to this request only: one that arrives after the connection moved
    // on (the handler threw and a 500 went out) is dropped, never sent for the next request.
    const std::size_t turn = served_;
    Responder responder([self = shared_from_this(), work, turn](Response response) {
      net::dispatch(self->stream_.get_executor(), [self, turn, r = std::move(response)]() mutable {
        if (self->served_ != turn || self->state_ != State::handling) return;
        self->do_write(std::move(r));
      });
    });
    try {
      match_.route->handler(parser_->release(), std::move(context), std::move(responder));
    } catch (const std::exception& e) {
      spdlog::error("event=handler_exception request_id={} what={}", request_id_,
                    core::log_safe(e.what()));
      do_write(shared_->make_error(500, request_id_));
    }
  }

  // The request's client: the connection's (after any PROXY header), or what a trusted
  // proxy put in X-Forwarded-For (client_address.hpp decides).
  std::string request_client() {
    const auto& options = shared_->options;
    if (options.trusted_proxies.empty()) return remote_;
    std::string forwarded;
    const auto& req = parser_->get();
    const auto [first, last] = req.equal_range("X-Forwarded-For");
    for (auto field = first; field != last; ++field) {
      if (!forwarded.empty()) forwarded += ',';
      forwarded += field->value();
    }
    const auto client = client_address(peer_, forwarded, options.trusted_proxies);
    if (client.forwarded_for_ignored) {
      spdlog::warn("event=forwarded_for_ignored reason=malformed request_id={} remote={}",
                   request_id_, remote_);
    }
    return client.address.to_string();
  }

  void send_error(unsigned status) {
    if (request_id_.empty()) request_id_ = shared_->new_request_id();
    spdlog::info("event=http_error status={} request_id={} remote={}", status, request_id_,
                 remote_);
    keep_alive_ = false;  // the rest of the request was not read: the stream is unusable
    linger_ = true;
    do_write(shared_->make_error(status, request_id_));
  }

  // After an early answer (413 on Content-Length, 400 on a bad header) the client may still
  // be sending its body; closing at once would reset the connection before it reads our
  // answer. Read and discard for a bounded time and amount, as nginx's lingering close does.
  void do_linger() {
    if (linger_budget_ == 0) return do_close();
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
    stream_.async_read_some(net::buffer(linger_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->do_close();
                              self->linger_budget_ -= std::min(n, self->linger_budget_);
                              self->do_linger();
                            });
  }

  void do_write(Response response) {
    if (state_ == State::writing || state_ == State::closing) return;  // answered already
    state_ = State::writing;
    ++served_;
    if (shared_->options.on_response) {
      shared_->options.on_response(ResponseRecord{false, match_.route, response.result_int(),
                                                  std::chrono::steady_clock::now() - started_});
    }
    bool keep = keep_alive_ && !shared_->draining && served_ < limits().max_requests_per_connection;
    apply_security_headers(response);
    response.keep_alive(keep);
    response.prepare_payload();
    auto message = std::make_shared<Response>(std::move(response));
    beast::get_lowest_layer(stream_).expires_after(limits().request_timeout);
    bhttp::async_write(
        stream_, *message,
        [self = shared_from_this(), message, keep](beast::error_code ec, std::size_t) {
          if (ec) return;
          self->request_id_.clear();
          if (keep) return self->do_read();
          if (self->linger_) return self->do_linger();
          self->do_close();
        });
  }

  void do_close() {
    if (state_ == State::closing) return;
    state_ = State::closing;
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
  }

  std::shared_ptr<Server::Shared> shared_;
  std::unique_ptr<ConnectionSlot> slot_;
  net::ip::address peer_;  // the client of the connection (after a PROXY header)
  std::string remote_;     // peer_ as text, for logs
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer preface_;  // bytes read before TLS (PROXY header, start of ClientHello)
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Router::Match match_;
  std::string request_id_;
  std::chrono::steady_clock::time_point started_;
  State state_ = State::handshaking;
  bool keep_alive_ = false;
  std::size_t served_ = 0;
  bool linger_ = false;
  std::size_t linger_budget_ = 1 << 20;  // at most 1 MiB discarded per connection
  std::array<char, 16 * 1024> linger_buffer_{};
};

std::string html_attribute_escape(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// Plain HTTP: reads one request's headers and answers 301 to the same path on HTTPS. The
// target host is the configured origin, never the client's Host header (no open redirect).
class RedirectSession final : public SessionBase,
                              public std::enable_shared_from_this<RedirectSession> {
 public:
  RedirectSession(tcp::socket&& socket, std::shared_ptr<Server::Shared> shared,
                  std::unique_ptr<ConnectionSlot> slot, net::ip::address peer)
      : shared_(std::move(shared)),
        slot_(std::move(slot)),
        peer_(peer),
        remote_(slot_->address()),
        stream_(std::move(socket)) {}
  ~RedirectSession() override { shared_->remove(this); }

  void run() {
    shared_->add(shared_from_this());
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_preface(); });
  }
  void on_drain() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->stream_.cancel(); });
  }

 private:
  // Same rule as on the TLS listener; the bytes after a PROXY header stay in buffer_ for the
  // HTTP parser. One deadline covers the header and the request.
  void do_preface() {
    const bool trusted = shared_->options.trusted_proxies.contains(peer_);
    stream_.expires_after(shared_->options.limits.redirect_timeout);
    read_preface(
        stream_, buffer_, trusted && shared_->options.proxy_protocol, remote_,
        [self = shared_from_this()](Preface preface) {
          if (!preface.ok) return;
          if (preface.client && !self->slot_->rekey(canonical(*preface.client).to_string())) {
            return;
          }
          self->do_read();
        });
  }

  void do_read() {
    parser_.header_limit(static_cast<std::uint32_t>(shared_->options.limits.header_bytes));
    bhttp::async_read_header(stream_, buffer_, parser_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec == bhttp::error::header_limit) return self->respond(431);
                               if (ec) return;
                               self->respond(301);
                             });
  }

  void respond(unsigned status) {
    Response r;
    if (status == 301) {
      std::string_view target = parser_.get().target();
      // Origin-form only; anything else (absolute-form, '*', control bytes) goes to "/".
      bool clean = !target.empty() && target.front() == '/' &&
                   (target.size() < 2 || target[1] != '/') &&
                   target.find_first_of(" \t\r\n\\") == std::string_view::npos;
      std::string location = shared_->origin + (clean ? std::string(target) : "/");
      r = Response{bhttp::status::moved_permanently, 11};
      r.set(bhttp::field::location, location);
      r.set(bhttp::field::content_type, "text/html; charset=utf-8");
      r.body() = "<a href=\"" + html_attribute_escape(location) + "\">Moved to HTTPS</a>\n";
    } else {
      r = shared_->make_error(status, shared_->new_request_id());
    }
    if (shared_->options.on_response) {
      shared_->options.on_response(ResponseRecord{true, nullptr, status, {}});
    }
    apply_security_headers(r);
    r.keep_alive(false);
    r.prepare_payload();
    auto message = std::make_shared<Response>(std::move(r));
    bhttp::async_write(stream_, *message,
                       [self = shared_from_this(), message](beast::error_code, std::size_t) {
                         beast::error_code ignored;
                         self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                       });
  }

  std::shared_ptr<Server::Shared> shared_;
  std::unique_ptr<ConnectionSlot> slot_;
  net::ip::address peer_;
  std::string remote_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bhttp::request_parser<bhttp::empty_body> parser_;
};

core::Result<tcp::endpoint> parse_listen(const std::string& text) {
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
  try {
    std::size_t used = 0;
    port = std::stoul(port_text, &used);
    if (used != port_text.size() || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
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

core::Result<std::uint16_t> open_acceptor(std::optional<tcp::acceptor>& acceptor,
                                          net::io_context& io, const std::string& listen) {
  auto endpoint = parse_listen(listen);
  if (!endpoint) return core::fail(endpoint.error());
  acceptor.emplace(io);
  beast::error_code ec;
  acceptor->open(endpoint->protocol(), ec);
  if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(*endpoint, ec);
  if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::fail(core::ErrorKind::unavailable,
                      "cannot listen on " + listen + ": " + ec.message());
  }
  return acceptor->local_endpoint().port();
}

template <class Session>
void accept_loop(std::shared_ptr<Server::Shared> shared, tcp::acceptor& acceptor,
                 Listener listener) {
  acceptor.async_accept(
      net::make_strand(shared->io),
      [shared, &acceptor, listener](beast::error_code ec, tcp::socket socket) {
        if (shared->draining || !acceptor.is_open()) return;
        auto peer = ec ? std::nullopt : peer_address(socket);
        if (peer) {
          const bool trusted = shared->options.trusted_proxies.contains(*peer);
          auto slot = ConnectionSlot::acquire(*shared, listener, peer->to_string(), trusted);
          if (!slot) {
            auto now = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::steady_clock::now().time_since_epoch())
                           .count();
            if (shared->last_refusal_log.exchange(now) != now) {
              spdlog::warn("event=connection_refused reason=connection_limit listener={}",
                           listener == Listener::tls ? "https" : "http");
            }
            beast::error_code ignored;
            socket.close(ignored);
          } else {
            // Responses go out in one write; Nagle's algorithm would only hold the last
            // segment back waiting for an ACK (nginx sets tcp_nodelay too).
            beast::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            std::make_shared<Session>(std::move(socket), shared, std::move(slot), *peer)->run();
          }
        }
        accept_loop<Session>(shared, acceptor, listener);
      });
}

}  // namespace

Server::Server(net::io_context& io, std::shared_ptr<net::ssl::context> tls, const Router& router,
               ServerOptions options, ErrorPageFn error_page, core::Rng& rng)
    : shared_(std::make_shared<Shared>(io, std::move(tls), router, std::move(options),
                                       std::move(error_page), rng)) {}

Server::~Server() = default;

core::Status Server::start() {
  auto https = open_acceptor(shared_->https_acceptor, shared_->io, shared_->options.https_listen);
  if (!https) return core::fail(https.error());
  shared_->https_port = *https;
  if (!shared_->options.http_listen.empty()) {
    auto plain = open_acceptor(shared_->http_acceptor, shared_->io, shared_->options.http_listen);
    if (!plain) return core::fail(plain.error());
    shared_->http_port = *plain;
  }
  shared_->origin = shared_->options.public_origin;
  if (shared_->origin.empty()) {
    auto address = shared_->https_acceptor->local_endpoint().address();
    std::string host = address.is_loopback() || address.is_unspecified() ? std::string("localhost")
                                                                         : address.to_string();
    shared_->origin = fmt::format("https://{}:{}", host, shared_->https_port);
  }
  accept_loop<TlsSession>(shared_, *shared_->https_acceptor, Listener::tls);
  if (shared_->http_acceptor) {
    accept_loop<RedirectSession>(shared_, *shared_->http_acceptor, Listener::redirect);
  }
  return core::ok();
}

std::uint16_t Server::https_port() const { return shared_->https_port; }
std::uint16_t Server::http_port() const { return shared_->http_port; }
const std::string& Server::public_origin() const { return shared_->origin; }
std::size_t Server::open_connections() const {
  std::lock_guard lock(shared_->connections_mutex);
  return shared_->tls_connections + shared_->redirect_connections;
}

void Server::drain() {
  auto shared = shared_;
  net::post(shared->io, [shared] {
    shared->draining = true;
    beast::error_code ignored;
    if (shared->https_acceptor) shared->https_acceptor->close(ignored);
    if (shared->http_acceptor) shared->http_acceptor->close(ignored);
    std::vector<std::shared_ptr<SessionBase>> live;
    {
      std::lock_guard lock(shared->sessions_mutex);
      for (auto& [ptr, weak] : shared->sessions) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) s->on_drain();
  });
}

}  // namespace http
