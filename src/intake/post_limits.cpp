// Trust: untrusted network input (the client address and the form id of the URL are keys).
#include "intake/post_limits.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>

#include "core/log.hpp"

namespace intake {

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

// The shared buckets' keys start with what they limit (the store keeps a hash of the key).
StorePostLimits::StorePostLimits(store::RateLimitStore& store, core::BlockingPool& pool,
                                 const core::Clock& clock, const Limits& limits)
    : per_ip_shared_(store, clock, "post ip ", limits.per_ip_per_minute, limits.per_ip_burst),
      per_form_shared_(store, clock, "post form ", limits.per_form_per_minute,
                       limits.per_form_burst),
      pool_(pool),
      local_(clock, limits) {}

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
  auto failed = [](const core::Error& error) {
    spdlog::error("event=rate_limit_failed detail={}", core::log_safe(error.detail()));
    return Verdict::unavailable;
  };
  auto ip = per_ip_shared_.take_blocking(address_key);
  if (!ip) return failed(ip.error());
  if (!*ip) return Verdict::per_ip;
  auto form = per_form_shared_.take_blocking(form_id);
  if (!form) return failed(form.error());
  if (!*form) return Verdict::per_form;
  return Verdict::allowed;
}

}  // namespace intake
