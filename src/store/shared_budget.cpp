#include "store/shared_budget.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "core/log.hpp"

namespace store {

SharedBudget::SharedBudget(RateLimitStore& store, const core::Clock& clock, std::string prefix,
                           double per_minute, double burst)
    : store_(store), clock_(clock), prefix_(std::move(prefix)) {
  // The settings' bounds (app/config.cpp) keep per_minute within [1, 10^7], so the interval
  // is at least 6 microseconds; a burst below one request would refuse everything.
  interval_ = std::max<std::int64_t>(1, std::llround(60e6 / std::max(per_minute, 1e-6)));
  tolerance_ = std::max(interval_,
                        static_cast<std::int64_t>(std::llround(std::max(burst, 1.0) * interval_)));
}

core::Result<bool> SharedBudget::take_blocking(const std::string& key) {
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::microseconds>(clock_.now().time_since_epoch())
          .count();
  maybe_prune_blocking(now);
  return store_.take_blocking(prefix_ + key, now, interval_, tolerance_);
}

void SharedBudget::maybe_prune_blocking(std::int64_t now_us) {
  const std::int64_t now = now_us / 1'000'000;
  auto last = last_prune_.load();
  if (now - last < kPruneEverySeconds || !last_prune_.compare_exchange_strong(last, now)) return;
  // A bucket whose tat has passed is full: deleting it changes no answer. A failure only
  // leaves rows for the next prune.
  if (auto pruned = store_.prune_buckets_blocking(now_us); !pruned) {
    spdlog::warn("event=rate_limit_prune_failed detail={}",
                 core::log_safe(pruned.error().detail()));
  }
}

}  // namespace store
