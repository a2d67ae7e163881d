#pragma once
// The lockout's shared counts (auth::SharedFailureCounts) in the store's FailureStore, for
// several nodes on one database: the portal's sign-in lockout, and, under a `prefix` of its
// own so that the counts stay apart, the HTTP API's key lockout. A database error is logged
// and answered with nullopt: the lockout then goes by this node's counts alone for as long
// as the database is away (a sign-in or an API request needs the database anyway, so that
// is short). Rows whose last failure is older than the lockout's forget_after count for
// nothing; the portal's housekeeping prunes them, whatever their prefix.

#include <string>

#include "auth/lockout.hpp"
#include "store/store.hpp"

namespace portal {

class StoreFailureCounts final : public auth::SharedFailureCounts {
 public:
  explicit StoreFailureCounts(store::FailureStore& failures, std::string prefix = {});
  std::optional<Count> add_blocking(const std::string& key, core::TimePoint now,
                                    core::TimePoint forget_before) override;
  std::optional<Count> get_blocking(const std::string& key) override;
  void clear_blocking(const std::string& key) override;

 private:
  store::FailureStore& failures_;
  const std::string prefix_;
};

}  // namespace portal
