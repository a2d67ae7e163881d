// The Outbox on a real SQLite store: a message is committed with its mail.queue entry in one
// unit of work (both or neither), `also` joins that unit, and the audit entry names no
// address. The status view renders each state for the CLI and as JSON for the API.
#include "mail/queue/outbox.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/encoding.hpp"
#include "crypto/aes_gcm.hpp"
#include "mail/queue/status.hpp"

namespace mail::queue {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string templ =
        (std::filesystem::temp_directory_path() / "sealpost-outbox-XXXXXX").string();
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

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::StoreOptions o;
    o.sqlite_path = dir_.file("sealpost.db");
    auto opened = store::open_store_blocking(o);
    ASSERT_TRUE(opened.has_value()) << opened.error().detail();
    store_ = std::move(*opened);
    auditor_ = std::make_unique<audit::Auditor>(*store_, signing_key_, clock_);
    outbox_ = std::make_unique<Outbox>(*store_, *auditor_, signer_, queue_key_, "forms.example.org",
                                       clock_, rng_);
  }
  void TearDown() override {
    outbox_.reset();
    auditor_.reset();
    if (store_) store_->close();
  }

  Outgoing message(std::string subject = "Your appointment") {
    Outgoing out{.from = *Address::parse("clinic@example.org")};
    out.to = {*Address::parse("Patient@Example.NET"), *Address::parse("b@other.example")};
    out.subject = std::move(subject);
    out.text_body = "Dear patient\n";
    out.security = policy::Policy::verify;
    out.phi = true;
    out.origin = "api:0123456789abcdef";
    return out;
  }

  std::vector<store::AuditRow> trail() {
    return store_->audit().list_audit_blocking(0, 100).value();
  }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  core::SecretBytes signing_key_;
  core::SecretBytes queue_key_{std::string(32, 'q')};
  core::FakeClock clock_;
  core::FakeRng rng_{9};
  dkim::Signer signer_ = signer();
  std::unique_ptr<audit::Auditor> auditor_;
  std::unique_ptr<Outbox> outbox_;
};

TEST_F(OutboxTest, CommitsTheMessageWithItsAuditEntry) {
  auto id = outbox_->enqueue_blocking(message(), "192.0.2.7");
  ASSERT_TRUE(id) << id.error().detail();
  EXPECT_EQ(id->size(), 32u);

  auto found = store_->mail().find_message_blocking(*id, true).value();
  ASSERT_TRUE(found);
  EXPECT_EQ(found->origin, "api:0123456789abcdef");
  EXPECT_EQ(found->sender, "clinic@example.org");
  EXPECT_EQ(found->security, "verify");
  EXPECT_TRUE(found->phi);
  // Sealed: the body opens under the queue key and holds the text; the row does not.
  const std::string sealed(found->body.begin(), found->body.end());
  EXPECT_EQ(sealed.find("Dear patient"), std::string::npos);
  const auto opened = open_body(*found, queue_key_);
  ASSERT_TRUE(opened);
  EXPECT_NE(opened->as_string_view().find("Dear patient"), std::string_view::npos);
  EXPECT_NE(opened->as_string_view().find("DKIM-Signature:"), std::string_view::npos);

  auto rows = trail();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].action, "mail.queue");
  EXPECT_EQ(rows[0].actor, "api:0123456789abcdef");
  EXPECT_EQ(rows[0].source, "192.0.2.7");
  EXPECT_EQ(rows[0].object.find("message:" + *id + " recipients:2 policy:verify phi:yes"), 0u)
      << rows[0].object;
  EXPECT_EQ(rows[0].object.find("@"), std::string::npos);            // no address
  EXPECT_EQ(rows[0].object.find("appointment"), std::string::npos);  // no subject
}

TEST_F(OutboxTest, AlsoJoinsTheUnitOfWorkAndItsFailureStoresNothing) {
  ASSERT_TRUE(store_->api_keys().add_api_key_blocking(
      {"k1", "n", std::string(64, 'a'), {"messages:send"}, 1, "cli:t", {}, {}}));
  auto failed =
      outbox_->enqueue_blocking(message(), "local", [](store::Store& tx, const std::string&) {
        if (auto s = tx.api_keys().touch_api_key_blocking("k1", 42); !s) return s;
        return core::Status(core::fail(core::ErrorKind::unavailable, "disk full"));
      });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind(), core::ErrorKind::unavailable);
  EXPECT_TRUE(store_->mail().queue_summary_blocking().value().empty());
  EXPECT_TRUE(trail().empty());
  EXPECT_FALSE(store_->api_keys().find_api_key_blocking("k1").value()->last_used_at);

  std::string seen;
  auto ok = outbox_->enqueue_blocking(message(), "local",
                                      [&seen](store::Store& tx, const std::string& id) {
                                        seen = id;
                                        return tx.api_keys().touch_api_key_blocking("k1", 42);
                                      });
  ASSERT_TRUE(ok);
  EXPECT_EQ(seen, *ok);  // `also` is told the id the caller gets
  EXPECT_EQ(store_->api_keys().find_api_key_blocking("k1").value()->last_used_at,
            std::optional<std::int64_t>(42));
  EXPECT_EQ(trail().size(), 1u);
}

TEST_F(OutboxTest, RefusedMessagesStoreNothing) {
  auto crlf = outbox_->enqueue_blocking(message("line\r\nBcc: x@evil.example"), "local");
  ASSERT_FALSE(crlf);
  EXPECT_EQ(crlf.error().kind(), core::ErrorKind::invalid_input);
  auto phi_none = message();
  phi_none.security = policy::Policy::none;
  auto refused = outbox_->enqueue_blocking(phi_none, "local");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind(), core::ErrorKind::invalid_input);
  EXPECT_TRUE(store_->mail().queue_summary_blocking().value().empty());
  EXPECT_TRUE(trail().empty());
}

store::MailAttempt attempt(const std::string& id, int idx, store::MailState result,
                           std::int64_t at) {
  store::MailAttempt a;
  a.message_id = id;
  a.idx = idx;
  a.at = at;
  a.result = result;
  a.policy = "verify";
  a.mx_host = "mx.example.net";
  a.ip = "192.0.2.25";
  switch (result) {
    case store::MailState::delivered:
      a.code = 250;
      a.enhanced = "2.0.0";
      a.reply = "ok queued as 1234";
      a.tls_version = "TLSv1.3";
      a.tls_cipher = "TLS_AES_256_GCM_SHA384";
      a.verified = "dane";
      break;
    case store::MailState::bounced:
      a.code = 550;
      a.enhanced = "5.1.1";
      a.reply = "no such user";
      break;
    default:
      a.code = 0;
      a.enhanced = "4.7.4";
      a.reply = "the receiver offers no TLS";
      break;
  }
  return a;
}

TEST_F(OutboxTest, StatusOfEachRecipientAsTextAndJson) {
  auto out = message();
  out.to.push_back(*Address::parse("c@third.example"));
  auto id = outbox_->enqueue_blocking(out, "local");
  ASSERT_TRUE(id);
  const std::int64_t t0 = core::unix_seconds(clock_.now());
  auto claimed = store_->mail().claim_due_blocking("node", t0, t0 + 60, 10).value();
  ASSERT_EQ(claimed.size(), 3u);
  ASSERT_TRUE(
      store_->mail()
          .record_attempt_blocking("node", attempt(*id, 0, store::MailState::delivered, t0 + 1), 0)
          .value());
  ASSERT_TRUE(store_->mail()
                  .record_attempt_blocking(
                      "node", attempt(*id, 1, store::MailState::deferred, t0 + 2), t0 + 600)
                  .value());
  ASSERT_TRUE(
      store_->mail()
          .record_attempt_blocking("node", attempt(*id, 2, store::MailState::bounced, t0 + 3), 0)
          .value());

  EXPECT_FALSE(load_status_blocking(*store_, "0000").value());
  auto status = load_status_blocking(*store_, *id).value();
  ASSERT_TRUE(status);
  ASSERT_EQ(status->recipients.size(), 3u);
  EXPECT_TRUE(status->message.body.empty());

  const std::string text = status_text(*status);
  EXPECT_NE(text.find("message " + *id + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("recipient 0 Patient@example.net: delivered, attempts 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("TLSv1.3 TLS_AES_256_GCM_SHA384, certificate verified: dane"),
            std::string::npos);
  EXPECT_NE(
      text.find("recipient 1 b@other.example: deferred, next attempt " + utc_time_text(t0 + 600)),
      std::string::npos);
  EXPECT_NE(text.find("reply 550 5.1.1 no such user"), std::string::npos);

  const auto json = nlohmann::json::parse(status_json(*status));
  EXPECT_EQ(json["id"], *id);
  EXPECT_EQ(json["origin"], "api:0123456789abcdef");
  EXPECT_EQ(json["phi"], true);
  EXPECT_EQ(json["queued_at"], utc_time_text(t0));
  const auto& r = json["recipients"];
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0]["state"], "delivered");
  EXPECT_EQ(r[0]["tls"]["version"], "TLSv1.3");
  EXPECT_EQ(r[0]["tls"]["cipher"], "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(r[0]["tls"]["verified"], "dane");
  EXPECT_EQ(r[0]["reply"], "250 2.0.0 ok queued as 1234");
  EXPECT_FALSE(r[0].contains("next_attempt_at"));
  EXPECT_EQ(r[1]["state"], "deferred");
  EXPECT_EQ(r[1]["reason"], "the receiver offers no TLS");
  EXPECT_EQ(r[1]["next_attempt_at"], utc_time_text(t0 + 600));
  EXPECT_TRUE(r[1]["last_attempt"]["tls"].is_null());
  EXPECT_EQ(r[2]["state"], "bounced");
  EXPECT_EQ(r[2]["dsn"]["status"], "5.1.1");
  EXPECT_EQ(r[2]["dsn"]["diagnostic_code"], "smtp; 550 no such user");
  EXPECT_EQ(r[2]["last_attempt"]["reply"]["code"], 550);
}

TEST_F(OutboxTest, StatusOfAQueuedMessage) {
  auto id = outbox_->enqueue_blocking(message(), "local");
  ASSERT_TRUE(id);
  auto status = load_status_blocking(*store_, *id).value();
  ASSERT_TRUE(status);
  const auto json = nlohmann::json::parse(status_json(*status));
  EXPECT_EQ(json["recipients"][0]["state"], "queued");
  EXPECT_EQ(json["recipients"][0]["attempts"], 0);
  EXPECT_TRUE(json["recipients"][0]["last_attempt"].is_null());
  EXPECT_EQ(json["recipients"][0]["next_attempt_at"],
            utc_time_text(core::unix_seconds(clock_.now())));
  EXPECT_EQ(utc_time_text(0), "-");
  EXPECT_EQ(utc_time_text(1'800'000'000), "2027-01-15T08:00:00Z");
}

}  // namespace
}  // namespace mail::queue

namespace mail::queue {
namespace {

// The secure-message portal's deposit: keyless recipients of an encrypt message get a copy
// (ciphertext under a key only the notice's link holds) and a notice without the content,
// all in the one unit of work with the audit entries.
TEST_F(OutboxTest, KeylessRecipientsGetAPortalCopyAndANotice) {
  const secure::Sealer sealer(signing_key_, nullptr, "");
  const EscrowSettings escrow{.origin = "https://forms.example.org", .days = 7};
  outbox_->set_sealer(&sealer);
  Outgoing out = message("Biopsy result zq1");
  out.text_body = "benign zq2 <script>x</script>\n";
  out.encrypt = true;
  out.security = policy::Policy::opportunistic;
  // Without the portal: refused, nothing stored.
  auto refused = outbox_->enqueue_blocking(out, "local");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().public_text().find("public_origin"), std::string::npos);
  EXPECT_TRUE(trail().empty());

  outbox_->set_escrow(&escrow);
  auto id = outbox_->enqueue_blocking(out, "local");
  ASSERT_TRUE(id) << id.error().detail();
  auto copies = store_->secure_messages().list_secure_messages_blocking(*id).value();
  ASSERT_EQ(copies.size(), 2u);
  auto trail_rows = trail();
  std::size_t deposits = 0;
  for (const auto& row : trail_rows) {
    deposits += row.action == "secure_message.deposit";
    EXPECT_EQ(row.object.find("@"), std::string::npos) << row.object;
    EXPECT_EQ(row.object.find("zq1"), std::string::npos);
  }
  EXPECT_EQ(deposits, 2u);
  for (const auto& copy : copies) {
    EXPECT_EQ(copy.message_id, *id);
    EXPECT_EQ(copy.sender, "clinic@example.org");
    EXPECT_EQ(copy.expires_at - copy.created_at, 7 * 86400);
    const std::string stored(copy.ciphertext.begin(), copy.ciphertext.end());
    EXPECT_EQ(stored.find("zq2"), std::string::npos);
  }
  // Each notice: its own queued message to its recipient, not PHI, the message's TLS
  // policy, the link and nothing of the content; the key in its link opens the copy.
  std::size_t opened = 0;
  for (const auto& row : trail_rows) {
    if (row.action != "mail.queue") continue;
    const std::string notice_id = row.object.substr(8, 32);
    EXPECT_NE(row.object.find("phi:no"), std::string::npos) << row.object;
    EXPECT_NE(row.object.find("secure-notice-for:" + *id), std::string::npos) << row.object;
    auto found = store_->mail().find_message_blocking(notice_id, true).value();
    ASSERT_TRUE(found);
    EXPECT_EQ(found->security, "opportunistic");
    auto body = open_body(*found, queue_key_);
    ASSERT_TRUE(body);
    const std::string text(body->as_string_view());
    EXPECT_EQ(text.find("zq1"), std::string::npos);
    EXPECT_EQ(text.find("zq2"), std::string::npos);
    const auto at = text.find("https://forms.example.org/s/");
    ASSERT_NE(at, std::string::npos) << text;
    // The link may be folded by the transfer encoding: read it without soft line breaks.
    std::string link;
    for (std::size_t i = at; i < text.size() && link.size() < 200; ++i) {
      if (text.compare(i, 3, "=\r\n") == 0) {
        i += 2;
        continue;
      }
      if (text[i] == '\r' || text[i] == '\n' || text[i] == ' ') break;
      link.push_back(text[i]);
    }
    const auto hash = link.find('#');
    ASSERT_NE(hash, std::string::npos) << link;
    const std::string copy_id = link.substr(28, hash - 28);
    auto key_bytes = core::base64url_decode(link.substr(hash + 1));
    ASSERT_TRUE(key_bytes && key_bytes->size() == 32) << link;
    auto copy = store_->secure_messages().find_secure_message_blocking(copy_id).value();
    ASSERT_TRUE(copy) << copy_id;
    core::SecretBytes key(key_bytes->size());
    std::copy(key_bytes->begin(), key_bytes->end(), key.mutable_view().begin());
    auto plain = crypto::open_aes256_gcm(
        key, std::span(reinterpret_cast<const std::uint8_t*>(id->data()), id->size()),
        copy->ciphertext);
    ASSERT_TRUE(plain) << plain.error().detail();
    auto content = nlohmann::json::parse(plain->as_string_view());
    EXPECT_EQ(content["subject"], "Biopsy result zq1");
    EXPECT_EQ(content["body"], "benign zq2 <script>x</script>\n");
    ++opened;
  }
  EXPECT_EQ(opened, 2u);

  // The sender's read receipts: `mail show` and the API list each copy, without content.
  const std::int64_t t0 = core::unix_seconds(clock_.now());
  ASSERT_TRUE(store_->secure_messages().mark_secure_read_blocking(copies[0].id, t0 + 60).value());
  auto status = load_status_blocking(*store_, *id).value();
  ASSERT_TRUE(status);
  ASSERT_EQ(status->portal.size(), 2u);
  EXPECT_TRUE(status->portal[0].ciphertext.empty());
  const std::string text = status_text(*status);
  EXPECT_NE(text.find("portal " + copies[0].recipient + ": read at " + utc_time_text(t0 + 60)),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("portal " + copies[1].recipient + ": unread, expires " +
                      utc_time_text(t0 + 7 * 86400)),
            std::string::npos)
      << text;
  const auto json = nlohmann::json::parse(status_json(*status));
  ASSERT_EQ(json["portal"].size(), 2u);
  EXPECT_EQ(json["portal"][0]["state"], "read");
  EXPECT_EQ(json["portal"][0]["read_at"], utc_time_text(t0 + 60));
  EXPECT_EQ(json["portal"][1]["state"], "unread");
  EXPECT_TRUE(json["portal"][1]["read_at"].is_null());
  EXPECT_EQ(json["portal"][1]["expires_at"], utc_time_text(t0 + 7 * 86400));

  // Past their time, both lose their content, once, with one audit entry; the rows stay.
  EXPECT_EQ(prune_portal_copies_blocking(*store_, *auditor_, t0 + 7 * 86400 - 1, "system", "local")
                .value(),
            0u);
  EXPECT_EQ(
      prune_portal_copies_blocking(*store_, *auditor_, t0 + 7 * 86400, "system", "local").value(),
      2u);
  std::size_t prunes = 0;
  for (const auto& row : trail()) {
    if (row.action != "secure_message.prune") continue;
    ++prunes;
    EXPECT_EQ(row.object, "copies:2");
    EXPECT_EQ(row.actor, "system");
  }
  EXPECT_EQ(prunes, 1u);
  auto pruned = store_->secure_messages().list_secure_messages_blocking(*id).value();
  for (const auto& copy : pruned) EXPECT_TRUE(copy.ciphertext.empty());
}

}  // namespace
}  // namespace mail::queue
