#pragma once
// One rate budget kept in the database (issue 7): a token bucket of `burst` requests refilled
// at `per_minute` for each key, spent once by every node on the database together. A thin
// layer over RateLimitStore's GCRA: the bucket's parameters in microseconds, the key's
// prefix (what is limited, so the budgets of one table never meet), and the pruning of
// buckets that are full again. Used by intake::StorePostLimits (form posts) and by the
// portal's credential checks. Blocks on the database: call it from the blocking pool.
// Trust: keys may be untrusted input (client addresses, form ids); the store keeps hashes.

#include <atomic>
#include <cstdint>
#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace store {

class SharedBudget {
 public:
  // per_minute and burst as the settings give them (a burst below one request is one).
  SharedBudget(RateLimitStore& store, const core::Clock& clock, std::string prefix,
               double per_minute, double burst);

  // Takes one request for `key`: true allowed, false the budget is spent; an error when the
  // database could not answer (the caller fails closed).
  core::Result<bool> take_blocking(const std::string& key);

  // Full buckets are deleted at most this often per budget, on the path of a take.
  static constexpr std::int64_t kPruneEverySeconds = 60;

 private:
  void maybe_prune_blocking(std::int64_t now_us);

  RateLimitStore& store_;
  const core::Clock& clock_;
  const std::string prefix_;
  std::int64_t interval_;   // microseconds per request (1 / rate)
  std::int64_t tolerance_;  // burst x interval
  std::atomic<std::int64_t> last_prune_{0};
};

}  // namespace store
