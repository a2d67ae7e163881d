// The messages API without HTTP: Call in, Reply out, on a real SQLite store with a real
// Outbox (DKIM-signed, sealed), a fake clock. Authentication (one answer for missing, bad,
// unknown, revoked), scopes, the lockout, field errors with nothing queued, the audit entry,
// reading one's own messages only, last_used_at at most once a minute, and 503 without mail.
#include "mail/api/messages_api.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "auth/api_key.hpp"
#include "mail/api/limits.hpp"

namespace mail::api {
namespace {

using Json = nlohmann::json;

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "sealpost-api-XXXXXX").string();
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

dkim::Signer signer() {
  std::vector<dkim::SigningKey> keys;
  keys.push_back({"s1", *dkim::PrivateKey::generate(dkim::Algorithm::rsa_sha256)});
  return *dkim::Signer::create("example.org", std::move(keys));
}

constexpr const char* kBody =
    R"({"to": ["patient@example.net"], "subject": "Your results", "text": "Dear patient\n",
        "security": "verify", "phi": true})";

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::StoreOptions o;
    o.sqlite_path = dir_.file("sealpost.db");
    auto opened = store::open_store_blocking(o);
    ASSERT_TRUE(opened.has_value()) << opened.error().detail();
    store_ = std::move(*opened);
    auditor_ = std::make_unique<audit::Auditor>(*store_, signing_key_, clock_);
    outbox_ = std::make_unique<queue::Outbox>(*store_, *auditor_, signer_, queue_key_,
                                              "forms.example.org", clock_, rng_);
    api_ = std::make_unique<MessagesApi>(
        *store_, outbox_.get(), clock_,
        Options{.default_sender = "forms@example.org", .default_policy = policy::Policy::verify});
  }
  void TearDown() override {
    api_.reset();
    outbox_.reset();
    auditor_.reset();
    if (store_) store_->close();
  }

  // A key with `scopes`, stored; returns its text.
  std::string add_key(std::vector<std::string> scopes) {
    auto k = auth::new_api_key(rng_);
    store::ApiKeyRecord r{k.id, "test", k.hash, std::move(scopes), 1, "cli:test", {}, {}};
    EXPECT_TRUE(store_->api_keys().add_api_key_blocking(r));
    return std::string(k.key.as_string_view());
  }
  static std::string id_of(const std::string& key) { return key.substr(3, 16); }

  Reply send(const std::string& key, std::string body = kBody,
             std::string content_type = "application/json", std::string address = "192.0.2.1") {
    body_ = std::move(body);
    auth_ = key.empty() ? "" : "Bearer " + key;
    content_type_ = std::move(content_type);
    return api_->send_blocking(Call{.authorization = auth_,
                                    .content_type = content_type_,
                                    .body = body_,
                                    .remote_address = std::move(address),
                                    .request_id = "t"});
  }
  Reply show(const std::string& key, std::string_view id, std::string address = "192.0.2.1") {
    auth_ = "Bearer " + key;
    return api_->show_blocking(
        Call{.authorization = auth_, .remote_address = std::move(address), .request_id = "t"}, id);
  }
  std::size_t queued() {
    std::size_t n = 0;
    const auto rows = store_->mail().queue_summary_blocking().value();
    for (const auto& row : rows) n += row.count;
    return n;
  }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  core::SecretBytes signing_key_;
  core::SecretBytes queue_key_{std::string(32, 'q')};
  core::FakeClock clock_;
  core::SystemRng rng_;
  dkim::Signer signer_ = signer();
  std::unique_ptr<audit::Auditor> auditor_;
  std::unique_ptr<queue::Outbox> outbox_;
  std::unique_ptr<MessagesApi> api_;
  std::string body_, auth_, content_type_;
};

TEST_F(ApiTest, SendQueuesCommittedAndAuditedThenShowReadsIt) {
  const auto key = add_key({"messages:send", "messages:read"});
  auto r = send(key);
  ASSERT_EQ(r.status, Status::accepted) << r.body;
  const std::string id = Json::parse(r.body)["id"];
  EXPECT_EQ(id.size(), 32u);

  auto message = store_->mail().find_message_blocking(id, false).value();
  ASSERT_TRUE(message);
  EXPECT_EQ(message->origin, "api:" + id_of(key));
  EXPECT_EQ(message->sender, "forms@example.org");  // the default sender
  EXPECT_EQ(message->security, "verify");
  EXPECT_TRUE(message->phi);
  auto trail = store_->audit().list_audit_blocking(0, 10).value();
  ASSERT_EQ(trail.size(), 1u);
  EXPECT_EQ(trail[0].action, "mail.queue");
  EXPECT_EQ(trail[0].actor, "api:" + id_of(key));
  EXPECT_EQ(trail[0].source, "192.0.2.1");

  auto s = show(key, id);
  ASSERT_EQ(s.status, Status::ok) << s.body;
  const auto json = Json::parse(s.body);
  EXPECT_EQ(json["id"], id);
  EXPECT_EQ(json["recipients"][0]["address"], "patient@example.net");
  EXPECT_EQ(json["recipients"][0]["state"], "queued");
}

TEST_F(ApiTest, MissingBadUnknownAndRevokedKeysGetOneAnswer) {
  const auto key = add_key({"messages:send"});
  auto wrong_secret = key;
  wrong_secret.back() = wrong_secret.back() == '0' ? '1' : '0';
  const std::string unknown = "sp_0000000000000000_" + std::string(64, '0');
  const auto revoked = add_key({"messages:send"});
  ASSERT_TRUE(store_->api_keys().revoke_api_key_blocking(id_of(revoked), 5));

  std::optional<std::string> first;
  for (const auto& k : {std::string(), std::string("garbage"), wrong_secret, unknown, revoked}) {
    auto r = send(k);
    EXPECT_EQ(r.status, Status::unauthenticated) << k;
    if (!first) first = r.body;
    EXPECT_EQ(r.body, *first);  // the same answer for every reason
  }
  EXPECT_EQ(queued(), 0u);
  EXPECT_EQ(send(key).status, Status::accepted);  // the live key still works
}

TEST_F(ApiTest, MissingScopeIsForbidden) {
  const auto read_only = add_key({"messages:read"});
  const auto send_only = add_key({"messages:send"});
  auto r = send(read_only);
  EXPECT_EQ(r.status, Status::forbidden);
  EXPECT_EQ(queued(), 0u);
  auto sent = send(send_only);
  ASSERT_EQ(sent.status, Status::accepted);
  EXPECT_EQ(show(send_only, Json::parse(sent.body)["id"].get<std::string>()).status,
            Status::forbidden);
}

TEST_F(ApiTest, FailedAuthenticationsFromOneAddressAreDelayed) {
  const auto key = add_key({"messages:send"});
  // kFreeAuthFailures are free; the one after them starts the delay.
  for (int i = 0; i <= kFreeAuthFailures; ++i) {
    EXPECT_EQ(send("garbage", kBody, "application/json", "198.51.100.9").status,
              Status::unauthenticated);
  }
  auto delayed = send(key, kBody, "application/json", "198.51.100.9");
  EXPECT_EQ(delayed.status, Status::too_many_attempts);
  ASSERT_TRUE(delayed.retry_after);
  EXPECT_GT(delayed.retry_after->count(), 0);
  // Another address is not affected; after the delay the key works again.
  EXPECT_EQ(send(key, kBody, "application/json", "198.51.100.10").status, Status::accepted);
  clock_.advance(*delayed.retry_after);
  EXPECT_EQ(send(key, kBody, "application/json", "198.51.100.9").status, Status::accepted);
}

TEST_F(ApiTest, BadInputIsRefusedNamingTheFieldAndNothingIsQueued) {
  const auto key = add_key({"messages:send"});
  struct Case {
    std::string body;
    Status status;
    std::string field;
  } cases[] = {
      {R"({"to": ["not an address"], "subject": "s", "text": "x"})", Status::bad_request, "to"},
      {R"({"to": ["a@example.net"], "subject": "a\r\nBcc: b@example.net", "text": "x"})",
       Status::bad_request, "subject"},
      {R"({"to": ["a@example.net"], "subject": "s", "text": "x", "security": "none",
           "phi": true})",
       Status::bad_request, "security"},
      {R"({"from": "someone@elsewhere.example", "to": ["a@example.net"], "subject": "s",
           "text": "x"})",
       Status::bad_request, "from"},
      {"{not json", Status::bad_request, ""},
      {R"({"to": ["a@example.net"], "subject": "s", "text": ")" +
           std::string(kMaxRequestBytes, 'x') + "\"}",
       Status::too_large, ""},
  };
  for (const auto& c : cases) {
    auto r = send(key, c.body);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 100);
    const auto json = Json::parse(r.body);
    EXPECT_EQ(json.value("field", ""), c.field) << r.body;
    EXPECT_FALSE(json["message"].get<std::string>().empty());
  }
  EXPECT_EQ(send(key, kBody, "text/plain").status, Status::unsupported_media);
  EXPECT_EQ(queued(), 0u);
  EXPECT_TRUE(store_->audit().list_audit_blocking(0, 10).value().empty());
}

TEST_F(ApiTest, AKeyReadsOnlyItsOwnMessages) {
  const auto a = add_key({"messages:send", "messages:read"});
  const auto b = add_key({"messages:send", "messages:read"});
  auto sent = send(a);
  ASSERT_EQ(sent.status, Status::accepted);
  const std::string id = Json::parse(sent.body)["id"];
  EXPECT_EQ(show(a, id).status, Status::ok);
  EXPECT_EQ(show(b, id).status, Status::not_found);
  EXPECT_EQ(show(a, std::string(32, '0')).status, Status::not_found);
  EXPECT_EQ(show(a, "../../etc").status, Status::not_found);
  EXPECT_EQ(show(b, id).body, show(a, std::string(32, '0')).body);
}

TEST_F(ApiTest, LastUsedIsWrittenAtMostOncePerResolution) {
  const auto key = add_key({"messages:send", "messages:read"});
  const auto last_used = [&] {
    return store_->api_keys().find_api_key_blocking(id_of(key)).value()->last_used_at;
  };
  EXPECT_FALSE(last_used());
  const std::int64_t t0 = core::unix_seconds(clock_.now());
  ASSERT_EQ(send(key).status, Status::accepted);
  EXPECT_EQ(last_used(), std::optional<std::int64_t>(t0));
  clock_.advance(std::chrono::seconds(30));
  ASSERT_EQ(send(key).status, Status::accepted);
  EXPECT_EQ(last_used(), std::optional<std::int64_t>(t0));  // within the minute: no write
  clock_.advance(kLastUsedResolution);
  EXPECT_EQ(show(key, std::string(32, '0')).status, Status::not_found);
  EXPECT_EQ(last_used(), std::optional<std::int64_t>(t0 + 30 + kLastUsedResolution.count()));
}

TEST_F(ApiTest, WithoutMailEveryCallIsUnavailable) {
  const auto key = add_key({"messages:send", "messages:read"});
  MessagesApi disabled(*store_, nullptr, clock_, Options{});
  body_ = kBody;
  auth_ = "Bearer " + key;
  auto r = disabled.send_blocking(Call{.authorization = auth_,
                                       .content_type = "application/json",
                                       .body = body_,
                                       .remote_address = "192.0.2.1"});
  EXPECT_EQ(r.status, Status::unavailable);
  EXPECT_EQ(disabled.show_blocking(Call{.authorization = auth_}, std::string(32, '0')).status,
            Status::unavailable);
  EXPECT_EQ(queued(), 0u);
}

}  // namespace
}  // namespace mail::api
