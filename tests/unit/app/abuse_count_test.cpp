// The counts behind automatic blocks shared through the database (issue 7): two counters on
// one store act as two nodes. On SQLite here; the store's own tests run the statements on
// both engines.
#include "app/abuse_count.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <future>

#include "store/store.hpp"

namespace app {
namespace {

class StoreAbuseCounterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (std::filesystem::temp_directory_path() / "sealpost-abuse-XXXXXX").string();
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
  std::shared_ptr<StoreAbuseCounter> node(int events, int window = 600) {
    return std::make_shared<StoreAbuseCounter>(
        store_->rate_limits(), pool_,
        AbuseLimits{events, std::chrono::seconds(window), std::chrono::seconds(3600)});
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  core::BlockingPool pool_{1, 16};
};

// Times inside one 600 s window: 1'800'000'000 is a multiple of 600.
constexpr std::int64_t kW0 = 1'800'000'000;

TEST_F(StoreAbuseCounterTest, RefusalsOnTwoNodesAddUpToOneCount) {
  auto a = node(4);
  auto b = node(4);
  // Alternating: each node sees 2 of the 4; per-node counts would never get there.
  EXPECT_FALSE(a->note_blocking("192.0.2.1", kW0 + 1));
  EXPECT_FALSE(b->note_blocking("192.0.2.1", kW0 + 2));
  EXPECT_FALSE(b->note_blocking("192.0.2.2", kW0 + 2)) << "another address counts apart";
  EXPECT_FALSE(a->note_blocking("192.0.2.1", kW0 + 3));
  EXPECT_TRUE(b->note_blocking("192.0.2.1", kW0 + 4));
  // Due once per burst: the count starts again.
  EXPECT_FALSE(a->note_blocking("192.0.2.1", kW0 + 5));
  EXPECT_FALSE(b->note_blocking("192.0.2.1", kW0 + 6));
}

TEST_F(StoreAbuseCounterTest, TheLastWindowCountsByHowMuchOfItIsStillRecent) {
  auto a = node(4);
  auto b = node(4);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(a->note_blocking("192.0.2.1", kW0 + 300));
  // 450 s into the next window a quarter of the last one is still within 600 s: 3 x 0.25 +
  // 1 = 1.75 and 2.75 stay below 4 (rounded up: 2, 3) ...
  EXPECT_FALSE(b->note_blocking("192.0.2.1", kW0 + 600 + 450));
  EXPECT_FALSE(b->note_blocking("192.0.2.1", kW0 + 600 + 450));
  // ... 3.75 rounds up to 4.
  EXPECT_TRUE(a->note_blocking("192.0.2.1", kW0 + 600 + 450));
  // Refusals a whole window apart never add up.
  auto c = node(2);
  EXPECT_FALSE(c->note_blocking("192.0.2.3", kW0 + 10));
  EXPECT_FALSE(c->note_blocking("192.0.2.3", kW0 + 1200 + 10));
  // The estimate's error, less than one refusal, can go either way: here two refusals exactly
  // a window apart (the exact count: 1) make 1/600 + 1, rounded up to 2.
  EXPECT_FALSE(c->note_blocking("192.0.2.3", kW0 + 2400 + 599));
  EXPECT_TRUE(c->note_blocking("192.0.2.3", kW0 + 3000 + 599));
}

TEST_F(StoreAbuseCounterTest, AQuickBurstAcrossTwoWindowsCountsWhole) {
  // Two refusals in the last second of a window, two in the first seconds of the next: 4
  // within 4 seconds, as the exact count would say, though the estimate is 3.99.
  auto a = node(4);
  auto b = node(4);
  EXPECT_FALSE(a->note_blocking("192.0.2.1", kW0 + 599));
  EXPECT_FALSE(b->note_blocking("192.0.2.1", kW0 + 599));
  EXPECT_FALSE(a->note_blocking("192.0.2.1", kW0 + 600 + 1));
  EXPECT_TRUE(b->note_blocking("192.0.2.1", kW0 + 600 + 2));
}

TEST_F(StoreAbuseCounterTest, NoteAnswersFromThePoolAndZeroTurnsItOff) {
  auto a = node(2);
  std::promise<void> due;
  a->note("192.0.2.1", kW0, [] { ADD_FAILURE() << "not due after one"; });
  a->note("192.0.2.1", kW0, [&] { due.set_value(); });
  EXPECT_EQ(due.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto off = node(0);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(off->note_blocking("192.0.2.1", kW0));
}

}  // namespace
}  // namespace app
