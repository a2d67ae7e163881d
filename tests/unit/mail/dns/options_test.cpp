// Unit tests of the resolver settings (src/mail/dns/options.hpp).
#include "mail/dns/options.hpp"

#include <gtest/gtest.h>

namespace mail::dns {
namespace {

TEST(DnsOptions, AddressForms) {
  EXPECT_EQ(to_unbound_address("192.0.2.1").value_or("?"), "192.0.2.1");
  EXPECT_EQ(to_unbound_address("192.0.2.1:5353").value_or("?"), "192.0.2.1@5353");
  EXPECT_EQ(to_unbound_address("192.0.2.1@53").value_or("?"), "192.0.2.1@53");
  EXPECT_EQ(to_unbound_address("::1").value_or("?"), "::1");
  EXPECT_EQ(to_unbound_address("[::1]").value_or("?"), "::1");
  EXPECT_EQ(to_unbound_address("[2001:db8::1]:53").value_or("?"), "2001:db8::1@53");
  EXPECT_EQ(to_unbound_address("2001:db8::1@5353").value_or("?"), "2001:db8::1@5353");
}

TEST(DnsOptions, BadAddresses) {
  for (const char* bad :
       {"", "resolver.example", "192.0.2.1:", "192.0.2.1:0", "192.0.2.1:65536", "192.0.2.1:53x",
        "[::1", "[::1]x", "[192.0.2.1]:53", "1.2.3:53", "192.0.2.1:-1", "192.0.2.1@"}) {
    EXPECT_FALSE(to_unbound_address(bad)) << bad;
  }
}

TEST(DnsOptions, DefaultsAreValid) {
  const ResolverOptions options;
  EXPECT_FALSE(options.resolver.has_value());
  EXPECT_EQ(options.trust_anchor_file, "/usr/share/dns/root.key");
  EXPECT_EQ(options.timeout, kDefaultTimeout);
  EXPECT_TRUE(validate(options));
}

TEST(DnsOptions, TimeoutBounds) {
  ResolverOptions options;
  options.timeout = kMinTimeout;
  EXPECT_TRUE(validate(options));
  options.timeout = kMaxTimeout;
  EXPECT_TRUE(validate(options));
  options.timeout = kMinTimeout - std::chrono::milliseconds(1);
  EXPECT_FALSE(validate(options));
  options.timeout = kMaxTimeout + std::chrono::milliseconds(1);
  EXPECT_FALSE(validate(options));
  options.timeout = kDefaultTimeout;
  options.resolver = "not an address";
  EXPECT_FALSE(validate(options));
}

}  // namespace
}  // namespace mail::dns
