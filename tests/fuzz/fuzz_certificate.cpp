// libFuzzer target: crypto::parse_certificate, the parser of recipients' X.509
// certificates (`sealpost cert import`) and of the stored ones read back at each send.
// Trust: the input is untrusted bytes (a file an administrator was sent). Besides "no
// crash, no sanitizer report", it checks what the parser promises: oversize input is
// refused, an accepted certificate has a 64-hex-digit id, lower-case printable addresses
// and a PEM form that parses again to the same certificate; and the recipient check never
// crashes on it (without a CA: only the pinned path can pass).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/clock.hpp"
#include "crypto/smime.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// A fixed `now`, so that a run does not depend on the day (validity).
const core::TimePoint kNow{std::chrono::seconds(1'800'000'000)};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto cert = crypto::parse_certificate(std::span(data, size));
  if (size == 0 || size > crypto::kMaxCertFileBytes) check(!cert.has_value());
  if (!cert) {
    check(!cert.error().public_text().empty());
    return 0;
  }
  check(cert->sha256.size() == 64);
  check(cert->pem.starts_with("-----BEGIN CERTIFICATE-----"));
  check(cert->subject.size() <= 256);
  for (const auto& e : cert->emails) {
    check(e.find('@') != std::string::npos);
    for (char c : e) check(c > 0x20 && c < 0x7F && !(c >= 'A' && c <= 'Z'));
  }
  const auto again = crypto::parse_certificate(
      std::span(reinterpret_cast<const std::uint8_t*>(cert->pem.data()), cert->pem.size()));
  check(again.has_value() && again->sha256 == cert->sha256);
  // No CA bundle: unpinned must fail; pinned may pass or fail, but must not crash.
  check(!crypto::check_recipient_cert(*cert, "", false, kNow));
  (void)crypto::check_recipient_cert(*cert, "", true, kNow);
  return 0;
}
