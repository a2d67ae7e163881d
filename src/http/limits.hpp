#pragma once
// Limits of the HTTP layer. Each has a safe default and the reason for it; all can be
// changed in sealpost.toml within the bounds checked by app/config.

#include <chrono>
#include <cstddef>

namespace http {

struct Limits {
  // Browsers send 1-3 KiB of headers; 16 KiB leaves room for long cookies later and still
  // bounds what one connection can make us buffer.
  std::size_t header_bytes = 16 * 1024;
  // Body limit for routes that do not set their own (forms set theirs per declaration).
  std::size_t default_body_bytes = 64 * 1024;
  // A TLS handshake takes milliseconds; 10 s covers slow mobile links, not idle sockets.
  std::chrono::seconds handshake_timeout{10};
  // Time to receive one whole request (headers and body) once it has started, and the idle
  // time allowed between keep-alive requests. Slow-loris clients are cut off here.
  std::chrono::seconds request_timeout{30};
  // Open connections (TLS and plain). Each costs ~50 KiB; 2048 bounds memory at ~100 MiB.
  std::size_t max_connections = 2048;
  // The redirect-only HTTP listener has its own, smaller budget and a short deadline: it
  // answers one request with a 301, so idle plain-HTTP sockets must not crowd out HTTPS.
  std::size_t redirect_max_connections = 256;
  std::chrono::seconds redirect_timeout{5};
  // Connections one client address may hold across both listeners. A browser opens about 6;
  // 128 leaves room for a clinic behind one NAT address and stops one client taking all.
  std::size_t max_connections_per_address = 128;
  // Requests served on one keep-alive connection before we close it, so one client cannot
  // hold a connection for ever.
  std::size_t max_requests_per_connection = 1000;
};

}  // namespace http
