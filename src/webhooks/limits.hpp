#pragma once
// Limits and schedule of webhook deliveries (docs/OPERATIONS.md "Webhooks"). Each bounds
// what one slow or hostile endpoint can cost a node.

#include <chrono>
#include <cstddef>

namespace webhooks {

// One exchange (DNS, connect, TLS, request, response) ends after this: an endpoint that
// takes longer is retried later, and a node sends one delivery at a time.
inline constexpr std::chrono::seconds kRequestTimeout{10};
// The response is read only for its status; a body over this is a failure (never
// truncated), so an endpoint cannot make the node hold more.
inline constexpr std::size_t kMaxResponseBody = 16 * 1024;
inline constexpr std::size_t kMaxResponseHeader = 8 * 1024;
// A claimed delivery is this node's for this long: well over kRequestTimeout, so the lease
// never runs out during an exchange and another node never sends it at the same time.
inline constexpr std::chrono::seconds kLease{60};
// Deliveries claimed at once by a node.
inline constexpr std::size_t kClaimBatch = 8;
// Retries: exponential from kRetryFirst, doubling, at most kRetryMax apart, each delay
// jittered by up to +-20% so that many failed deliveries do not return at one instant;
// a delivery still failing kGiveUpAfter after its event, or after kMaxAttempts, is failed
// for good (recorded, shown by `webhook show`).
inline constexpr std::chrono::seconds kRetryFirst{5};
inline constexpr std::chrono::seconds kRetryMax{3600};
inline constexpr std::chrono::seconds kGiveUpAfter{24 * 3600};
inline constexpr int kMaxAttempts = 40;
// How long the sender sleeps when nothing is due (a new event on another node, or one
// committed by the group commit, is picked up within this).
inline constexpr std::chrono::seconds kIdlePoll{1};

}  // namespace webhooks
