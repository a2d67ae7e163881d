#pragma once
// Token-bucket rate limits keyed by a string (client address, form id). In memory, per
// node: a restart forgets them, which is acceptable for abuse control (F9). Nodes sharing a
// PostgreSQL database keep the same budgets there too (intake/post_limits.hpp).

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.hpp"

namespace core {

class RateLimiter {
 public:
  // `burst` requests at once, refilled at `per_minute`. `max_keys` bounds memory against a
  // flood of distinct addresses: the least recently seen key is forgotten first.
  RateLimiter(const core::Clock& clock, double per_minute, double burst,
              std::size_t max_keys = 100'000);

  // Takes one token for `key`; false when the bucket is empty (answer 429).
  bool allow(std::string_view key);

 private:
  struct Bucket {
    double tokens;
    core::TimePoint updated;
    std::list<std::string>::iterator lru;
  };
  const core::Clock& clock_;
  double per_second_;
  double burst_;
  std::size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::list<std::string> lru_;  // front = most recently used
};

}  // namespace core
