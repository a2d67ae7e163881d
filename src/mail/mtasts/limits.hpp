#pragma once
// Limits of MTA-STS (RFC 8461): the parsers, the HTTPS fetch and the cache. Each says why.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace mail::mtasts {

// A policy file. RFC 8461 §3.3 suggests 64 KB as the most a sender reads; a real policy is a
// few hundred bytes. Reading stops here: a larger body is an error, never a truncated policy.
inline constexpr std::size_t kMaxPolicyBytes = 64 * 1024;
// The `_mta-sts` TXT record (its strings joined). "v=STSv1; id=<32 chars>;" is under 50
// bytes; 1 KiB leaves room for extensions and refuses anything that is not such a record.
inline constexpr std::size_t kMaxRecordBytes = 1024;
// RFC 8461 §3.1: an id is 1 to 32 letters and digits.
inline constexpr std::size_t kMaxIdBytes = 32;
// RFC 8461 §3.2: max_age is at most 31557600 seconds (a year).
inline constexpr std::int64_t kMaxMaxAgeSeconds = 31'557'600;
// mx patterns in one policy. Large providers list a handful; every pattern is stored in the
// cache row and compared with each MX host, so a policy with more is refused.
inline constexpr std::size_t kMaxMxPatterns = 100;
// Extension fields (unknown keys, ignored) in one policy or record: bounds the work a
// hostile file can cause beyond the size limit's.
inline constexpr std::size_t kMaxExtensions = 100;
// The HTTP response's status line and headers. A policy server sends a few hundred bytes.
inline constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
// The whole fetch (DNS for mta-sts.<domain>, connect, TLS, request, response) must finish in
// this time. RFC 8461 §3.3 suggests one minute at most; a delivery waits for the fetch while
// its lease runs, so we take half of that.
inline constexpr std::chrono::seconds kFetchTimeout{30};
// After a failed fetch, the same policy id of the same domain is not fetched again for this
// long (RFC 8461 §3.3: senders may rate-limit fetches); deliveries in between go on as the
// failed fetch left them (a fresh cached policy, or none).
inline constexpr std::chrono::seconds kRetryFailedFetch{300};
// A cached policy is fetched again ahead of its expiry once it is this old, or half its
// max_age if that comes first, when a delivery uses it (RFC 8461 §3.3: MTAs SHOULD
// proactively refresh cached policies before they expire, once a day suggested, so that an
// attacker who blocks the fetch at the moment of expiry finds a fresh cache): kept warm
// while mail flows to the domain.
inline constexpr std::chrono::seconds kRefreshAfter{86'400};

}  // namespace mail::mtasts
