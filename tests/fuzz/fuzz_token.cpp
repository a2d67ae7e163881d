// libFuzzer target: forms::parse_token and forms::verify_token with a fixed key.
// Trust: the input is untrusted network bytes (the _token field of a POST). Checks that a
// parsed token re-issues to the same claims, that verify agrees with parse, and that a
// token only verifies when its MAC is the one we would have made.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/secret.hpp"
#include "forms/token.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// The same key and clock as tests/fuzz/make_token_seeds.cpp, so the seeds carry valid MACs
// and the fuzzer starts past the MAC check.
constexpr std::string_view kKey = "sealpost-fuzz-key-0123456789abcdef";
constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::chrono::seconds kMaxAge{3600};

bool same_claims(const forms::TokenClaims& a, const forms::TokenClaims& b) {
  return a.form_id == b.form_id && a.form_version == b.form_version && a.issued_at == b.issued_at &&
         a.nonce == b.nonce;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const core::SecretBytes key(kKey);
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  const core::TimePoint now{std::chrono::seconds(kNow)};

  const auto parsed = forms::parse_token(token);
  const auto expected_form = parsed ? std::string_view(parsed->claims.form_id) : "intake";
  const forms::TokenCheck verdict = forms::verify_token(key, token, expected_form, now, kMaxAge);
  if (!parsed) {
    check(!verdict.ok && verdict.problem == forms::TokenProblem::malformed);
    return 0;
  }
  check(token.size() <= forms::kMaxTokenBytes);
  check(parsed->mac.size() == 32);
  if (verdict.ok) check(same_claims(verdict.claims, parsed->claims));

  // What we would issue for these claims parses back to them and verifies, at issue time.
  const std::string reissued = forms::issue_token(key, parsed->claims);
  const auto reparsed = forms::parse_token(reissued);
  check(reparsed.has_value() && same_claims(reparsed->claims, parsed->claims));
  check(reparsed->signed_part == parsed->signed_part);
  // (Only where a system_clock time point can hold issued_at: it counts nanoseconds, so
  // +-292 years around 1970. The server's clock is never outside that.)
  constexpr std::int64_t kClockRange = 9'000'000'000;
  if (parsed->claims.issued_at > -kClockRange && parsed->claims.issued_at < kClockRange) {
    const core::TimePoint at_issue{std::chrono::seconds(parsed->claims.issued_at)};
    check(forms::verify_token(key, reissued, parsed->claims.form_id, at_issue, kMaxAge).ok);
  }
  // A token verifies exactly when it carries that MAC (and its claims are in range).
  if (verdict.ok) check(reparsed->mac == parsed->mac);
  if (reparsed->mac != parsed->mac) check(!verdict.ok);
  // Another form's id never verifies.
  check(!forms::verify_token(key, token, "another-form", now, kMaxAge).ok ||
        parsed->claims.form_id == "another-form");
  return 0;
}
