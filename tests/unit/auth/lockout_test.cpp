#include "auth/lockout.hpp"

#include <gtest/gtest.h>

#include <map>
#include <thread>
#include <vector>

namespace auth {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::string_view kAlice = "alice@example.org";
constexpr std::string_view kHome = "192.0.2.10";

TEST(AddressKey, Ipv4IsItself) {
  EXPECT_EQ(address_key("192.0.2.10"), "192.0.2.10");
  EXPECT_EQ(address_key("::ffff:192.0.2.10"), "192.0.2.10");  // IPv4-mapped
  EXPECT_EQ(address_key("::FFFF:c000:020a"), "192.0.2.10");
}

TEST(AddressKey, Ipv6IsKeyedByItsSlash64) {
  EXPECT_EQ(address_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_key("2001:db8:1:2:ffff::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_key("2001:0DB8:0001:0002::"), "2001:db8:1:2::/64");
  EXPECT_NE(address_key("2001:db8:1:3::1"), address_key("2001:db8:1:2::1"));
  EXPECT_EQ(address_key("fe80::1%eth0"), "fe80::/64");
  EXPECT_EQ(address_key("::1"), "::/64");
}

TEST(AddressKey, OtherTextIsKeptButBounded) {
  EXPECT_EQ(address_key("unix-socket"), "unix-socket");
  EXPECT_EQ(address_key(""), "");
  const std::string long_text(200, 'x');
  const std::string key = address_key(long_text);
  EXPECT_LE(key.size(), 65u);
  EXPECT_EQ(key, address_key(long_text));
  EXPECT_NE(key, address_key(std::string(201, 'x')));
}

TEST(Lockout, ThreeFreeFailuresThenDoublingDelays) {
  core::FakeClock clock;
  Lockout lockout(clock);
  EXPECT_EQ(lockout.delay(kAlice, kHome), std::nullopt);
  for (int i = 0; i < 3; ++i) {
    lockout.record_failure(kAlice, kHome);
    EXPECT_EQ(lockout.delay(kAlice, kHome), std::nullopt) << i;
  }
  lockout.record_failure(kAlice, kHome);  // 4th
  EXPECT_EQ(lockout.delay(kAlice, kHome), seconds(2));
  clock.advance(seconds(1));
  EXPECT_EQ(lockout.delay(kAlice, kHome), seconds(1));
  clock.advance(seconds(1));
  EXPECT_EQ(lockout.delay(kAlice, kHome), std::nullopt);
  lockout.record_failure(kAlice, kHome);  // 5th
  EXPECT_EQ(lockout.delay(kAlice, kHome), seconds(4));
  lockout.record_failure(kAlice, kHome);  // 6th (the caller ignored the delay)
  EXPECT_EQ(lockout.delay(kAlice, kHome), seconds(8));
  // The delay is per account, from any address.
  EXPECT_EQ(lockout.delay(kAlice, "198.51.100.7"), seconds(8));
  EXPECT_EQ(lockout.delay("bob@example.org", "198.51.100.7"), std::nullopt);
}

TEST(Lockout, RoundsPartialSecondsUp) {
  core::FakeClock clock;
  Lockout lockout(clock);
  for (int i = 0; i < 4; ++i) lockout.record_failure(kAlice, kHome);
  clock.advance(std::chrono::milliseconds(1500));
  EXPECT_EQ(lockout.delay(kAlice, kHome), seconds(1));
  clock.advance(std::chrono::milliseconds(499));
  EXPECT_EQ(lockout.delay(kAlice, kHome), seconds(1));
}

TEST(Lockout, DelayIsCappedAtFifteenMinutes) {
  core::FakeClock clock;
  Lockout lockout(clock);
  for (int i = 0; i < 200; ++i) lockout.record_failure(kAlice, kHome);
  EXPECT_EQ(lockout.delay(kAlice, kHome), minutes(15));
  clock.advance(minutes(15));
  EXPECT_EQ(lockout.delay(kAlice, kHome), std::nullopt);
}

TEST(Lockout, AccountsAreKeyedCaseInsensitivelyWhetherOrNotTheyExist) {
  core::FakeClock clock;
  Lockout lockout(clock);
  for (int i = 0; i < 4; ++i) lockout.record_failure("Nobody@Example.ORG", kHome);
  EXPECT_EQ(lockout.delay("nobody@example.org", "203.0.113.1"), seconds(2));
  EXPECT_EQ(lockout.delay("NOBODY@EXAMPLE.ORG", "203.0.113.1"), seconds(2));
}

TEST(Lockout, CountsAreForgottenAfterAnHourWithoutFailures) {
  core::FakeClock clock;
  Lockout lockout(clock);
  for (int i = 0; i < 10; ++i) lockout.record_failure(kAlice, kHome);
  clock.advance(minutes(59));
  lockout.record_failure(kAlice, kHome);  // within the hour: the count goes on (11th)
  EXPECT_EQ(lockout.delay(kAlice, kHome), seconds(256));  // 2 s doubled 7 times
  clock.advance(hours(1));
  EXPECT_EQ(lockout.delay(kAlice, kHome), std::nullopt);
  lockout.record_failure(kAlice, kHome);  // the first of a new count
  EXPECT_EQ(lockout.delay(kAlice, kHome), std::nullopt);
  EXPECT_EQ(lockout.tracked_keys_for_test(), 2u);
}

TEST(Lockout, AddressGetsTwentyFreeFailuresAcrossAccounts) {
  core::FakeClock clock;
  Lockout lockout(clock);
  // A password sprayer: one guess each for many accounts.
  for (int i = 0; i < 20; ++i) {
    lockout.record_failure("user" + std::to_string(i) + "@example.org", kHome);
  }
  EXPECT_EQ(lockout.delay("someone@example.org", kHome), std::nullopt);
  lockout.record_failure("user20@example.org", kHome);
  EXPECT_EQ(lockout.delay("someone@example.org", kHome), seconds(2));
  EXPECT_EQ(lockout.delay("someone@example.org", "192.0.2.11"), std::nullopt);
  lockout.record_failure("user21@example.org", kHome);
  EXPECT_EQ(lockout.delay("someone@example.org", kHome), seconds(4));
}

TEST(Lockout, Ipv6AddressesShareTheirSlash64) {
  core::FakeClock clock;
  Lockout lockout(clock);
  for (int i = 0; i < 21; ++i) {
    lockout.record_failure("user" + std::to_string(i) + "@example.org",
                           "2001:db8:1:2::" + std::to_string(i + 1));
  }
  EXPECT_EQ(lockout.delay("someone@example.org", "2001:db8:1:2:abcd::9"), seconds(2));
  EXPECT_EQ(lockout.delay("someone@example.org", "2001:db8:1:3::1"), std::nullopt);
}

TEST(Lockout, TheLongerOfTheTwoDelaysApplies) {
  core::FakeClock clock;
  Lockout lockout(clock);
  for (int i = 0; i < 22; ++i) {
    lockout.record_failure("user" + std::to_string(i) + "@example.org", kHome);  // address: 4 s
  }
  for (int i = 0; i < 8; ++i) lockout.record_failure(kAlice, "192.0.2.99");  // account: 32 s
  EXPECT_EQ(lockout.delay(kAlice, kHome), seconds(32));
  EXPECT_EQ(lockout.delay("bob@example.org", kHome), seconds(4));
}

TEST(Lockout, SuccessResetsTheAccountButNotTheAddress) {
  core::FakeClock clock;
  Lockout lockout(clock);
  for (int i = 0; i < 25; ++i) lockout.record_failure(kAlice, kHome);
  lockout.record_success(kAlice, kHome);
  EXPECT_EQ(lockout.delay(kAlice, "192.0.2.99"), std::nullopt);
  EXPECT_NE(lockout.delay(kAlice, kHome), std::nullopt);  // the address still waits
  lockout.record_success("ALICE@example.org", kHome);     // no-op, no crash
  lockout.record_success("nobody@example.org", kHome);
}

TEST(Lockout, AlertsOncePerBurstOnAnAccount) {
  core::FakeClock clock;
  Lockout lockout(clock);
  for (int i = 1; i <= 9; ++i) {
    EXPECT_FALSE(lockout.record_failure(kAlice, "192.0.2." + std::to_string(i)).alert) << i;
    clock.advance(seconds(30));
  }
  EXPECT_TRUE(lockout.record_failure(kAlice, "192.0.2.10").alert);  // 10 within 15 minutes
  for (int i = 0; i < 20; ++i) {
    EXPECT_FALSE(lockout.record_failure(kAlice, "192.0.2.20").alert) << i;  // same burst
    clock.advance(seconds(30));
  }
  // Quiet for the alert window: the next 10 are a new burst, and alert again.
  clock.advance(minutes(15));
  for (int i = 1; i <= 9; ++i) EXPECT_FALSE(lockout.record_failure(kAlice, "192.0.2.30").alert);
  EXPECT_TRUE(lockout.record_failure(kAlice, "192.0.2.30").alert);
}

TEST(Lockout, SlowFailuresDoNotAlert) {
  core::FakeClock clock;
  Lockout lockout(clock);
  for (int i = 0; i < 30; ++i) {
    EXPECT_FALSE(lockout.record_failure(kAlice, "192.0.2." + std::to_string(i)).alert) << i;
    clock.advance(seconds(100));  // 9 per 15 minutes
  }
}

// The window slides: failures straddling the start of a would-be fixed window still count.
TEST(Lockout, AlertWindowSlides) {
  core::FakeClock clock;
  Lockout lockout(clock);
  EXPECT_FALSE(lockout.record_failure(kAlice, "192.0.2.1").alert);
  clock.advance(minutes(14));
  for (int i = 0; i < 8; ++i) EXPECT_FALSE(lockout.record_failure(kAlice, "192.0.2.1").alert);
  clock.advance(minutes(2));  // the first failure leaves the window: 8 remain
  EXPECT_FALSE(lockout.record_failure(kAlice, "192.0.2.1").alert);  // 9
  EXPECT_TRUE(lockout.record_failure(kAlice, "192.0.2.1").alert);   // 10
}

TEST(Lockout, AlertsOnAnAddressAtThirty) {
  core::FakeClock clock;
  Lockout lockout(clock);
  for (int i = 0; i < 29; ++i) {
    EXPECT_FALSE(lockout.record_failure("u" + std::to_string(i) + "@x", kHome).alert) << i;
  }
  EXPECT_TRUE(lockout.record_failure("u29@x", kHome).alert);
  EXPECT_FALSE(lockout.record_failure("u30@x", kHome).alert);
}

TEST(Lockout, BoundsTrackedKeysForgettingTheOldestFirst) {
  core::FakeClock clock;
  LockoutPolicy policy;
  policy.max_keys = 4;
  Lockout lockout(clock, policy);
  for (int i = 0; i < 4; ++i) lockout.record_failure(kAlice, kHome);  // 2 keys, alice delayed
  clock.advance(seconds(1));
  lockout.record_failure("bob@x", kHome);  // 3 keys (the address is refreshed)
  EXPECT_EQ(lockout.tracked_keys_for_test(), 3u);
  lockout.record_failure("carol@x", kHome);  // 4 keys
  lockout.record_failure("dave@x", kHome);   // alice, the oldest, is forgotten
  EXPECT_EQ(lockout.tracked_keys_for_test(), 4u);
  EXPECT_EQ(lockout.delay(kAlice, "192.0.2.99"), std::nullopt);
  for (int i = 0; i < 1000; ++i) {
    lockout.record_failure("flood" + std::to_string(i) + "@x",
                           "198.51.100." + std::to_string(i % 250));
  }
  EXPECT_EQ(lockout.tracked_keys_for_test(), 4u);
}

TEST(Lockout, ExpiredKeysAreDroppedAsTimePasses) {
  core::FakeClock clock;
  Lockout lockout(clock);
  for (int i = 0; i < 100; ++i) lockout.record_failure("u" + std::to_string(i) + "@x", kHome);
  EXPECT_EQ(lockout.tracked_keys_for_test(), 101u);
  clock.advance(hours(2));
  lockout.record_failure(kAlice, "192.0.2.99");
  EXPECT_EQ(lockout.tracked_keys_for_test(), 2u);
}

TEST(Lockout, HugeAccountNamesAreHashed) {
  core::FakeClock clock;
  Lockout lockout(clock);
  const std::string huge(100'000, 'a');
  for (int i = 0; i < 4; ++i) lockout.record_failure(huge, kHome);
  EXPECT_EQ(lockout.delay(huge, "192.0.2.99"), seconds(2));
  EXPECT_EQ(lockout.delay(huge + "a", "192.0.2.99"), std::nullopt);
}

TEST(Lockout, ClockSteppingBackNeverLengthensTheDelay) {
  core::FakeClock clock;
  Lockout lockout(clock);
  for (int i = 0; i < 4; ++i) lockout.record_failure(kAlice, kHome);
  clock.advance(-hours(3));
  EXPECT_EQ(lockout.delay(kAlice, kHome), seconds(2));
}

TEST(Lockout, IsThreadSafe) {
  core::FakeClock clock;
  Lockout lockout(clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&lockout, t] {
      for (int i = 0; i < 500; ++i) {
        lockout.record_failure("user" + std::to_string(i % 50) + "@x",
                               "192.0.2." + std::to_string(t));
        (void)lockout.delay("user" + std::to_string(i % 50) + "@x", "192.0.2." + std::to_string(t));
        if (i % 7 == 0) lockout.record_success("user" + std::to_string(i % 50) + "@x", "");
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(lockout.tracked_keys_for_test() <= 54u, true);
  EXPECT_NE(lockout.delay("nobody@x", "192.0.2.0"), std::nullopt);  // 500 address failures
}

// What the database is to several nodes: one set of counts, shared.
class FakeShared final : public SharedFailureCounts {
 public:
  std::optional<Count> add_blocking(const std::string& key, core::TimePoint now,
                                    core::TimePoint forget_before) override {
    if (down) return std::nullopt;
    auto& c = counts[key];
    c.failures = c.last_failure < forget_before ? 1 : c.failures + 1;
    c.last_failure = now;
    return c;
  }
  std::optional<Count> get_blocking(const std::string& key) override {
    if (down) return std::nullopt;
    auto it = counts.find(key);
    if (it == counts.end()) return std::nullopt;
    return it->second;
  }
  void clear_blocking(const std::string& key) override {
    if (!down) counts.erase(key);
  }
  std::map<std::string, Count> counts;
  bool down = false;
};

TEST(LockoutShared, TwoNodesSpendOneBudget) {
  core::FakeClock clock;
  FakeShared shared;
  Lockout a(clock, LockoutPolicy{}, &shared);
  Lockout b(clock, LockoutPolicy{}, &shared);
  // Three free failures per account: two on each node reach the limit once, not twice.
  a.record_failure(kAlice, kHome);
  b.record_failure(kAlice, kHome);
  a.record_failure(kAlice, kHome);
  EXPECT_FALSE(a.delay(kAlice, kHome));
  EXPECT_FALSE(b.delay(kAlice, kHome));
  b.record_failure(kAlice, kHome);
  EXPECT_EQ(a.delay(kAlice, kHome), seconds(2));
  EXPECT_EQ(b.delay(kAlice, kHome), seconds(2));
  // The shared keys are hashes: neither the e-mail nor the address is stored.
  for (const auto& [key, count] : shared.counts) {
    EXPECT_EQ(key.find("example.org"), std::string::npos);
    EXPECT_EQ(key.find("192.0.2.10"), std::string::npos);
  }
  // A success on one node clears the account's count for both.
  clock.advance(seconds(3));
  a.record_success(kAlice, kHome);
  EXPECT_FALSE(b.delay(kAlice, kHome));
}

TEST(LockoutShared, ABurstSpreadOverTwoNodesAlertsOnceOnTheNodeThatReachesTheThreshold) {
  core::FakeClock clock;
  FakeShared shared;
  Lockout a(clock, LockoutPolicy{}, &shared);
  Lockout b(clock, LockoutPolicy{}, &shared);
  // Ten failures on one account, alternating: each node sees five, below its own threshold
  // of ten; the shared count reaches ten on the tenth, whichever node has it.
  std::vector<bool> alerts;
  for (int i = 0; i < 12; ++i) {
    auto& node = i % 2 == 0 ? a : b;
    alerts.push_back(node.record_failure(kAlice, "192.0.2." + std::to_string(i)).alert);
  }
  std::vector<bool> want(12, false);
  want[9] = true;
  EXPECT_EQ(alerts, want);
}

TEST(LockoutShared, WithoutTheDatabaseANodeAlertsOnItsOwnCounts) {
  core::FakeClock clock;
  FakeShared shared;
  shared.down = true;
  Lockout a(clock, LockoutPolicy{}, &shared);
  for (int i = 1; i <= 9; ++i) EXPECT_FALSE(a.record_failure(kAlice, kHome).alert) << i;
  EXPECT_TRUE(a.record_failure(kAlice, kHome).alert);
}

TEST(LockoutShared, FallsBackToItsOwnCountsWhenTheDatabaseIsAway) {
  core::FakeClock clock;
  FakeShared shared;
  shared.down = true;
  Lockout a(clock, LockoutPolicy{}, &shared);
  for (int i = 0; i < 4; ++i) a.record_failure(kAlice, kHome);
  EXPECT_EQ(a.delay(kAlice, kHome), seconds(2));
}

}  // namespace
}  // namespace auth
