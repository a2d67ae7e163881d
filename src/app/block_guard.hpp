#pragma once
// Trust: untrusted network input (the requests it refuses); the blocks come from the store.
//
// Blocking abusive clients (F10): the block list every node keeps in memory, reloaded from
// the store when the config generation changes (a `sealpost block add|remove` on any node
// or host reaches every node within a second), and the automatic rule that blocks an
// address after repeated abuse for a while.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "app/abuse_count.hpp"
#include "app/abuse_limits.hpp"
#include "audit/auditor.hpp"
#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "http/block_list.hpp"
#include "http/router.hpp"
#include "store/store.hpp"

namespace boost::asio {
class io_context;
}

namespace app {

// The blocks in the store as the list a node enforces. A row whose CIDR no longer parses
// (edited by hand) is skipped and logged, never a reason to stop serving.
core::Result<std::vector<http::BlockList::Entry>> load_blocks_blocking(store::Store& store);

// Wires the block list into `router` (every route registered so far answers 403 with a
// plain page to a blocked address, logging `event=blocked`), keeps it current from the
// store, and applies the automatic rule. Construct after the routes, keep for the life of
// the server. `abuse` counts the refusals (app/budgets.hpp picks it by the store's engine;
// nullptr: this node's memory).
class BlockGuard {
 public:
  BlockGuard(boost::asio::io_context& io, store::Store& store, core::BlockingPool& pool,
             audit::Auditor& auditor, const core::Clock& clock, core::Rng& rng, AbuseLimits limits,
             std::shared_ptr<AbuseCounter> abuse = nullptr);
  // Loads the blocks now (blocking; before the listeners open) and wraps the routes.
  core::Status install_blocking(http::Router& router);
  void start();
  void stop();

  static constexpr auto kPollInterval = std::chrono::milliseconds(500);

 private:
  struct Impl;
  struct Poller;
  std::shared_ptr<Impl> impl_;
  std::shared_ptr<Poller> poller_;
};

}  // namespace app
