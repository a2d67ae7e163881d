// The budgets shared by the nodes (issue 7): GCRA buckets and windowed event counts, on
// either engine.

#include <atomic>
#include <thread>

#include "test_util.hpp"

namespace store::test {
namespace {

constexpr std::int64_t kSecond = 1'000'000;  // the buckets' unit is the microsecond
constexpr std::int64_t kT0 = 1'800'000'000 * kSecond;

class StoreRateLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = db_.open();
    ASSERT_TRUE(store_);
  }
  // A bucket of `burst` requests refilled at one per `every` seconds.
  bool take(const std::string& key, std::int64_t now, std::int64_t every, std::int64_t burst) {
    auto r =
        store_->rate_limits().take_blocking(key, now, every * kSecond, burst * every * kSecond);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().detail());
    return r.value_or(false);
  }
  std::int64_t rows(const std::string& table) {
    auto r = store_->database().query("count", "SELECT count(*) FROM " + table);
    return r.value().front().int64(0);
  }
  TestDatabase db_;
  std::unique_ptr<detail::SqlStore> store_;
};

TEST_F(StoreRateLimits, ABucketHoldsItsBurstAndRefillsAtItsRate) {
  // 3 at once, then one every 10 s.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(take("k", kT0, 10, 3)) << i;
  EXPECT_FALSE(take("k", kT0, 10, 3));
  EXPECT_FALSE(take("k", kT0 + 9 * kSecond, 10, 3)) << "not yet one interval";
  EXPECT_TRUE(take("k", kT0 + 10 * kSecond, 10, 3));
  EXPECT_FALSE(take("k", kT0 + 10 * kSecond, 10, 3));
  // Refused takes spent nothing: after 20 more seconds exactly two are back.
  EXPECT_TRUE(take("k", kT0 + 30 * kSecond, 10, 3));
  EXPECT_TRUE(take("k", kT0 + 30 * kSecond, 10, 3));
  EXPECT_FALSE(take("k", kT0 + 30 * kSecond, 10, 3));
  // A long pause fills the bucket to its burst, never beyond.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(take("k", kT0 + 3600 * kSecond, 10, 3)) << i;
  EXPECT_FALSE(take("k", kT0 + 3600 * kSecond, 10, 3));
  // Another key has its own bucket.
  EXPECT_TRUE(take("other", kT0, 10, 3));
}

TEST_F(StoreRateLimits, ABurstOfOneAndBadArguments) {
  EXPECT_TRUE(take("one", kT0, 60, 1));
  EXPECT_FALSE(take("one", kT0 + 59 * kSecond, 60, 1));
  EXPECT_TRUE(take("one", kT0 + 60 * kSecond, 60, 1));
  // A burst below one would let the first request of a key through: refused as a bug.
  auto bad = store_->rate_limits().take_blocking("x", kT0, 10, 5);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind(), core::ErrorKind::invalid_input);
  EXPECT_FALSE(store_->rate_limits().take_blocking("x", kT0, 0, 5));
}

TEST_F(StoreRateLimits, ConcurrentTakesSpendTheBudgetExactlyOnce) {
  // Four threads (four nodes, as far as the database can tell) take 25 each from one bucket
  // of 60 at the same instant: exactly 60 are allowed, however the takes interleave.
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::atomic<int> allowed{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        auto r = store_->rate_limits().take_blocking("shared", kT0, kSecond, 60 * kSecond);
        if (!r) {
          ++errors;
        } else if (*r) {
          ++allowed;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(allowed.load(), 60);
}

TEST_F(StoreRateLimits, EventsCountPerWindowAndKeepTheWindowBefore) {
  auto& limits = store_->rate_limits();
  const std::int64_t w = 600;
  const std::int64_t w0 = 1'800'000'000 - 1'800'000'000 % w;
  auto c = limits.count_event_blocking("a", w0, w).value();
  EXPECT_EQ(c.window_start, w0);
  EXPECT_EQ(c.count, 1);
  EXPECT_EQ(c.previous, 0);
  EXPECT_EQ(limits.count_event_blocking("a", w0, w).value().count, 2);
  EXPECT_EQ(limits.count_event_blocking("b", w0, w).value().count, 1) << "another key";
  // The next window: the count starts again, the last one's is kept as previous.
  c = limits.count_event_blocking("a", w0 + w, w).value();
  EXPECT_EQ(c.window_start, w0 + w);
  EXPECT_EQ(c.count, 1);
  EXPECT_EQ(c.previous, 2);
  c = limits.count_event_blocking("a", w0 + w, w).value();
  EXPECT_EQ(c.count, 2);
  EXPECT_EQ(c.previous, 2);
  // A node whose clock is a window behind counts into the newer window.
  c = limits.count_event_blocking("a", w0, w).value();
  EXPECT_EQ(c.window_start, w0 + w);
  EXPECT_EQ(c.count, 3);
  EXPECT_EQ(c.previous, 2);
  // After a silent window nothing is carried over.
  c = limits.count_event_blocking("a", w0 + 3 * w, w).value();
  EXPECT_EQ(c.count, 1);
  EXPECT_EQ(c.previous, 0);

  ASSERT_TRUE(limits.clear_events_blocking("a"));
  ASSERT_TRUE(limits.clear_events_blocking("a"));  // twice is fine
  c = limits.count_event_blocking("a", w0 + 3 * w, w).value();
  EXPECT_EQ(c.count, 1);
  EXPECT_EQ(c.previous, 0);
  EXPECT_FALSE(limits.count_event_blocking("a", w0, 0)) << "a window of 0 is a bug";
}

TEST_F(StoreRateLimits, ConcurrentEventsAreNeverLost) {
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        if (!store_->rate_limits().count_event_blocking("hot", 6000, 600)) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(store_->rate_limits().count_event_blocking("hot", 6000, 600).value().count,
            kThreads * kEach + 1);
}

TEST_F(StoreRateLimits, PruneForgetsFullBucketsAndOldWindowsOnly) {
  auto& limits = store_->rate_limits();
  EXPECT_TRUE(take("old", kT0, 10, 1));                  // tat = kT0 + 10 s
  EXPECT_TRUE(take("new", kT0 + 100 * kSecond, 10, 1));  // tat = kT0 + 110 s
  ASSERT_TRUE(limits.count_event_blocking("gone", 6000, 600));
  ASSERT_TRUE(limits.count_event_blocking("kept", 7200, 600));
  EXPECT_EQ(limits.prune_buckets_blocking(kT0 + 50 * kSecond).value(), 1u);
  EXPECT_EQ(limits.prune_events_blocking(6600).value(), 1u);
  EXPECT_EQ(rows("rate_buckets"), 1);
  EXPECT_EQ(rows("rate_events"), 1);
  // "new" still refuses until its tat; "kept" still counts.
  EXPECT_FALSE(take("new", kT0 + 100 * kSecond, 10, 1));
  EXPECT_EQ(limits.count_event_blocking("kept", 7200, 600).value().count, 2);
  // A pruned bucket was full: the same as a fresh one.
  EXPECT_TRUE(take("old", kT0 + 50 * kSecond, 10, 1));
}

TEST_F(StoreRateLimits, OnPostgresqlTheTablesWriteNoWal) {
  // UNLOGGED on PostgreSQL (a take's commit waits for no WAL flush); plain tables on SQLite.
  const char* sql = db_.is_sqlite()
                        ? "SELECT name, 'p' FROM sqlite_master WHERE type = 'table' AND name IN "
                          "('rate_buckets', 'rate_events') ORDER BY name"
                        : "SELECT CAST(relname AS TEXT), CAST(relpersistence AS TEXT) FROM "
                          "pg_class WHERE relname IN "
                          "('rate_buckets', 'rate_events') AND relkind = 'r' ORDER BY relname";
  auto r = store_->database().query("persistence", sql);
  ASSERT_TRUE(r.has_value()) << r.error().detail();
  ASSERT_EQ(r->size(), 2u);
  for (const auto& row : *r) EXPECT_EQ(row.text(1), db_.is_sqlite() ? "p" : "u") << row.text(0);
}

}  // namespace
}  // namespace store::test
