#pragma once
// The budgets of abuse control a node keeps (issue 7), chosen in this one place by the
// store's engine. SQLite means one node (the database is a local file): its memory sees
// every request, so the budgets stay there. PostgreSQL means maybe several nodes behind a
// load balancer: the budgets live in the database, so N nodes spend each one once, not N
// times — the form-post rate limits and the counts behind automatic blocks
// (store::RateLimitStore), and the HTTP API's authentication lockout (store::FailureStore,
// like the portal's sign-in lockout).

#include <memory>

#include "app/abuse_count.hpp"
#include "app/abuse_limits.hpp"
#include "auth/lockout.hpp"
#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "intake/limits.hpp"
#include "intake/post_limits.hpp"
#include "store/store.hpp"

namespace app {

struct Budgets {
  std::shared_ptr<intake::PostLimits> posts;
  std::shared_ptr<AbuseCounter> abuse;
  // nullptr: the API's lockout counts in this node's memory only.
  std::unique_ptr<auth::SharedFailureCounts> api_failures;
  bool shared = false;  // in the database
};

// Everything passed must outlive the budgets.
Budgets make_budgets(store::Store& store, core::BlockingPool& pool, const core::Clock& clock,
                     const intake::Limits& posts, const AbuseLimits& abuse);

// The API lockout's counts in the store's FailureStore, apart from the portal's (each key
// is prefixed): the API and the portal count an address's failures separately, as they do
// in memory. A database error is logged and answered with nullopt: the lockout then goes by
// this node's counts (an API request needs the database anyway, so that is short). Rows
// older than the lockout's forget_after are pruned at most every 5 minutes, on the way.
class StoreFailureCounts final : public auth::SharedFailureCounts {
 public:
  StoreFailureCounts(store::FailureStore& failures, std::string prefix);
  std::optional<Count> add_blocking(const std::string& key, core::TimePoint now,
                                    core::TimePoint forget_before) override;
  std::optional<Count> get_blocking(const std::string& key) override;
  void clear_blocking(const std::string& key) override;

 private:
  store::FailureStore& failures_;
  const std::string prefix_;
  std::atomic<std::int64_t> last_prune_{0};
};

}  // namespace app
