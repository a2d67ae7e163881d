#pragma once
// The admin listener (O3): plain HTTP for health probes and Prometheus, on loopback by
// default (app/ refuses another address unless the operator says so). It serves only the
// routes app registers on its own Router (GET /healthz, /readyz, /metrics): nothing of the
// public site, no request bodies, a small connection budget of its own, so a busy or
// hostile client of the public listeners cannot starve the probes, and the reverse.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "http/router.hpp"

namespace http {

struct AdminLimits {
  // Probes and scrapers send a few hundred bytes of headers.
  std::size_t header_bytes = 8 * 1024;
  // One request (headers) must arrive within this, and an idle keep-alive connection
  // closes after it. Prometheus scrapes every 15-60 s and reconnects as needed.
  std::chrono::seconds request_timeout{10};
  // A load balancer's health checks, an orchestrator's probes and a Prometheus or two.
  std::size_t max_connections = 32;
  std::size_t max_requests_per_connection = 1000;
};

class AdminServer {
 public:
  // `router` must outlive the server; its handlers answer through the Responder.
  AdminServer(boost::asio::io_context& io, const Router& router, std::string listen,
              AdminLimits limits = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and starts accepting; one clear line on error (bad address, port in use).
  core::Status start();
  std::uint16_t port() const;
  // Closes the listener and every idle connection; requests in flight are answered.
  void drain();

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

// "ADDR:PORT" (IPv6 as "[::1]:PORT") to an endpoint; invalid_input with a clear text.
core::Result<boost::asio::ip::tcp::endpoint> parse_listen_address(const std::string& text);

}  // namespace http
