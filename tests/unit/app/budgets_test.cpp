// Which budgets a node keeps (issue 7), and the API lockout's counts in the store: two
// lockouts on one database act as two nodes. On SQLite here (the statements run on both
// engines in the store's own tests).
#include "app/budgets.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <vector>

namespace app {
namespace {

class BudgetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ =
        (std::filesystem::temp_directory_path() / "sealpost-budgets-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    store::StoreOptions options;
    options.sqlite_path = (dir_ / "sealpost.db").string();
    auto opened = store::open_store_blocking(options);
    ASSERT_TRUE(opened.has_value()) << opened.error().detail();
    store_ = std::move(*opened);
  }
  void TearDown() override {
    pool_.stop();
    if (store_) store_->close();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  core::BlockingPool pool_{1, 16};
  core::FakeClock clock_;
};

TEST_F(BudgetsTest, SqliteKeepsEveryBudgetInMemory) {
  auto budgets = make_budgets(*store_, pool_, clock_, intake::Limits{}, AbuseLimits{});
  EXPECT_FALSE(budgets.shared);
  EXPECT_NE(dynamic_cast<intake::MemoryPostLimits*>(budgets.posts.get()), nullptr);
  EXPECT_NE(dynamic_cast<MemoryAbuseCounter*>(budgets.abuse.get()), nullptr);
  EXPECT_EQ(budgets.api_failures, nullptr);
  EXPECT_EQ(budgets.credential_checks, nullptr);
}

TEST_F(BudgetsTest, SharedBudgetsOfTwoNodesSpendOneBucketPerPrefixAndKey) {
  // Two nodes' budgets of credential checks on one database: a burst of 3 in all.
  store::SharedBudget a(store_->rate_limits(), clock_, "portal credential ", 1, 3);
  store::SharedBudget b(store_->rate_limits(), clock_, "portal credential ", 1, 3);
  store::SharedBudget posts(store_->rate_limits(), clock_, "post ip ", 1, 3);
  std::vector<bool> taken;
  for (int i = 0; i < 5; ++i) taken.push_back(*(i % 2 == 0 ? a : b).take_blocking("192.0.2.1"));
  EXPECT_EQ(taken, (std::vector<bool>{true, true, true, false, false}));
  // Another key and another prefix have budgets of their own.
  EXPECT_TRUE(*a.take_blocking("192.0.2.2"));
  EXPECT_TRUE(*posts.take_blocking("192.0.2.1"));
  // One request's worth refills in a minute.
  clock_.advance(std::chrono::seconds(61));
  EXPECT_TRUE(*b.take_blocking("192.0.2.1"));
  EXPECT_FALSE(*a.take_blocking("192.0.2.1"));
}

TEST_F(BudgetsTest, ApiLockoutCountsAreSharedAndApartFromThePortals) {
  portal::StoreFailureCounts node_a(store_->failures(), "api ");
  portal::StoreFailureCounts node_b(store_->failures(), "api ");
  portal::StoreFailureCounts portal_counts(store_->failures(), "");
  auth::LockoutPolicy policy;
  policy.account_free_failures = 2;
  policy.address_free_failures = 2;
  auth::Lockout a(clock_, policy, &node_a);
  auth::Lockout b(clock_, policy, &node_b);
  auth::Lockout p(clock_, policy, &portal_counts);
  // Alternating: each lockout records 2 of the 4 failures, within its own free budget.
  for (int i = 0; i < 4; ++i) (i % 2 == 0 ? a : b).record_failure("api 192.0.2.1", "192.0.2.1");
  EXPECT_TRUE(a.delay("api 192.0.2.1", "192.0.2.1").has_value());
  EXPECT_TRUE(b.delay("api 192.0.2.1", "192.0.2.1").has_value());
  // The portal's counts for the same address are its own.
  EXPECT_EQ(p.delay("someone@example.org", "192.0.2.1"), std::nullopt);
}

}  // namespace
}  // namespace app
