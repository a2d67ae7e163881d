#pragma once
// M9, TLS-only forwarding: an address that is to receive sealpost's notices (a form's
// `notify`) is accepted only if its domain does TLS. The probe is what delivery would do
// under policy `verify`, without sending anything: the MX (DNSSEC-validated when the
// resolver validates; a null MX, a missing domain or a bogus answer fails), then, per MX
// host in preference order, its addresses, its TLSA records when the chain is secure (DANE
// then decides; MTA-STS is not consulted: a certificate verified for the MX host is what
// its enforce mode asks too), and an SMTP session that connects, says EHLO, starts TLS and
// verifies the certificate (CA against `ca_file`, or DANE), says EHLO again, and QUITs.
// The first host that passes is the answer.
//
// The probe reports the state of the receiver now; delivery checks again at every send
// (policy `verify` for notices), so a domain that stops doing TLS later still never gets a
// notice in the clear.

#include <cstdint>
#include <string>

#include "core/result.hpp"
#include "mail/dns/resolver.hpp"
#include "mail/smtp/limits.hpp"

namespace mail::queue {

struct ProbeOptions {
  std::string ehlo_name;
  std::uint16_t remote_port = 25;
  std::string ca_file;  // "" = the system store
  smtp::Timeouts timeouts;
};

struct TlsProbe {
  std::string mx_host;
  std::string ip;
  std::string version;   // "TLSv1.3"
  std::string cipher;    // "TLS_AES_256_GCM_SHA384"
  std::string verified;  // "ca", "dane_ee", "dane_ta"
};

// Blocking (its own io_context): for CLI commands. Fails (unavailable) with a public text
// an operator can act on: which host failed and why (no TLS offered, certificate not
// trusted, name mismatch, DNSSEC, no address, ...).
core::Result<TlsProbe> probe_tls_blocking(dns::Resolver& resolver, const ProbeOptions& options,
                                          const std::string& domain);

}  // namespace mail::queue
