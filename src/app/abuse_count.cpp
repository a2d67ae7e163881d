// Trust: untrusted network input (the client addresses counted).
#include "app/abuse_count.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/log.hpp"

namespace app {

bool AbuseWatch::note(const std::string& address, std::int64_t now) {
  if (limits_.auto_block_events <= 0) return false;
  const auto threshold = static_cast<std::size_t>(limits_.auto_block_events);
  std::lock_guard lock(mutex_);
  auto it = recent_.find(address);
  if (it == recent_.end()) {
    // Forget the oldest addresses first, so a flood of distinct addresses costs bounded
    // memory (each forgotten one loses its count, never gains a block).
    while (recent_.size() >= kMaxAddresses && !order_.empty()) {
      recent_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(address);
    it = recent_.emplace(address, std::deque<std::int64_t>{}).first;
  }
  auto& times = it->second;
  while (!times.empty() && now - times.front() >= limits_.window.count()) times.pop_front();
  times.push_back(now);
  if (times.size() < threshold) return false;
  // One block per burst: the count starts again (the block refuses the address meanwhile).
  times.clear();
  return true;
}

void MemoryAbuseCounter::note(const std::string& address, std::int64_t now, Due due) {
  if (watch_.note(address, now)) due();
}

StoreAbuseCounter::StoreAbuseCounter(store::RateLimitStore& store, core::BlockingPool& pool,
                                     AbuseLimits limits)
    : store_(store), pool_(pool), limits_(limits), local_(limits) {}

void StoreAbuseCounter::note(const std::string& address, std::int64_t now, Due due) {
  if (limits_.auto_block_events <= 0) return;
  auto self = shared_from_this();
  const bool posted = pool_.post([self, address, now, due] {
    if (self->note_blocking(address, now)) due();
  });
  if (posted) return;
  // The pool is full (a flood, most likely): this node's own count still sees it.
  if (local_.note(address, now)) due();
}

bool StoreAbuseCounter::note_blocking(const std::string& address, std::int64_t now) {
  if (limits_.auto_block_events <= 0) return false;
  const std::int64_t window = std::max<std::int64_t>(1, limits_.window.count());
  maybe_prune_blocking(now);
  const std::string key = "abuse " + address;
  auto counted = store_.count_event_blocking(key, now - now % window, window);
  if (!counted) {
    spdlog::error("event=abuse_count_failed detail={}", core::log_safe(counted.error().detail()));
    return local_.note(address, now);
  }
  // The estimate, times `window` to stay in integers: the current window's count, and the
  // part of the previous window that still lies within `window` of now. It is rounded up:
  // a quick burst that straddles two windows would otherwise count a fraction short (the
  // earlier window's part is weighted as if spread over all of it).
  const std::int64_t elapsed = std::clamp<std::int64_t>(now - counted->window_start, 0, window);
  const std::int64_t weighted = counted->previous * (window - elapsed) + counted->count * window;
  // ceil(weighted / window) >= events, i.e. weighted > (events - 1) x window.
  const std::int64_t below = std::int64_t{limits_.auto_block_events - 1} * window;
  // Due when this refusal crosses the threshold; past it, the block is on its way already.
  if (weighted <= below || weighted - window > below) return false;
  // One block per burst: the count starts again, as AbuseWatch's does. A failure leaves the
  // count over the threshold, which makes nobody due again until it has fallen below.
  if (auto cleared = store_.clear_events_blocking(key); !cleared) {
    spdlog::warn("event=abuse_count_failed detail={}", core::log_safe(cleared.error().detail()));
  }
  return true;
}

void StoreAbuseCounter::maybe_prune_blocking(std::int64_t now) {
  auto last = last_prune_.load();
  if (now - last < kPruneEverySeconds || !last_prune_.compare_exchange_strong(last, now)) return;
  // A count from before the previous window carries nothing into the estimate.
  const std::int64_t window = std::max<std::int64_t>(1, limits_.window.count());
  if (auto pruned = store_.prune_events_blocking(now - now % window - window); !pruned) {
    spdlog::warn("event=abuse_prune_failed detail={}", core::log_safe(pruned.error().detail()));
  }
}

}  // namespace app
