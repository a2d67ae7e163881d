#pragma once
// What a DNS lookup tells the mail code: an outcome, how far DNSSEC vouches for it, and the
// typed records. Pure value types (no libunbound here), so the record parsers and the
// answers they build are unit-tested and fuzzed without a resolver.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mail::dns {

// DNSSEC status of an answer (RFC 4033 4.3).
//  secure:   validated from a trust anchor (the data, or the proof that there is none).
//  insecure: provably unsigned (a delegation without DS), outside every trust anchor, or
//            validation is turned off (ResolverOptions::trust_anchor_file empty): then every
//            answer is insecure and DANE never applies.
//  bogus:    signatures failed to validate: possibly an attack. The answer's records are
//            dropped and its outcome is servfail; delivery must defer, never fall back.
enum class Security { secure, insecure, bogus };

// What the lookup found.
//  ok:       records of the asked type (possibly after CNAMEs).
//  nxdomain: the name does not exist.
//  nodata:   the name exists, with no record of this type.
//  servfail: the resolver failed, the answer was bogus or malformed: try again later.
//  timeout:  no answer within ResolverOptions::timeout: try again later.
enum class Outcome { ok, nxdomain, nodata, servfail, timeout };

std::string_view to_string(Security security);
std::string_view to_string(Outcome outcome);

// The worse of two: bogus over insecure over secure. An answer made of several lookups
// (MX then addresses, A and AAAA) is only as trustworthy as its weakest part.
Security combine(Security a, Security b);

struct AnswerInfo {
  Outcome outcome = Outcome::servfail;
  // Meaningful for ok, nxdomain and nodata. For servfail and timeout it is `insecure`
  // unless the failure was a validation failure (`bogus`); act on the outcome first.
  Security security = Security::insecure;
  // False when validation is off (no trust anchor): `security` is then always insecure.
  bool validated = false;
  // The name asked, lower case, no trailing dot.
  std::string qname;
  // The name the records belong to after libunbound followed CNAMEs (lower case, no
  // trailing dot); equal to qname when there was no alias.
  std::string canonical_name;
  // For logs only (escaped with core::log_safe before use): libunbound's reason for a
  // bogus answer, or why a lookup failed (malformed record, too many records, ...).
  std::string why_bogus;
  std::string detail;
  // Smallest TTL of the answer, seconds (0 when unknown).
  std::uint32_t ttl = 0;

  // The answer is usable and DNSSEC vouches for it (data or denial).
  bool authenticated() const {
    return security == Security::secure &&
           (outcome == Outcome::ok || outcome == Outcome::nxdomain || outcome == Outcome::nodata);
  }
};

// One MX record (RFC 5321 5.1). `host` is lower case without the trailing dot.
struct MxHost {
  std::uint16_t preference = 0;
  std::string host;
  friend bool operator==(const MxHost&, const MxHost&) = default;
};

struct MxAnswer {
  AnswerInfo info;
  // Sorted by preference, lowest first; equal preferences keep the answer's order (the
  // SMTP client shuffles them, RFC 5321 5.1).
  std::vector<MxHost> hosts;
  // RFC 7505: the domain's only MX is "0 .": it accepts no mail. `hosts` is then empty and
  // the outcome ok; delivery fails permanently.
  bool null_mx = false;
  // RFC 5321 5.1: the domain has no MX but has an address record, so it is its own mail
  // host: `hosts` holds {0, domain} and `info.security` combines the MX denial with the
  // address lookup.
  bool implicit_mx = false;
};

struct TxtAnswer {
  AnswerInfo info;
  // One string per TXT record: its character-strings joined with nothing in between
  // (RFC 7208 3.3, RFC 6376 3.6.2.2, RFC 7489 6.6.3, RFC 8461 3.1). Raw bytes.
  std::vector<std::string> texts;
};

// One TLSA record (RFC 6698 2.1). Values outside the registries are kept as they are: the
// DANE code ignores what it cannot use (RFC 7672 3.1.3).
struct TlsaRecord {
  std::uint8_t usage = 0;
  std::uint8_t selector = 0;
  std::uint8_t matching_type = 0;
  std::vector<std::uint8_t> data;
  friend bool operator==(const TlsaRecord&, const TlsaRecord&) = default;
};

struct TlsaAnswer {
  AnswerInfo info;
  std::vector<TlsaRecord> records;
};

// An answer as the resolver hands it over, before typing: the RDATA of each record of the
// final RRset, in answer order.
struct RawAnswer {
  AnswerInfo info;
  std::vector<std::vector<std::uint8_t>> rdata;
};

}  // namespace mail::dns
