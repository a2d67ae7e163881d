// libFuzzer target: http::parse_proxy_header on the first bytes of a connection.
// Trust: the input is untrusted network bytes. Besides "no crash, no sanitizer report", it
// checks what the parser promises: it never claims more bytes than it was given or than
// kMaxProxyHeaderBytes, a header parses the same from exactly its own bytes and is
// incomplete one byte short, an address comes only with PROXY, and not_proxy means the
// input starts like neither version.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <span>
#include <string_view>

#include "http/proxy_protocol.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using Status = http::ProxyParse::Status;
  const std::span<const std::uint8_t> input(data, size);
  const auto r = http::parse_proxy_header(input);
  const std::size_t signature = std::min(size, std::size(http::kProxyV2Signature));
  const bool v2 = std::equal(data, data + signature, std::begin(http::kProxyV2Signature));
  const std::size_t prefix = std::min(size, http::kProxyV1Prefix.size());
  const bool v1 = size > 0 && std::equal(data, data + prefix, http::kProxyV1Prefix.begin());
  switch (r.status) {
    case Status::not_proxy:
      check(!v1 && !v2);
      break;
    case Status::incomplete:
      check(v1 || v2);
      check(size < (v1 ? http::kMaxProxyV1Bytes : http::kMaxProxyHeaderBytes));
      break;
    case Status::error:
      check(v1 ? size >= http::kProxyV1Prefix.size() : v2 && size >= http::kProxyV2FixedBytes);
      check(!http::proxy_error_text(r.error).empty());
      break;
    case Status::header: {
      const std::size_t n = r.header.length;
      check(v1 ? r.header.version == 1 : v2 && r.header.version == 2);
      check(n <= size && n <= (v1 ? http::kMaxProxyV1Bytes : http::kMaxProxyHeaderBytes));
      check(n >= (v1 ? http::kProxyV1Prefix.size() + 2 : http::kProxyV2FixedBytes));
      if (v1) check(data[n - 2] == '\r' && data[n - 1] == '\n');
      check(r.header.source.has_value() == (r.header.command == http::ProxyCommand::proxy));
      if (r.header.source && v2) check(n >= (r.header.source->is_v4() ? 28u : 52u));
      // The bytes after the header play no part in it.
      const auto exact = http::parse_proxy_header(input.first(n));
      check(exact.status == Status::header && exact.header.length == n &&
            exact.header.source == r.header.source &&
            exact.header.source_port == r.header.source_port);
      check(http::parse_proxy_header(input.first(n - 1)).status == Status::incomplete);
      break;
    }
  }
  return 0;
}
