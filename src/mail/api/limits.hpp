#pragma once
// Limits of the HTTP messages API. Each says why it is what it is.

#include <chrono>
#include <cstddef>

#include "mail/mime/limits.hpp"

namespace mail::api {

// The request body of POST /api/v1/messages, enforced by the HTTP layer before a byte of it
// is read (413). API messages are notifications and letters, not attachments: 1 MiB is far
// above them and bounds what one request makes the JSON parser build (a few times this).
inline constexpr std::size_t kMaxRequestBytes = 1024 * 1024;
// Recipients of one request: what one message may carry (To), mime::kMaxRecipients.
inline constexpr std::size_t kMaxRecipients = mime::kMaxRecipients;
// A message id in a URL: the queue's ids are 32 lower-case hex digits.
inline constexpr std::size_t kMessageIdChars = 32;
// A key's last use is written at most this often per key and node: a request costs a read,
// not a write, while `apikey list` still tells a live key from a dead one.
inline constexpr std::chrono::seconds kLastUsedResolution{60};
// Failed authentications from one client address that cost nothing; after one more, each
// attempt must wait (auth::Lockout's delay, 2 s doubling up to 15 min; 429 with
// Retry-After): a misconfigured client is told soon, a flood of guesses is slowed, and
// 256-bit secrets make guessing hopeless anyway.
inline constexpr int kFreeAuthFailures = 10;

}  // namespace mail::api
