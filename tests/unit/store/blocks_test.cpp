// Blocked networks and the shared lockout counts, on either engine.

#include <thread>

#include "test_util.hpp"

namespace store::test {
namespace {

class StoreBlocks : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = db_.open();
    ASSERT_TRUE(store_);
  }
  std::int64_t generation() { return store_->forms().config_generation_blocking().value(); }
  TestDatabase db_;
  std::unique_ptr<detail::SqlStore> store_;
};

TEST_F(StoreBlocks, PutListRemoveAndEveryChangeBumpsTheGeneration) {
  auto& blocks = store_->blocks();
  EXPECT_TRUE(blocks.list_blocks_blocking().value().empty());

  auto g0 = generation();
  ASSERT_TRUE(blocks.put_block_blocking({"192.0.2.0/24", "spam", 100, std::nullopt, "cli"}));
  auto g1 = generation();
  EXPECT_NE(g1, g0);
  ASSERT_TRUE(blocks.put_block_blocking({"2001:db8::/32", "probe", 101, 5000, "auto"}));

  auto listed = blocks.list_blocks_blocking().value();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].cidr, "192.0.2.0/24");
  EXPECT_EQ(listed[0].reason, "spam");
  EXPECT_EQ(listed[0].created_at, 100);
  EXPECT_FALSE(listed[0].expires_at.has_value());
  EXPECT_EQ(listed[0].created_by, "cli");
  EXPECT_EQ(listed[1].cidr, "2001:db8::/32");
  EXPECT_EQ(listed[1].expires_at, std::optional<std::int64_t>(5000));
  EXPECT_EQ(listed[1].created_by, "auto");

  // The same network again replaces reason and expiry.
  ASSERT_TRUE(blocks.put_block_blocking({"192.0.2.0/24", "again", 200, 900, "auto"}));
  auto g2 = generation();
  EXPECT_NE(g2, g1);
  listed = blocks.list_blocks_blocking().value();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].reason, "again");
  EXPECT_EQ(listed[0].expires_at, std::optional<std::int64_t>(900));

  ASSERT_TRUE(blocks.remove_block_blocking("192.0.2.0/24"));
  EXPECT_NE(generation(), g2);
  listed = blocks.list_blocks_blocking().value();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].cidr, "2001:db8::/32");

  auto g3 = generation();
  auto missing = blocks.remove_block_blocking("192.0.2.0/24");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), core::ErrorKind::not_found);
  EXPECT_EQ(generation(), g3);
}

TEST_F(StoreBlocks, FailuresCountRestartAfterForgetAndClear) {
  auto& failures = store_->failures();
  EXPECT_FALSE(failures.failure_count_blocking("a x").value().has_value());
  auto one = failures.add_failure_blocking("a x", 1000, 0).value();
  EXPECT_EQ(one.failures, 1);
  EXPECT_EQ(one.last_failure, 1000);
  auto two = failures.add_failure_blocking("a x", 1010, 0).value();
  EXPECT_EQ(two.failures, 2);
  EXPECT_EQ(two.last_failure, 1010);
  auto read = failures.failure_count_blocking("a x").value();
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->failures, 2);
  // Another key counts apart.
  EXPECT_EQ(failures.add_failure_blocking("n y", 1010, 0).value().failures, 1);
  // The last failure (1010) is before forget_before (1011): the count starts again.
  auto restarted = failures.add_failure_blocking("a x", 5000, 1011).value();
  EXPECT_EQ(restarted.failures, 1);
  EXPECT_EQ(restarted.last_failure, 5000);

  ASSERT_TRUE(failures.clear_failures_blocking("a x"));
  EXPECT_FALSE(failures.failure_count_blocking("a x").value().has_value());
  ASSERT_TRUE(failures.clear_failures_blocking("a x"));  // twice is fine

  EXPECT_EQ(failures.prune_failures_blocking(1011).value(), 1u);  // "n y"
  EXPECT_FALSE(failures.failure_count_blocking("n y").value().has_value());
}

TEST_F(StoreBlocks, ConcurrentFailuresAreNeverLost) {
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        if (!store_->failures().add_failure_blocking("a shared", 1000 + i, 0)) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  auto count = store_->failures().failure_count_blocking("a shared").value();
  ASSERT_TRUE(count.has_value());
  EXPECT_EQ(count->failures, kThreads * kEach);
}

}  // namespace
}  // namespace store::test
