// The portal's gate and its lockout budget, without the binary or HTTP: portal::Request in,
// portal::Reply out, on a real SQLite store in a temp dir with a fake clock and RNG.
#include "portal/portal.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "audit/auditor.hpp"
#include "store/store.hpp"

namespace portal {
namespace {

constexpr const char* kOrigin = "https://portal.test";

class TempDir {
 public:
  TempDir() {
    std::string templ =
        (std::filesystem::temp_directory_path() / "sealpost-portal-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

class PortalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::open_store_blocking([&] {
      store::StoreOptions o;
      o.sqlite_path = dir_.file("sealpost.db");
      return o;
    }());
    ASSERT_TRUE(opened.has_value()) << opened.error().detail();
    store_ = std::move(*opened);
    auditor_ = std::make_unique<audit::Auditor>(*store_, signing_key_, clock_);
    make_portal(Limits{});
  }
  void TearDown() override {
    portal_.reset();
    auditor_.reset();
    if (store_) store_->close();
  }

  void make_portal(Limits limits) {
    core::SecretBytes seal(32);
    portal_ = std::make_unique<Portal>(limits, *store_, clock_, rng_, *auditor_,
                                       Keys{.seal_key = std::move(seal)});
    portal_->set_origin(kOrigin);
  }

  const Route& route(Method method, std::string_view pattern) {
    for (const auto& r : portal_->routes()) {
      if (r.method == method && r.pattern == pattern) return r;
    }
    throw std::runtime_error("no such route");
  }

  Reply call(Method method, std::string_view pattern, std::string body = {},
             std::string origin = kOrigin) {
    body_ = std::move(body);
    Request req{.method = method,
                .target = std::string(pattern),
                .body = body_,
                .origin = std::move(origin),
                .content_type = "application/json",
                .remote_address = "192.0.2.1",
                .request_id = "test"};
    return portal_->handle_blocking(route(method, pattern), req);
  }

  Reply sign_in(std::string_view password) {
    return call(Method::post, "/portal/api/sign-in",
                std::string(R"({"email":"nobody@example.org","password":")") +
                    std::string(password) + "\"}");
  }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  core::SecretBytes signing_key_;
  core::FakeClock clock_;
  core::FakeRng rng_;
  std::unique_ptr<audit::Auditor> auditor_;
  std::unique_ptr<Portal> portal_;
  std::string body_;
};

TEST_F(PortalTest, EveryApiRouteIsUnderPortalApi) {
  for (const auto& r : portal_->routes()) {
    EXPECT_TRUE(r.pattern.starts_with("/portal/api/")) << r.pattern;
  }
  EXPECT_TRUE(route(Method::post, "/portal/api/sign-in").credential_check);
  EXPECT_FALSE(route(Method::get, "/portal/api/forms").credential_check);
}

TEST_F(PortalTest, NoSessionMeansSignIn) {
  auto r = call(Method::get, "/portal/api/session");
  EXPECT_EQ(r.status, Status::unauthenticated);
  EXPECT_FALSE(r.set_cookie.has_value()) << "no cookie was sent, none is cleared";
  EXPECT_EQ(call(Method::get, "/portal/api/forms").status, Status::unauthenticated);
}

TEST_F(PortalTest, StateChangesMustComeFromThePortalOrigin) {
  EXPECT_EQ(call(Method::post, "/portal/api/sign-in", "{}", "https://evil.test").status,
            Status::forbidden);
  EXPECT_EQ(call(Method::post, "/portal/api/sign-in", "{}", "").status, Status::forbidden);
}

TEST_F(PortalTest, WrongPasswordsAreDelayedAfterTheConfiguredBudget) {
  // Default budget: three free failures per account.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(sign_in("wrong password").status, Status::unauthenticated) << i;
  }
  // A budget of one: the third attempt already waits, and says how long.
  make_portal(Limits{.account_free_failures = 1});
  EXPECT_EQ(sign_in("wrong password").status, Status::unauthenticated);
  EXPECT_EQ(sign_in("wrong password").status, Status::unauthenticated);
  auto delayed = sign_in("wrong password");
  EXPECT_EQ(delayed.status, Status::too_many_attempts);
  ASSERT_TRUE(delayed.retry_after.has_value());
  EXPECT_GT(delayed.retry_after->count(), 0);
}

}  // namespace
}  // namespace portal
