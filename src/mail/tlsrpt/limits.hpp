#pragma once
// Bounds on what TLS-RPT reads from DNS and writes (RFC 8460).

#include <cstddef>

namespace mail::tlsrpt {

inline constexpr std::size_t kMaxRecordBytes = 2048;  // one _smtp._tls TXT record, joined
inline constexpr std::size_t kMaxUris = 8;            // rua destinations used
inline constexpr std::size_t kMaxUriBytes = 512;
// One report: at most this many failure-details entries per policy (the rest summed into
// the counts only), so a domain with many MX addresses cannot grow a report without bound.
inline constexpr std::size_t kMaxFailureDetails = 100;

}  // namespace mail::tlsrpt
