// libFuzzer target: crypto::parse_public_keys, the parser of the public keys staff upload
// in the portal and administrators import (`sealpost key import`).
// Trust: the input is untrusted bytes (a file a browser sent). Besides "no crash, no
// sanitizer report", it checks what the parser promises: oversize input is refused, a key
// it accepts has no secret part, a well-formed fingerprint and an armored form, and that
// armored form parses again to the same fingerprint.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/clock.hpp"
#include "crypto/openpgp.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// A fixed `now`, so that a run does not depend on the day (key expiry).
const core::TimePoint kNow{std::chrono::seconds(1'800'000'000)};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto keys = crypto::parse_public_keys(std::span(data, size), kNow);
  if (size == 0 || size > crypto::kMaxKeyFileBytes) check(!keys.has_value());
  if (!keys) {
    check(!keys.error().public_text().empty());
    return 0;
  }
  check(!keys->empty());
  for (const auto& key : *keys) {
    check(!key.info.has_secret);
    check(key.info.fingerprint.hex().size() == 40);
    check(key.armored.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    // (RNP may drop invalid parts on export, so a re-parse is allowed to refuse; it must
    // not turn into another key.)
    if (key.armored.size() > crypto::kMaxKeyFileBytes) continue;
    const auto again = crypto::parse_public_keys(
        std::span(reinterpret_cast<const std::uint8_t*>(key.armored.data()), key.armored.size()),
        kNow);
    if (again) check(!again->empty() && again->front().info.fingerprint == key.info.fingerprint);
  }
  return 0;
}
