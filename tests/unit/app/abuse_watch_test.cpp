#include <gtest/gtest.h>

#include "app/block_guard.hpp"

namespace app {
namespace {

TEST(AbuseWatch, BlocksOnceWhenRefusalsReachTheThresholdWithinTheWindow) {
  AbuseWatch watch(AbuseLimits{3, std::chrono::seconds(60), std::chrono::seconds(3600)});
  EXPECT_FALSE(watch.note("192.0.2.1", 100));
  EXPECT_FALSE(watch.note("192.0.2.1", 110));
  EXPECT_FALSE(watch.note("192.0.2.2", 110));  // another address counts apart
  EXPECT_TRUE(watch.note("192.0.2.1", 120));
  // The burst was answered; the count starts again.
  EXPECT_FALSE(watch.note("192.0.2.1", 121));
}

TEST(AbuseWatch, RefusalsOutsideTheWindowDoNotAddUp) {
  AbuseWatch watch(AbuseLimits{3, std::chrono::seconds(60), std::chrono::seconds(3600)});
  EXPECT_FALSE(watch.note("192.0.2.1", 0));
  EXPECT_FALSE(watch.note("192.0.2.1", 30));
  EXPECT_FALSE(watch.note("192.0.2.1", 61));  // the first fell out of the window
  EXPECT_FALSE(watch.note("192.0.2.1", 100));
  EXPECT_TRUE(watch.note("192.0.2.1", 101));
}

TEST(AbuseWatch, ZeroTurnsItOff) {
  AbuseWatch watch(AbuseLimits{0, std::chrono::seconds(60), std::chrono::seconds(3600)});
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(watch.note("192.0.2.1", i));
}

}  // namespace
}  // namespace app
