#include "http/status.hpp"

#include <gtest/gtest.h>

namespace http {
namespace {

TEST(StatusFor, EveryKindHasOneStatus) {
  using core::ErrorKind;
  EXPECT_EQ(status_for(ErrorKind::invalid_input), 400u);
  EXPECT_EQ(status_for(ErrorKind::not_found), 404u);
  EXPECT_EQ(status_for(ErrorKind::conflict), 409u);
  EXPECT_EQ(status_for(ErrorKind::too_large), 413u);
  EXPECT_EQ(status_for(ErrorKind::rate_limited), 429u);
  // A store that is down or busy asks the client to come back: never a 500.
  EXPECT_EQ(status_for(ErrorKind::unavailable), 503u);
  EXPECT_EQ(status_for(ErrorKind::integrity), 500u);
  EXPECT_EQ(status_for(ErrorKind::internal), 500u);
}

}  // namespace
}  // namespace http
