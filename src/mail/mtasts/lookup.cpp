// Trust: DNS answers and fetched policies (parsed by policy.cpp), our own cache rows.
#include "mail/mtasts/lookup.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <map>
#include <mutex>
#include <set>

#include "core/log.hpp"

namespace mail::mtasts {

namespace net = boost::asio;

std::optional<policy::MtaSts> Applied::input() const {
  if (!policy || policy->mode == Mode::none) return std::nullopt;
  return policy::MtaSts{policy->mode == Mode::enforce, policy->mx};
}

bool Applied::allows(std::string_view mx_host) const {
  return !enforce() || policy::mx_matches(mx_host, policy->mx);
}

std::string_view source_name(Applied::Source source) {
  switch (source) {
    case Applied::Source::none:
      return "none";
    case Applied::Source::cache:
      return "cache";
    case Applied::Source::fetched:
      return "fetched";
  }
  return "none";
}

Step plan(TxtStatus txt, std::string_view txt_id, const std::optional<store::MtaStsRecord>& cached,
          std::int64_t now) {
  const bool fresh = cached && now < cached->expires_at;
  if (txt != TxtStatus::present) return fresh ? Step::use_cache : Step::none;
  if (fresh && cached->policy_id == txt_id) {
    const std::int64_t refresh_after =
        std::min<std::int64_t>(kRefreshAfter.count(), cached->max_age / 2);
    return now - cached->fetched_at >= refresh_after ? Step::use_cache_and_refresh
                                                     : Step::use_cache;
  }
  return Step::fetch;
}

Applied from_cache(const store::MtaStsRecord& cached) {
  Applied a;
  a.source = Applied::Source::cache;
  a.id = cached.policy_id;
  auto mode = parse_mode(cached.mode);
  // The schema allows only the three modes; anything else applies nothing.
  if (mode && *mode != Mode::none) a.policy = Policy{*mode, cached.mx, cached.max_age};
  return a;
}

store::MtaStsRecord to_cache(const std::string& domain, const std::string& id, const Policy& policy,
                             std::int64_t now) {
  store::MtaStsRecord r;
  r.domain = domain;
  r.policy_id = id;
  r.mode = std::string(mode_name(policy.mode));
  r.mx = policy.mx;
  r.max_age = policy.max_age;
  r.fetched_at = now;
  r.expires_at = now + policy.max_age;
  return r;
}

struct PolicyLookup::Impl {
  net::any_io_executor executor;
  dns::Resolver& resolver;
  store::Store& store;
  core::BlockingPool& pool;
  const core::Clock& clock;
  FetchOptions options;

  // Fetches that failed recently, by domain (kRetryFailedFetch).
  struct Failed {
    std::string id;
    std::int64_t at = 0;
    FetchFailure failure = FetchFailure::fetch_error;
  };
  std::mutex mutex;
  std::map<std::string, Failed> failed_fetches;
  // Domains whose cached policy is being fetched again (one refresh per domain at a time).
  std::set<std::string> refreshing;

  std::int64_t now() const { return core::unix_seconds(clock.now()); }

  // How the fetch of this id failed, if it did within kRetryFailedFetch.
  std::optional<FetchFailure> failed_recently(const std::string& domain, const std::string& id) {
    std::lock_guard lock(mutex);
    auto it = failed_fetches.find(domain);
    if (it == failed_fetches.end() || it->second.id != id ||
        now() - it->second.at >= kRetryFailedFetch.count()) {
      return std::nullopt;
    }
    return it->second.failure;
  }
  void note_failure(const std::string& domain, const std::string& id, FetchFailure failure) {
    std::lock_guard lock(mutex);
    // Bounded by the domains mail is sent to; entries older than the retry time go first.
    if (failed_fetches.size() >= 10'000) {
      const std::int64_t t = now();
      std::erase_if(failed_fetches,
                    [&](const auto& e) { return t - e.second.at >= kRetryFailedFetch.count(); });
      if (failed_fetches.size() >= 10'000) failed_fetches.clear();
    }
    failed_fetches[domain] = Failed{id, now(), failure};
  }
  void forget_failure(const std::string& domain) {
    std::lock_guard lock(mutex);
    failed_fetches.erase(domain);
  }
  // False when a refresh of `domain` is already running.
  bool begin_refresh(const std::string& domain) {
    std::lock_guard lock(mutex);
    return refreshing.insert(domain).second;
  }
  void end_refresh(const std::string& domain) {
    std::lock_guard lock(mutex);
    refreshing.erase(domain);
  }
};

namespace {

// One lookup: TXT, cache, maybe fetch and store, then the handler.
struct Operation : std::enable_shared_from_this<Operation> {
  std::shared_ptr<PolicyLookup::Impl> impl;
  std::string domain;
  PolicyLookup::Handler handler;
  TxtStatus txt = TxtStatus::absent;
  std::string txt_id;
  std::optional<store::MtaStsRecord> cached;

  void start() {
    impl->resolver.async_txt(
        "_mta-sts." + domain,
        net::bind_executor(impl->executor, [self = shared_from_this()](dns::TxtAnswer a) {
          self->on_txt(std::move(a));
        }));
  }

  void on_txt(dns::TxtAnswer answer) {
    switch (answer.info.outcome) {
      case dns::Outcome::ok: {
        auto record = find_record(answer.texts);
        if (!record) {
          // RFC 8461 §3.1: as if the domain had no policy available (a cached one still holds).
          spdlog::warn("event=mta_sts_record_invalid domain={} detail={}", core::log_safe(domain),
                       core::log_safe(record.error().detail()));
        } else if (*record) {
          txt = TxtStatus::present;
          txt_id = (*record)->id;
        }
        break;
      }
      case dns::Outcome::nxdomain:
      case dns::Outcome::nodata:
        break;
      case dns::Outcome::servfail:
      case dns::Outcome::timeout:
        txt = TxtStatus::failed;
        spdlog::warn("event=mta_sts_txt_failed domain={} outcome={} dnssec={}",
                     core::log_safe(domain), dns::to_string(answer.info.outcome),
                     dns::to_string(answer.info.security));
        break;
    }
    auto self = shared_from_this();
    bool posted = impl->pool.post([self] {
      auto found = self->impl->store.mail().mta_sts_blocking(self->domain);
      net::post(self->impl->executor,
                [self, found = std::move(found)]() mutable { self->on_cache(std::move(found)); });
    });
    if (!posted) on_cache(core::fail(core::ErrorKind::unavailable, "busy", "blocking pool full"));
  }

  void on_cache(core::Result<std::optional<store::MtaStsRecord>> found) {
    if (!found) {
      // Without the cache we can still fetch (and store) the current policy.
      spdlog::warn("event=mta_sts_cache_read_failed domain={} detail={}", core::log_safe(domain),
                   core::log_safe(found.error().detail()));
    } else {
      cached = std::move(*found);
    }
    switch (plan(txt, txt_id, cached, impl->now())) {
      case Step::none:
        return done(Applied{});
      case Step::use_cache:
        return done(from_cache(*cached));
      case Step::use_cache_and_refresh:
        done(from_cache(*cached));
        return refresh();
      case Step::fetch:
        break;
    }
    if (auto failure = impl->failed_recently(domain, txt_id)) {
      return fetch_failed(*failure, "an earlier fetch failed moments ago", /*log=*/false);
    }
    async_fetch_policy(
        impl->executor, impl->resolver, domain, impl->options,
        [self = shared_from_this()](FetchResult r) { self->on_fetch(std::move(r)); });
  }

  // The cached policy (still fresh, same id) fetched again, the delivery not waiting: a new
  // copy replaces the row (its expiry moves on); a failure keeps the row and is logged.
  void refresh() {
    if (impl->failed_recently(domain, txt_id) || !impl->begin_refresh(domain)) return;
    async_fetch_policy(
        impl->executor, impl->resolver, domain, impl->options,
        [self = shared_from_this()](FetchResult r) { self->on_refresh(std::move(r)); });
  }

  void on_refresh(FetchResult result) {
    if (result.failure != FetchFailure::none) {
      impl->end_refresh(domain);
      impl->note_failure(domain, txt_id, result.failure);
      spdlog::warn(
          "event=mta_sts_refresh_failed domain={} id={} type={} using=cached policy "
          "detail={}",
          core::log_safe(domain), core::log_safe(txt_id), failure_name(result.failure),
          core::log_safe(result.detail));
      return;
    }
    auto row = to_cache(domain, txt_id, result.policy, impl->now());
    spdlog::info("event=mta_sts_refreshed domain={} id={} mode={} max_age={}",
                 core::log_safe(domain), core::log_safe(txt_id), mode_name(result.policy.mode),
                 result.policy.max_age);
    auto self = shared_from_this();
    bool posted = impl->pool.post([self, row = std::move(row)] {
      if (auto s = self->impl->store.mail().put_mta_sts_blocking(row); !s) {
        spdlog::warn("event=mta_sts_cache_write_failed domain={} detail={}",
                     core::log_safe(self->domain), core::log_safe(s.error().detail()));
      }
      self->impl->end_refresh(self->domain);
    });
    if (!posted) impl->end_refresh(domain);
  }

  void on_fetch(FetchResult result) {
    if (result.failure != FetchFailure::none) {
      impl->note_failure(domain, txt_id, result.failure);
      return fetch_failed(result.failure, result.detail, /*log=*/true);
    }
    impl->forget_failure(domain);
    const std::int64_t t = impl->now();
    auto row = to_cache(domain, txt_id, result.policy, t);
    Applied applied;
    applied.source = Applied::Source::fetched;
    applied.id = txt_id;
    if (result.policy.mode != Mode::none) applied.policy = result.policy;
    spdlog::info("event=mta_sts_fetched domain={} id={} mode={} mx={} max_age={}",
                 core::log_safe(domain), core::log_safe(txt_id), mode_name(result.policy.mode),
                 result.policy.mx.size(), result.policy.max_age);
    auto self = shared_from_this();
    bool posted = impl->pool.post([self, row = std::move(row), applied]() mutable {
      if (auto s = self->impl->store.mail().put_mta_sts_blocking(row); !s) {
        // The policy still applies now; the next delivery fetches it again.
        spdlog::warn("event=mta_sts_cache_write_failed domain={} detail={}",
                     core::log_safe(self->domain), core::log_safe(s.error().detail()));
      }
      net::post(self->impl->executor,
                [self, applied = std::move(applied)]() mutable { self->done(std::move(applied)); });
    });
    if (!posted) done(std::move(applied));
  }

  void fetch_failed(FetchFailure failure, const std::string& detail, bool log) {
    const bool fresh = cached && impl->now() < cached->expires_at;
    if (log) {
      spdlog::warn("event=mta_sts_fetch_failed domain={} id={} type={} using={} detail={}",
                   core::log_safe(domain), core::log_safe(txt_id), failure_name(failure),
                   fresh ? "cached policy" : "no policy", core::log_safe(detail));
    }
    // RFC 8461 §5.1: a fresh cached policy goes on applying; without one, no policy.
    if (fresh) return done(from_cache(*cached));
    Applied a;
    a.id = txt_id;
    a.failure = failure;
    done(std::move(a));
  }

  void done(Applied applied) {
    if (!handler) return;
    auto h = std::move(handler);
    handler = nullptr;
    net::post(impl->executor, [h = std::move(h), applied = std::move(applied)]() mutable {
      h(std::move(applied));
    });
  }
};

}  // namespace

PolicyLookup::PolicyLookup(net::any_io_executor executor, dns::Resolver& resolver,
                           store::Store& store, core::BlockingPool& pool, const core::Clock& clock,
                           FetchOptions options)
    : impl_(new Impl{executor, resolver, store, pool, clock, std::move(options), {}, {}}) {}

PolicyLookup::~PolicyLookup() = default;

void PolicyLookup::async_lookup(std::string domain, Handler handler) {
  auto op = std::make_shared<Operation>();
  op->impl = impl_;
  op->domain = std::move(domain);
  op->handler = std::move(handler);
  net::post(impl_->executor, [op] { op->start(); });
}

}  // namespace mail::mtasts
