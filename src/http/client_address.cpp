// Trust: X-Forwarded-For is untrusted network input; trusted_proxies is administrator
// configuration.
#include "http/client_address.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <optional>

namespace http {
namespace {

namespace ip = boost::asio::ip;

// An IP address in its one textual form: no scope id (fe80::1%eth0 names an interface of
// ours, not a client), no port, IPv6 optionally in brackets.
std::optional<ip::address> parse_address(std::string_view text) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    if (text.find(':') == std::string_view::npos) return std::nullopt;  // [192.0.2.1]
  }
  if (text.empty() || text.size() > 45 || text.find('%') != std::string_view::npos) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto address = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return address;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <std::size_t N>
bool prefix_equal(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                  unsigned prefix) {
  const unsigned whole = prefix / 8;
  for (unsigned i = 0; i < whole; ++i) {
    if (a[i] != b[i]) return false;
  }
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

template <std::size_t N>
bool host_bits_clear(const std::array<unsigned char, N>& a, unsigned prefix) {
  for (unsigned bit = prefix; bit < N * 8; ++bit) {
    if (a[bit / 8] & (0x80 >> (bit % 8))) return false;
  }
  return true;
}

}  // namespace

ip::address canonical(const ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  return address;
}

core::Result<Cidr> Cidr::parse(std::string_view text) {
  const auto invalid = [&] {
    return core::fail(
        core::ErrorKind::invalid_input,
        fmt::format("\"{}\" is not a CIDR (like 10.0.0.0/8 or 2001:db8::/32)", text.substr(0, 64)));
  };
  const auto slash = text.find('/');
  auto address = parse_address(text.substr(0, slash));
  if (!address || text.substr(0, slash).front() == '[') return invalid();
  const unsigned width = address->is_v4() ? 32 : 128;
  unsigned prefix = width;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const char* end = digits.data() + digits.size();
    auto [ptr, ec] = std::from_chars(digits.data(), end, prefix);
    if (digits.empty() || digits.size() > 3 || ec != std::errc() || ptr != end || prefix > width) {
      return invalid();
    }
  }
  const bool clear = address->is_v4() ? host_bits_clear(address->to_v4().to_bytes(), prefix)
                                      : host_bits_clear(address->to_v6().to_bytes(), prefix);
  if (!clear) {
    return core::fail(core::ErrorKind::invalid_input,
                      fmt::format("\"{}\" has host bits set (a network is written with them "
                                  "zero, e.g. 10.0.0.0/8; one host as 10.0.0.1/32)",
                                  text.substr(0, 64)));
  }
  // ::ffff:10.0.0.0/104 is 10.0.0.0/8: match it against the canonical (IPv4) form.
  if (address->is_v6() && address->to_v6().is_v4_mapped() && prefix >= 96) {
    return Cidr(canonical(*address), prefix - 96);
  }
  return Cidr(*address, prefix);
}

bool Cidr::contains(const ip::address& raw) const {
  const ip::address address = canonical(raw);
  if (address.is_v4() != network_.is_v4()) return false;
  if (address.is_v4()) {
    return prefix_equal(address.to_v4().to_bytes(), network_.to_v4().to_bytes(), prefix_);
  }
  return prefix_equal(address.to_v6().to_bytes(), network_.to_v6().to_bytes(), prefix_);
}

std::string Cidr::to_string() const { return fmt::format("{}/{}", network_.to_string(), prefix_); }

bool TrustedProxies::contains(const ip::address& address) const {
  for (const auto& network : networks_) {
    if (network.contains(address)) return true;
  }
  return false;
}

ClientAddress client_address(const ip::address& peer, std::string_view forwarded_for,
                             const TrustedProxies& trusted) {
  ClientAddress out{canonical(peer)};
  if (forwarded_for.empty() || !trusted.contains(out.address)) return out;
  // From the right: each entry was appended by the hop after it, so the right-most one
  // that is not a trusted proxy is the last address anyone we trust vouched for.
  std::string_view rest = forwarded_for;
  std::optional<ip::address> leftmost;
  for (std::size_t hops = 0; hops < kMaxForwardedForHops; ++hops) {
    const auto comma = rest.rfind(',');
    const std::string_view entry =
        trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    auto hop = parse_address(entry);
    if (!hop) break;
    if (!trusted.contains(*hop)) {
      out.address = canonical(*hop);
      out.from_forwarded_for = true;
      return out;
    }
    leftmost = canonical(*hop);
    if (comma == std::string_view::npos) {
      // Every hop is a trusted proxy: a request from inside; the first one is the client.
      out.address = *leftmost;
      out.from_forwarded_for = true;
      return out;
    }
    rest = rest.substr(0, comma);
  }
  out.forwarded_for_ignored = true;
  return out;
}

}  // namespace http
