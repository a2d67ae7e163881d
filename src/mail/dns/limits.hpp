#pragma once
// Limits of mail::dns, each with its reason. Answers come from the network (through a
// resolver we may not run), so every count and size here is bounded before we keep it.

#include <chrono>
#include <cstddef>

namespace mail::dns {

// Records kept from one answer (MX, TXT, TLSA, A or AAAA). Real domains publish a handful
// (large providers: about a dozen TXT at the apex, five MX); more than this is treated as a
// malformed answer (servfail), not silently cut, so the caller defers instead of acting on
// part of an RRset.
inline constexpr std::size_t kMaxRecordsPerAnswer = 64;

// One TXT record after its character-strings are joined (RFC 7208 3.3). SPF is limited to
// 512 bytes of answer in practice and a 4096-bit DKIM key is about 800 characters; 8 KiB
// leaves room for both without letting one record take 64 KiB.
inline constexpr std::size_t kMaxTxtBytes = 8192;

// TLSA certificate association data. SHA2-512 (matching type 2) is 64 bytes; full
// certificates or SPKIs (matching type 0) are a few KiB at most.
inline constexpr std::size_t kMaxTlsaDataBytes = 8192;

// A domain name in wire form (RFC 1035 3.1): 255 bytes including the length octets; a
// label is at most 63 bytes.
inline constexpr std::size_t kMaxNameWireBytes = 255;
inline constexpr std::size_t kMaxLabelBytes = 63;
// In text (no trailing dot): 253 characters.
inline constexpr std::size_t kMaxNameTextBytes = 253;

// Whole time one lookup may take (libunbound retries inside it). Mail delivery retries a
// deferred message later, so a slow resolver should cost a deferral, not a stuck delivery.
// 10 s by default; at least 100 ms (tests use short ones against a silent port), at most
// 120 s (libunbound's own give-up point is about that).
inline constexpr std::chrono::milliseconds kDefaultTimeout{10'000};
inline constexpr std::chrono::milliseconds kMinTimeout{100};
inline constexpr std::chrono::milliseconds kMaxTimeout{120'000};

// Lookups in flight at once per Resolver: each holds a libunbound query and a timer. Beyond
// this a lookup is answered servfail at once (the caller defers), so a burst of
// destinations cannot grow memory without bound.
inline constexpr std::size_t kMaxQueriesInFlight = 4096;

}  // namespace mail::dns
