#pragma once
// Trust: parses untrusted DNS data (the `_smtp._tls.<domain>` TXT record, RFC 8460 3).
//
// The TLS-RPT record of a recipient domain says where that domain wants our daily reports
// of how TLS went when we sent to it: `v=TLSRPTv1; rua=mailto:tlsrpt@example.net,
// https://reports.example.net/v1/tlsrpt`. Only mailto: and https: destinations exist.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mail::tlsrpt {

struct Destination {
  enum class Kind { mailto, https };
  Kind kind = Kind::mailto;
  std::string target;  // mailto: the address (percent-decoded); https: the whole URL
  // https: the URL's parts. The host is a DNS name (lower case; no user info, no IP
  // literal: the server's certificate is verified for this name), the path starts with "/"
  // and keeps any query; a fragment is dropped (never sent).
  std::string host;
  std::uint16_t port = 443;
  std::string path;
};

struct Record {
  std::vector<Destination> rua;  // 1..kMaxUris, in the record's order
};

// An https: URL as a report destination is parsed (the same strict rules serve the
// webhooks' URLs): nullopt for any other scheme or a malformed URL.
std::optional<Destination> parse_https_url(std::string_view url);

// One record (a TXT RRset's strings already joined). invalid_input when it is not a
// TLSRPTv1 record, is malformed, or names no usable destination (schemes other than
// mailto: and https: are skipped, as the RFC lets a reader do with what it cannot use).
core::Result<Record> parse_record(std::string_view text);

// The record among all TXT records at the name: those not starting with "v=TLSRPTv1" are
// not ours and are ignored; none left is no record (nullopt); more than one is invalid
// (RFC 8460 3: then no report is sent).
core::Result<std::optional<Record>> select_record(const std::vector<std::string>& txt);

}  // namespace mail::tlsrpt
