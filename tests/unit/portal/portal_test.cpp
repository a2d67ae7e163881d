// The portal's gate and its lockout budget, without the binary or HTTP: portal::Request in,
// portal::Reply out, on a real SQLite store in a temp dir with a fake clock and RNG.
#include "portal/portal.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "audit/auditor.hpp"
#include "auth/totp.hpp"
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
    // The secure-message portal's two routes are for recipients, not staff: credential
    // checks without a session.
    if (r.pattern.starts_with("/api/s/")) {
      EXPECT_TRUE(r.credential_check) << r.pattern;
      continue;
    }
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

// The secure-message portal's recipient side: a code (handed to the code sender, which app/
// wires to the Outbox) opens the copy once; wrong codes are refused and count in the
// lockout; expired and revoked copies are gone (410); opens are audited. The first open
// creates the recipient account (a new password); later copies to the address need its
// password (and its TOTP once added); the open's reply token allows replies (bounded,
// audited, in the reply's unit of work) and dies after 30 minutes or when tampered with.
constexpr std::string_view kRecipientPassword = "a long recipient password";
std::string code_body(const std::string& code, std::string_view password = kRecipientPassword) {
  return fmt::format(R"({{"code":"{}","password":"{}"}})", code, password);
}

class SecureMessageTest : public PortalTest {
 protected:
  void SetUp() override {
    PortalTest::SetUp();
    store::SecureMessageRecord r;
    r.id = std::string(42, 'A') + "Q";  // 43 base64url characters: 32 bytes
    r.message_id = "m1";
    r.recipient = "pat@example.net";
    r.sender = "clinic@example.org";
    r.ciphertext = {1, 2, 3};
    r.created_at = core::unix_seconds(clock_.now());
    r.expires_at = r.created_at + 86400;
    ASSERT_TRUE(store_->secure_messages().add_secure_message_blocking(r));
    id_ = r.id;
    portal_->set_secure_code_sender(
        [this](const store::SecureMessageRecord& copy, std::string_view code) -> core::Status {
          EXPECT_EQ(copy.recipient, "pat@example.net");
          codes_.emplace_back(code);
          return core::ok();
        });
  }

  Reply secure(std::string_view what, std::string body, std::string origin = kOrigin) {
    body_ = std::move(body);
    const std::string pattern = "/api/s/{id}/" + std::string(what);
    Request req{.method = Method::post,
                .target = "/api/s/" + id_ + "/" + std::string(what),
                .body = body_,
                .origin = std::move(origin),
                .content_type = "application/json",
                .remote_address = "192.0.2.9",
                .request_id = "test"};
    req.params.emplace("id", id_);
    return portal_->handle_blocking(route(Method::post, pattern), req);
  }

  std::vector<std::string> actions() {
    std::vector<std::string> out;
    const auto rows = store_->audit().list_audit_blocking(0, 1000).value();
    for (const auto& row : rows) {
      out.push_back(row.action + " " + row.outcome);
    }
    return out;
  }

  std::string wrong() const { return codes_.at(0) == "00000000" ? "11111111" : "00000000"; }

  // Another copy to the same recipient, made current.
  void second_copy() {
    store::SecureMessageRecord r;
    r.id = std::string(42, 'C') + "Q";
    r.message_id = "m2";
    r.recipient = "pat@example.net";
    r.sender = "clinic@example.org";
    r.ciphertext = {4, 5, 6};
    r.created_at = core::unix_seconds(clock_.now());
    r.expires_at = r.created_at + 86400;
    ASSERT_TRUE(store_->secure_messages().add_secure_message_blocking(r));
    id_ = r.id;
  }

  // Opens the current copy with a fresh code; the answer's reply token.
  std::string open_current(std::string_view password = kRecipientPassword) {
    clock_.advance(std::chrono::seconds(kSecureCodeResendSeconds));
    EXPECT_EQ(secure("code", "{}").status, Status::ok);
    auto opened = secure("open", code_body(codes_.back(), password));
    EXPECT_EQ(opened.status, Status::ok) << opened.body;
    return nlohmann::json::parse(opened.body).value("reply_token", "");
  }

  std::string id_;
  std::vector<std::string> codes_;
};

TEST_F(SecureMessageTest, ACodeOpensTheCopyOnce) {
  EXPECT_EQ(secure("code", "{}", "https://evil.example").status, Status::forbidden);
  EXPECT_TRUE(codes_.empty());
  ASSERT_EQ(secure("code", "{}").status, Status::ok);
  ASSERT_EQ(codes_.size(), 1u);
  ASSERT_EQ(codes_[0].size(), 8u);
  // A second code within the minute: refused, nothing mailed.
  EXPECT_EQ(secure("code", "{}").status, Status::too_many_attempts);
  EXPECT_EQ(codes_.size(), 1u);
  EXPECT_EQ(secure("open", code_body(wrong())).status, Status::unauthenticated);
  auto opened = secure("open", code_body(codes_[0]));
  ASSERT_EQ(opened.status, Status::ok) << opened.body;
  EXPECT_NE(opened.body.find(R"("ciphertext":"AQID")"), std::string::npos) << opened.body;
  EXPECT_NE(opened.body.find(R"("message_id":"m1")"), std::string::npos);
  EXPECT_EQ(secure("open", code_body(codes_[0])).status, Status::unauthenticated);  // used
  auto copy = store_->secure_messages().find_secure_message_blocking(id_).value();
  EXPECT_TRUE(copy->first_read_at);
  auto trail = actions();
  EXPECT_NE(std::find(trail.begin(), trail.end(), "secure_message.open ok"), trail.end());
  EXPECT_NE(std::find(trail.begin(), trail.end(), "secure_message.code failure"), trail.end());
}

TEST_F(SecureMessageTest, TheCodeIsStoredAsAHashAndExpiresAfterTenMinutes) {
  ASSERT_EQ(secure("code", "{}").status, Status::ok);
  auto copy = store_->secure_messages().find_secure_message_blocking(id_).value();
  ASSERT_TRUE(copy->code_hash);
  EXPECT_EQ(copy->code_hash->find(codes_[0]), std::string::npos);
  EXPECT_EQ(copy->code_hash->size(), 64u);
  clock_.advance(std::chrono::seconds(kSecureCodeSeconds));
  EXPECT_EQ(secure("open", code_body(codes_[0])).status, Status::unauthenticated);
}

TEST_F(SecureMessageTest, WrongCodesLockOut) {
  ASSERT_EQ(secure("code", "{}").status, Status::ok);
  // The free failures, then one more that starts the delays.
  for (int i = 0; i <= Limits{}.account_free_failures; ++i) {
    EXPECT_EQ(secure("open", code_body(wrong())).status, Status::unauthenticated);
  }
  auto locked = secure("open", code_body(codes_[0]));
  EXPECT_EQ(locked.status, Status::too_many_attempts);
  ASSERT_TRUE(locked.retry_after);
  clock_.advance(*locked.retry_after);
  EXPECT_EQ(secure("open", code_body(codes_[0])).status, Status::ok);
}

TEST_F(SecureMessageTest, RevokedAndUnknownCopies) {
  ASSERT_EQ(store_->secure_messages()
                .revoke_secure_messages_blocking("m1", core::unix_seconds(clock_.now()))
                .value(),
            1u);
  EXPECT_EQ(secure("code", "{}").status, Status::gone);
  EXPECT_EQ(secure("open", code_body("12345678")).status, Status::gone);
  EXPECT_TRUE(codes_.empty());
  id_ = std::string(43, 'B');
  EXPECT_EQ(secure("code", "{}").status, Status::not_found);
  id_ = "short";
  EXPECT_EQ(secure("open", code_body("1")).status, Status::not_found);
}

TEST_F(SecureMessageTest, AnExpiredCopyIsGoneAndNoSenderIsUnavailable) {
  clock_.advance(std::chrono::seconds(86400));
  EXPECT_EQ(secure("code", "{}").status, Status::gone);
  portal_->set_secure_code_sender({});
  clock_.advance(std::chrono::seconds(-86400));
  auto r = secure("code", "{}");
  EXPECT_EQ(r.status, Status::failed);  // no way to mail a code
  EXPECT_EQ(r.failure, core::ErrorKind::unavailable);
}

TEST_F(SecureMessageTest, TheFirstOpenCreatesTheAccountTheNextNeedsItsPassword) {
  ASSERT_EQ(secure("code", "{}").status, Status::ok);
  // No password: the page is told to ask for a new one; the code is not spent.
  auto bare = secure("open", R"({"code":")" + codes_[0] + R"("})");
  EXPECT_EQ(bare.status, Status::unprocessable);
  EXPECT_NE(bare.body.find(R"("needs":"new_password")"), std::string::npos) << bare.body;
  EXPECT_EQ(secure("open", code_body(codes_[0], "short")).status, Status::unprocessable);
  auto opened = secure("open", code_body(codes_[0]));
  ASSERT_EQ(opened.status, Status::ok) << opened.body;
  EXPECT_NE(opened.body.find(R"("account_created":true)"), std::string::npos);
  auto account =
      store_->secure_messages().find_recipient_account_blocking("pat@example.net").value();
  ASSERT_TRUE(account);
  EXPECT_TRUE(account->password_hash.starts_with("$argon2id$"));

  second_copy();
  clock_.advance(std::chrono::seconds(kSecureCodeResendSeconds));
  auto code = secure("code", "{}");
  EXPECT_NE(code.body.find(R"("account":true)"), std::string::npos) << code.body;
  auto wrong_password = secure("open", code_body(codes_.back(), "not the right password"));
  EXPECT_EQ(wrong_password.status, Status::unauthenticated);
  EXPECT_NE(wrong_password.body.find(R"("needs":"password")"), std::string::npos);
  auto second = secure("open", code_body(codes_.back()));  // the code was not spent
  ASSERT_EQ(second.status, Status::ok) << second.body;
  EXPECT_NE(second.body.find(R"("account_created":false)"), std::string::npos);
  auto trail = actions();
  EXPECT_NE(std::find(trail.begin(), trail.end(), "recipient.account_created ok"), trail.end());
  EXPECT_NE(std::find(trail.begin(), trail.end(), "secure_message.password failure"), trail.end());
  const auto rows = store_->audit().list_audit_blocking(0, 1000).value();
  for (const auto& row : rows) {
    EXPECT_EQ(row.object.find("pat@example.net"), std::string::npos) << row.object;
    EXPECT_EQ(row.actor.find("pat@example.net"), std::string::npos) << row.actor;
  }
}

TEST_F(SecureMessageTest, RepliesNeedTheTokenAreBoundedAndAudited) {
  std::vector<std::string> sent;
  portal_->set_secure_reply_sender([&](const store::SecureMessageRecord& copy,
                                       std::string_view text,
                                       const InSameUnit& also) -> core::Result<std::string> {
    EXPECT_EQ(copy.id, id_);
    const std::string reply_id = fmt::format("r{}", sent.size());
    auto done =
        store_->transact_blocking("reply", [&](store::Store& tx) { return also(tx, reply_id); });
    if (!done) return core::fail(std::move(done).error());
    sent.emplace_back(text);
    return reply_id;
  });
  const std::string token = open_current();
  ASSERT_FALSE(token.empty());
  auto reply = [&](std::string_view t, std::string_view text) {
    return secure("reply", nlohmann::json{{"token", t}, {"text", text}}.dump());
  };
  EXPECT_EQ(reply("", "hi").status, Status::unauthenticated);
  std::string tampered = token;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  EXPECT_EQ(reply(tampered, "hi").status, Status::unauthenticated);
  EXPECT_EQ(reply(token, " \n").status, Status::unprocessable);
  EXPECT_EQ(reply(token, std::string(kMaxSecureReplyBytes + 1, 'x')).status, Status::unprocessable);
  EXPECT_TRUE(sent.empty());
  for (std::int64_t i = 0; i < kMaxSecureReplies; ++i) {
    auto r = reply(token, fmt::format("reply {}", i));
    ASSERT_EQ(r.status, Status::ok) << r.body;
  }
  auto over = reply(token, "one too many");
  EXPECT_EQ(over.status, Status::conflict) << over.body;
  EXPECT_EQ(sent.size(), static_cast<std::size_t>(kMaxSecureReplies));
  EXPECT_EQ(store_->secure_messages().find_secure_message_blocking(id_).value()->replies,
            kMaxSecureReplies);
  auto trail = actions();
  EXPECT_EQ(std::count(trail.begin(), trail.end(), "secure_message.reply ok"), kMaxSecureReplies);
  // A token dies after 30 minutes.
  clock_.advance(std::chrono::seconds(kSecureReplyTokenSeconds));
  EXPECT_EQ(secure("totp", nlohmann::json{{"token", token}}.dump()).status,
            Status::unauthenticated);
}

TEST_F(SecureMessageTest, AnAuthenticatorOnceConfirmedIsRequired) {
  const std::string token = open_current();
  auto begun = secure("totp", nlohmann::json{{"token", token}}.dump());
  ASSERT_EQ(begun.status, Status::ok) << begun.body;
  const auto secret_text = nlohmann::json::parse(begun.body).at("secret").get<std::string>();
  auto raw = auth::base32_decode(secret_text).value();
  core::SecretBytes secret(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
  const std::int64_t step = core::unix_seconds(clock_.now()) / 30;
  auto confirm = [&](const std::string& code) {
    return secure("totp/confirm", nlohmann::json{{"token", token}, {"totp", code}}.dump());
  };
  const std::string now_code = auth::totp_code(secret, step);
  EXPECT_EQ(confirm(now_code == "000000" ? "111111" : "000000").status, Status::unprocessable);
  ASSERT_EQ(confirm(now_code).status, Status::ok);
  EXPECT_EQ(secure("totp", nlohmann::json{{"token", token}}.dump()).status, Status::conflict);

  second_copy();
  clock_.advance(std::chrono::seconds(kSecureCodeResendSeconds));
  auto code = secure("code", "{}");
  EXPECT_NE(code.body.find(R"("totp":true)"), std::string::npos) << code.body;
  auto without = secure("open", code_body(codes_.back()));
  EXPECT_EQ(without.status, Status::unauthenticated);
  EXPECT_NE(without.body.find(R"("needs":"totp")"), std::string::npos) << without.body;
  const std::int64_t later = core::unix_seconds(clock_.now()) / 30;
  auto opened = secure("open", nlohmann::json{{"code", codes_.back()},
                                              {"password", kRecipientPassword},
                                              {"totp", auth::totp_code(secret, later)}}
                                   .dump());
  EXPECT_EQ(opened.status, Status::ok) << opened.body;
  auto trail = actions();
  EXPECT_NE(std::find(trail.begin(), trail.end(), "recipient.totp_enrolled ok"), trail.end());
}

}  // namespace
}  // namespace portal
