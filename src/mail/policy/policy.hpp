#pragma once
// The TLS policy of one delivery: which protection a recipient domain gets, decided once per
// (message, domain) before any connection, from the message's own policy, the operator's
// per-domain policy, what DNS says (DANE), MTA-STS, and whether the domain was seen offering
// TLS before (M4). Pure: values in, a decision out (Postfix's smtp_tls_policy.c is the model:
// the lookup is its own unit, and it fails closed).
//
// Policies (M2, M3, M9), each a promise with a name:
//   none           TLS when offered, cleartext otherwise; never for a message marked PHI
//   opportunistic  the same, except that a domain once seen offering TLS is never sent
//                  cleartext again (M4): for it TLS is required
//   verify         TLS with a verified certificate, or wait (defer) and try again
//   exclusive      TLS, or the recipient is dropped (an audited policy outcome, no bounce)
//   forced         TLS, or the message goes by message-level encryption (issue 9: a sealed
//                  copy when the recipient has a key or certificate, mail/queue/fallback.hpp;
//                  otherwise the recipient waits in awaiting_fallback)
// Whatever the policy, TLS means TLS 1.2 or later with AEAD ciphers of at least 128 bits
// (mail/smtp enforces that), so "TLS" below always means that.
//
// Two policies combine dimension by dimension, the stricter winning each: the requirement
// (nothing < encrypted < verified) and what happens when it cannot be met (cleartext is
// allowed < defer < drop < fallback). So a `verify` domain and an `exclusive` message give
// "verified TLS, or drop". A usable DANE record (a DNSSEC-validated TLSA set) raises the
// requirement to verified by DANE, and wins over MTA-STS; an MTA-STS policy in `enforce`
// mode raises it to verified against the policy's MX patterns. A DNSSEC answer that is
// bogus never lowers anything: the delivery defers (4.7.5), it never falls back to an
// unverified connection.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mail::policy {

enum class Policy { none, opportunistic, verify, exclusive, forced };
std::string_view policy_name(Policy p);
// invalid_input naming the allowed values.
core::Result<Policy> parse_policy(std::string_view text);

// What the connection must achieve.
enum class Requirement { none, encrypted, verified };
// What happens to the recipient when it cannot.
enum class OnFailure { send_clear, defer, drop, fallback };
// How a verified connection is verified.
enum class Verification { none, ca, mta_sts, dane };
std::string_view verification_name(Verification v);

// What DANE lookups said for the MX host (mail/dns): no TLSA (or an insecure chain), a
// validated usable TLSA set, or a bogus answer.
enum class Dane { absent, usable, bogus };

// An MTA-STS policy in force for the domain (RFC 8461), already fetched and validated.
struct MtaSts {
  bool enforce = false;                  // mode=enforce (testing: report only)
  std::vector<std::string> mx_patterns;  // "mx.example.com", "*.example.com"
};

struct Inputs {
  Policy message = Policy::opportunistic;         // asked for the message
  std::optional<Policy> domain;                   // [mail.domains."D"] policy, if any
  Policy default_policy = Policy::opportunistic;  // [mail] default_policy
  bool phi = false;                               // the message is marked as carrying PHI
  bool seen_tls = false;                          // M4: the domain was seen offering TLS before
  Dane dane = Dane::absent;                       // for the MX host about to be tried
  std::optional<MtaSts> mta_sts;                  // for the recipient domain
};

struct Decision {
  Policy effective = Policy::opportunistic;  // the combined named policy (for records)
  Requirement requirement = Requirement::none;
  OnFailure on_failure = OnFailure::send_clear;
  // How the certificate is to be verified when requirement == verified.
  Verification verify_by = Verification::none;
  // MX names the certificate may carry (MTA-STS patterns; empty: the MX host name itself).
  std::vector<std::string> name_patterns;
  // Why, in words for `mail show` and logs ("domain policy verify; DANE usable").
  std::string reason;
};

// invalid_input when the combination is refused outright: policy `none` for a PHI message
// ("never for PHI"). A bogus DANE answer yields a decision whose requirement cannot be met
// (verified, by DANE, with no usable record): the caller defers with 4.7.5.
core::Result<Decision> decide(const Inputs& in);

// Whether `mx_host` matches one of the MTA-STS `patterns` (RFC 8461 §4.1: a leading "*."
// matches exactly one label; case-insensitive; a trailing dot ignored).
bool mx_matches(std::string_view mx_host, const std::vector<std::string>& patterns);

}  // namespace mail::policy
