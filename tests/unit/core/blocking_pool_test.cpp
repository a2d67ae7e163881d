#include "core/blocking_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>

namespace {

TEST(BlockingPool, RunsEveryAcceptedJobBeforeStopReturns) {
  std::atomic<int> ran{0};
  core::BlockingPool pool(2, 1000);
  int accepted = 0;
  for (int i = 0; i < 500; ++i) accepted += pool.post([&] { ++ran; }) ? 1 : 0;
  pool.stop();
  EXPECT_EQ(accepted, 500);
  EXPECT_EQ(ran.load(), 500);
  EXPECT_FALSE(pool.post([] {}));  // stopped pools refuse
}

TEST(BlockingPool, RefusesBeyondQueueLimit) {
  core::BlockingPool pool(1, 2);
  std::atomic<bool> release{false};
  ASSERT_TRUE(pool.post([&] {
    while (!release) std::this_thread::yield();
  }));
  // The worker may or may not have taken the first job yet; fill until refused.
  int accepted = 0;
  while (pool.post([] {}) && accepted < 10) ++accepted;
  EXPECT_LE(accepted, 2);
  release = true;
}

TEST(BlockingPool, QueuedCountsWaitingJobsOnly) {
  core::BlockingPool pool(1, 10);
  std::atomic<bool> started{false};
  std::atomic<bool> release{false};
  ASSERT_TRUE(pool.post([&] {
    started = true;
    while (!release) std::this_thread::yield();
  }));
  while (!started) std::this_thread::yield();
  EXPECT_EQ(pool.queued(), 0u);  // the running job is not waiting
  ASSERT_TRUE(pool.post([] {}));
  ASSERT_TRUE(pool.post([] {}));
  EXPECT_EQ(pool.queued(), 2u);
  release = true;
  pool.stop();
  EXPECT_EQ(pool.queued(), 0u);
}

}  // namespace
