#include "app/budgets.hpp"

#include "portal/limits.hpp"

namespace app {

Budgets make_budgets(store::Store& store, core::BlockingPool& pool, const core::Clock& clock,
                     const intake::Limits& posts, const AbuseLimits& abuse,
                     std::pair<double, double> submission_rate) {
  Budgets budgets;
  if (store.engine_name() == "postgresql") {
    budgets.posts =
        std::make_shared<intake::StorePostLimits>(store.rate_limits(), pool, clock, posts);
    budgets.abuse = std::make_shared<StoreAbuseCounter>(store.rate_limits(), pool, abuse);
    budgets.api_failures = std::make_unique<portal::StoreFailureCounts>(store.failures(), "api ");
    budgets.credential_checks = std::make_unique<store::SharedBudget>(
        store.rate_limits(), clock, "portal credential ", portal::kCredentialChecksPerMinute,
        portal::kCredentialChecksBurst);
    budgets.submissions =
        std::make_unique<store::SharedBudget>(store.rate_limits(), clock, "submission key ",
                                              submission_rate.first, submission_rate.second);
    budgets.shared = true;
  } else {
    budgets.posts = std::make_shared<intake::MemoryPostLimits>(clock, posts);
    budgets.abuse = std::make_shared<MemoryAbuseCounter>(abuse);
  }
  return budgets;
}

}  // namespace app
