#include "app/budgets.hpp"

#include <spdlog/spdlog.h>

#include "core/log.hpp"

namespace app {

namespace {

constexpr std::int64_t kPruneFailuresEverySeconds = 300;

std::nullopt_t failed(const core::Error& error) {
  spdlog::error("event=lockout_shared_failed detail={}", core::log_safe(error.detail()));
  return std::nullopt;
}

auth::SharedFailureCounts::Count to_count(const store::FailureCount& c) {
  return {c.failures, core::TimePoint(std::chrono::seconds(c.last_failure))};
}

}  // namespace

Budgets make_budgets(store::Store& store, core::BlockingPool& pool, const core::Clock& clock,
                     const intake::Limits& posts, const AbuseLimits& abuse) {
  Budgets budgets;
  if (store.engine_name() == "postgresql") {
    budgets.posts =
        std::make_shared<intake::StorePostLimits>(store.rate_limits(), pool, clock, posts);
    budgets.abuse = std::make_shared<StoreAbuseCounter>(store.rate_limits(), pool, abuse);
    budgets.api_failures = std::make_unique<StoreFailureCounts>(store.failures(), "api ");
    budgets.shared = true;
  } else {
    budgets.posts = std::make_shared<intake::MemoryPostLimits>(clock, posts);
    budgets.abuse = std::make_shared<MemoryAbuseCounter>(abuse);
  }
  return budgets;
}

StoreFailureCounts::StoreFailureCounts(store::FailureStore& failures, std::string prefix)
    : failures_(failures), prefix_(std::move(prefix)) {}

std::optional<auth::SharedFailureCounts::Count> StoreFailureCounts::add_blocking(
    const std::string& key, core::TimePoint now, core::TimePoint forget_before) {
  const std::int64_t at = core::unix_seconds(now);
  auto last = last_prune_.load();
  if (at - last >= kPruneFailuresEverySeconds && last_prune_.compare_exchange_strong(last, at)) {
    // A count last seen before forget_before restarts anyway: deleting it changes nothing.
    if (auto pruned = failures_.prune_failures_blocking(core::unix_seconds(forget_before));
        !pruned) {
      spdlog::warn("event=lockout_prune_failed detail={}", core::log_safe(pruned.error().detail()));
    }
  }
  auto count = failures_.add_failure_blocking(prefix_ + key, at, core::unix_seconds(forget_before));
  if (!count) return failed(count.error());
  return to_count(*count);
}

std::optional<auth::SharedFailureCounts::Count> StoreFailureCounts::get_blocking(
    const std::string& key) {
  auto count = failures_.failure_count_blocking(prefix_ + key);
  if (!count) return failed(count.error());
  if (!*count) return std::nullopt;
  return to_count(**count);
}

void StoreFailureCounts::clear_blocking(const std::string& key) {
  if (auto s = failures_.clear_failures_blocking(prefix_ + key); !s) failed(s.error());
}

}  // namespace app
