#pragma once
// The rate limits of form posts ([rate_limit], F9): a budget per client address (IPv6 by
// its /64) and one per form, taken before anything of the post is parsed. One interface,
// two implementations; app/ picks one by the store's engine (store_setup.hpp):
//   - MemoryPostLimits: token buckets in this process. SQLite means one node (the database
//     is a local file), so its memory is the whole budget.
//   - StorePostLimits: the same budgets in the database (store::RateLimitStore, GCRA), so N
//     nodes on one PostgreSQL spend one budget, not N. The node's own buckets still answer
//     first: a flood from one address is refused without a database round trip.
// Trust: untrusted network input (the client address and the form id of the URL are keys).

#include <functional>
#include <memory>
#include <string>

#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "core/rate_limiter.hpp"
#include "intake/limits.hpp"
#include "store/shared_budget.hpp"
#include "store/store.hpp"

namespace intake {

class PostLimits {
 public:
  enum class Verdict {
    allowed,
    per_ip,       // the client address's budget is spent: 429
    per_form,     // the form's budget is spent: 429
    unavailable,  // the shared budget could not be read (database down): 503
    overloaded,   // the blocking pool is full: 503
  };
  using Done = std::function<void(Verdict)>;

  virtual ~PostLimits() = default;
  // Takes one post to `form_id` from `address_key` (the client address as rate_limit_key
  // gives it): from the address's budget first, then, only if that allows it, from the
  // form's (one address's flood must not spend everyone's form budget). `done` runs exactly
  // once: on the caller's thread before take returns, or on a blocking-pool thread.
  virtual void take(const std::string& address_key, const std::string& form_id, Done done) = 0;
};

// The per-client key: an IPv4 address as is (IPv4-mapped IPv6 unmapped), an IPv6 address by
// its /64, since one client commonly holds a whole /64 and could otherwise start afresh with
// every address. Anything else (not an address) as is.
std::string rate_limit_key(const std::string& remote);

class MemoryPostLimits final : public PostLimits {
 public:
  MemoryPostLimits(const core::Clock& clock, const Limits& limits);
  void take(const std::string& address_key, const std::string& form_id, Done done) override;
  // The same, answered at once.
  Verdict take_now(const std::string& address_key, const std::string& form_id);

 private:
  core::RateLimiter per_ip_;
  core::RateLimiter per_form_;
};

class StorePostLimits final : public PostLimits,
                              public std::enable_shared_from_this<StorePostLimits> {
 public:
  // Keep it in a shared_ptr: a take in flight on the pool holds it.
  StorePostLimits(store::RateLimitStore& store, core::BlockingPool& pool, const core::Clock& clock,
                  const Limits& limits);
  // This node's buckets first, at once; then, on the blocking pool, the shared ones. A
  // database error is `unavailable` (the post gets 503, fail closed): the post could not be
  // stored either, and allowing everything while the database is unwell would let a flood
  // through to encryption unchecked.
  void take(const std::string& address_key, const std::string& form_id, Done done) override;
  // The shared part alone (blocks on the database).
  Verdict take_shared_blocking(const std::string& address_key, const std::string& form_id);

 private:
  store::SharedBudget per_ip_shared_;
  store::SharedBudget per_form_shared_;
  core::BlockingPool& pool_;
  MemoryPostLimits local_;
};

}  // namespace intake
