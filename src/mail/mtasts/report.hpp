#pragma once
// What one delivery attempt under MTA-STS keeps for `mail show` and for TLS-RPT (RFC 8460):
// the policy's mode and id, and what failed as an RFC 8460 §4.3 result type. Pure.

#include <string>
#include <string_view>

#include "mail/mtasts/lookup.hpp"
#include "mail/smtp/outcome.hpp"
#include "mail/smtp/tls.hpp"

namespace mail::mtasts {

struct AttemptNote {
  std::string mode;     // "enforce", "testing", or "" (no MTA-STS policy applied)
  std::string id;       // the policy's id, or the TXT id of a policy that could not be had
  std::string failure;  // an RFC 8460 result type, or ""
  // Appended to the attempt's `verified` ("none (mta-sts testing)"), so that `mail show`
  // says a testing policy was in force and was not enforced.
  std::string verified_suffix;

  // The attempt's `verified` with the suffix: `base` as it is without one; with one, an
  // empty `base` (no TLS) reads "none".
  std::string verified(std::string base) const;
};

// The RFC 8460 result type of a TLS failure the SMTP session recorded (`tls.failure`):
// starttls-not-supported, certificate-expired, certificate-not-trusted,
// certificate-host-mismatch, or validation-failure for any other; "" when none.
std::string_view tls_result_type(const smtp::Status& status, const smtp::TlsRecord& tls);

// The note of an attempt that ended with `status` and `tls` at `mx_host` ("" when no MX host
// was reached). `no_mx_allowed`: every MX host was skipped because none matched the enforce
// policy (RFC 8461 §4.1). In testing mode, an MX host outside the patterns is noted as a
// validation-failure (it was used, as testing requires).
AttemptNote note_attempt(const Applied& sts, std::string_view mx_host, const smtp::Status& status,
                         const smtp::TlsRecord& tls, bool no_mx_allowed);

}  // namespace mail::mtasts
