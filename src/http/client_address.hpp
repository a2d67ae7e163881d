#pragma once
// Trust: X-Forwarded-For is untrusted network input; trusted_proxies is administrator
// configuration.
//
// Whom a request is from. Behind a load balancer the TCP peer is the balancer, so the
// client address comes from what the balancer says: the PROXY protocol header (read by the
// server before TLS) or X-Forwarded-For. Either is believed only from an address in
// `[server] trusted_proxies`; from anyone else it is a claim any client can make.
// client_address() is the one place that decides; rate limits, lockout, audit `source` and
// logs all use its answer (RequestContext::remote_address).

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace http {

// An IPv4 or IPv6 network, e.g. 10.0.0.0/8 or 2001:db8::/32. A bare address is a network
// of one (/32 or /128).
class Cidr {
 public:
  // Refuses anything else, and a network with host bits set (10.0.0.1/8 is a typo for
  // 10.0.0.0/8 or 10.0.0.1/32, and guessing which would trust the wrong machines).
  static core::Result<Cidr> parse(std::string_view text);
  bool contains(const boost::asio::ip::address& address) const;
  std::string to_string() const;

 private:
  Cidr(boost::asio::ip::address network, unsigned prefix) : network_(network), prefix_(prefix) {}
  boost::asio::ip::address network_;
  unsigned prefix_;
};

// IPv4-mapped IPv6 (::ffff:192.0.2.1, what a dual-stack socket reports for an IPv4 peer)
// becomes plain IPv4, so that one address has one spelling in matching, limits and logs.
boost::asio::ip::address canonical(const boost::asio::ip::address& address);

class TrustedProxies {
 public:
  TrustedProxies() = default;
  explicit TrustedProxies(std::vector<Cidr> networks) : networks_(std::move(networks)) {}
  bool empty() const { return networks_.empty(); }
  bool contains(const boost::asio::ip::address& address) const;
  const std::vector<Cidr>& networks() const { return networks_; }

 private:
  std::vector<Cidr> networks_;
};

// Trusted hops of X-Forwarded-For we walk through before giving up. A chain of load
// balancers is two or three deep; the part a client writes itself is never walked.
inline constexpr std::size_t kMaxForwardedForHops = 32;

struct ClientAddress {
  boost::asio::ip::address address;
  bool from_forwarded_for = false;     // X-Forwarded-For was believed
  bool forwarded_for_ignored = false;  // it was there, from a trusted peer, but malformed
};

// The client of a request whose connection comes from `peer` (the TCP peer, or the source
// a trusted proxy gave in its PROXY header). `forwarded_for` is every X-Forwarded-For line
// joined with ",", empty when there is none. When `peer` is a trusted proxy, the answer is
// the right-most address of X-Forwarded-For that is not itself a trusted proxy; if every
// entry is trusted, the left-most. Entries further left than the answer were written by
// whoever the client is and are never looked at, so a client cannot spoil the answer with
// garbage of its own. A malformed entry (or more than kMaxForwardedForHops) among the ones
// trusted proxies appended makes the header ignored (forwarded_for_ignored): the answer is
// `peer`.
ClientAddress client_address(const boost::asio::ip::address& peer, std::string_view forwarded_for,
                             const TrustedProxies& trusted);

}  // namespace http
