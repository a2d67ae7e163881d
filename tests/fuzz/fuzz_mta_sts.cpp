// libFuzzer target: the MTA-STS parsers (src/mail/mtasts/policy.cpp): the policy file
// fetched over HTTPS and the `_mta-sts` TXT record. Trust: the input is untrusted (a policy
// host's body, a DNS answer). Besides "no crash, no sanitizer report", it checks what the
// parsers promise: the size limits hold; an accepted policy has a known mode, max_age in
// range, at most kMaxMxPatterns lower-case patterns (none only for mode none), and its
// canonical text parses back to the same policy; an accepted record's id is 1 to 32 letters
// and digits. The same bytes go to both parsers.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mail/mtasts/limits.hpp"
#include "mail/mtasts/policy.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mail::mtasts;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto policy = parse_policy(text);
  if (text.size() > kMaxPolicyBytes) check(!policy.has_value());
  if (policy) {
    check(policy->max_age >= 0 && policy->max_age <= kMaxMaxAgeSeconds);
    check(policy->mx.size() <= kMaxMxPatterns);
    check(policy->mode == Mode::none || !policy->mx.empty());
    for (const auto& mx : policy->mx) {
      check(!mx.empty() && mx.size() <= 255);
      for (char c : mx) check(!(c >= 'A' && c <= 'Z') && c != '\n' && c != '\r');
    }
    const auto again = parse_policy(policy_text(*policy));
    check(again.has_value());
    check(*again == *policy);
  }

  const auto record = parse_record(text);
  if (text.size() > kMaxRecordBytes) check(!record.has_value());
  if (record) {
    check(!record->id.empty() && record->id.size() <= kMaxIdBytes);
    for (char c : record->id) {
      check((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
    }
  }
  // find_record over the input as one TXT string: never more than parse_record accepts.
  const auto found = find_record({std::string(text)});
  if (found && *found) check(record.has_value() && **found == *record);
  return 0;
}
