// The pure parts of MTA-STS in delivery: RFC 8461 §5.1's choice between cache, fetch and no
// policy; what a fetched response must be; which MX hosts an enforce policy allows; and what
// an attempt records for TLS-RPT (RFC 8460 result types).

#include "mail/mtasts/lookup.hpp"

#include <gtest/gtest.h>

#include "mail/mtasts/fetch.hpp"
#include "mail/mtasts/report.hpp"

namespace mail::mtasts {
namespace {

store::MtaStsRecord cached(std::string id, std::int64_t expires_at, std::string mode = "enforce") {
  store::MtaStsRecord r;
  r.domain = "x.example";
  r.policy_id = std::move(id);
  r.mode = std::move(mode);
  r.mx = {"mx.x.example", "*.backup.x.example"};
  r.max_age = 1000;
  r.fetched_at = expires_at - 1000;
  r.expires_at = expires_at;
  return r;
}

TEST(MtaStsPlan, ACachedPolicyIsRefreshedAheadOfItsExpiry) {
  const std::int64_t now = 1'000'000;
  auto row = [&](std::int64_t age, std::int64_t max_age) {
    store::MtaStsRecord r = cached("id1", now - age + max_age);
    r.max_age = max_age;
    r.fetched_at = now - age;
    return std::optional(r);
  };
  // Half its max_age: a policy of 1000 s is refreshed from 500 s on, not before.
  EXPECT_EQ(plan(TxtStatus::present, "id1", row(499, 1000), now), Step::use_cache);
  EXPECT_EQ(plan(TxtStatus::present, "id1", row(500, 1000), now), Step::use_cache_and_refresh);
  // A long max_age: from a day on (kRefreshAfter).
  const std::int64_t week = 7 * 86'400;
  EXPECT_EQ(plan(TxtStatus::present, "id1", row(86'399, week), now), Step::use_cache);
  EXPECT_EQ(plan(TxtStatus::present, "id1", row(86'400, week), now), Step::use_cache_and_refresh);
  // Without the TXT record (or with another id) there is nothing to refresh to.
  EXPECT_EQ(plan(TxtStatus::absent, "", row(86'400, week), now), Step::use_cache);
  EXPECT_EQ(plan(TxtStatus::failed, "", row(86'400, week), now), Step::use_cache);
  EXPECT_EQ(plan(TxtStatus::present, "id2", row(86'400, week), now), Step::fetch);
}

TEST(MtaStsPlan, FollowsRfc8461Section5) {
  const std::int64_t now = 5000;
  const auto fresh = std::optional(cached("id1", now + 1));
  const auto stale = std::optional(cached("id1", now));  // expires_at == now: expired
  const std::optional<store::MtaStsRecord> none;
  // The TXT id equals the fresh cache's: the cache (this one is 999 s old of 1000: it is
  // also fetched again, in the background).
  EXPECT_EQ(plan(TxtStatus::present, "id1", fresh, now), Step::use_cache_and_refresh);
  // A new id, an expired cache, or no cache: fetch.
  EXPECT_EQ(plan(TxtStatus::present, "id2", fresh, now), Step::fetch);
  EXPECT_EQ(plan(TxtStatus::present, "id1", stale, now), Step::fetch);
  EXPECT_EQ(plan(TxtStatus::present, "id1", none, now), Step::fetch);
  // No TXT record, or a lookup that failed: a fresh cache still holds; else no policy.
  for (auto txt : {TxtStatus::absent, TxtStatus::failed}) {
    EXPECT_EQ(plan(txt, "", fresh, now), Step::use_cache);
    EXPECT_EQ(plan(txt, "", stale, now), Step::none);
    EXPECT_EQ(plan(txt, "", none, now), Step::none);
  }
}

TEST(MtaStsPlan, CacheRowsBothWays) {
  const Policy p{Mode::testing, {"mx.x.example"}, 600};
  const auto row = to_cache("x.example", "id7", p, 1000);
  EXPECT_EQ(row.domain, "x.example");
  EXPECT_EQ(row.policy_id, "id7");
  EXPECT_EQ(row.mode, "testing");
  EXPECT_EQ(row.mx, p.mx);
  EXPECT_EQ(row.fetched_at, 1000);
  EXPECT_EQ(row.expires_at, 1600);
  const Applied a = from_cache(row);
  EXPECT_EQ(a.source, Applied::Source::cache);
  EXPECT_EQ(a.id, "id7");
  ASSERT_TRUE(a.policy);
  EXPECT_EQ(*a.policy, p);
  // Mode none is cached but applies nothing.
  const Applied n = from_cache(cached("id8", 9999, "none"));
  EXPECT_FALSE(n.policy);
  EXPECT_EQ(n.id, "id8");
  EXPECT_FALSE(n.input());
}

TEST(MtaStsApplied, EnforceAllowsOnlyMatchingMxHosts) {
  Applied a = from_cache(cached("id1", 9999));
  EXPECT_TRUE(a.enforce());
  EXPECT_TRUE(a.allows("mx.x.example"));
  EXPECT_TRUE(a.allows("MX.X.Example."));
  EXPECT_TRUE(a.allows("b1.backup.x.example"));
  EXPECT_FALSE(a.allows("a.b1.backup.x.example"));  // "*." is exactly one label
  EXPECT_FALSE(a.allows("backup.x.example"));
  EXPECT_FALSE(a.allows("mx.other.example"));
  auto in = a.input();
  ASSERT_TRUE(in);
  EXPECT_TRUE(in->enforce);
  EXPECT_EQ(in->mx_patterns, a.policy->mx);
  // Testing reports only: every host allowed, and decide() is told the mode.
  Applied t = from_cache(cached("id1", 9999, "testing"));
  EXPECT_FALSE(t.enforce());
  EXPECT_TRUE(t.allows("mx.other.example"));
  ASSERT_TRUE(t.input());
  EXPECT_FALSE(t.input()->enforce);
  // No policy: everything allowed, nothing for decide().
  EXPECT_TRUE(Applied{}.allows("anything.example"));
  EXPECT_FALSE(Applied{}.input());
}

TEST(MtaStsApplied, EnforceRaisesTheDecisionAndDaneWins) {
  policy::Inputs in;
  in.message = policy::Policy::opportunistic;
  in.mta_sts = from_cache(cached("id1", 9999)).input();
  auto d = policy::decide(in).value();
  EXPECT_EQ(d.requirement, policy::Requirement::verified);
  EXPECT_EQ(d.verify_by, policy::Verification::mta_sts);
  EXPECT_EQ(d.on_failure, policy::OnFailure::defer);
  in.dane = policy::Dane::usable;
  EXPECT_EQ(policy::decide(in).value().verify_by, policy::Verification::dane);
  in.dane = policy::Dane::absent;
  in.mta_sts = from_cache(cached("id1", 9999, "testing")).input();
  EXPECT_EQ(policy::decide(in).value().requirement, policy::Requirement::none);
}

TEST(MtaStsFetch, ResponseChecks) {
  const std::string body = "version: STSv1\nmode: enforce\nmx: mx.x.example\nmax_age: 86400\n";
  auto ok = check_response(200, "text/plain", body);
  EXPECT_EQ(ok.failure, FetchFailure::none) << ok.detail;
  EXPECT_EQ(ok.policy.mode, Mode::enforce);
  EXPECT_EQ(check_response(200, "Text/Plain; charset=utf-8", body).failure, FetchFailure::none);
  EXPECT_EQ(check_response(200, " text/plain ;charset=US-ASCII", body).failure, FetchFailure::none);
  for (unsigned status : {301u, 302u, 307u, 308u}) {
    auto r = check_response(status, "text/plain", body);
    EXPECT_EQ(r.failure, FetchFailure::fetch_error);
    EXPECT_NE(r.detail.find("redirect, not followed"), std::string::npos);
  }
  EXPECT_EQ(check_response(404, "text/plain", body).failure, FetchFailure::fetch_error);
  EXPECT_EQ(check_response(500, "text/plain", body).failure, FetchFailure::fetch_error);
  EXPECT_EQ(check_response(200, "text/html", body).failure, FetchFailure::policy_invalid);
  EXPECT_EQ(check_response(200, "", body).failure, FetchFailure::policy_invalid);
  EXPECT_EQ(check_response(200, "text/plainx", body).failure, FetchFailure::policy_invalid);
  EXPECT_EQ(check_response(200, "text/plain", "mode: enforce\n").failure,
            FetchFailure::policy_invalid);
  EXPECT_EQ(failure_name(FetchFailure::fetch_error), "sts-policy-fetch-error");
  EXPECT_EQ(failure_name(FetchFailure::webpki_invalid), "sts-webpki-invalid");
  EXPECT_EQ(failure_name(FetchFailure::policy_invalid), "sts-policy-invalid");
}

smtp::TlsRecord tls_failed(std::string why, bool tls = true) {
  smtp::TlsRecord r;
  r.tls = tls;
  r.failure = std::move(why);
  return r;
}

TEST(MtaStsReport, TlsFailuresAsRfc8460ResultTypes) {
  smtp::Status s;
  s.enhanced = "4.7.5";
  EXPECT_EQ(tls_result_type(s, smtp::TlsRecord{}), "");
  EXPECT_EQ(tls_result_type(s, tls_failed("certificate not trusted: certificate has expired")),
            "certificate-expired");
  EXPECT_EQ(tls_result_type(s, tls_failed("certificate not trusted: self-signed certificate")),
            "certificate-not-trusted");
  EXPECT_EQ(tls_result_type(s, tls_failed("certificate name matches none of the acceptable names")),
            "certificate-host-mismatch");
  EXPECT_EQ(tls_result_type(s, tls_failed("TLS handshake failed: x", false)), "validation-failure");
  smtp::Status no_tls;
  no_tls.enhanced = "4.7.4";
  EXPECT_EQ(tls_result_type(no_tls, tls_failed("STARTTLS not offered", false)),
            "starttls-not-supported");
  // Level `may`, delivered in clear: still reported (testing mode wants to know).
  smtp::Status delivered;
  delivered.outcome = smtp::Outcome::delivered;
  delivered.enhanced = "2.0.0";
  EXPECT_EQ(tls_result_type(delivered, tls_failed("STARTTLS not offered", false)),
            "starttls-not-supported");
}

TEST(MtaStsReport, WhatAnAttemptRecords) {
  smtp::Status ok;
  ok.outcome = smtp::Outcome::delivered;
  const Applied enforce = from_cache(cached("id1", 9999));
  auto n = note_attempt(enforce, "mx.x.example", ok, smtp::TlsRecord{}, false);
  EXPECT_EQ(n.mode, "enforce");
  EXPECT_EQ(n.id, "id1");
  EXPECT_EQ(n.failure, "");
  EXPECT_EQ(n.verified_suffix, "");
  n = note_attempt(enforce, "", smtp::Status{}, smtp::TlsRecord{}, true);
  EXPECT_EQ(n.failure, "validation-failure");
  smtp::Status unverified;
  unverified.enhanced = "4.7.5";
  n = note_attempt(enforce, "mx.x.example", unverified,
                   tls_failed("certificate name matches none of the acceptable names"), false);
  EXPECT_EQ(n.failure, "certificate-host-mismatch");

  const Applied testing = from_cache(cached("id2", 9999, "testing"));
  n = note_attempt(testing, "mx.other.example", ok, smtp::TlsRecord{}, false);
  EXPECT_EQ(n.mode, "testing");
  EXPECT_EQ(n.failure, "validation-failure");  // used, though outside the patterns
  EXPECT_EQ(n.verified_suffix, " (mta-sts testing)");
  EXPECT_EQ(n.verified("none"), "none (mta-sts testing)");
  EXPECT_EQ(n.verified(""), "none (mta-sts testing)");  // no TLS at all
  EXPECT_EQ(AttemptNote{}.verified(""), "");
  EXPECT_EQ(AttemptNote{}.verified("ca"), "ca");

  Applied failed;
  failed.id = "id3";
  failed.failure = FetchFailure::webpki_invalid;
  n = note_attempt(failed, "mx.x.example", ok, smtp::TlsRecord{}, false);
  EXPECT_EQ(n.mode, "");
  EXPECT_EQ(n.id, "id3");
  EXPECT_EQ(n.failure, "sts-webpki-invalid");
  n = note_attempt(Applied{}, "mx.x.example", ok, smtp::TlsRecord{}, false);
  EXPECT_EQ(n.mode, "");
  EXPECT_EQ(n.id, "");
  EXPECT_EQ(n.failure, "");
}

}  // namespace
}  // namespace mail::mtasts
