#include "core/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace {

TEST(RateLimiter, BurstThenRefill) {
  core::FakeClock clock;
  core::RateLimiter limiter(clock, /*per_minute=*/60, /*burst=*/3);
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_FALSE(limiter.allow("a"));
  EXPECT_TRUE(limiter.allow("b"));  // keys are independent
  clock.advance(std::chrono::seconds(1));
  EXPECT_TRUE(limiter.allow("a"));  // one token per second at 60/min
  EXPECT_FALSE(limiter.allow("a"));
  clock.advance(std::chrono::hours(1));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.allow("a"));  // capped at the burst
  EXPECT_FALSE(limiter.allow("a"));
}

TEST(RateLimiter, ForgetsLeastRecentlySeenKeysBeyondTheBound) {
  core::FakeClock clock;
  core::RateLimiter limiter(clock, 60, 1, /*max_keys=*/2);
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_FALSE(limiter.allow("a"));
  EXPECT_TRUE(limiter.allow("b"));
  EXPECT_TRUE(limiter.allow("c"));  // evicts "a"
  EXPECT_TRUE(limiter.allow("a"));  // a fresh bucket
}

}  // namespace
