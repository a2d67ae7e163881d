// Unit tests of the pure RDATA parsers and answer builders (src/mail/dns/records.hpp).
#include "mail/dns/records.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mail/dns/limits.hpp"

namespace mail::dns {
namespace {

using Wire = std::vector<std::uint8_t>;

// "mx1.example" in wire form.
Wire name_wire(const std::vector<std::string>& labels) {
  Wire wire;
  for (const auto& label : labels) {
    wire.push_back(static_cast<std::uint8_t>(label.size()));
    wire.insert(wire.end(), label.begin(), label.end());
  }
  wire.push_back(0);
  return wire;
}

Wire mx_wire(std::uint16_t preference, const std::vector<std::string>& labels) {
  Wire wire{static_cast<std::uint8_t>(preference >> 8), static_cast<std::uint8_t>(preference)};
  const Wire name = name_wire(labels);
  wire.insert(wire.end(), name.begin(), name.end());
  return wire;
}

Wire txt_wire(const std::vector<std::string>& strings) {
  Wire wire;
  for (const auto& s : strings) {
    wire.push_back(static_cast<std::uint8_t>(s.size()));
    wire.insert(wire.end(), s.begin(), s.end());
  }
  return wire;
}

RawAnswer ok_answer(std::vector<Wire> rdata) {
  RawAnswer raw;
  raw.info.outcome = Outcome::ok;
  raw.info.security = Security::secure;
  raw.info.validated = true;
  raw.info.qname = "example";
  raw.info.canonical_name = "example";
  raw.rdata = std::move(rdata);
  return raw;
}

TEST(DnsName, ParsesAndLowercases) {
  const Wire wire = name_wire({"MX1", "Example", "ORG"});
  std::size_t consumed = 0;
  const auto name = parse_name(wire, consumed);
  ASSERT_TRUE(name) << name.error().detail();
  EXPECT_EQ(*name, "mx1.example.org");
  EXPECT_EQ(consumed, wire.size());
}

TEST(DnsName, RootIsEmpty) {
  const Wire wire{0};
  std::size_t consumed = 0;
  const auto name = parse_name(wire, consumed);
  ASSERT_TRUE(name);
  EXPECT_EQ(*name, "");
  EXPECT_EQ(consumed, 1u);
}

TEST(DnsName, RefusesCompressionTruncationAndOddBytes) {
  std::size_t consumed = 0;
  EXPECT_FALSE(parse_name(Wire{0xC0, 0x0C}, consumed));           // pointer
  EXPECT_FALSE(parse_name(Wire{3, 'a', 'b'}, consumed));          // label past the end
  EXPECT_FALSE(parse_name(Wire{3, 'a', 'b', 'c'}, consumed));     // no root label
  EXPECT_FALSE(parse_name(Wire{3, 'a', ' ', 'c', 0}, consumed));  // space
  EXPECT_FALSE(parse_name(Wire{3, 'a', '.', 'c', 0}, consumed));  // dot inside a label
  EXPECT_FALSE(parse_name(Wire{1, 0x00, 0}, consumed));           // NUL
  EXPECT_FALSE(parse_name(Wire{}, consumed));
  Wire long_label{64};
  long_label.insert(long_label.end(), 64, 'a');
  long_label.push_back(0);
  EXPECT_FALSE(parse_name(long_label, consumed));
}

TEST(DnsName, RefusesNamesOver255Bytes) {
  // 4 labels of 63 + 4 length bytes + root = 257 bytes.
  const std::string label(63, 'a');
  const Wire too_long = name_wire({label, label, label, label});
  std::size_t consumed = 0;
  EXPECT_FALSE(parse_name(too_long, consumed));
  // 3 x 63 + 61 = 250 characters, 255 bytes of wire: the largest allowed.
  const Wire longest = name_wire({label, label, label, std::string(61, 'b')});
  ASSERT_EQ(longest.size(), 255u);
  const auto name = parse_name(longest, consumed);
  ASSERT_TRUE(name) << name.error().detail();
  EXPECT_EQ(name->size(), 253u);
}

TEST(DnsMx, ParsesPreferenceAndHost) {
  const auto mx = parse_mx_rdata(mx_wire(0x1234, {"mx", "example"}));
  ASSERT_TRUE(mx);
  EXPECT_EQ(mx->preference, 0x1234);
  EXPECT_EQ(mx->host, "mx.example");
}

TEST(DnsMx, RefusesTrailingBytesAndShortRecords) {
  Wire wire = mx_wire(10, {"mx", "example"});
  wire.push_back(0);
  EXPECT_FALSE(parse_mx_rdata(wire));
  EXPECT_FALSE(parse_mx_rdata(Wire{0, 10}));
  EXPECT_FALSE(parse_mx_rdata(Wire{}));
}

TEST(DnsMx, SortsByPreferenceKeepingTiesInAnswerOrder) {
  const auto answer =
      build_mx(ok_answer({mx_wire(20, {"c"}), mx_wire(10, {"b"}), mx_wire(10, {"a"}),
                          mx_wire(5, {"z"}), mx_wire(10, {"d"})}));
  EXPECT_EQ(answer.info.outcome, Outcome::ok);
  const std::vector<MxHost> expected{{5, "z"}, {10, "b"}, {10, "a"}, {10, "d"}, {20, "c"}};
  EXPECT_EQ(answer.hosts, expected);
  EXPECT_FALSE(answer.null_mx);
  EXPECT_FALSE(answer.implicit_mx);
  EXPECT_EQ(answer.info.security, Security::secure);
}

TEST(DnsMx, NullMx) {
  const auto answer = build_mx(ok_answer({mx_wire(0, {})}));
  EXPECT_EQ(answer.info.outcome, Outcome::ok);
  EXPECT_TRUE(answer.null_mx);
  EXPECT_TRUE(answer.hosts.empty());
}

TEST(DnsMx, RootExchangeAmongOthersIsDroppedNotNullMx) {
  const auto answer = build_mx(ok_answer({mx_wire(0, {}), mx_wire(10, {"mx", "example"})}));
  EXPECT_FALSE(answer.null_mx);
  ASSERT_EQ(answer.hosts.size(), 1u);
  EXPECT_EQ(answer.hosts[0].host, "mx.example");
  EXPECT_FALSE(answer.info.detail.empty());
  // A lone root exchange with a preference other than 0 is not RFC 7505's null MX either.
  const auto odd = build_mx(ok_answer({mx_wire(10, {})}));
  EXPECT_FALSE(odd.null_mx);
  EXPECT_TRUE(odd.hosts.empty());
}

TEST(DnsMx, MalformedRecordFailsTheWholeAnswer) {
  const auto answer = build_mx(ok_answer({mx_wire(10, {"good"}), Wire{0, 10, 5, 'b', 'a', 'd'}}));
  EXPECT_EQ(answer.info.outcome, Outcome::servfail);
  EXPECT_TRUE(answer.hosts.empty());
  EXPECT_NE(answer.info.detail.find("MX"), std::string::npos);
}

TEST(DnsMx, TooManyRecordsFailTheAnswer) {
  std::vector<Wire> many(kMaxRecordsPerAnswer + 1, mx_wire(10, {"mx"}));
  EXPECT_EQ(build_mx(ok_answer(many)).info.outcome, Outcome::servfail);
  many.pop_back();
  EXPECT_EQ(build_mx(ok_answer(many)).info.outcome, Outcome::ok);
}

TEST(DnsMx, NonOkAnswersKeepTheirInfo) {
  RawAnswer raw;
  raw.info.outcome = Outcome::nxdomain;
  raw.info.security = Security::secure;
  const auto answer = build_mx(raw);
  EXPECT_EQ(answer.info.outcome, Outcome::nxdomain);
  EXPECT_EQ(answer.info.security, Security::secure);
  EXPECT_TRUE(answer.hosts.empty());
}

TEST(DnsTxt, JoinsCharacterStringsWithNothingBetween) {
  const auto text = parse_txt_rdata(txt_wire({"v=spf1 ip4:192.0.2.0/24 ", "-all"}));
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "v=spf1 ip4:192.0.2.0/24 -all");
  const auto answer = build_txt(ok_answer({txt_wire({"a", "b"}), txt_wire({""}), txt_wire({"c"})}));
  const std::vector<std::string> expected{"ab", "", "c"};
  EXPECT_EQ(answer.texts, expected);
}

TEST(DnsTxt, KeepsRawBytes) {
  const auto text = parse_txt_rdata(Wire{3, 0x00, 0xff, '"'});
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, std::string("\0\xff\"", 3));
}

TEST(DnsTxt, RefusesOverrunEmptyAndOversize) {
  EXPECT_FALSE(parse_txt_rdata(Wire{5, 'a', 'b'}));
  EXPECT_FALSE(parse_txt_rdata(Wire{}));
  Wire big;
  for (std::size_t total = 0; total <= kMaxTxtBytes; total += 255) {
    big.push_back(255);
    big.insert(big.end(), 255, 'x');
  }
  EXPECT_FALSE(parse_txt_rdata(big));
  const auto answer = build_txt(ok_answer({txt_wire({"fine"}), Wire{9, 'x'}}));
  EXPECT_EQ(answer.info.outcome, Outcome::servfail);
  EXPECT_TRUE(answer.texts.empty());
}

TEST(DnsTxt, ExactlyTheLimitIsAccepted) {
  Wire wire;
  std::size_t left = kMaxTxtBytes;
  while (left > 0) {
    const std::size_t n = std::min<std::size_t>(left, 255);
    wire.push_back(static_cast<std::uint8_t>(n));
    wire.insert(wire.end(), n, 'y');
    left -= n;
  }
  const auto text = parse_txt_rdata(wire);
  ASSERT_TRUE(text);
  EXPECT_EQ(text->size(), kMaxTxtBytes);
}

TEST(DnsTlsa, ParsesFields) {
  const auto tlsa = parse_tlsa_rdata(Wire{3, 1, 1, 0xde, 0xad, 0xbe, 0xef});
  ASSERT_TRUE(tlsa);
  EXPECT_EQ(tlsa->usage, 3);
  EXPECT_EQ(tlsa->selector, 1);
  EXPECT_EQ(tlsa->matching_type, 1);
  EXPECT_EQ(tlsa->data, (std::vector<std::uint8_t>{0xde, 0xad, 0xbe, 0xef}));
  // Unknown values are kept for the DANE code to ignore.
  const auto odd = parse_tlsa_rdata(Wire{255, 7, 9, 1});
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->usage, 255);
}

TEST(DnsTlsa, RefusesShortAndOversize) {
  EXPECT_FALSE(parse_tlsa_rdata(Wire{3, 1, 1}));
  Wire big{3, 0, 0};
  big.insert(big.end(), kMaxTlsaDataBytes + 1, 0xaa);
  EXPECT_FALSE(parse_tlsa_rdata(big));
  big.pop_back();
  EXPECT_TRUE(parse_tlsa_rdata(big));
  const auto answer = build_tlsa(ok_answer({Wire{3, 1, 1, 1}, Wire{3}}));
  EXPECT_EQ(answer.info.outcome, Outcome::servfail);
  EXPECT_TRUE(answer.records.empty());
}

TEST(DnsNormalize, LowercasesAndDropsTheTrailingDot) {
  EXPECT_EQ(normalize_name("MX.Example.ORG.").value_or("?"), "mx.example.org");
  EXPECT_EQ(normalize_name("_25._tcp.mx").value_or("?"), "_25._tcp.mx");
  EXPECT_FALSE(normalize_name(""));
  EXPECT_FALSE(normalize_name("."));
  EXPECT_FALSE(normalize_name("a..b"));
  EXPECT_FALSE(normalize_name(".a"));
  EXPECT_FALSE(normalize_name("a b"));
  EXPECT_FALSE(normalize_name("a\nb"));
  EXPECT_FALSE(normalize_name(std::string(64, 'a')));
  EXPECT_TRUE(normalize_name(std::string(63, 'a')));
  std::string long_name;
  while (long_name.size() < 254) long_name += "abc.";
  EXPECT_FALSE(normalize_name(long_name.substr(0, 254)));
}

TEST(DnsSecurity, CombineTakesTheWorse) {
  EXPECT_EQ(combine(Security::secure, Security::secure), Security::secure);
  EXPECT_EQ(combine(Security::secure, Security::insecure), Security::insecure);
  EXPECT_EQ(combine(Security::insecure, Security::bogus), Security::bogus);
  EXPECT_EQ(combine(Security::bogus, Security::secure), Security::bogus);
}

TEST(DnsAnswerInfo, AuthenticatedOnlyWhenSecureAndAnswered) {
  AnswerInfo info;
  info.security = Security::secure;
  for (const auto outcome : {Outcome::ok, Outcome::nxdomain, Outcome::nodata}) {
    info.outcome = outcome;
    EXPECT_TRUE(info.authenticated()) << to_string(outcome);
  }
  for (const auto outcome : {Outcome::servfail, Outcome::timeout}) {
    info.outcome = outcome;
    EXPECT_FALSE(info.authenticated()) << to_string(outcome);
  }
  info.outcome = Outcome::ok;
  info.security = Security::insecure;
  EXPECT_FALSE(info.authenticated());
  info.security = Security::bogus;
  EXPECT_FALSE(info.authenticated());
}

TEST(DnsTlsaNames, ExpandedNameFirstThenOriginalWhenSecure) {
  AnswerInfo info;
  info.outcome = Outcome::ok;
  info.security = Security::secure;
  info.qname = "alias-mx.example";
  info.canonical_name = "real-mx.example";
  EXPECT_EQ(tlsa_query_names(info),
            (std::vector<std::string>{"_25._tcp.real-mx.example", "_25._tcp.alias-mx.example"}));
  info.canonical_name = info.qname;
  EXPECT_EQ(tlsa_query_names(info, 465), (std::vector<std::string>{"_465._tcp.alias-mx.example"}));
}

TEST(DnsTlsaNames, NoneUnlessTheAddressesAreSecure) {
  AnswerInfo info;
  info.outcome = Outcome::ok;
  info.qname = info.canonical_name = "mx.example";
  info.security = Security::insecure;
  EXPECT_TRUE(tlsa_query_names(info).empty());
  info.security = Security::bogus;
  EXPECT_TRUE(tlsa_query_names(info).empty());
  info.security = Security::secure;
  info.outcome = Outcome::timeout;
  EXPECT_TRUE(tlsa_query_names(info).empty());
}

}  // namespace
}  // namespace mail::dns
