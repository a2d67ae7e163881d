#pragma once
// Trust: parse_policy() and parse_record() take untrusted text (an HTTPS body from the
// recipient domain's policy host, a TXT record from DNS).
//
// MTA-STS (RFC 8461) as data: the `_mta-sts.<domain>` TXT record, which announces a policy
// and its id, and the policy file served at https://mta-sts.<domain>/.well-known/mta-sts.txt.
// Pure parsers, bounded by limits.hpp, fuzzed (tests/fuzz/fuzz_mta_sts.cpp). What a
// delivery does with a policy is lookup.hpp's and the queue's business.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mail::mtasts {

// RFC 8461 §5: enforce (deliver only to matching MX hosts over verified TLS), testing
// (deliver as without a policy, report what would have failed), none (the domain withdrew
// its policy).
enum class Mode { enforce, testing, none };
std::string_view mode_name(Mode mode);
std::optional<Mode> parse_mode(std::string_view text);

struct Policy {
  Mode mode = Mode::none;
  // "mx.example.com" or "*.example.com" (one more label), lower case, as the file lists
  // them (duplicates kept). Empty only for mode none.
  std::vector<std::string> mx;
  std::int64_t max_age = 0;  // seconds, 0 to kMaxMaxAgeSeconds
  friend bool operator==(const Policy&, const Policy&) = default;
};

// The policy file (RFC 8461 §3.2): "key: value" lines ending in LF or CRLF (the last one may
// lack it; blank lines at the very end are tolerated). Keys are case-sensitive. Required:
// version (exactly "STSv1"), mode, max_age (decimal, at most 10 digits and
// kMaxMaxAgeSeconds), and one or more mx unless mode is none. An mx value is a host name in
// A-labels, optionally "*." and a name. A key other than mx given twice: the first counts
// (§3.2). Unknown keys are ignored, but they must still be well-formed lines. At most
// kMaxPolicyBytes, kMaxMxPatterns. Anything else is invalid_input (or too_large) saying what.
core::Result<Policy> parse_policy(std::string_view text);

// The policy as a file: "version: STSv1", mode, one line per mx, max_age, LF line ends. What
// TLS-RPT reports as the policy-string (RFC 8460 §4.4) and what parse_policy reads back.
std::string policy_text(const Policy& policy);

// The TXT record (RFC 8461 §3.1): "v=STSv1" first, then ";"-separated fields, optional
// whitespace around each ';', a final ';' allowed. id is 1 to 32 letters and digits, and
// required; the first id counts. Other fields are extensions (name=value) and are ignored.
struct Record {
  std::string id;
  friend bool operator==(const Record&, const Record&) = default;
};
core::Result<Record> parse_record(std::string_view text);

// From every TXT string at `_mta-sts.<domain>`: those that begin with "v=STSv1" and a ';'
// (after optional whitespace) are MTA-STS records, the others are ignored (§3.1). No such
// record: nullopt. Exactly one: it, parsed. More than one, or one that does not parse:
// invalid_input (the domain is then treated as having no policy available).
core::Result<std::optional<Record>> find_record(const std::vector<std::string>& texts);

}  // namespace mail::mtasts
