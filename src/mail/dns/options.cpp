#include "mail/dns/options.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace mail::dns {

namespace {

core::Unexpected<core::Error> bad_resolver(std::string detail) {
  return core::fail(core::ErrorKind::invalid_input, "resolver must be IP, IP:PORT or [IPv6]:PORT",
                    std::move(detail));
}

bool is_ip(const std::string& text, int family) {
  unsigned char buffer[16];
  return inet_pton(family, text.c_str(), buffer) == 1;
}

}  // namespace

core::Result<std::string> to_unbound_address(std::string_view resolver) {
  std::string host;
  std::string_view port;
  if (resolver.empty()) return bad_resolver("empty");
  if (resolver.front() == '[') {
    const auto close = resolver.find(']');
    if (close == std::string_view::npos) return bad_resolver("no closing ]");
    host = std::string(resolver.substr(1, close - 1));
    const auto rest = resolver.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':' && rest.front() != '@') return bad_resolver("junk after ]");
      port = rest.substr(1);
      if (port.empty()) return bad_resolver("empty port");
    }
    if (!is_ip(host, AF_INET6)) return bad_resolver("not an IPv6 address");
  } else if (const auto at = resolver.find('@'); at != std::string_view::npos) {
    host = std::string(resolver.substr(0, at));
    port = resolver.substr(at + 1);
    if (port.empty()) return bad_resolver("empty port");
    if (!is_ip(host, AF_INET) && !is_ip(host, AF_INET6)) return bad_resolver("not an IP address");
  } else if (is_ip(std::string(resolver), AF_INET6)) {
    host = std::string(resolver);
  } else {
    const auto colon = resolver.find(':');
    host = std::string(resolver.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = resolver.substr(colon + 1);
      if (port.empty()) return bad_resolver("empty port");
    }
    if (!is_ip(host, AF_INET)) return bad_resolver("not an IPv4 address");
  }
  if (port.empty()) return host;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return bad_resolver("port must be 1..65535");
  }
  return host + "@" + std::to_string(value);
}

core::Status validate(const ResolverOptions& options) {
  if (options.resolver) {
    auto address = to_unbound_address(*options.resolver);
    if (!address) return core::fail(std::move(address).error());
  }
  if (options.timeout < kMinTimeout || options.timeout > kMaxTimeout) {
    return core::fail(core::ErrorKind::invalid_input,
                      "dns timeout must be between 100 ms and 120 s",
                      std::to_string(options.timeout.count()) + " ms");
  }
  return core::ok();
}

}  // namespace mail::dns
