#include "auth/lockout.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "auth/session_token.hpp"

namespace auth {
namespace {

using std::chrono::seconds;

// Keys longer than this are replaced by their hash: nothing legitimate is longer (an e-mail
// address has at most 254 bytes, an address text ~50), and 100,000 keys must stay small.
constexpr std::size_t kMaxAccountKeyBytes = 320;
constexpr std::size_t kMaxAddressKeyBytes = 64;
// Counts stop here; the delay reached its maximum long before.
constexpr int kMaxCount = 1'000'000;

std::string ipv4_text(const std::uint8_t* bytes) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, bytes, text, sizeof text);
  return text;
}

seconds delay_after(std::int64_t excess, const LockoutPolicy& policy) {
  seconds delay = policy.first_delay;
  for (std::int64_t i = 1; i < excess && delay < policy.max_delay; ++i) delay *= 2;
  return std::min(delay, policy.max_delay);
}

// The wait after `failures` failures, the last at `last_failure`; nullopt: none.
std::optional<seconds> wait_after(std::int64_t failures, core::TimePoint last_failure,
                                  int free_failures, core::TimePoint now,
                                  const LockoutPolicy& policy) {
  if (now - last_failure >= policy.forget_after) return std::nullopt;
  if (failures <= free_failures) return std::nullopt;
  const seconds delay = delay_after(failures - free_failures, policy);
  const core::TimePoint until = last_failure + delay;
  if (now >= until) return std::nullopt;
  // Round up, so that a client that waits exactly this long is let in; and never more than
  // the delay itself, even if the clock stepped back since the failure.
  const auto remaining = std::chrono::ceil<seconds>(until - now);
  return std::min(remaining, delay);
}

std::optional<seconds> longer(std::optional<seconds> a, std::optional<seconds> b) {
  if (a && b) return std::max(*a, *b);
  return a ? a : b;
}

}  // namespace

std::string address_key(std::string_view ip) {
  if (ip.size() > kMaxAddressKeyBytes) return "#" + hash_token(ip);
  std::string text(ip);
  // A zone ("fe80::1%eth0") names our interface, not the peer.
  if (const auto percent = text.find('%'); percent != std::string::npos) text.resize(percent);

  std::array<std::uint8_t, 4> v4{};
  if (inet_pton(AF_INET, text.c_str(), v4.data()) == 1) return ipv4_text(v4.data());

  std::array<std::uint8_t, 16> v6{};
  if (inet_pton(AF_INET6, text.c_str(), v6.data()) == 1) {
    static constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0,    0,
                                                                   0, 0, 0, 0, 0xFF, 0xFF};
    if (std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), v6.begin())) {
      return ipv4_text(v6.data() + 12);
    }
    // One subscriber usually gets a whole /64: keying by it stops rotation through it.
    std::fill(v6.begin() + 8, v6.end(), std::uint8_t{0});
    char prefix[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, v6.data(), prefix, sizeof prefix);
    return std::string(prefix) + "/64";
  }
  return std::string(ip);
}

Lockout::Lockout(const core::Clock& clock, LockoutPolicy policy, SharedFailureCounts* shared)
    : clock_(clock), policy_(policy), shared_(shared) {}

std::string Lockout::account_key(std::string_view account) const {
  std::string lowered(account);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  // "a " and "n " keep account and address keys apart in the one map.
  if (lowered.size() > kMaxAccountKeyBytes) return "a #" + hash_token(lowered);
  return "a " + lowered;
}

std::optional<seconds> Lockout::wait_for(const std::string& key, int free_failures,
                                         core::TimePoint now) const {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return wait_after(it->second.failures, it->second.last_failure, free_failures, now, policy_);
}

std::optional<seconds> Lockout::shared_wait(const std::string& key, int free_failures,
                                            core::TimePoint now) const {
  const auto count = shared_->get_blocking(hash_token(key));
  if (!count) return std::nullopt;
  return wait_after(count->failures, count->last_failure, free_failures, now, policy_);
}

std::optional<seconds> Lockout::delay(std::string_view account, std::string_view address) const {
  const core::TimePoint now = clock_.now();
  const std::string account_k = account_key(account);
  const std::string address_k = "n " + address_key(address);
  std::optional<seconds> wait;
  {
    std::lock_guard lock(mutex_);
    wait = longer(wait_for(account_k, policy_.account_free_failures, now),
                  wait_for(address_k, policy_.address_free_failures, now));
  }
  // The shared counts hold every node's failures (this node's too); the local ones still
  // answer when the database does not.
  if (shared_ != nullptr) {
    wait = longer(wait, shared_wait(account_k, policy_.account_free_failures, now));
    wait = longer(wait, shared_wait(address_k, policy_.address_free_failures, now));
  }
  return wait;
}

void Lockout::forget_expired(core::TimePoint now) {
  while (!by_age_.empty()) {
    const auto it = entries_.find(by_age_.back());
    if (it != entries_.end() && now - it->second.last_failure < policy_.forget_after) break;
    if (it != entries_.end()) entries_.erase(it);
    by_age_.pop_back();
  }
}

bool Lockout::fail(const std::string& key, int alert_failures, core::TimePoint now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= policy_.max_keys && !by_age_.empty()) {
      entries_.erase(by_age_.back());
      by_age_.pop_back();
    }
    by_age_.push_front(key);
    it = entries_.emplace(key, Entry{}).first;
    it->second.age = by_age_.begin();
  } else {
    by_age_.splice(by_age_.begin(), by_age_, it->second.age);
    if (now - it->second.last_failure >= policy_.forget_after) {
      const auto age = it->second.age;
      it->second = Entry{};
      it->second.age = age;
    }
  }
  Entry& entry = it->second;
  entry.failures = std::min(entry.failures + 1, kMaxCount);
  entry.last_failure = now;

  if (alert_failures <= 0) return false;
  const auto window = policy_.alert_window;
  std::erase_if(entry.recent, [&](core::TimePoint t) { return now - t >= window; });
  if (entry.recent.empty()) entry.alerted = false;  // a quiet alert_window ended the burst
  entry.recent.push_back(now);
  // Only the last alert_failures failures matter for the threshold.
  if (entry.recent.size() > static_cast<std::size_t>(alert_failures)) {
    entry.recent.erase(entry.recent.begin());
  }
  if (!entry.alerted && entry.recent.size() >= static_cast<std::size_t>(alert_failures)) {
    entry.alerted = true;
    return true;
  }
  return false;
}

Lockout::FailureResult Lockout::record_failure(std::string_view account, std::string_view address) {
  const core::TimePoint now = clock_.now();
  const std::string account_k = account_key(account);
  const std::string address_k = "n " + address_key(address);
  bool alert = false;
  {
    std::lock_guard lock(mutex_);
    forget_expired(now);
    const bool account_alert = fail(account_k, policy_.account_alert_failures, now);
    const bool address_alert = fail(address_k, policy_.address_alert_failures, now);
    alert = account_alert || address_alert;
  }
  if (shared_ != nullptr) {
    const core::TimePoint forget_before = now - policy_.forget_after;
    const auto account = shared_->add_blocking(hash_token(account_k), now, forget_before);
    const auto address = shared_->add_blocking(hash_token(address_k), now, forget_before);
    // The shared counts see the burst however it is spread over the nodes, and each add is
    // atomic, so exactly one node sees a count reach the threshold: that node alerts. This
    // node's own view answers only when the database does not.
    if (account && address) {
      alert = account->failures == policy_.account_alert_failures ||
              address->failures == policy_.address_alert_failures;
    }
  }
  return FailureResult{alert};
}

void Lockout::record_success(std::string_view account, std::string_view /*address*/) {
  const std::string account_k = account_key(account);
  if (shared_ != nullptr) shared_->clear_blocking(hash_token(account_k));
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(account_k);
  if (it == entries_.end()) return;
  by_age_.erase(it->second.age);
  entries_.erase(it);
}

std::size_t Lockout::tracked_keys_for_test() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace auth
