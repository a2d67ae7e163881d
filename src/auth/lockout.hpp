#pragma once
// Sign-in throttling (P3): after a few wrong passwords or codes, each further attempt for
// that account, or from that address, must wait, twice as long each time. In memory, per
// process: a restart forgets it, which costs an attacker a few free guesses, not more.
// Several nodes on one database share the counts through SharedFailureCounts (the
// database), so N nodes allow the budget once, not N times.
// Trust: `account` and `address` come from the request (the typed e-mail, the peer address).
//
// The account key is the typed e-mail address, lower-cased, whether or not an account has
// it, so the answer (delay or not) never reveals which accounts exist. The address key is
// the IPv4 address or the IPv6 /64 (one subscriber's usual allocation). Thread-safe.

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"

namespace auth {

struct LockoutPolicy {
  // Failures per account before any delay: typos and a forgotten caps lock.
  int account_free_failures = 3;
  // Failures per address before any delay: a clinic behind one NAT address has many users.
  int address_free_failures = 20;
  // The first delay, doubled for each further failure, up to max_delay: online guessing
  // slows to ~100 guesses a day per account, while a user who finally remembers waits at
  // most a quarter of an hour.
  std::chrono::seconds first_delay{2};
  std::chrono::seconds max_delay{15 * 60};
  // A key with no failure for this long is forgotten, with its count.
  std::chrono::seconds forget_after{60 * 60};
  // An alert (for the audit trail / the operator) when this many failures happen within
  // alert_window; once per burst, a burst ending after alert_window without failures. With
  // shared counts, when the shared count reaches this many: once per count, which starts
  // again after forget_after without failures (or, for an account, a correct sign-in).
  int account_alert_failures = 10;
  int address_alert_failures = 30;
  std::chrono::seconds alert_window{15 * 60};
  // Tracked keys (accounts and addresses together), so a flood of distinct names or
  // addresses costs bounded memory (at most ~500 bytes a key, so ~50 MB); the key whose last
  // failure is oldest is forgotten first.
  std::size_t max_keys = 100'000;
};

// The throttling key of a peer address: the canonical text of an IPv4 address (also of an
// IPv4-mapped IPv6 one), "PREFIX::/64" for IPv6, the input itself otherwise (at most 64 bytes;
// longer text is replaced by its hash so keys stay small).
std::string address_key(std::string_view ip);

// Failure counts kept where every node sees them (app/ adapts the store's FailureStore).
// Keys arrive hashed (SHA-256 of the lockout key), so the place that keeps them never
// learns the e-mail addresses or client addresses typed. Each call blocks on the database;
// a failure (database down) is logged by the implementation and answered with nullopt: the
// lockout then goes by this node's own counts, which it keeps in any case.
class SharedFailureCounts {
 public:
  struct Count {
    std::int64_t failures = 0;
    core::TimePoint last_failure;
  };
  virtual ~SharedFailureCounts() = default;
  // Counts one failure at `now`; a count last seen before `forget_before` restarts at 1.
  virtual std::optional<Count> add_blocking(const std::string& key, core::TimePoint now,
                                            core::TimePoint forget_before) = 0;
  virtual std::optional<Count> get_blocking(const std::string& key) = 0;
  virtual void clear_blocking(const std::string& key) = 0;
};

class Lockout {
 public:
  // With `shared`, delay/record_* also consult and update the shared counts, and so block
  // on the database: call them from the blocking pool (the portal's handlers run there).
  explicit Lockout(const core::Clock& clock, LockoutPolicy policy = {},
                   SharedFailureCounts* shared = nullptr);

  // How long the caller must wait before trying `account` from `address`; nullopt when it
  // may try now. Ask before checking the password, and answer 429 with Retry-After if set.
  std::optional<std::chrono::seconds> delay(std::string_view account,
                                            std::string_view address) const;

  struct FailureResult {
    bool alert;  // a burst just crossed an alert threshold (account or address)
  };
  // A wrong password or code for `account` from `address` (`address` is the raw peer address;
  // address_key is applied here).
  FailureResult record_failure(std::string_view account, std::string_view address);
  // A correct sign-in: the account's count starts again. The address's count does not: one
  // valid account must not let a password sprayer reset its address.
  void record_success(std::string_view account, std::string_view address);

  std::size_t tracked_keys_for_test() const;

 private:
  struct Entry {
    int failures = 0;
    core::TimePoint last_failure;
    std::vector<core::TimePoint> recent;  // failures within alert_window, oldest first
    bool alerted = false;                 // this burst has raised its alert
    std::list<std::string>::iterator age;
  };

  std::string account_key(std::string_view account) const;
  std::optional<std::chrono::seconds> wait_for(const std::string& key, int free_failures,
                                               core::TimePoint now) const;
  std::optional<std::chrono::seconds> shared_wait(const std::string& key, int free_failures,
                                                  core::TimePoint now) const;
  bool fail(const std::string& key, int alert_failures, core::TimePoint now);
  void forget_expired(core::TimePoint now);

  const core::Clock& clock_;
  const LockoutPolicy policy_;
  SharedFailureCounts* shared_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> by_age_;  // front = most recent failure
};

}  // namespace auth
