#include "core/rate_limiter.hpp"

#include <algorithm>

namespace core {

RateLimiter::RateLimiter(const core::Clock& clock, double per_minute, double burst,
                         std::size_t max_keys)
    : clock_(clock), per_second_(per_minute / 60.0), burst_(burst), max_keys_(max_keys) {}

bool RateLimiter::allow(std::string_view key) {
  auto now = clock_.now();
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_ && !lru_.empty()) {
      buckets_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.emplace_front(key);
    it = buckets_.emplace(std::string(key), Bucket{burst_, now, lru_.begin()}).first;
  } else {
    double elapsed = std::chrono::duration<double>(now - it->second.updated).count();
    it->second.tokens = std::min(burst_, it->second.tokens + std::max(0.0, elapsed) * per_second_);
    it->second.updated = now;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  if (it->second.tokens < 1.0) return false;
  it->second.tokens -= 1.0;
  return true;
}

}  // namespace core
