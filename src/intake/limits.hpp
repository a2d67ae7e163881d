#pragma once
// Limits of the life of a submission. Each has a safe default and the reason for it; the
// settings (token age, rate limits) can be changed in sealpost.toml within the bounds checked
// by app/config, the constants cannot.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace intake {

// The upper bound of [forms] token_max_age_seconds. Used nonces are kept until this long
// after their token was issued, whatever the current setting, so raising the setting later
// cannot make an old, already-used token valid again.
inline constexpr std::int64_t kMaxTokenAgeSeconds = 7 * 86400;

// The body limit for a post to a form that is unknown or disabled: it gets a 404, and no
// more than this is read.
inline constexpr std::size_t kUnknownFormBodyBytes = 1024;

// Random bytes of a CSP nonce (base64url in the page).
inline constexpr std::size_t kCspNonceBytes = 16;

struct Limits {
  // How long a form page may stay open before its token expires ([forms]).
  std::chrono::seconds token_max_age{4 * 3600};
  // Token buckets for form posts ([rate_limit]): per client address (IPv6 by /64), and per
  // form for all clients together. Counted before anything is parsed.
  double per_ip_per_minute = 30;
  double per_ip_burst = 10;
  double per_form_per_minute = 6000;
  double per_form_burst = 600;
};

}  // namespace intake
