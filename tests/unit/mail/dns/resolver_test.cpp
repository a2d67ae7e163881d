// The Resolver against a real DNSSEC-signed zone: NSD serving sealpost.example. (signed by
// ldns-signzone, three RRsets broken after signing) and its unsigned child, started by the
// ctest fixture `dns` (tests/support/dns.sh; its directory in SEALPOST_TEST_DNS). libunbound
// validates with the zone's DS as trust anchor. Zone content: tests/support/dns/.
#include "mail/dns/resolver.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include "mail/dns/records.hpp"

namespace mail::dns {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

std::string read_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The fixture's directory, or empty (then the test skips, or fails in CI).
fs::path state_dir() {
  const char* dir = std::getenv("SEALPOST_TEST_DNS");
  if (dir == nullptr || !fs::exists(fs::path(dir) / "ready")) return {};
  return dir;
}

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

std::vector<std::string> addresses_of(const AddressAnswer& answer) {
  std::vector<std::string> out;
  for (const auto& a : answer.addresses) out.push_back(a.to_string());
  return out;
}

class DnsResolver : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = state_dir();
    if (dir_.empty()) {
      if (in_ci()) FAIL() << "SEALPOST_TEST_DNS not set or server not ready (fixture dns)";
      GTEST_SKIP() << "no test DNS server (run through ctest: fixture dns)";
    }
    resolver_ = make(dir_ / "trust-anchor");
  }

  std::unique_ptr<Resolver> make(const fs::path& anchor,
                                 milliseconds timeout = milliseconds(5000)) {
    ResolverOptions options;
    options.resolver = read_line(dir_ / "resolver");
    options.trust_anchor_file = anchor.string();
    options.timeout = timeout;
    auto resolver = Resolver::create(options);
    EXPECT_TRUE(resolver) << resolver.error().public_text() << ": " << resolver.error().detail();
    return resolver ? std::move(*resolver) : nullptr;
  }

  fs::path dir_;
  std::unique_ptr<Resolver> resolver_;
};

TEST_F(DnsResolver, SecureMxSortedByPreference) {
  ASSERT_TRUE(resolver_);
  EXPECT_TRUE(resolver_->validating());
  const MxAnswer mx = resolver_->mx_blocking("Sealpost.Example.");
  EXPECT_EQ(mx.info.outcome, Outcome::ok) << mx.info.detail;
  EXPECT_EQ(mx.info.security, Security::secure);
  EXPECT_TRUE(mx.info.validated);
  EXPECT_TRUE(mx.info.authenticated());
  EXPECT_EQ(mx.info.qname, "sealpost.example");
  EXPECT_FALSE(mx.null_mx);
  EXPECT_FALSE(mx.implicit_mx);
  ASSERT_EQ(mx.hosts.size(), 4u);
  // The two at 10 in whatever order the answer had them (the caller shuffles).
  EXPECT_EQ(mx.hosts[0].preference, 10);
  EXPECT_EQ(mx.hosts[1].preference, 10);
  std::vector<std::string> tied{mx.hosts[0].host, mx.hosts[1].host};
  std::sort(tied.begin(), tied.end());
  EXPECT_EQ(tied, (std::vector<std::string>{"mx1.sealpost.example", "mx3.sealpost.example"}));
  EXPECT_EQ(mx.hosts[2], (MxHost{20, "mx2.sealpost.example"}));
  EXPECT_EQ(mx.hosts[3], (MxHost{30, "alias-mx.sealpost.example"}));
}

TEST_F(DnsResolver, SecureAddressesAndTlsa) {
  ASSERT_TRUE(resolver_);
  const AddressAnswer addresses = resolver_->addresses_blocking("mx1.sealpost.example");
  EXPECT_EQ(addresses.info.outcome, Outcome::ok);
  EXPECT_EQ(addresses.info.security, Security::secure);
  EXPECT_EQ(addresses_of(addresses), (std::vector<std::string>{"127.0.0.2", "::1"}));
  const auto names = tlsa_query_names(addresses.info);
  ASSERT_EQ(names, (std::vector<std::string>{"_25._tcp.mx1.sealpost.example"}));

  const TlsaAnswer tlsa = resolver_->tlsa_blocking(names[0]);
  EXPECT_EQ(tlsa.info.outcome, Outcome::ok);
  EXPECT_EQ(tlsa.info.security, Security::secure);
  ASSERT_EQ(tlsa.records.size(), 2u);
  auto records = tlsa.records;
  std::sort(records.begin(), records.end(),
            [](const TlsaRecord& a, const TlsaRecord& b) { return a.usage < b.usage; });
  EXPECT_EQ(records[0].usage, 2);
  EXPECT_EQ(records[0].selector, 0);
  EXPECT_EQ(records[0].matching_type, 1);
  ASSERT_EQ(records[0].data.size(), 32u);
  EXPECT_EQ(records[0].data[0], 0xfe);
  EXPECT_EQ(records[1].usage, 3);
  EXPECT_EQ(records[1].selector, 1);
  EXPECT_EQ(records[1].matching_type, 1);
  ASSERT_EQ(records[1].data.size(), 32u);
  EXPECT_EQ(records[1].data[0], 0x01);
  EXPECT_EQ(records[1].data[31], 0xef);
}

TEST_F(DnsResolver, CnameMxHostGivesExpandedThenOriginalTlsaNames) {
  ASSERT_TRUE(resolver_);
  const AddressAnswer addresses = resolver_->addresses_blocking("alias-mx.sealpost.example");
  EXPECT_EQ(addresses.info.outcome, Outcome::ok);
  EXPECT_EQ(addresses.info.security, Security::secure);
  EXPECT_EQ(addresses.info.qname, "alias-mx.sealpost.example");
  EXPECT_EQ(addresses.info.canonical_name, "real-mx.sealpost.example");
  EXPECT_EQ(addresses_of(addresses), (std::vector<std::string>{"127.0.0.5", "::1"}));
  const auto names = tlsa_query_names(addresses.info);
  ASSERT_EQ(names, (std::vector<std::string>{"_25._tcp.real-mx.sealpost.example",
                                             "_25._tcp.alias-mx.sealpost.example"}));
  const TlsaAnswer expanded = resolver_->tlsa_blocking(names[0]);
  EXPECT_EQ(expanded.info.outcome, Outcome::ok);
  EXPECT_EQ(expanded.info.security, Security::secure);
  ASSERT_EQ(expanded.records.size(), 1u);
  EXPECT_EQ(expanded.records[0].data, std::vector<std::uint8_t>(32, 0xaa));
  // The original name has none, provably.
  const TlsaAnswer original = resolver_->tlsa_blocking(names[1]);
  EXPECT_EQ(original.info.outcome, Outcome::nxdomain);
  EXPECT_TRUE(original.info.authenticated());
}

TEST_F(DnsResolver, UnsignedDelegationIsInsecure) {
  ASSERT_TRUE(resolver_);
  const MxAnswer mx = resolver_->mx_blocking("unsigned.sealpost.example");
  EXPECT_EQ(mx.info.outcome, Outcome::ok);
  EXPECT_EQ(mx.info.security, Security::insecure);
  EXPECT_TRUE(mx.info.validated);
  ASSERT_EQ(mx.hosts.size(), 1u);
  EXPECT_EQ(mx.hosts[0].host, "mx.unsigned.sealpost.example");
  const AddressAnswer addresses = resolver_->addresses_blocking(mx.hosts[0].host);
  EXPECT_EQ(addresses.info.outcome, Outcome::ok);
  EXPECT_EQ(addresses.info.security, Security::insecure);
  EXPECT_TRUE(tlsa_query_names(addresses.info).empty());  // DANE cannot apply
  const TlsaAnswer tlsa = resolver_->tlsa_blocking("_25._tcp.mx.unsigned.sealpost.example");
  EXPECT_EQ(tlsa.info.outcome, Outcome::ok);
  EXPECT_EQ(tlsa.info.security, Security::insecure);
  EXPECT_FALSE(tlsa.info.authenticated());
}

TEST_F(DnsResolver, BogusAnswersAreBogusAndCarryNoData) {
  ASSERT_TRUE(resolver_);
  const AddressAnswer address = resolver_->addresses_blocking("bogus.sealpost.example");
  EXPECT_EQ(address.info.security, Security::bogus);
  EXPECT_EQ(address.info.outcome, Outcome::servfail);
  EXPECT_TRUE(address.addresses.empty());
  EXPECT_NE(address.info.why_bogus.find("bogus.sealpost.example"), std::string::npos)
      << address.info.why_bogus;
  EXPECT_TRUE(tlsa_query_names(address.info).empty());

  const TlsaAnswer tlsa = resolver_->tlsa_blocking("_25._tcp.mx2.sealpost.example");
  EXPECT_EQ(tlsa.info.security, Security::bogus);
  EXPECT_EQ(tlsa.info.outcome, Outcome::servfail);
  EXPECT_TRUE(tlsa.records.empty());
  EXPECT_FALSE(tlsa.info.why_bogus.empty());

  const TxtAnswer txt = resolver_->txt_blocking("bogus-txt.sealpost.example");
  EXPECT_EQ(txt.info.security, Security::bogus);
  EXPECT_EQ(txt.info.outcome, Outcome::servfail);
  EXPECT_TRUE(txt.texts.empty());

  // The MX RRset itself is good; its host's address is not.
  const MxAnswer mx = resolver_->mx_blocking("bogus-mx.sealpost.example");
  EXPECT_EQ(mx.info.security, Security::secure);
  ASSERT_EQ(mx.hosts.size(), 1u);
  EXPECT_EQ(resolver_->addresses_blocking(mx.hosts[0].host).info.security, Security::bogus);
}

TEST_F(DnsResolver, NxdomainAndNodataAreAuthenticatedDenials) {
  ASSERT_TRUE(resolver_);
  const MxAnswer nx = resolver_->mx_blocking("no-such-name.sealpost.example");
  EXPECT_EQ(nx.info.outcome, Outcome::nxdomain);
  EXPECT_EQ(nx.info.security, Security::secure);
  EXPECT_TRUE(nx.hosts.empty());
  EXPECT_FALSE(nx.implicit_mx);

  const TxtAnswer nodata = resolver_->txt_blocking("mx2.sealpost.example");
  EXPECT_EQ(nodata.info.outcome, Outcome::nodata);
  EXPECT_EQ(nodata.info.security, Security::secure);

  // Neither MX nor address: still nodata, and no implicit MX.
  const MxAnswer none = resolver_->mx_blocking("nodata.sealpost.example");
  EXPECT_EQ(none.info.outcome, Outcome::nodata);
  EXPECT_EQ(none.info.security, Security::secure);
  EXPECT_FALSE(none.implicit_mx);
  EXPECT_TRUE(none.hosts.empty());

  const AddressAnswer nx_addresses = resolver_->addresses_blocking("nope.sealpost.example");
  EXPECT_EQ(nx_addresses.info.outcome, Outcome::nxdomain);
  EXPECT_EQ(nx_addresses.info.security, Security::secure);
}

TEST_F(DnsResolver, NullMx) {
  ASSERT_TRUE(resolver_);
  const MxAnswer mx = resolver_->mx_blocking("nullmx.sealpost.example");
  EXPECT_EQ(mx.info.outcome, Outcome::ok);
  EXPECT_EQ(mx.info.security, Security::secure);
  EXPECT_TRUE(mx.null_mx);
  EXPECT_FALSE(mx.implicit_mx);  // it has an A record, but a null MX wins
  EXPECT_TRUE(mx.hosts.empty());
}

TEST_F(DnsResolver, ImplicitMx) {
  ASSERT_TRUE(resolver_);
  const MxAnswer mx = resolver_->mx_blocking("implicit.sealpost.example");
  EXPECT_EQ(mx.info.outcome, Outcome::ok);
  EXPECT_EQ(mx.info.security, Security::secure);
  EXPECT_TRUE(mx.implicit_mx);
  EXPECT_FALSE(mx.null_mx);
  EXPECT_EQ(mx.hosts, (std::vector<MxHost>{{0, "implicit.sealpost.example"}}));
}

TEST_F(DnsResolver, TxtRecordsForMailPolicies) {
  ASSERT_TRUE(resolver_);
  const TxtAnswer spf = resolver_->txt_blocking("sealpost.example");
  EXPECT_EQ(spf.info.outcome, Outcome::ok);
  EXPECT_EQ(spf.info.security, Security::secure);
  EXPECT_EQ(spf.texts, (std::vector<std::string>{"v=spf1 ip4:127.0.0.0/8 ip6:::1 -all"}));
  const std::vector<std::pair<std::string, std::string>> expected{
      {"_mta-sts.sealpost.example", "v=STSv1; id=20240101T000000;"},
      {"_smtp._tls.sealpost.example", "v=TLSRPTv1; rua=mailto:tlsrpt@sealpost.example"},
      {"_dmarc.sealpost.example", "v=DMARC1; p=reject; rua=mailto:dmarc@sealpost.example"},
      {"s1._domainkey.sealpost.example",
       "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
      // From tests/support/dns/fixture-extra.zone, appended by the fixture before signing.
      {"extra.sealpost.example", "added by the caller of dns.sh"},
  };
  for (const auto& [name, text] : expected) {
    const TxtAnswer txt = resolver_->txt_blocking(name);
    EXPECT_EQ(txt.info.outcome, Outcome::ok) << name;
    EXPECT_EQ(txt.info.security, Security::secure) << name;
    EXPECT_EQ(txt.texts, std::vector<std::string>{text}) << name;
  }
}

TEST_F(DnsResolver, AsyncCompletionRunsOnTheHandlersExecutor) {
  ASSERT_TRUE(resolver_);
  boost::asio::io_context io;
  auto strand = boost::asio::make_strand(io);
  constexpr int kLookups = 40;
  int done = 0;
  int on_strand = 0;
  int secure = 0;
  for (int i = 0; i < kLookups; ++i) {
    const std::string name = i % 2 == 0 ? "sealpost.example" : "implicit.sealpost.example";
    resolver_->async_mx(
        name, boost::asio::bind_executor(strand, [&](MxAnswer mx) {
          ++done;
          if (strand.running_in_this_thread()) ++on_strand;
          if (mx.info.outcome == Outcome::ok && mx.info.security == Security::secure) ++secure;
        }));
  }
  resolver_->async_tlsa("_25._tcp.mx1.sealpost.example",
                        boost::asio::bind_executor(strand, [&](TlsaAnswer tlsa) {
                          ++done;
                          if (strand.running_in_this_thread()) ++on_strand;
                          if (tlsa.records.size() == 2) ++secure;
                        }));
  // run() returns only once every completion ran: the pending lookups keep io busy.
  io.run_for(std::chrono::seconds(30));
  EXPECT_EQ(done, kLookups + 1);
  EXPECT_EQ(on_strand, kLookups + 1);
  EXPECT_EQ(secure, kLookups + 1);
}

TEST_F(DnsResolver, ValidationOffReportsInsecureEverywhere) {
  ASSERT_TRUE(resolver_);
  auto plain = make("");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->validating());
  const MxAnswer mx = plain->mx_blocking("sealpost.example");
  EXPECT_EQ(mx.info.outcome, Outcome::ok);
  EXPECT_EQ(mx.info.security, Security::insecure);
  EXPECT_FALSE(mx.info.validated);
  EXPECT_EQ(mx.hosts.size(), 4u);
  // Without validation the broken signature goes unnoticed: the (altered) data comes back,
  // insecure, never bogus and never secure.
  const AddressAnswer bogus = plain->addresses_blocking("bogus.sealpost.example");
  EXPECT_EQ(bogus.info.outcome, Outcome::ok);
  EXPECT_EQ(bogus.info.security, Security::insecure);
  EXPECT_EQ(addresses_of(bogus), (std::vector<std::string>{"127.0.0.99"}));
  const TlsaAnswer tlsa = plain->tlsa_blocking("_25._tcp.mx1.sealpost.example");
  EXPECT_EQ(tlsa.info.security, Security::insecure);
  EXPECT_EQ(tlsa.records.size(), 2u);
  EXPECT_TRUE(tlsa_query_names(plain->addresses_blocking("mx1.sealpost.example").info).empty());
}

TEST_F(DnsResolver, WrongTrustAnchorMakesEverythingBogus) {
  ASSERT_TRUE(resolver_);
  // A DS of the right zone with another digest: nothing in the zone can validate.
  const fs::path anchor =
      fs::temp_directory_path() / ("sealpost-dns-ta-" + std::to_string(getpid()));
  {
    std::ofstream out(anchor);
    out << "sealpost.example. 3600 IN DS 12345 13 2 "
        << "0000000000000000000000000000000000000000000000000000000000000000\n";
  }
  auto wrong = make(anchor);
  fs::remove(anchor);
  ASSERT_TRUE(wrong);
  const MxAnswer mx = wrong->mx_blocking("sealpost.example");
  EXPECT_EQ(mx.info.security, Security::bogus);
  EXPECT_EQ(mx.info.outcome, Outcome::servfail);
  EXPECT_TRUE(mx.hosts.empty());
}

TEST(DnsResolverSetup, BadTrustAnchorFilesStopStartup) {
  ResolverOptions options;
  options.resolver = "127.0.0.1:53";
  options.trust_anchor_file = "/nonexistent/root.key";
  EXPECT_FALSE(Resolver::create(options));

  const fs::path garbage =
      fs::temp_directory_path() / ("sealpost-dns-garbage-" + std::to_string(getpid()));
  {
    std::ofstream out(garbage);
    out << "this is not a zone file {\n";
  }
  options.trust_anchor_file = garbage.string();
  const auto resolver = Resolver::create(options);
  fs::remove(garbage);
  EXPECT_FALSE(resolver);

  options.trust_anchor_file = "";
  options.timeout = milliseconds(5);
  EXPECT_FALSE(Resolver::create(options));  // below kMinTimeout
}

// The defaults: /etc/resolv.conf and Debian's root trust anchor (dns-root-data), which
// must parse. No lookup leaves the machine: startup asks only for "localhost.".
TEST(DnsResolverSetup, DefaultOptionsStart) {
  const ResolverOptions defaults;
  ASSERT_TRUE(fs::exists(defaults.trust_anchor_file)) << "apt package dns-root-data";
  const auto resolver = Resolver::create(defaults);
  ASSERT_TRUE(resolver) << resolver.error().public_text() << ": " << resolver.error().detail();
  EXPECT_TRUE((*resolver)->validating());
}

// A UDP port that is bound and never read: every query to it goes unanswered.
class SilentPort {
 public:
  SilentPort() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      socklen_t len = sizeof addr;
      getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
      port_ = ntohs(addr.sin_port);
    }
  }
  ~SilentPort() {
    if (fd_ >= 0) close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(DnsResolverTimeout, SilentResolverTimesOut) {
  SilentPort silent;
  ASSERT_NE(silent.port(), 0);
  ResolverOptions options;
  options.resolver = "127.0.0.1:" + std::to_string(silent.port());
  options.trust_anchor_file = "";
  options.timeout = milliseconds(300);
  auto resolver = Resolver::create(options);
  ASSERT_TRUE(resolver) << resolver.error().detail();
  const auto start = std::chrono::steady_clock::now();
  const TxtAnswer txt = (*resolver)->txt_blocking("anything.example");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(txt.info.outcome, Outcome::timeout) << txt.info.detail;
  EXPECT_NE(txt.info.security, Security::secure);
  EXPECT_FALSE(txt.info.authenticated());
  EXPECT_GE(took, milliseconds(290));
  EXPECT_LT(took, milliseconds(5000));  // generous: ASan and a busy CI machine
  // The MX lookup's timeout is the answer, not an implicit MX or nodata.
  const MxAnswer mx = (*resolver)->mx_blocking("other.example");
  EXPECT_EQ(mx.info.outcome, Outcome::timeout);
  EXPECT_TRUE(mx.hosts.empty());
  const AddressAnswer addresses = (*resolver)->addresses_blocking("host.example");
  EXPECT_EQ(addresses.info.outcome, Outcome::timeout);
}

TEST(DnsResolverTimeout, DestroyingTheResolverAnswersLookupsInFlight) {
  SilentPort silent;
  ASSERT_NE(silent.port(), 0);
  ResolverOptions options;
  options.resolver = "127.0.0.1:" + std::to_string(silent.port());
  options.trust_anchor_file = "";
  options.timeout = milliseconds(60'000);
  auto resolver = Resolver::create(options);
  ASSERT_TRUE(resolver);
  std::promise<MxAnswer> promise;
  auto future = promise.get_future();
  (*resolver)->async_mx("stuck.example",
                        [&promise](MxAnswer mx) { promise.set_value(std::move(mx)); });
  std::this_thread::sleep_for(milliseconds(100));
  resolver->reset();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  const MxAnswer mx = future.get();
  EXPECT_EQ(mx.info.outcome, Outcome::servfail);
  EXPECT_EQ(mx.info.detail, "resolver stopped");
}

TEST(DnsResolverInput, InvalidNamesFailWithoutAQuery) {
  ResolverOptions options;
  options.resolver = "127.0.0.1:9";
  options.trust_anchor_file = "";
  options.timeout = milliseconds(200);
  auto resolver = Resolver::create(options);
  ASSERT_TRUE(resolver);
  const TxtAnswer txt = (*resolver)->txt_blocking("bad name\r\n.example");
  EXPECT_EQ(txt.info.outcome, Outcome::servfail);
  EXPECT_EQ(txt.info.qname, "");
  EXPECT_FALSE(txt.info.detail.empty());
}

}  // namespace
}  // namespace mail::dns
