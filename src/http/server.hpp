#pragma once
// The HTTPS listener (forms, later the portal) and the plain-HTTP listener that only
// redirects (F2). Beast over OpenSSL, a strand per connection, hard limits on everything a
// client can make us hold (limits.hpp).

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "core/rng.hpp"
#include "http/client_address.hpp"
#include "http/limits.hpp"
#include "http/router.hpp"

namespace http {

// Renders an error page for a status the server produces itself (400, 404, 405, 408, 413,
// 431, 500, 503). app supplies one that uses the site's templates.
using ErrorPageFn = std::function<Response(unsigned status, std::string_view request_id)>;

// What the server wrote, once per response (handlers' answers and its own errors, on both
// listeners), for metrics. Called on the connection's strand: must not block.
struct ResponseRecord {
  bool redirect_listener = false;  // the plain-HTTP redirect listener
  const Route* route = nullptr;    // the matched route; nullptr when none matched
  unsigned status = 0;
  std::chrono::steady_clock::duration elapsed{};  // headers received -> response queued
};
using ResponseObserver = std::function<void(const ResponseRecord&)>;

struct ServerOptions {
  Limits limits;
  std::string https_listen = "127.0.0.1:8443";  // ADDR:PORT, port 0 = any free port
  std::string http_listen = "127.0.0.1:8080";   // empty = no redirect listener
  // Origin the redirect listener points to, e.g. "https://forms.example.org". Empty: built
  // from the HTTPS listener's address and bound port.
  std::string public_origin;
  // Load balancers believed about the client address (client_address.hpp). A connection
  // from one of them must start with a PROXY protocol header (v2, or v1) when `proxy_protocol` is
  // set; from anyone else, a PROXY header closes the connection unread.
  TrustedProxies trusted_proxies;
  bool proxy_protocol = true;
  ResponseObserver on_response;  // empty: none
};

class Server {
 public:
  // `rng` draws the per-process prefix of request ids (used in the constructor only).
  Server(boost::asio::io_context& io, std::shared_ptr<boost::asio::ssl::context> tls,
         const Router& router, ServerOptions options, ErrorPageFn error_page, core::Rng& rng);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds both listeners and starts accepting. Errors are one clear line (bad address,
  // port in use).
  core::Status start();
  std::uint16_t https_port() const;
  std::uint16_t http_port() const;
  const std::string& public_origin() const;
  // Connections open now on both listeners (a gauge for /metrics).
  std::size_t open_connections() const;

  // Graceful stop: no new connections; idle keep-alive connections close; requests in
  // flight are answered, then their connections close. The io_context runs out of work
  // once the last one is done.
  void drain();

  struct Shared;  // state shared with connections (detail)

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace http
