// The retry schedule: exponential from 5 s, at most an hour apart, jitter within +-20%.

#include "webhooks/sender.hpp"

#include <gtest/gtest.h>

#include "webhooks/limits.hpp"

namespace webhooks {
namespace {

TEST(RetryDelay, DoublesFromTheFirstUpToTheMost) {
  EXPECT_EQ(retry_delay(1, 0.5).count(), 5);
  EXPECT_EQ(retry_delay(2, 0.5).count(), 10);
  EXPECT_EQ(retry_delay(3, 0.5).count(), 20);
  EXPECT_EQ(retry_delay(10, 0.5).count(), 2560);
  EXPECT_EQ(retry_delay(11, 0.5).count(), 3600);
  EXPECT_EQ(retry_delay(40, 0.5).count(), 3600);
}

TEST(RetryDelay, JitterStaysWithinTwentyPercent) {
  EXPECT_EQ(retry_delay(11, 0.0).count(), 2880);
  EXPECT_EQ(retry_delay(11, 0.999999).count(), 4320);
  EXPECT_EQ(retry_delay(3, 0.0).count(), 16);
  // Whatever the attempt, 24 h hold at most kMaxAttempts of them.
  std::int64_t total = 0;
  int n = 0;
  while (total < kGiveUpAfter.count()) total += retry_delay(++n, 0.0).count();
  EXPECT_LE(n, kMaxAttempts);
}

}  // namespace
}  // namespace webhooks
