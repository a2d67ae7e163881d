#pragma once
// Settings of the DNS resolver ([mail] in sealpost.toml, parsed in app/). Checked by
// validate() at startup, so a bad value stops the server with one clear line.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "mail/dns/limits.hpp"

namespace mail::dns {

// Debian's copy of the root zone's trust anchor (package dns-root-data).
inline constexpr std::string_view kDefaultTrustAnchorFile = "/usr/share/dns/root.key";

struct ResolverOptions {
  // The recursive resolver to forward every query to: "IP", "IP:PORT", "[IPv6]:PORT" or
  // unbound's own "IP@PORT". Unset: the nameservers of /etc/resolv.conf (and, if it lists
  // none, libunbound resolves from the root itself).
  std::optional<std::string> resolver;
  // DS or DNSKEY records in zone-file form. "" turns DNSSEC validation off: every answer is
  // then `insecure` and DANE never applies.
  std::string trust_anchor_file{kDefaultTrustAnchorFile};
  // Whole time of one lookup; [kMinTimeout, kMaxTimeout].
  std::chrono::milliseconds timeout = kDefaultTimeout;
};

// Checks the options: the address parses, the timeout is within bounds. (Whether the trust
// anchor file is readable and well formed is checked by Resolver::create.)
core::Status validate(const ResolverOptions& options);

// "IP", "IP:PORT", "[IPv6]", "[IPv6]:PORT", "IPv6" or "IP@PORT" -> "IP" or "IP@PORT", the
// form libunbound's ub_ctx_set_fwd takes. Port 1..65535.
core::Result<std::string> to_unbound_address(std::string_view resolver);

}  // namespace mail::dns
