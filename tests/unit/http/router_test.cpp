#include "http/router.hpp"

#include <gtest/gtest.h>

namespace {

using http::bhttp::verb;

http::Router make_router() {
  http::Router r;
  auto noop = [](http::Request&&, http::RequestContext&&, http::Responder) {};
  r.add(verb::get, "/f/{form}", noop);
  r.add(verb::post, "/f/{form}", noop, [](const http::Params&) { return std::size_t{123}; });
  r.add(verb::get, "/f/{form}/thanks/{ref}", noop);
  return r;
}

TEST(Router, MatchesParametersAndIgnoresQuery) {
  auto r = make_router();
  auto m = r.match(verb::get, "/f/intake?utm=x");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at("form"), "intake");
  auto t = r.match(verb::get, "/f/intake/thanks/ABCD-EFGH-JKMN");
  ASSERT_NE(t.route, nullptr);
  EXPECT_EQ(t.params.at("ref"), "ABCD-EFGH-JKMN");
}

TEST(Router, BodyLimitComesFromTheRoute) {
  auto r = make_router();
  auto m = r.match(verb::post, "/f/intake");
  ASSERT_NE(m.route, nullptr);
  ASSERT_TRUE(m.route->body_limit);
  EXPECT_EQ(m.route->body_limit(m.params), 123u);
}

TEST(Router, UnknownPathsAndMethods) {
  auto r = make_router();
  EXPECT_EQ(r.match(verb::get, "/").route, nullptr);
  EXPECT_EQ(r.match(verb::get, "/f/").route, nullptr);  // empty parameter
  EXPECT_EQ(r.match(verb::get, "/f/a/b").route, nullptr);
  EXPECT_EQ(r.match(verb::get, "f/intake").route, nullptr);  // not origin-form
  auto m = r.match(verb::delete_, "/f/intake");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_known);  // 405, not 404
  EXPECT_FALSE(r.match(verb::delete_, "/nope").path_known);
}

}  // namespace
