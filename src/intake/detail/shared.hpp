#pragma once
// The state an Intake shares with its jobs (they may outlive a request). Private to
// src/intake/.

#include <memory>
#include <mutex>

#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "intake/catalog.hpp"
#include "intake/intake.hpp"
#include "intake/limits.hpp"
#include "intake/post_limits.hpp"
#include "store/store.hpp"

namespace intake {

struct Intake::Shared {
  Limits limits;
  bool file_drop;
  store::Store& store;
  core::BlockingPool& pool;
  const core::Clock& clock;
  core::Rng& rng;
  core::SecretBytes token_key;
  std::shared_ptr<PostLimits> post_limits;  // the rate limits of posts
  mutable std::mutex catalog_mutex;
  std::shared_ptr<const Catalog> catalog;

  Shared(Limits l, bool drop, store::Store& s, core::BlockingPool& p, const core::Clock& clk,
         core::Rng& r, core::SecretBytes key, std::shared_ptr<PostLimits> rate_limits)
      : limits(l),
        file_drop(drop),
        store(s),
        pool(p),
        clock(clk),
        rng(r),
        token_key(std::move(key)),
        post_limits(rate_limits ? std::move(rate_limits)
                                : std::make_shared<MemoryPostLimits>(clk, l)) {}

  std::shared_ptr<const Catalog> snapshot() const {
    std::lock_guard lock(catalog_mutex);
    return catalog;
  }
};

}  // namespace intake
