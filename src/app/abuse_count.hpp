#pragma once
// Trust: untrusted network input (the client addresses counted).
//
// The counts behind automatic blocks (F10, `[abuse]`): refusals per client address, and
// when an address has had `auto_block_events` of them within `window`, it is due a block.
// One interface, two implementations; app/budgets.hpp picks one by the store's engine:
//   - MemoryAbuseCounter: this process's AbuseWatch (exact sliding window). SQLite means
//     one node, whose memory sees every refusal.
//   - StoreAbuseCounter: counts in the database (store::RateLimitStore windows), so refusals
//     spread over N nodes on one PostgreSQL add up to one count.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "app/abuse_limits.hpp"
#include "core/blocking_pool.hpp"
#include "store/store.hpp"

namespace app {

// Counts refusals per address and decides when one is due a block. Memory is bounded:
// at most kMaxAddresses addresses, the oldest forgotten first. Thread-safe.
class AbuseWatch {
 public:
  static constexpr std::size_t kMaxAddresses = 100'000;
  explicit AbuseWatch(AbuseLimits limits) : limits_(limits) {}
  // One refusal from `address` at `now`; true exactly once per burst, when it reaches the
  // threshold.
  bool note(const std::string& address, std::int64_t now);

 private:
  AbuseLimits limits_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<std::int64_t>> recent_;
  std::deque<std::string> order_;  // insertion order, for forgetting
};

class AbuseCounter {
 public:
  using Due = std::function<void()>;
  virtual ~AbuseCounter() = default;
  // One refusal of `address` at `now` (unix seconds). `due` runs once per burst, when the
  // count reaches the threshold: on the caller's thread before note returns, or on a
  // blocking-pool thread. Never blocks the caller.
  virtual void note(const std::string& address, std::int64_t now, Due due) = 0;
};

class MemoryAbuseCounter final : public AbuseCounter {
 public:
  explicit MemoryAbuseCounter(AbuseLimits limits) : watch_(limits) {}
  void note(const std::string& address, std::int64_t now, Due due) override;

 private:
  AbuseWatch watch_;
};

// The count is a sliding-window estimate over two fixed windows of `window` seconds (the
// current one's count, plus the one before's weighted by how much of it still lies within
// `window` of now, rounded up), one upsert per refusal. It assumes the previous window's
// refusals were spread evenly: refusals late in it count for a little less, early ones for
// a little more, than AbuseWatch's exact count would (by less than one refusal for a burst
// shorter than window / threshold seconds). When the database cannot count (or the
// pool is full), the refusal is counted in this node's memory instead: during an outage
// abuse is still blocked, as on a single node.
class StoreAbuseCounter final : public AbuseCounter,
                                public std::enable_shared_from_this<StoreAbuseCounter> {
 public:
  // Keep it in a shared_ptr: a count in flight on the pool holds it.
  StoreAbuseCounter(store::RateLimitStore& store, core::BlockingPool& pool, AbuseLimits limits);
  void note(const std::string& address, std::int64_t now, Due due) override;
  // The counting itself (blocks on the database): true when this refusal makes it due.
  bool note_blocking(const std::string& address, std::int64_t now);

  // Windows that can no longer count are deleted at most this often per node.
  static constexpr std::int64_t kPruneEverySeconds = 60;

 private:
  void maybe_prune_blocking(std::int64_t now);

  store::RateLimitStore& store_;
  core::BlockingPool& pool_;
  const AbuseLimits limits_;
  AbuseWatch local_;
  std::atomic<std::int64_t> last_prune_{0};
};

}  // namespace app
