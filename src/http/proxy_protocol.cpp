// Trust: untrusted network input.
//
// SECURITY: every length comes from the peer; each is checked against what is actually in
// `data` and against kMaxProxyHeaderBytes before it is used. Nothing is copied but the
// source address.
#include "http/proxy_protocol.hpp"

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

namespace http {
namespace {

constexpr std::uint8_t kVersion2 = 0x2;
constexpr std::uint8_t kCommandLocal = 0x0;
constexpr std::uint8_t kCommandProxy = 0x1;
constexpr std::uint8_t kFamilyInet = 0x1;
constexpr std::uint8_t kFamilyInet6 = 0x2;
constexpr std::uint8_t kTransportStream = 0x1;
// Source and destination address, then source and destination port.
constexpr std::size_t kInetBlock = 4 + 4 + 2 + 2;
constexpr std::size_t kInet6Block = 16 + 16 + 2 + 2;
constexpr std::size_t kTlvFixed = 3;  // type, 16-bit length

ProxyParse failed(ProxyError error) {
  ProxyParse out;
  out.status = ProxyParse::Status::error;
  out.error = error;
  return out;
}

std::uint16_t read_u16(std::span<const std::uint8_t> bytes) {
  return static_cast<std::uint16_t>((bytes[0] << 8) | bytes[1]);
}

bool starts_like(std::span<const std::uint8_t> data, std::span<const std::uint8_t> prefix) {
  const std::size_t n = std::min(data.size(), prefix.size());
  return std::equal(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n), prefix.begin());
}

// A port as v1 writes it: 1 to 5 decimal digits, no sign, at most 65535.
std::optional<std::uint16_t> v1_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// "PROXY TCP4 192.0.2.1 192.0.2.2 51000 443\r\n": single spaces, nothing else.
ProxyParse parse_v1(std::span<const std::uint8_t> data) {
  ProxyParse out;
  const std::size_t window = std::min(data.size(), kMaxProxyV1Bytes);
  const std::string_view text(reinterpret_cast<const char*>(data.data()), window);
  const auto end = text.find("\r\n");
  if (end == std::string_view::npos) {
    if (window >= kMaxProxyV1Bytes) return failed(ProxyError::bad_v1_line);
    return out;  // incomplete
  }
  std::string_view line = text.substr(kProxyV1Prefix.size(), end - kProxyV1Prefix.size());
  out.header.length = end + 2;
  out.header.version = 1;
  out.status = ProxyParse::Status::header;
  // UNKNOWN: the spec says to ignore the rest of the line and use the real endpoints.
  if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) return out;

  std::vector<std::string_view> words;
  while (words.size() < 6) {
    const auto space = line.find(' ');
    words.push_back(line.substr(0, space));
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  if (words.size() != 5 || (words[0] != "TCP4" && words[0] != "TCP6")) {
    return failed(ProxyError::bad_v1_line);
  }
  boost::system::error_code ec;
  const bool v4 = words[0] == "TCP4";
  boost::asio::ip::address source;
  for (int i : {1, 2}) {
    // inet_pton's spellings only (the characters are checked first: no scope ids).
    if (words[i].empty() ||
        words[i].find_first_not_of(v4 ? "0123456789." : "0123456789abcdefABCDEF:.") !=
            std::string_view::npos) {
      return failed(ProxyError::bad_v1_line);
    }
    boost::asio::ip::address a;
    if (v4) {
      a = boost::asio::ip::make_address_v4(std::string(words[i]), ec);
    } else {
      a = boost::asio::ip::make_address_v6(std::string(words[i]), ec);
    }
    if (ec) return failed(ProxyError::bad_v1_line);
    if (i == 1) source = a;
  }
  const auto source_port = v1_port(words[3]);
  if (!source_port || !v1_port(words[4])) return failed(ProxyError::bad_v1_line);
  out.header.command = ProxyCommand::proxy;
  out.header.source = source;
  out.header.source_port = *source_port;
  return out;
}

}  // namespace

std::string_view proxy_error_text(ProxyError error) {
  switch (error) {
    case ProxyError::bad_version:
      return "unsupported PROXY protocol version";
    case ProxyError::bad_command:
      return "unknown PROXY command";
    case ProxyError::unsupported_family:
      return "PROXY address family is not IPv4 or IPv6";
    case ProxyError::unsupported_transport:
      return "PROXY transport is not TCP";
    case ProxyError::too_large:
      return "PROXY header is too large";
    case ProxyError::short_address:
      return "PROXY header too short for its address family";
    case ProxyError::bad_tlv:
      return "PROXY header has a malformed TLV";
    case ProxyError::bad_v1_line:
      return "malformed PROXY v1 line";
  }
  return "invalid PROXY header";
}

ProxyParse parse_proxy_header(std::span<const std::uint8_t> data) {
  ProxyParse out;
  const std::span<const std::uint8_t> v1(
      reinterpret_cast<const std::uint8_t*>(kProxyV1Prefix.data()), kProxyV1Prefix.size());
  if (!data.empty() && starts_like(data, v1)) {
    if (data.size() < v1.size()) return out;  // incomplete
    return parse_v1(data);
  }
  if (!starts_like(data, kProxyV2Signature)) {
    out.status = ProxyParse::Status::not_proxy;
    return out;
  }
  if (data.size() < kProxyV2FixedBytes) return out;  // incomplete

  const std::uint8_t version_command = data[12];
  if ((version_command >> 4) != kVersion2) return failed(ProxyError::bad_version);
  const std::uint8_t command = version_command & 0x0F;
  if (command != kCommandLocal && command != kCommandProxy) {
    return failed(ProxyError::bad_command);
  }
  const std::size_t length = read_u16(data.subspan(14, 2));
  const std::size_t total = kProxyV2FixedBytes + length;
  if (total > kMaxProxyHeaderBytes) return failed(ProxyError::too_large);
  if (data.size() < total) return out;  // incomplete

  out.header.length = total;
  if (command == kCommandLocal) {
    // Health checks from the proxy itself: the spec says to ignore the address block (and
    // the TLVs with it) and use the connection's real endpoints.
    out.header.command = ProxyCommand::local;
    out.status = ProxyParse::Status::header;
    return out;
  }

  const std::uint8_t family = data[13] >> 4;
  const std::uint8_t transport = data[13] & 0x0F;
  std::size_t block = 0;
  if (family == kFamilyInet) {
    block = kInetBlock;
  } else if (family == kFamilyInet6) {
    block = kInet6Block;
  } else {
    // UNSPEC, UNIX or unknown: there is no client IP to take, and a trusted proxy that
    // sends these for a web client is misconfigured. Refuse rather than guess.
    return failed(ProxyError::unsupported_family);
  }
  if (transport != kTransportStream) return failed(ProxyError::unsupported_transport);
  if (length < block) return failed(ProxyError::short_address);

  const auto addresses = data.subspan(kProxyV2FixedBytes, block);
  if (family == kFamilyInet) {
    boost::asio::ip::address_v4::bytes_type bytes;
    std::copy_n(addresses.begin(), bytes.size(), bytes.begin());
    out.header.source = boost::asio::ip::address_v4(bytes);
    out.header.source_port = read_u16(addresses.subspan(8, 2));
  } else {
    boost::asio::ip::address_v6::bytes_type bytes;
    std::copy_n(addresses.begin(), bytes.size(), bytes.begin());
    out.header.source = boost::asio::ip::address_v6(bytes);
    out.header.source_port = read_u16(addresses.subspan(32, 2));
  }

  // TLVs (ALPN, authority, CRC32C, SSL details, ...): none changes whom the connection is
  // from, so each is skipped, but only once it is known to lie wholly inside the header.
  auto tlvs = data.subspan(kProxyV2FixedBytes + block, length - block);
  while (!tlvs.empty()) {
    if (tlvs.size() < kTlvFixed) return failed(ProxyError::bad_tlv);
    const std::size_t value = read_u16(tlvs.subspan(1, 2));
    if (tlvs.size() - kTlvFixed < value) return failed(ProxyError::bad_tlv);
    tlvs = tlvs.subspan(kTlvFixed + value);
  }
  out.header.command = ProxyCommand::proxy;
  out.status = ProxyParse::Status::header;
  return out;
}

}  // namespace http
