#include "http/block_list.hpp"

#include <gtest/gtest.h>

namespace http {
namespace {

Cidr cidr(std::string_view text) { return Cidr::parse(text).value(); }

TEST(BlockList, MatchesNetworksUntilTheyExpire) {
  BlockList list;
  EXPECT_FALSE(list.blocked("192.0.2.7", 100));
  list.replace({{cidr("192.0.2.0/24"), std::nullopt}, {cidr("2001:db8::/32"), 200}});
  EXPECT_TRUE(list.blocked("192.0.2.7", 100));
  EXPECT_TRUE(list.blocked("::ffff:192.0.2.7", 100));  // one address, one spelling
  EXPECT_FALSE(list.blocked("192.0.3.7", 100));
  EXPECT_TRUE(list.blocked("2001:db8::1", 199));
  EXPECT_FALSE(list.blocked("2001:db8::1", 200));  // `until` passed: no reload needed
  EXPECT_FALSE(list.blocked("not an address", 100));
  EXPECT_EQ(list.size(), 2u);

  list.add({cidr("127.0.0.5"), 300});
  EXPECT_TRUE(list.blocked("127.0.0.5", 299));
  EXPECT_FALSE(list.blocked("127.0.0.6", 299));
  EXPECT_FALSE(list.blocked("127.0.0.5", 300));

  list.replace({});
  EXPECT_FALSE(list.blocked("192.0.2.7", 100));
}

}  // namespace
}  // namespace http
