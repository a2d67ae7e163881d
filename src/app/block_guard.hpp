#pragma once
// Trust: untrusted network input (the requests it refuses); the blocks come from the store.
//
// Blocking abusive clients (F10): the block list every node keeps in memory, reloaded from
// the store when the config generation changes (a `sealpost block add|remove` on any node
// or host reaches every node within a second), and the automatic rule that blocks an
// address after repeated abuse for a while.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

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

// Counts refusals per address and decides when one is due a block. Memory is bounded:
// at most kMaxAddresses addresses, the oldest forgotten first. Thread-safe.
class AbuseWatch {
 public:
  static constexpr std::size_t kMaxAddresses = 100'000;
  explicit AbuseWatch(AbuseLimits limits) : limits_(limits) {}
  // One refusal from `address` at `now`; true exactly once per burst, when it reaches the
  // threshold.
  bool note(const std::string& address, std::int64_t now);

 private:
  AbuseLimits limits_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<std::int64_t>> recent_;
  std::deque<std::string> order_;  // insertion order, for forgetting
};

// Wires the block list into `router` (every route registered so far answers 403 with a
// plain page to a blocked address, logging `event=blocked`), keeps it current from the
// store, and applies the automatic rule. Construct after the routes, keep for the life of
// the server.
class BlockGuard {
 public:
  BlockGuard(boost::asio::io_context& io, store::Store& store, core::BlockingPool& pool,
             audit::Auditor& auditor, const core::Clock& clock, core::Rng& rng, AbuseLimits limits);
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
