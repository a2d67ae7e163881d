// Trust: untrusted network input (the requests it refuses); the blocks come from the store.
#include "app/block_guard.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "app/form_routes.hpp"
#include "core/log.hpp"

namespace app {

namespace net = boost::asio;

core::Result<std::vector<http::BlockList::Entry>> load_blocks_blocking(store::Store& store) {
  auto rows = store.blocks().list_blocks_blocking();
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<http::BlockList::Entry> entries;
  entries.reserve(rows->size());
  for (const auto& row : *rows) {
    auto network = http::Cidr::parse(row.cidr);
    if (!network) {
      spdlog::error("event=block_skipped detail={}", core::log_safe(network.error().public_text()));
      continue;
    }
    entries.push_back({*network, row.expires_at});
  }
  return entries;
}

// What the wrapped handlers share with the reloads. Holds no I/O object: the router keeps
// it alive, possibly after the io_context is gone.
struct BlockGuard::Impl : std::enable_shared_from_this<Impl> {
  Impl(store::Store& s, core::BlockingPool& p, audit::Auditor& a, const core::Clock& c,
       core::Rng& r, AbuseLimits l, std::shared_ptr<AbuseCounter> counter)
      : store(s),
        pool(p),
        auditor(a),
        clock(c),
        rng(r),
        limits(l),
        abuse(counter ? std::move(counter) : std::make_shared<MemoryAbuseCounter>(l)) {}

  void reload_if_changed_blocking() {
    auto current = store.forms().config_generation_blocking();
    if (!current) return;  // the database is away: keep enforcing what we have
    if (*current == generation.load()) return;
    auto entries = load_blocks_blocking(store);
    if (!entries) {
      spdlog::error("event=blocks_reload_failed detail={}",
                    core::log_safe(entries.error().detail()));
      return;
    }
    const std::size_t count = entries->size();
    list.replace(std::move(*entries));
    generation = *current;
    spdlog::info("event=blocks_reloaded generation={} blocks={}", *current, count);
  }

  void auto_block(const std::string& address) {
    auto network = http::Cidr::parse(address);  // one address: a network of one
    if (!network) return;
    const std::int64_t now = core::unix_seconds(clock.now());
    const std::int64_t until = now + limits.block_for.count();
    // Enforced here at once; the store makes it every node's within a second.
    list.add({*network, until});
    bool posted = pool.post([self = shared_from_this(), cidr = network->to_string(), address, now,
                             until] {
      store::BlockRecord block{cidr,
                               "automatic: " + std::to_string(self->limits.auto_block_events) +
                                   " refused requests within " +
                                   std::to_string(self->limits.window.count()) + " s",
                               now, until, "auto"};
      // The block and its audit entry in one unit of work: both or neither.
      auto stored = self->store.transact_blocking("auto block", [&](store::Store& tx) {
        if (auto put = tx.blocks().put_block_blocking(block); !put) return put;
        return self->auditor.record_in_blocking(tx, "system", "block.auto", "network:" + cidr,
                                                address, "ok");
      });
      if (!stored) {
        spdlog::error("event=block_auto_failed detail={}", core::log_safe(stored.error().detail()));
        return;
      }
      if (auto s = self->auditor.settle_blocking(); !s) {
        spdlog::error("event=audit_checkpoint_failed detail={}",
                      core::log_safe(s.error().detail()));
      }
    });
    spdlog::warn("event=block_auto source={} until={} stored={}", core::log_safe(address), until,
                 posted);
  }

  store::Store& store;
  core::BlockingPool& pool;
  audit::Auditor& auditor;
  const core::Clock& clock;
  core::Rng& rng;
  AbuseLimits limits;
  std::shared_ptr<AbuseCounter> abuse;
  http::BlockList list;
  std::atomic<std::int64_t> generation{-1};
};

// Checks the config generation every kPollInterval on the blocking pool (a one-row read;
// the list itself only on a change), like the catalog's reloader.
struct BlockGuard::Poller : std::enable_shared_from_this<Poller> {
  Poller(net::io_context& io, std::shared_ptr<Impl> i) : timer(net::make_strand(io)), impl(i) {}

  void schedule() {
    if (stopped) return;
    timer.expires_after(kPollInterval);
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopped) return;
      self->check();
      self->schedule();
    });
  }

  void check() {
    if (busy.exchange(true)) return;
    bool posted = impl->pool.post([self = shared_from_this()] {
      self->impl->reload_if_changed_blocking();
      self->busy = false;
    });
    if (!posted) busy = false;
  }

  net::steady_timer timer;
  std::shared_ptr<Impl> impl;
  std::atomic<bool> busy{false};
  std::atomic<bool> stopped{false};
};

BlockGuard::BlockGuard(net::io_context& io, store::Store& store, core::BlockingPool& pool,
                       audit::Auditor& auditor, const core::Clock& clock, core::Rng& rng,
                       AbuseLimits limits, std::shared_ptr<AbuseCounter> abuse)
    : impl_(std::make_shared<Impl>(store, pool, auditor, clock, rng, limits, std::move(abuse))),
      poller_(std::make_shared<Poller>(io, impl_)) {}

core::Status BlockGuard::install_blocking(http::Router& router) {
  auto generation = impl_->store.forms().config_generation_blocking();
  if (!generation) return core::fail(std::move(generation).error());
  auto entries = load_blocks_blocking(impl_->store);
  if (!entries) return core::fail(std::move(entries).error());
  impl_->list.replace(std::move(*entries));
  impl_->generation = *generation;

  router.wrap_handlers([impl = impl_](http::Handler inner) -> http::Handler {
    return [impl, inner = std::move(inner)](http::Request&& req, http::RequestContext&& ctx,
                                            http::Responder responder) {
      const std::int64_t now = core::unix_seconds(impl->clock.now());
      if (impl->list.blocked(ctx.remote_address, now)) {
        // No path, no query, no body: nothing the client sent beyond its address.
        spdlog::info("event=blocked source={} request_id={}", core::log_safe(ctx.remote_address),
                     ctx.request_id);
        return responder.send(status_page(403, ctx.request_id, impl->rng));
      }
      if (impl->limits.auto_block_events <= 0) {
        return inner(std::move(req), std::move(ctx), std::move(responder));
      }
      // Watch the answer: refusals of this address count toward an automatic block.
      const bool post_form = req.method() == http::bhttp::verb::post &&
                             std::string_view(req.target()).starts_with("/f/");
      const bool portal = std::string_view(req.target()).starts_with("/portal/");
      // The messages API: a failed authentication (401) or one delayed by its lockout (429).
      const bool api = std::string_view(req.target()).starts_with("/api/");
      if (!post_form && !portal && !api) {
        return inner(std::move(req), std::move(ctx), std::move(responder));
      }
      http::Responder watched(
          [impl, responder, post_form, api, address = ctx.remote_address](http::Response response) {
            const unsigned status = response.result_int();
            const bool refused = post_form ? (status == 400 || status == 409)
                                 : api     ? (status == 401 || status == 429)
                                           : status == 429;
            if (refused) {
              impl->abuse->note(address, core::unix_seconds(impl->clock.now()),
                                [impl, address] { impl->auto_block(address); });
            }
            responder.send(std::move(response));
          });
      return inner(std::move(req), std::move(ctx), std::move(watched));
    };
  });
  return core::ok();
}

void BlockGuard::start() { poller_->schedule(); }

void BlockGuard::stop() {
  poller_->stopped = true;
  net::post(poller_->timer.get_executor(), [poller = poller_] { poller->timer.cancel(); });
}

}  // namespace app
