#include "http/proxy_protocol.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Bytes = std::vector<std::uint8_t>;
using Status = http::ProxyParse::Status;

// A v2 header: signature, version/command byte, family/transport byte, then `body` (its
// length is computed unless `length` is given).
Bytes header(std::uint8_t version_command, std::uint8_t family, const Bytes& body,
             int length = -1) {
  Bytes out(std::begin(http::kProxyV2Signature), std::end(http::kProxyV2Signature));
  out.push_back(version_command);
  out.push_back(family);
  const auto n = static_cast<std::size_t>(length < 0 ? static_cast<int>(body.size()) : length);
  out.push_back(static_cast<std::uint8_t>(n >> 8));
  out.push_back(static_cast<std::uint8_t>(n & 0xFF));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// 203.0.113.7:51000 -> 192.0.2.1:443
Bytes inet_block() { return {203, 0, 113, 7, 192, 0, 2, 1, 0xC7, 0x38, 0x01, 0xBB}; }

// 2001:db8::5:51001 -> 2001:db8::1:443
Bytes inet6_block() {
  Bytes b(36, 0);
  b[0] = 0x20, b[1] = 0x01, b[2] = 0x0d, b[3] = 0xb8, b[15] = 0x05;
  b[16] = 0x20, b[17] = 0x01, b[18] = 0x0d, b[19] = 0xb8, b[31] = 0x01;
  b[32] = 0xC7, b[33] = 0x39, b[34] = 0x01, b[35] = 0xBB;
  return b;
}

Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(ProxyProtocol, ParsesIpv4) {
  const Bytes tls = {0x16, 0x03, 0x01};  // what follows: the ClientHello, left alone
  const auto r = http::parse_proxy_header(header(0x21, 0x11, inet_block()) + tls);
  ASSERT_EQ(r.status, Status::header);
  EXPECT_EQ(r.header.command, http::ProxyCommand::proxy);
  ASSERT_TRUE(r.header.source);
  EXPECT_EQ(r.header.source->to_string(), "203.0.113.7");
  EXPECT_EQ(r.header.source_port, 51000);
  EXPECT_EQ(r.header.length, 16u + 12u);
}

TEST(ProxyProtocol, ParsesIpv6) {
  const auto r = http::parse_proxy_header(header(0x21, 0x21, inet6_block()));
  ASSERT_EQ(r.status, Status::header);
  ASSERT_TRUE(r.header.source);
  EXPECT_EQ(r.header.source->to_string(), "2001:db8::5");
  EXPECT_EQ(r.header.source_port, 51001);
  EXPECT_EQ(r.header.length, 16u + 36u);
}

TEST(ProxyProtocol, LocalHasNoSourceAndSkipsItsBlock) {
  // HAProxy's health checks: LOCAL, family UNSPEC, usually no block; any block is skipped.
  auto r = http::parse_proxy_header(header(0x20, 0x00, {}));
  ASSERT_EQ(r.status, Status::header);
  EXPECT_EQ(r.header.command, http::ProxyCommand::local);
  EXPECT_FALSE(r.header.source);
  EXPECT_EQ(r.header.length, 16u);
  r = http::parse_proxy_header(header(0x20, 0x11, inet_block()));
  ASSERT_EQ(r.status, Status::header);
  EXPECT_FALSE(r.header.source);
  EXPECT_EQ(r.header.length, 28u);
}

TEST(ProxyProtocol, EveryTruncationIsIncomplete) {
  const Bytes whole = header(0x21, 0x11, inet_block() + Bytes{0x04, 0x00, 0x01, 0xAA});
  for (std::size_t n = 0; n < whole.size(); ++n) {
    const auto r = http::parse_proxy_header(std::span(whole.data(), n));
    EXPECT_EQ(r.status, Status::incomplete) << n;
  }
  EXPECT_EQ(http::parse_proxy_header(whole).status, Status::header);
}

TEST(ProxyProtocol, WrongSignatureIsNotProxy) {
  EXPECT_EQ(http::parse_proxy_header(Bytes{0x16, 0x03, 0x01, 0x02, 0x00}).status,
            Status::not_proxy);  // a TLS ClientHello
  const std::string get = "GET / HTTP/1.1\r\n";
  EXPECT_EQ(http::parse_proxy_header(Bytes(get.begin(), get.end())).status, Status::not_proxy);
  const std::string post = "POST /f/intake HTTP/1.1\r\n";  // shares v1's first letter
  EXPECT_EQ(http::parse_proxy_header(Bytes(post.begin(), post.end())).status, Status::not_proxy);
  // The signature differs only in its last byte.
  Bytes almost = header(0x21, 0x11, inet_block());
  almost[11] = 0x0B;
  EXPECT_EQ(http::parse_proxy_header(almost).status, Status::not_proxy);
  // A prefix that matches so far is not decided yet.
  EXPECT_EQ(http::parse_proxy_header(Bytes{0x0D, 0x0A, 0x0D}).status, Status::incomplete);
}

TEST(ProxyProtocol, WrongVersionAndCommand) {
  auto r = http::parse_proxy_header(header(0x11, 0x11, inet_block()));
  ASSERT_EQ(r.status, Status::error);
  EXPECT_EQ(r.error, http::ProxyError::bad_version);
  r = http::parse_proxy_header(header(0x31, 0x11, inet_block()));
  EXPECT_EQ(r.error, http::ProxyError::bad_version);
  r = http::parse_proxy_header(header(0x22, 0x11, inet_block()));
  ASSERT_EQ(r.status, Status::error);
  EXPECT_EQ(r.error, http::ProxyError::bad_command);
  // Decided from the fixed part alone, before the body has arrived.
  Bytes fixed = header(0x12, 0x11, {}, 12);
  EXPECT_EQ(http::parse_proxy_header(fixed).status, Status::error);
}

TEST(ProxyProtocol, UnsupportedFamiliesAndTransports) {
  for (std::uint8_t family : {0x00, 0x31, 0x41, 0xF1}) {
    const auto r = http::parse_proxy_header(header(0x21, family, Bytes(216, 0)));
    ASSERT_EQ(r.status, Status::error) << int(family);
    EXPECT_EQ(r.error, http::ProxyError::unsupported_family);
  }
  for (std::uint8_t family : {0x10, 0x12, 0x22}) {
    const auto r = http::parse_proxy_header(header(0x21, family, inet6_block()));
    ASSERT_EQ(r.status, Status::error) << int(family);
    EXPECT_EQ(r.error, http::ProxyError::unsupported_transport);
  }
}

TEST(ProxyProtocol, ShortAddressBlock) {
  Bytes block = inet_block();
  block.pop_back();
  auto r = http::parse_proxy_header(header(0x21, 0x11, block));
  ASSERT_EQ(r.status, Status::error);
  EXPECT_EQ(r.error, http::ProxyError::short_address);
  r = http::parse_proxy_header(header(0x21, 0x21, inet_block()));  // IPv6 with a v4 block
  EXPECT_EQ(r.error, http::ProxyError::short_address);
}

TEST(ProxyProtocol, Oversize) {
  // Judged from the length field, without waiting for (or buffering) the bytes it claims.
  auto r = http::parse_proxy_header(header(0x21, 0x11, inet_block(), 0xFFFF));
  ASSERT_EQ(r.status, Status::error);
  EXPECT_EQ(r.error, http::ProxyError::too_large);
  const std::size_t largest = http::kMaxProxyHeaderBytes - http::kProxyV2FixedBytes;
  Bytes tlv = {0x04, static_cast<std::uint8_t>((largest - 15) >> 8),
               static_cast<std::uint8_t>((largest - 15) & 0xFF)};
  Bytes body = inet_block() + tlv + Bytes(largest - 15, 0x41);
  ASSERT_EQ(body.size(), largest);
  r = http::parse_proxy_header(header(0x21, 0x11, body));
  EXPECT_EQ(r.status, Status::header);
  EXPECT_EQ(r.header.length, http::kMaxProxyHeaderBytes);
  body.push_back(0);
  r = http::parse_proxy_header(header(0x21, 0x11, body));
  EXPECT_EQ(r.error, http::ProxyError::too_large);
}

TEST(ProxyProtocol, TlvsAreSkipped) {
  // ALPN "h2", authority "forms.example.org", a NOOP with an empty value, CRC32C.
  const Bytes tlvs = Bytes{0x01, 0x00, 0x02, 'h', '2'} +
                     Bytes{0x02, 0x00, 0x11, 'f', 'o', 'r', 'm', 's', '.', 'e',
                           'x',  'a',  'm',  'p', 'l', 'e', '.', 'o', 'r', 'g'} +
                     Bytes{0x04, 0x00, 0x00} + Bytes{0x03, 0x00, 0x04, 1, 2, 3, 4};
  const auto r = http::parse_proxy_header(header(0x21, 0x11, inet_block() + tlvs));
  ASSERT_EQ(r.status, Status::header);
  EXPECT_EQ(r.header.source->to_string(), "203.0.113.7");
  EXPECT_EQ(r.header.length, 16 + 12 + tlvs.size());
}

TEST(ProxyProtocol, MalformedTlvs) {
  // A TLV whose value runs past the header, and a stub of one or two bytes.
  for (const Bytes& tlv : {Bytes{0x01, 0x00, 0x05, 'h', '2'}, Bytes{0x01}, Bytes{0x01, 0x00}}) {
    const auto r = http::parse_proxy_header(header(0x21, 0x11, inet_block() + tlv));
    ASSERT_EQ(r.status, Status::error);
    EXPECT_EQ(r.error, http::ProxyError::bad_tlv);
    EXPECT_FALSE(http::proxy_error_text(r.error).empty());
  }
}

Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

TEST(ProxyProtocolV1, Tcp4AndTcp6) {
  auto r = http::parse_proxy_header(text("PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\r\n\x16"));
  ASSERT_EQ(r.status, Status::header);
  EXPECT_EQ(r.header.version, 1);
  EXPECT_EQ(r.header.command, http::ProxyCommand::proxy);
  EXPECT_EQ(r.header.source->to_string(), "203.0.113.7");
  EXPECT_EQ(r.header.source_port, 51000);
  EXPECT_EQ(r.header.length, 44u);
  r = http::parse_proxy_header(text("PROXY TCP6 2001:db8::5 2001:db8::1 65535 0\r\n"));
  ASSERT_EQ(r.status, Status::header);
  EXPECT_EQ(r.header.source->to_string(), "2001:db8::5");
  EXPECT_EQ(r.header.source_port, 65535);
}

TEST(ProxyProtocolV1, UnknownUsesTheRealEndpoints) {
  for (const char* line : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"}) {
    const auto r = http::parse_proxy_header(text(line));
    ASSERT_EQ(r.status, Status::header) << line;
    EXPECT_EQ(r.header.command, http::ProxyCommand::local);
    EXPECT_FALSE(r.header.source);
  }
}

TEST(ProxyProtocolV1, TruncatedIsIncompleteUntilTheLimit) {
  const std::string line = "PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\r\n";
  for (std::size_t n = 1; n < line.size(); ++n) {
    EXPECT_EQ(http::parse_proxy_header(text(line.substr(0, n))).status, Status::incomplete) << n;
  }
  // No CRLF within 107 bytes: not a v1 line, however it goes on.
  const std::string endless = "PROXY TCP4 " + std::string(200, '1');
  EXPECT_EQ(http::parse_proxy_header(text(endless.substr(0, 106))).status, Status::incomplete);
  const auto r = http::parse_proxy_header(text(endless.substr(0, 107)));
  ASSERT_EQ(r.status, Status::error);
  EXPECT_EQ(r.error, http::ProxyError::bad_v1_line);
}

TEST(ProxyProtocolV1, Malformed) {
  for (const char* line : {
           "PROXY TCP4 203.0.113.7 192.0.2.1 51000\r\n",           // a word short
           "PROXY TCP4 203.0.113.7 192.0.2.1 51000 443 x\r\n",     // a word long
           "PROXY TCP4  203.0.113.7 192.0.2.1 51000 443\r\n",      // double space
           "PROXY TCP4 2001:db8::5 192.0.2.1 51000 443\r\n",       // family mismatch
           "PROXY TCP6 203.0.113.7 2001:db8::1 51000 443\r\n",     // family mismatch
           "PROXY TCP6 fe80::1%eth0 2001:db8::1 51000 443\r\n",    // scope id
           "PROXY TCP4 203.0.113.7 192.0.2.1 65536 443\r\n",       // port too large
           "PROXY TCP4 203.0.113.7 192.0.2.1 -1 443\r\n",          // signed port
           "PROXY TCP4 203.0.113.7 192.0.2.1 +1 443\r\n",          // signed port
           "PROXY TCP4 203.0.113.7 192.0.2.1 000001 443\r\n",      // six digits
           "PROXY UDP4 203.0.113.7 192.0.2.1 51000 443\r\n",       // not TCP
           "PROXY tcp4 203.0.113.7 192.0.2.1 51000 443\r\n",       // case matters
           "PROXY TCP4 203.0.113.7 lb.example.org 51000 443\r\n",  // a name
           "PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\n",         // LF only
           "PROXY \r\n",
       }) {
    const auto r = http::parse_proxy_header(text(line));
    if (std::string_view(line).ends_with("443\n")) {
      EXPECT_EQ(r.status, Status::incomplete) << line;  // no CRLF yet
      continue;
    }
    ASSERT_EQ(r.status, Status::error) << line;
    EXPECT_EQ(r.error, http::ProxyError::bad_v1_line) << line;
  }
}

}  // namespace
