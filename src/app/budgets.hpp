#pragma once
// The budgets of abuse control a node keeps (issue 7), chosen in this one place by the
// store's engine. SQLite means one node (the database is a local file): its memory sees
// every request, so the budgets stay there. PostgreSQL means maybe several nodes behind a
// load balancer: the budgets live in the database, so N nodes spend each one once, not N
// times — the form-post rate limits and the counts behind automatic blocks
// (store::RateLimitStore), and the HTTP API's authentication lockout (store::FailureStore
// through portal::StoreFailureCounts, under the prefix "api ", beside the portal's sign-in
// lockout), and the portal's per-address budget of credential checks.

#include <memory>
#include <utility>

#include "app/abuse_count.hpp"
#include "app/abuse_limits.hpp"
#include "auth/lockout.hpp"
#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "intake/limits.hpp"
#include "intake/post_limits.hpp"
#include "mail/submission/limits.hpp"
#include "portal/failure_counts.hpp"
#include "store/shared_budget.hpp"
#include "store/store.hpp"

namespace app {

struct Budgets {
  std::shared_ptr<intake::PostLimits> posts;
  std::shared_ptr<AbuseCounter> abuse;
  // nullptr: the API's lockout counts in this node's memory only.
  std::unique_ptr<auth::SharedFailureCounts> api_failures;
  // nullptr: the portal's credential checks are counted in this node's memory only (the
  // portal's routes always count them there first).
  std::unique_ptr<store::SharedBudget> credential_checks;
  // nullptr: SMTP submission's messages per key are counted in this node's memory only
  // (the Submitter always counts them there first).
  std::unique_ptr<store::SharedBudget> submissions;
  bool shared = false;  // in the database
};

// Everything passed must outlive the budgets.
// `submission_rate`: [submission] messages_per_minute and messages_burst.
Budgets make_budgets(store::Store& store, core::BlockingPool& pool, const core::Clock& clock,
                     const intake::Limits& posts, const AbuseLimits& abuse,
                     std::pair<double, double> submission_rate = {
                         mail::submission::kMessagesPerMinutePerKey,
                         mail::submission::kMessagesBurstPerKey});

}  // namespace app
