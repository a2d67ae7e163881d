// The TLS policy decision: each named policy, the stricter winning per dimension, M4, DANE
// over MTA-STS, bogus DNSSEC failing closed, and MTA-STS MX patterns.

#include "mail/policy/policy.hpp"

#include <gtest/gtest.h>

namespace mail::policy {
namespace {

Decision decided(Inputs in) {
  auto d = decide(in);
  EXPECT_TRUE(d) << (d ? "" : d.error().public_text());
  return d ? *d : Decision{};
}

TEST(MailPolicy, ParseNames) {
  for (auto p :
       {Policy::none, Policy::opportunistic, Policy::verify, Policy::exclusive, Policy::forced}) {
    EXPECT_EQ(parse_policy(policy_name(p)).value(), p);
  }
  EXPECT_FALSE(parse_policy("secure"));
  EXPECT_FALSE(parse_policy("VERIFY"));
  EXPECT_FALSE(parse_policy(""));
}

TEST(MailPolicy, EachPolicyAlone) {
  struct Case {
    Policy p;
    Requirement r;
    OnFailure f;
    Verification v;
  };
  for (const auto& c :
       {Case{Policy::opportunistic, Requirement::none, OnFailure::send_clear, Verification::none},
        Case{Policy::verify, Requirement::verified, OnFailure::defer, Verification::ca},
        Case{Policy::exclusive, Requirement::encrypted, OnFailure::drop, Verification::none},
        Case{Policy::forced, Requirement::encrypted, OnFailure::fallback, Verification::none}}) {
    auto d = decided({.message = c.p, .default_policy = Policy::opportunistic});
    EXPECT_EQ(d.requirement, c.r) << policy_name(c.p);
    EXPECT_EQ(d.on_failure, c.f) << policy_name(c.p);
    EXPECT_EQ(d.verify_by, c.v) << policy_name(c.p);
    EXPECT_EQ(d.effective, c.p);
  }
  auto none = decided({.message = Policy::none, .default_policy = Policy::none});
  EXPECT_EQ(none.effective, Policy::none);
  EXPECT_EQ(none.requirement, Requirement::none);
}

TEST(MailPolicy, NoneIsNeverForPhi) {
  auto d = decide({.message = Policy::none, .default_policy = Policy::opportunistic, .phi = true});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().kind(), core::ErrorKind::invalid_input);
  // Nor through a domain policy.
  EXPECT_FALSE(decide({.message = Policy::verify, .domain = Policy::none, .phi = true}));
  EXPECT_TRUE(decide({.message = Policy::none, .default_policy = Policy::none, .phi = false}));
}

TEST(MailPolicy, TheStricterWinsEachDimension) {
  // A verify domain and an exclusive message: verified TLS, or drop.
  auto d = decided({.message = Policy::exclusive, .domain = Policy::verify});
  EXPECT_EQ(d.requirement, Requirement::verified);
  EXPECT_EQ(d.on_failure, OnFailure::drop);
  EXPECT_EQ(d.effective, Policy::exclusive);
  // Order does not matter.
  auto e = decided({.message = Policy::verify, .domain = Policy::exclusive});
  EXPECT_EQ(e.requirement, d.requirement);
  EXPECT_EQ(e.on_failure, d.on_failure);
  // An opportunistic message to a forced domain is forced.
  auto f = decided({.message = Policy::opportunistic, .domain = Policy::forced});
  EXPECT_EQ(f.on_failure, OnFailure::fallback);
  EXPECT_EQ(f.requirement, Requirement::encrypted);
  // The default applies only where no domain policy is configured.
  auto g = decided({.message = Policy::opportunistic,
                    .domain = Policy::opportunistic,
                    .default_policy = Policy::verify});
  EXPECT_EQ(g.requirement, Requirement::none);
  auto h = decided({.message = Policy::opportunistic, .default_policy = Policy::verify});
  EXPECT_EQ(h.requirement, Requirement::verified);
}

TEST(MailPolicy, SeenWithTlsIsNeverSentInCleartextAgain) {
  auto d = decided({.message = Policy::opportunistic, .seen_tls = true});
  EXPECT_EQ(d.requirement, Requirement::encrypted);
  EXPECT_EQ(d.on_failure, OnFailure::defer);
  EXPECT_NE(d.reason.find("seen with TLS"), std::string::npos);
  // Policies that already require TLS are unchanged by it.
  auto v = decided({.message = Policy::verify, .seen_tls = true});
  EXPECT_EQ(v.requirement, Requirement::verified);
}

TEST(MailPolicy, DaneRaisesAnyPolicyAndWinsOverMtaSts) {
  MtaSts sts{.enforce = true, .mx_patterns = {"*.example.com"}};
  auto d = decided({.message = Policy::opportunistic, .dane = Dane::usable, .mta_sts = sts});
  EXPECT_EQ(d.requirement, Requirement::verified);
  EXPECT_EQ(d.verify_by, Verification::dane);
  EXPECT_EQ(d.on_failure, OnFailure::defer);
  EXPECT_TRUE(d.name_patterns.empty());
  // An exclusive message keeps its drop under DANE.
  auto x = decided({.message = Policy::exclusive, .dane = Dane::usable});
  EXPECT_EQ(x.on_failure, OnFailure::drop);
  EXPECT_EQ(x.verify_by, Verification::dane);
}

TEST(MailPolicy, MtaStsEnforceRaisesToVerifiedAgainstItsPatterns) {
  MtaSts sts{.enforce = true, .mx_patterns = {"mx1.example.com", "*.mail.example.com"}};
  auto d = decided({.message = Policy::opportunistic, .mta_sts = sts});
  EXPECT_EQ(d.requirement, Requirement::verified);
  EXPECT_EQ(d.verify_by, Verification::mta_sts);
  EXPECT_EQ(d.name_patterns, sts.mx_patterns);
  // testing mode: report only, nothing raised.
  sts.enforce = false;
  auto t = decided({.message = Policy::opportunistic, .mta_sts = sts});
  EXPECT_EQ(t.requirement, Requirement::none);
}

TEST(MailPolicy, BogusDnssecFailsClosed) {
  auto d = decided({.message = Policy::opportunistic, .dane = Dane::bogus});
  EXPECT_EQ(d.requirement, Requirement::verified);
  EXPECT_EQ(d.verify_by, Verification::dane);
  EXPECT_EQ(d.on_failure, OnFailure::defer);
  // Even with an MTA-STS policy that would verify by name: bogus wins.
  auto e = decided({.message = Policy::verify,
                    .dane = Dane::bogus,
                    .mta_sts = MtaSts{.enforce = true, .mx_patterns = {"mx.example.com"}}});
  EXPECT_EQ(e.verify_by, Verification::dane);
}

TEST(MailPolicy, MxPatterns) {
  const std::vector<std::string> p = {"mx1.example.com", "*.mail.example.com"};
  EXPECT_TRUE(mx_matches("mx1.example.com", p));
  EXPECT_TRUE(mx_matches("MX1.Example.COM.", p));
  EXPECT_TRUE(mx_matches("a.mail.example.com", p));
  EXPECT_FALSE(mx_matches("mail.example.com", p));      // the star is one label, not zero
  EXPECT_FALSE(mx_matches("a.b.mail.example.com", p));  // nor two
  EXPECT_FALSE(mx_matches("mx2.example.com", p));
  EXPECT_FALSE(mx_matches("evilmx1.example.com", p));
  EXPECT_FALSE(mx_matches("x.mail.example.com.evil", p));
  EXPECT_FALSE(mx_matches("anything", {}));
}

}  // namespace
}  // namespace mail::policy
