#include "http/client_address.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace {

namespace ip = boost::asio::ip;

http::TrustedProxies trusted(std::initializer_list<const char*> texts) {
  std::vector<http::Cidr> networks;
  for (const char* t : texts) {
    auto c = http::Cidr::parse(t);
    EXPECT_TRUE(c) << t;
    if (c) networks.push_back(*c);
  }
  return http::TrustedProxies(std::move(networks));
}

ip::address addr(const char* text) { return ip::make_address(text); }

TEST(Cidr, ParsesNetworksAndSingleHosts) {
  for (const char* ok : {"10.0.0.0/8", "192.0.2.1/32", "192.0.2.1", "0.0.0.0/0", "2001:db8::/32",
                         "::1", "::/0", "fe80::/10", "::ffff:10.0.0.0/104"}) {
    EXPECT_TRUE(http::Cidr::parse(ok)) << ok;
  }
  EXPECT_EQ(http::Cidr::parse("10.0.0.0/8")->to_string(), "10.0.0.0/8");
  EXPECT_EQ(http::Cidr::parse("192.0.2.1")->to_string(), "192.0.2.1/32");
  EXPECT_EQ(http::Cidr::parse("::ffff:10.0.0.0/104")->to_string(), "10.0.0.0/8");
}

TEST(Cidr, RefusesWhatIsNotACidr) {
  for (const char* bad :
       {"", "/8", "10.0.0.0/", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/8/8", "10.0.0/8",
        "10.0.0.0/+8", "10.0.0.0/-1", "10.0.0.0/ 8", " 10.0.0.0/8", "10.0.0.0/0x8", "localhost",
        "lb.example.org/32", "[::1]/128", "fe80::1%eth0", "10.0.0.0/0008"}) {
    auto c = http::Cidr::parse(bad);
    ASSERT_FALSE(c) << bad;
    EXPECT_NE(c.error().public_text().find("is not a CIDR"), std::string::npos) << bad;
  }
}

TEST(Cidr, RefusesHostBits) {
  auto c = http::Cidr::parse("10.0.0.1/8");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().public_text().find("host bits"), std::string::npos);
  EXPECT_FALSE(http::Cidr::parse("2001:db8::1/64"));
  EXPECT_FALSE(http::Cidr::parse("192.0.2.128/24"));
  EXPECT_TRUE(http::Cidr::parse("192.0.2.128/25"));
}

TEST(Cidr, Matching) {
  auto net = *http::Cidr::parse("192.0.2.128/25");
  EXPECT_TRUE(net.contains(addr("192.0.2.128")));
  EXPECT_TRUE(net.contains(addr("192.0.2.255")));
  EXPECT_FALSE(net.contains(addr("192.0.2.127")));
  EXPECT_FALSE(net.contains(addr("192.0.3.128")));
  EXPECT_FALSE(net.contains(addr("::1")));
  // A dual-stack socket's spelling of an IPv4 peer matches the IPv4 network.
  EXPECT_TRUE(net.contains(addr("::ffff:192.0.2.200")));

  auto v6 = *http::Cidr::parse("2001:db8:a::/48");
  EXPECT_TRUE(v6.contains(addr("2001:db8:a:ffff::1")));
  EXPECT_FALSE(v6.contains(addr("2001:db8:b::1")));
  EXPECT_FALSE(v6.contains(addr("10.0.0.1")));

  auto odd = *http::Cidr::parse("10.0.0.0/7");  // a prefix that ends inside a byte
  EXPECT_TRUE(odd.contains(addr("11.255.0.1")));
  EXPECT_FALSE(odd.contains(addr("12.0.0.1")));

  EXPECT_TRUE(http::Cidr::parse("0.0.0.0/0")->contains(addr("203.0.113.9")));
  EXPECT_FALSE(http::Cidr::parse("0.0.0.0/0")->contains(addr("2001:db8::1")));
  EXPECT_TRUE(http::Cidr::parse("::/0")->contains(addr("2001:db8::1")));
  EXPECT_TRUE(http::Cidr::parse("10.1.2.3")->contains(addr("10.1.2.3")));
  EXPECT_FALSE(http::Cidr::parse("10.1.2.3")->contains(addr("10.1.2.4")));
}

TEST(ClientAddress, UntrustedPeerKeepsItsOwnAddress) {
  auto t = trusted({"10.0.0.0/8"});
  auto c = http::client_address(addr("203.0.113.9"), "198.51.100.1", t);
  EXPECT_EQ(c.address.to_string(), "203.0.113.9");
  EXPECT_FALSE(c.from_forwarded_for);
  EXPECT_FALSE(c.forwarded_for_ignored);
  // Nothing trusted at all (the default).
  c = http::client_address(addr("10.0.0.1"), "198.51.100.1", http::TrustedProxies{});
  EXPECT_EQ(c.address.to_string(), "10.0.0.1");
}

TEST(ClientAddress, TrustedPeerWithoutForwardedFor) {
  auto c = http::client_address(addr("::ffff:10.0.0.1"), "", trusted({"10.0.0.0/8"}));
  EXPECT_EQ(c.address.to_string(), "10.0.0.1");  // canonical spelling
  EXPECT_FALSE(c.from_forwarded_for);
}

TEST(ClientAddress, RightMostUntrustedHop) {
  auto t = trusted({"10.0.0.0/8", "2001:db8:1::/48"});
  // The client wrote "1.1.1.1" itself; the balancer appended the address it saw.
  auto c = http::client_address(addr("10.0.0.1"), "1.1.1.1, 198.51.100.7", t);
  EXPECT_EQ(c.address.to_string(), "198.51.100.7");
  EXPECT_TRUE(c.from_forwarded_for);
  // Two trusted hops in a row are skipped.
  c = http::client_address(addr("10.0.0.1"), "1.1.1.1,198.51.100.7,10.9.9.9, 2001:db8:1::4", t);
  EXPECT_EQ(c.address.to_string(), "198.51.100.7");
  // IPv6 client, bracketed or not; several header lines joined with ','.
  c = http::client_address(addr("10.0.0.1"), "[2001:db8:2::9]", t);
  EXPECT_EQ(c.address.to_string(), "2001:db8:2::9");
  c = http::client_address(addr("10.0.0.1"), "2001:db8:2::9,\t::ffff:10.1.1.1", t);
  EXPECT_EQ(c.address.to_string(), "2001:db8:2::9");
  // Every hop trusted (a request from inside): the left-most.
  c = http::client_address(addr("10.0.0.1"), "10.2.2.2, 10.3.3.3", t);
  EXPECT_EQ(c.address.to_string(), "10.2.2.2");
}

TEST(ClientAddress, MalformedForwardedForIsIgnored) {
  auto t = trusted({"10.0.0.0/8"});
  // Malformed where the walk from the right meets it: in what trusted proxies wrote.
  for (const char* bad : {"unknown", "198.51.100.7:4711", "198.51.100.7,", "[198.51.100.7]",
                          "fe80::1%eth0", "1.1.1.1 2.2.2.2", "_", " ", "198.51.100.7, x, 10.1.1.1",
                          "198.51.100.7;for=x", "1.1.1.1,,10.2.2.2"}) {
    auto c = http::client_address(addr("10.0.0.1"), bad, t);
    EXPECT_EQ(c.address.to_string(), "10.0.0.1") << bad;
    EXPECT_TRUE(c.forwarded_for_ignored) << bad;
    EXPECT_FALSE(c.from_forwarded_for) << bad;
  }
  // More trusted hops than we walk.
  std::string many;
  for (std::size_t i = 0; i < http::kMaxForwardedForHops; ++i) many += "10.7.7.7, ";
  auto c = http::client_address(addr("10.0.0.1"), "198.51.100.8, " + many + "10.7.7.7", t);
  EXPECT_TRUE(c.forwarded_for_ignored);
  EXPECT_EQ(c.address.to_string(), "10.0.0.1");
}

TEST(ClientAddress, WhatTheClientWroteItselfIsNeverRead) {
  auto t = trusted({"10.0.0.0/8"});
  // The client sent "X-Forwarded-For: garbage" (or a lie); the balancer appended the
  // address it saw. The answer is that address, and the client's part changes nothing.
  for (const char* client_part : {"garbage", "10.0.0.1", ",,", "1.1.1.1:80", "1.1.1.1"}) {
    auto c = http::client_address(addr("10.0.0.1"), std::string(client_part) + ", 198.51.100.7", t);
    EXPECT_EQ(c.address.to_string(), "198.51.100.7") << client_part;
    EXPECT_TRUE(c.from_forwarded_for);
    EXPECT_FALSE(c.forwarded_for_ignored);
  }
  // A long list of the client's own costs nothing and is not refused.
  std::string many;
  for (int i = 0; i < 300; ++i) many += "10.9.9.9, ";
  auto c = http::client_address(addr("10.0.0.1"), many + "198.51.100.8", t);
  EXPECT_EQ(c.address.to_string(), "198.51.100.8");
}

}  // namespace
