// Trust: untrusted network input.
//
// SECURITY: every length comes from the peer; each is checked against what is actually in
// `data` and against kMaxProxyHeaderBytes before it is used. Nothing is copied but the
// source address.
#include "http/proxy_protocol.hpp"

#include <algorithm>

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
  }
  return "invalid PROXY header";
}

ProxyParse parse_proxy_header(std::span<const std::uint8_t> data) {
  ProxyParse out;
  const std::size_t signature = std::min(data.size(), std::size(kProxyV2Signature));
  if (!std::equal(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(signature),
                  std::begin(kProxyV2Signature))) {
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
