#pragma once
// Trust: untrusted network input.
//
// The PROXY protocol (haproxy.org/download/2.6/doc/proxy-protocol.txt): a load balancer
// that forwards TCP tells us whom the connection is really from. Version 2 is the binary
// header HAProxy sends with `send-proxy-v2`; version 1, the text line of `send-proxy`, is
// understood too. Pure: bytes in, a typed result out; the
// server decides whether the peer may send one at all (trusted_proxies).

#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace http {

// The 12 bytes every v2 header starts with. They cannot begin a TLS record (0x16) or an
// HTTP request line, so a connection that starts with them is unambiguous.
inline constexpr std::uint8_t kProxyV2Signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                       0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
// Signature, version/command, family/transport, 16-bit length.
inline constexpr std::size_t kProxyV2FixedBytes = 16;
// Largest whole header we accept. HAProxy sends 28 bytes for IPv4 and 52 for IPv6; the
// TLVs it can add (ALPN, authority <= 255, unique id <= 128, SSL details, CRC32C) stay well
// under this. The length field allows 64 KiB, which we must not let a peer make us buffer.
inline constexpr std::size_t kMaxProxyHeaderBytes = 2048;

// Version 1: "PROXY TCP4 src dst sport dport\r\n" (or TCP6, or UNKNOWN ...), at most
// 107 bytes with the CRLF (the spec's own bound).
inline constexpr std::string_view kProxyV1Prefix = "PROXY ";
inline constexpr std::size_t kMaxProxyV1Bytes = 107;

// `local`: the proxy's own connection (v2 LOCAL, or v1 UNKNOWN): use the real endpoints.
enum class ProxyCommand { local, proxy };

struct ProxyHeader {
  ProxyCommand command = ProxyCommand::local;
  // The original client (PROXY over TCP/IPv4 or TCP/IPv6). Empty for LOCAL (health checks
  // from the proxy itself): the connection's own endpoints apply.
  std::optional<boost::asio::ip::address> source;
  std::uint16_t source_port = 0;
  std::size_t length = 0;  // bytes the header occupies at the start of the input
  int version = 2;
};

enum class ProxyError {
  bad_version,            // version nibble is not 2
  bad_command,            // neither LOCAL nor PROXY
  unsupported_family,     // PROXY over UNSPEC, UNIX, or an unknown family
  unsupported_transport,  // not STREAM (TCP)
  too_large,              // declared length beyond kMaxProxyHeaderBytes
  short_address,          // length too small for the family's address block
  bad_tlv,                // a TLV runs past the end of the header
  bad_v1_line,            // a version 1 line that is not exactly what the spec allows
};

// A fixed, reviewed text for logs (never includes input bytes).
std::string_view proxy_error_text(ProxyError error);

struct ProxyParse {
  enum class Status {
    incomplete,  // a prefix of a header (or empty): read more, up to kMaxProxyHeaderBytes
    not_proxy,   // starts with neither the v2 signature nor "PROXY "
    header,      // a whole, valid header: `header`
    error,       // starts like a header but is not one we accept: `error`
  };
  Status status = Status::incomplete;
  ProxyHeader header;
  ProxyError error = ProxyError::bad_version;
};

// Parses the start of a connection. Reads at most kMaxProxyHeaderBytes of `data`; bytes after
// the header (the TLS ClientHello, the HTTP request) are left to the caller.
ProxyParse parse_proxy_header(std::span<const std::uint8_t> data);

}  // namespace http
