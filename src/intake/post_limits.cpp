// Trust: untrusted network input (the client address and the form id of the URL are keys).
#include "intake/post_limits.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cmath>

#include "core/log.hpp"

namespace intake {

namespace {

std::int64_t unix_micros(core::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// The shared buckets' keys: what they limit, then the key (the store keeps a hash of it).
std::string address_bucket(const std::string& address_key) { return "post ip " + address_key; }
std::string form_bucket(const std::string& form_id) { return "post form " + form_id; }

}  // namespace

std::string rate_limit_key(const std::string& remote) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(remote, ec);
  if (ec) return remote;
  if (address.is_v6()) {
    auto v6 = address.to_v6();
    if (v6.is_v4_mapped()) {
      return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
    }
    auto bytes = v6.to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return boost::asio::ip::address_v6(bytes).to_string() + "/64";
  }
  return address.to_string();
}

// --- MemoryPostLimits ---------------------------------------------------------------------

MemoryPostLimits::MemoryPostLimits(const core::Clock& clock, const Limits& limits)
    : per_ip_(clock, limits.per_ip_per_minute, limits.per_ip_burst),
      per_form_(clock, limits.per_form_per_minute, limits.per_form_burst) {}

PostLimits::Verdict MemoryPostLimits::take_now(const std::string& address_key,
                                               const std::string& form_id) {
  if (!per_ip_.allow(address_key)) return Verdict::per_ip;
  if (!per_form_.allow(form_id)) return Verdict::per_form;
  return Verdict::allowed;
}

void MemoryPostLimits::take(const std::string& address_key, const std::string& form_id, Done done) {
  done(take_now(address_key, form_id));
}

// --- StorePostLimits ----------------------------------------------------------------------

StorePostLimits::Bucket StorePostLimits::bucket(double per_minute, double burst) {
  // The settings' bounds (app/config.cpp) keep per_minute within [1, 10^7], so the interval
  // is at least 6 microseconds; a burst below one request would refuse everything.
  const auto interval = std::max<std::int64_t>(1, std::llround(60e6 / std::max(per_minute, 1e-6)));
  const auto tolerance =
      std::max(interval, static_cast<std::int64_t>(std::llround(std::max(burst, 1.0) * interval)));
  return Bucket{interval, tolerance};
}

StorePostLimits::StorePostLimits(store::RateLimitStore& store, core::BlockingPool& pool,
                                 const core::Clock& clock, const Limits& limits)
    : store_(store),
      pool_(pool),
      clock_(clock),
      local_(clock, limits),
      per_ip_(bucket(limits.per_ip_per_minute, limits.per_ip_burst)),
      per_form_(bucket(limits.per_form_per_minute, limits.per_form_burst)) {}

void StorePostLimits::take(const std::string& address_key, const std::string& form_id, Done done) {
  // This node's own buckets hold the whole budget and see only this node's share of the
  // posts: when one is empty, this node alone has had the budget's worth, so the answer
  // needs no round trip (and a flood from one address stays off the database).
  if (auto local = local_.take_now(address_key, form_id); local != Verdict::allowed) {
    return done(local);
  }
  auto self = shared_from_this();
  const bool posted = pool_.post([self, address_key, form_id, done] {
    done(self->take_shared_blocking(address_key, form_id));
  });
  if (!posted) done(Verdict::overloaded);
}

PostLimits::Verdict StorePostLimits::take_shared_blocking(const std::string& address_key,
                                                          const std::string& form_id) {
  const std::int64_t now = unix_micros(clock_.now());
  maybe_prune_blocking(now);
  auto failed = [](const core::Error& error) {
    spdlog::error("event=rate_limit_failed detail={}", core::log_safe(error.detail()));
    return Verdict::unavailable;
  };
  auto ip =
      store_.take_blocking(address_bucket(address_key), now, per_ip_.interval, per_ip_.tolerance);
  if (!ip) return failed(ip.error());
  if (!*ip) return Verdict::per_ip;
  auto form =
      store_.take_blocking(form_bucket(form_id), now, per_form_.interval, per_form_.tolerance);
  if (!form) return failed(form.error());
  if (!*form) return Verdict::per_form;
  return Verdict::allowed;
}

void StorePostLimits::maybe_prune_blocking(std::int64_t now_us) {
  const std::int64_t now = now_us / 1'000'000;
  auto last = last_prune_.load();
  if (now - last < kPruneEverySeconds || !last_prune_.compare_exchange_strong(last, now)) return;
  // A bucket whose tat has passed is full: deleting it changes no answer. A failure only
  // leaves rows for the next prune.
  if (auto pruned = store_.prune_buckets_blocking(now_us); !pruned) {
    spdlog::warn("event=rate_limit_prune_failed detail={}",
                 core::log_safe(pruned.error().detail()));
  }
}

}  // namespace intake
