// The checks of a post, stage by stage, without the binary: each ends in its typed outcome and
// nothing reaches the store. A catalog is built by hand (no encryptor: no check may need one).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>

#include "core/blocking_pool.hpp"
#include "forms/render.hpp"
#include "forms/token.hpp"
#include "intake/intake.hpp"
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

  void make_intake(Limits limits) {
    intake_ = std::make_unique<Intake>(limits, false, *store_, pool_, clock_, rng_, key());
    auto catalog = std::make_shared<Catalog>();
    LoadedForm form;
    auto decl = forms::parse_declaration(kDeclaration);
    ASSERT_TRUE(decl.has_value()) << decl.error().public_text();
    form.declaration = std::move(*decl);
    form.version = 1;
    catalog->forms.emplace("intake", std::move(form));
    intake_->set_catalog(catalog);
  }

  std::string token(std::int64_t issued_at, int version = 1) {
    forms::TokenClaims claims;
    claims.form_id = "intake";
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

TEST_F(PostTest, RateLimitsComeBeforeParsing) {
  make_intake(Limits{.per_form_per_minute = 1, .per_form_burst = 1});
  EXPECT_EQ(post("garbage").kind, Kind::malformed);
  EXPECT_EQ(post("garbage").kind, Kind::rate_limited);
}

}  // namespace
}  // namespace intake
