// O3: the admin listener's address check, route classes and submission outcomes of the
// metrics, and what /metrics renders.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "app/admin.hpp"
#include "app/config.hpp"
#include "app/metrics.hpp"
#include "http/router.hpp"

namespace app {
namespace {

core::Status admin_check(std::string listen, bool allow_public = false) {
  Config config;
  config.admin_listen = std::move(listen);
  config.admin_listen_public = allow_public;
  return check_admin_listen(config);
}

TEST(AdminListen, LoopbackOnlyUnlessPublicIsAllowed) {
  EXPECT_TRUE(admin_check("127.0.0.1:9090"));
  EXPECT_TRUE(admin_check("127.0.0.1:0"));
  EXPECT_TRUE(admin_check("[::1]:9090"));
  EXPECT_TRUE(admin_check(""));  // disabled
  auto refused = admin_check("0.0.0.0:9090");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().public_text().find("admin_listen_public"), std::string::npos);
  EXPECT_FALSE(admin_check("192.0.2.7:9090"));
  EXPECT_FALSE(admin_check("[::]:9090"));
  EXPECT_TRUE(admin_check("0.0.0.0:9090", true));
  EXPECT_TRUE(admin_check("192.0.2.7:9090", true));
}

TEST(AdminListen, MalformedAddressesAreRefused) {
  for (const char* bad :
       {"localhost:9090", "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:90x", ":9090"}) {
    EXPECT_FALSE(admin_check(bad, true)) << bad;
  }
}

TEST(MetricsClassification, EveryIntakeOutcomeHasItsLabels) {
  using Kind = intake::PostOutcome::Kind;
  auto is = [](Kind kind, std::string_view outcome, std::string_view reason) {
    auto got = classify_submission(kind);
    return got.outcome == outcome && got.reason == reason;
  };
  EXPECT_TRUE(is(Kind::stored, "stored", "ok"));
  EXPECT_TRUE(is(Kind::replay, "replay", "token_used"));
  EXPECT_TRUE(is(Kind::resubmit, "invalid", "resubmit"));
  EXPECT_TRUE(is(Kind::not_verified, "rejected", "bad_token"));
  EXPECT_TRUE(is(Kind::malformed, "rejected", "malformed"));
  EXPECT_TRUE(is(Kind::unsupported_type, "rejected", "content_type"));
  EXPECT_TRUE(is(Kind::unknown_form, "rejected", "unknown_form"));
  EXPECT_TRUE(is(Kind::rate_limited, "rate_limited", "rate_limit"));
  EXPECT_TRUE(is(Kind::not_stored, "unavailable", "not_stored"));
  EXPECT_TRUE(is(Kind::overloaded, "unavailable", "overloaded"));
  EXPECT_TRUE(is(Kind::form_unavailable, "unavailable", "form_unavailable"));
  EXPECT_TRUE(is(Kind::not_encrypted, "error", "not_encrypted"));
}

TEST(MetricsClassification, RouteClassesNeverCarryThePath) {
  http::Router router;
  auto nop = [](http::Request&&, http::RequestContext&&, http::Responder) {};
  router.add(http::bhttp::verb::get, "/f/{form}", nop);
  router.add(http::bhttp::verb::post, "/f/{form}", nop);
  router.add(http::bhttp::verb::get, "/f/{form}/thanks/{ref}", nop);
  router.add(http::bhttp::verb::get, "/portal/api/forms", nop);
  router.add(http::bhttp::verb::get, "/portal/static/{file}", nop);
  router.add(http::bhttp::verb::get, "/portal/", nop);
  auto cls = [&](http::bhttp::verb v, std::string_view target) {
    return std::string(route_class({false, router.match(v, target).route, 200, {}}));
  };
  EXPECT_EQ(cls(http::bhttp::verb::get, "/f/intake"), "form");
  EXPECT_EQ(cls(http::bhttp::verb::post, "/f/intake"), "submit");
  EXPECT_EQ(cls(http::bhttp::verb::get, "/f/intake/thanks/ABCD-EFGH-JKMN"), "thanks");
  EXPECT_EQ(cls(http::bhttp::verb::get, "/portal/api/forms"), "portal_api");
  EXPECT_EQ(cls(http::bhttp::verb::get, "/portal/static/app.js"), "portal_static");
  EXPECT_EQ(cls(http::bhttp::verb::get, "/portal/"), "portal");
  EXPECT_EQ(cls(http::bhttp::verb::get, "/secret-path-of-a-client"), "unmatched");
  EXPECT_EQ(route_class({true, nullptr, 301, {}}), "redirect");
}

TEST(Metrics, RendersPrometheusTextWithCountsFromObservations) {
  http::Router router;
  router.add(http::bhttp::verb::post, "/f/{form}",
             [](http::Request&&, http::RequestContext&&, http::Responder) {});
  const auto* submit = router.match(http::bhttp::verb::post, "/f/x").route;
  Metrics metrics;
  metrics.observe_response({false, submit, 303, std::chrono::milliseconds(3)});
  metrics.observe_response({false, submit, 303, std::chrono::milliseconds(4)});
  metrics.observe_submission(intake::PostOutcome::Kind::stored);
  metrics.observe_submission(intake::PostOutcome::Kind::stored);
  metrics.observe_submission(intake::PostOutcome::Kind::rate_limited);
  metrics.observe_commit(2, 0.002, true);
  metrics.observe_commit(1, 0.5, false);
  metrics.count_audit_append(true);
  metrics.set_samplers(
      {.pool_queued = [] { return std::size_t{7}; }, .open_connections = {}, .commit_pending = {}});
  const std::string text = metrics.render();
  EXPECT_NE(text.find("sealpost_submissions_total{outcome=\"stored\",reason=\"ok\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("sealpost_submissions_total{outcome=\"rate_limited\",reason=\"rate_limit\"} 1"),
      std::string::npos);
  EXPECT_NE(text.find("sealpost_http_requests_total{code=\"303\",route=\"submit\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("sealpost_group_commit_batch_size_count 1"), std::string::npos);
  EXPECT_NE(text.find("sealpost_group_commit_batch_size_sum 2"), std::string::npos);
  EXPECT_NE(text.find("sealpost_group_commit_batches_total{result=\"failed\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("sealpost_audit_appends_total{result=\"ok\"} 1"), std::string::npos);
  EXPECT_NE(text.find("sealpost_blocking_pool_queued 7"), std::string::npos);
  // Every line is a comment (# HELP / # TYPE) or a sample: name{labels} value.
  const std::regex sample(
      R"([a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? ([-+0-9.eE]+|[-+]?Inf|NaN))");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP sealpost_", 0) == 0 || line.rfind("# TYPE sealpost_", 0) == 0) continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << line;
  }
}

}  // namespace
}  // namespace app
