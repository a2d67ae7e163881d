#include "portal/failure_counts.hpp"

#include <spdlog/spdlog.h>

#include "core/log.hpp"

namespace portal {
namespace {

std::nullopt_t failed(const core::Error& error) {
  spdlog::error("event=lockout_shared_failed detail={}", core::log_safe(error.detail()));
  return std::nullopt;
}

auth::SharedFailureCounts::Count to_count(const store::FailureCount& c) {
  return {c.failures, core::TimePoint(std::chrono::seconds(c.last_failure))};
}

}  // namespace

StoreFailureCounts::StoreFailureCounts(store::FailureStore& failures, std::string prefix)
    : failures_(failures), prefix_(std::move(prefix)) {}

std::optional<auth::SharedFailureCounts::Count> StoreFailureCounts::add_blocking(
    const std::string& key, core::TimePoint now, core::TimePoint forget_before) {
  auto count = failures_.add_failure_blocking(prefix_ + key, core::unix_seconds(now),
                                              core::unix_seconds(forget_before));
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

}  // namespace portal
