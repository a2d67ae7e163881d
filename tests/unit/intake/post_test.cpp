// The checks of a post, stage by stage, without the binary: each ends in its typed outcome and
// nothing reaches the store. A catalog is built by hand (no encryptor: no check may need one).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <optional>
#include <random>

#include "core/blocking_pool.hpp"
#include "forms/render.hpp"
#include "forms/token.hpp"
#include "intake/intake.hpp"
#include "intake/post_limits.hpp"
#include "store/store.hpp"

namespace intake {
namespace {

using Kind = PostOutcome::Kind;

constexpr const char* kDeclaration = R"(id = "intake"
title = "Intake"
recipients = ["0123456789ABCDEF0123456789ABCDEF01234567"]

[[fields]]
name = "name"
type = "text"
label = "Name"
required = true
)";

// F14: a form that offers the submitter a copy.
constexpr const char* kCopyDeclaration = R"(id = "copy"
title = "Copy"
recipients = ["0123456789ABCDEF0123456789ABCDEF01234567"]
copy_to = "mail"

[[fields]]
name = "name"
type = "text"
label = "Name"
required = true

[[fields]]
name = "mail"
type = "email"
label = "E-mail"
)";

class TempDir {
 public:
  TempDir() {
    std::string templ =
        (std::filesystem::temp_directory_path() / "sealpost-intake-XXXXXX").string();
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

core::SecretBytes key() {
  core::SecretBytes k(32);
  for (auto& b : k.mutable_view()) b = 0x42;
  return k;
}

class PostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::open_store_blocking([&] {
      store::StoreOptions o;
      o.sqlite_path = dir_.file("sealpost.db");
      return o;
    }());
    ASSERT_TRUE(opened.has_value()) << opened.error().detail();
    store_ = std::move(*opened);
    make_intake(Limits{});
  }
  void TearDown() override {
    intake_.reset();
    pool_.stop();
    if (store_) store_->close();
  }

  void make_intake(Limits limits, std::shared_ptr<PostLimits> post_limits = nullptr) {
    intake_ = std::make_unique<Intake>(limits, false, *store_, pool_, clock_, rng_, key(),
                                       std::move(post_limits));
    auto catalog = std::make_shared<Catalog>();
    LoadedForm form;
    auto decl = forms::parse_declaration(kDeclaration);
    ASSERT_TRUE(decl.has_value()) << decl.error().public_text();
    form.declaration = std::move(*decl);
    form.version = 1;
    catalog->forms.emplace("intake", std::move(form));
    LoadedForm copy_form;
    auto copy_decl = forms::parse_declaration(kCopyDeclaration);
    ASSERT_TRUE(copy_decl.has_value()) << copy_decl.error().public_text();
    copy_form.declaration = std::move(*copy_decl);
    copy_form.version = 1;
    catalog->forms.emplace("copy", std::move(copy_form));
    intake_->set_catalog(catalog);
  }

  std::string token(std::int64_t issued_at, int version = 1, std::string form = "intake") {
    forms::TokenClaims claims;
    claims.form_id = std::move(form);
    claims.form_version = version;
    claims.issued_at = issued_at;
    claims.nonce[0] = 7;
    return forms::issue_token(key(), claims);
  }
  std::int64_t now() const { return core::unix_seconds(clock_.now()); }

  // Posts synchronously: every outcome tested here is decided before the blocking pool.
  PostOutcome post(std::string body, std::string content_type = "application/x-www-form-urlencoded",
                   std::string form_id = "intake") {
    std::optional<PostOutcome> got;
    intake_->post(Post{.form_id = form_id,
                       .content_type = content_type,
                       .body = body,
                       .remote_address = "192.0.2.1",
                       .request_id = "test"},
                  [&](PostOutcome o) { got = std::move(o); });
    EXPECT_TRUE(got.has_value()) << "decided before the blocking pool";
    EXPECT_TRUE(body.find_first_not_of('\0') == std::string::npos) << "the body is wiped";
    return got ? std::move(*got) : PostOutcome{};
  }

  // Posts and waits for the answer, wherever it comes from (the pool, with shared limits).
  PostOutcome post_and_wait(std::string body, std::string remote = "192.0.2.1") {
    std::promise<PostOutcome> answer;
    auto got = answer.get_future();
    intake_->post(Post{.form_id = "intake",
                       .content_type = "application/x-www-form-urlencoded",
                       .body = body,
                       .remote_address = remote,
                       .request_id = "test"},
                  [&](PostOutcome o) { answer.set_value(std::move(o)); });
    EXPECT_TRUE(body.find_first_not_of('\0') == std::string::npos) << "the body is wiped";
    EXPECT_EQ(got.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    return got.get();
  }
  static PostLimits::Verdict take(PostLimits& limits, const std::string& address,
                                  const std::string& form = "intake") {
    std::promise<PostLimits::Verdict> answer;
    auto got = answer.get_future();
    limits.take(address, form, [&](PostLimits::Verdict v) { answer.set_value(v); });
    return got.get();
  }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  core::BlockingPool pool_{1, 16};
  core::FakeClock clock_;
  core::FakeRng rng_;
  std::unique_ptr<Intake> intake_;
};

TEST_F(PostTest, UnknownFormAndItsBodyLimit) {
  EXPECT_EQ(post("name=x", "application/x-www-form-urlencoded", "nope").kind, Kind::unknown_form);
  EXPECT_EQ(intake_->body_limit("nope"), kUnknownFormBodyBytes);
  EXPECT_EQ(intake_->form("nope").kind, FormOutcome::Kind::unknown_form);
}

TEST_F(PostTest, ContentTypeIsCheckedCaseInsensitively) {
  EXPECT_EQ(post("name=x", "text/plain").kind, Kind::unsupported_type);
  EXPECT_NE(post("name=x", "Application/X-WWW-Form-Urlencoded; charset=utf-8").kind,
            Kind::unsupported_type);
}

TEST_F(PostTest, ReservedInputs) {
  EXPECT_EQ(post("name=x").kind, Kind::malformed) << "no token";
  auto t = token(now());
  EXPECT_EQ(post("_token=" + t + "&_token=" + t + "&name=x").kind, Kind::malformed);
  EXPECT_EQ(post("_token=" + t + "&_website=bot&name=x").kind, Kind::malformed) << "honeypot";
  EXPECT_EQ(post("name=%zz").kind, Kind::malformed) << "bad percent-encoding";
}

TEST_F(PostTest, TokenProblems) {
  auto bad = post("_token=AAAA&name=x");
  EXPECT_EQ(bad.kind, Kind::not_verified);
  EXPECT_NE(bad.page.body.find("could not be verified"), std::string::npos);

  // Expired or for an older version: the form comes back with what was typed.
  auto expired = post("_token=" + token(now() - 5 * 3600) + "&name=Zo%C3%AB");
  EXPECT_EQ(expired.kind, Kind::resubmit);
  EXPECT_NE(expired.page.body.find("open for too long"), std::string::npos);
  EXPECT_NE(expired.page.body.find("Zoë"), std::string::npos);
  EXPECT_NE(expired.page.csp.find("'nonce-"), std::string::npos);

  auto older = post("_token=" + token(now(), 0) + "&name=x");
  EXPECT_EQ(older.kind, Kind::resubmit);
  EXPECT_NE(older.page.body.find("was updated"), std::string::npos);
}

TEST_F(PostTest, FieldErrorsGiveTheFormBack) {
  auto missing = post("_token=" + token(now()) + "&name=");
  EXPECT_EQ(missing.kind, Kind::resubmit);
}

// F14: the copy box is a reserved input only on a form with copy_to; anywhere else, or with
// another value, or twice, it is an undeclared input like any other (the form comes back).
TEST_F(PostTest, TheCopyBoxOnlyWhereOffered) {
  auto unexpected = [](const PostOutcome& o) {
    return o.kind == Kind::resubmit && o.page.body.find("unexpected field") != std::string::npos;
  };
  EXPECT_TRUE(unexpected(post("_token=" + token(now()) + "&name=x&_copy=1")));
  const auto t = token(now(), 1, "copy");
  auto post_copy = [&](const std::string& rest) {
    return post("_token=" + t + "&" + rest, "application/x-www-form-urlencoded", "copy");
  };
  EXPECT_TRUE(unexpected(post_copy("name=x&_copy=yes")));
  EXPECT_TRUE(unexpected(post_copy("name=x&_copy=1&_copy=1")));
  // Accepted: a field error then gives the form back with the box still ticked.
  auto back = post_copy("name=&mail=pat%40example.org&_copy=1");
  ASSERT_EQ(back.kind, Kind::resubmit);
  EXPECT_EQ(back.page.body.find("unexpected field"), std::string::npos);
  const auto box = back.page.body.find("name=\"_copy\"");
  ASSERT_NE(box, std::string::npos);
  EXPECT_NE(back.page.body.substr(box, back.page.body.find('>', box) - box).find(" checked"),
            std::string::npos);
  // Not ticked: not checked.
  auto unticked = post_copy("name=&mail=pat%40example.org");
  ASSERT_EQ(unticked.kind, Kind::resubmit);
  const auto box2 = unticked.page.body.find("name=\"_copy\"");
  ASSERT_NE(box2, std::string::npos);
  EXPECT_EQ(
      unticked.page.body.substr(box2, unticked.page.body.find('>', box2) - box2).find(" checked"),
      std::string::npos);
}

TEST_F(PostTest, RateLimitsComeBeforeParsing) {
  make_intake(Limits{.per_form_per_minute = 1, .per_form_burst = 1});
  EXPECT_EQ(post("garbage").kind, Kind::malformed);
  EXPECT_EQ(post("garbage").kind, Kind::rate_limited);
}

// --- shared rate limits (issue 7) -----------------------------------------------------------

using Verdict = PostLimits::Verdict;

TEST_F(PostTest, TwoNodesSharingADatabaseSpendOneBudget) {
  // Each node's own buckets would allow 3 posts from the address: together they allow 3.
  const Limits limits{.per_ip_per_minute = 1, .per_ip_burst = 3};
  auto a = std::make_shared<StorePostLimits>(store_->rate_limits(), pool_, clock_, limits);
  auto b = std::make_shared<StorePostLimits>(store_->rate_limits(), pool_, clock_, limits);
  std::vector<Verdict> got;
  for (int i = 0; i < 6; ++i) got.push_back(take(i % 2 == 0 ? *a : *b, "192.0.2.1"));
  EXPECT_EQ(got, (std::vector<Verdict>{Verdict::allowed, Verdict::allowed, Verdict::allowed,
                                       Verdict::per_ip, Verdict::per_ip, Verdict::per_ip}));
  EXPECT_EQ(take(*b, "192.0.2.2"), Verdict::allowed) << "another address";
  clock_.advance(std::chrono::seconds(60));  // one post's worth of refill
  EXPECT_EQ(take(*b, "192.0.2.1"), Verdict::allowed);
  EXPECT_EQ(take(*a, "192.0.2.1"), Verdict::per_ip);
}

TEST_F(PostTest, TheFormBudgetIsSharedAndSpentOnlyByAllowedAddresses) {
  const Limits limits{
      .per_ip_per_minute = 1, .per_ip_burst = 2, .per_form_per_minute = 1, .per_form_burst = 3};
  auto a = std::make_shared<StorePostLimits>(store_->rate_limits(), pool_, clock_, limits);
  auto b = std::make_shared<StorePostLimits>(store_->rate_limits(), pool_, clock_, limits);
  EXPECT_EQ(take(*a, "192.0.2.1"), Verdict::allowed);
  EXPECT_EQ(take(*b, "192.0.2.1"), Verdict::allowed);
  // The address is spent: its further posts leave the form's budget alone (asked of the
  // shared budgets directly, as by a node whose own bucket still has room).
  EXPECT_EQ(a->take_shared_blocking("192.0.2.1", "intake"), Verdict::per_ip);
  EXPECT_EQ(b->take_shared_blocking("192.0.2.1", "intake"), Verdict::per_ip);
  EXPECT_EQ(take(*b, "192.0.2.2"), Verdict::allowed);
  EXPECT_EQ(take(*a, "192.0.2.3"), Verdict::per_form) << "3 posts to the form on two nodes";
  EXPECT_EQ(take(*a, "192.0.2.4", "other"), Verdict::allowed) << "another form";
}

TEST_F(PostTest, SharedLimitsKeepTheTokenBucketsAnswers) {
  // GCRA in the database and the token bucket in memory are the same budget: for one node,
  // the same posts at the same times get the same answers. Times step in quarter seconds, so
  // the bucket's floating-point arithmetic is exact.
  const Limits limits{
      .per_ip_per_minute = 30, .per_ip_burst = 5, .per_form_per_minute = 60, .per_form_burst = 8};
  MemoryPostLimits memory(clock_, limits);
  auto shared = std::make_shared<StorePostLimits>(store_->rate_limits(), pool_, clock_, limits);
  std::mt19937 random(7);
  // About two posts a second from three addresses: more than either budget refills.
  std::uniform_int_distribution<int> step(0, 4);  // 0 to 1 s
  std::uniform_int_distribution<int> who(1, 3);
  int per_ip = 0;
  int per_form = 0;
  for (int i = 0; i < 300; ++i) {
    clock_.advance(std::chrono::milliseconds(250) * step(random));
    const std::string address = "192.0.2." + std::to_string(who(random));
    const auto expected = memory.take_now(address, "intake");
    ASSERT_EQ(shared->take_shared_blocking(address, "intake"), expected) << "post " << i;
    per_ip += expected == Verdict::per_ip;
    per_form += expected == Verdict::per_form;
  }
  // The sequence tests both refusals and allowed posts.
  EXPECT_GT(per_ip, 10);
  EXPECT_GT(per_form, 10);
  EXPECT_LT(per_ip + per_form, 250);
}

// A RateLimitStore whose database is away.
class UnavailableRateLimits final : public store::RateLimitStore {
 public:
  core::Result<bool> take_blocking(const std::string&, std::int64_t, std::int64_t,
                                   std::int64_t) override {
    return down();
  }
  core::Result<store::EventCount> count_event_blocking(const std::string&, std::int64_t,
                                                       std::int64_t) override {
    return down();
  }
  core::Status clear_events_blocking(const std::string&) override { return down(); }
  core::Result<std::size_t> prune_buckets_blocking(std::int64_t) override { return down(); }
  core::Result<std::size_t> prune_events_blocking(std::int64_t) override { return down(); }

 private:
  static core::Unexpected<core::Error> down() {
    return core::fail(core::ErrorKind::unavailable, "unavailable", "test: database down");
  }
};

TEST_F(PostTest, PostsThroughSharedLimitsAndFailClosedWithoutThem) {
  const Limits limits{.per_ip_per_minute = 1, .per_ip_burst = 2};
  make_intake(limits,
              std::make_shared<StorePostLimits>(store_->rate_limits(), pool_, clock_, limits));
  // Counted before parsing, answered from the pool.
  EXPECT_EQ(post_and_wait("garbage").kind, Kind::malformed);
  EXPECT_EQ(post_and_wait("garbage").kind, Kind::malformed);
  EXPECT_EQ(post_and_wait("garbage").kind, Kind::rate_limited);
  EXPECT_EQ(post_and_wait("_token=" + token(now()) + "&name=", "192.0.2.9").kind, Kind::resubmit);

  // The database cannot count: 503 (unavailable), never "allow everything".
  UnavailableRateLimits down;
  make_intake(limits, std::make_shared<StorePostLimits>(down, pool_, clock_, limits));
  auto refused = post_and_wait("garbage");
  EXPECT_EQ(refused.kind, Kind::not_stored);
  EXPECT_EQ(refused.failure, core::ErrorKind::unavailable);
}

}  // namespace
}  // namespace intake
