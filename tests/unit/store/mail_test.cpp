// The outbound mail queue on either engine: enqueue, leases (claim, renew, expiry, release),
// attempts recorded only under a held lease, and two stores (two nodes) claiming at once
// never getting the same recipient.

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "test_util.hpp"

namespace store::test {
namespace {

MailMessageRecord message(const std::string& id, std::int64_t at) {
  MailMessageRecord m;
  m.id = id;
  m.created_at = at;
  m.sender = "clinic@sender.example";
  m.security = "verify";
  m.phi = true;
  m.origin = "cli:test";
  m.size = 5;
  m.body = {0xde, 0xad, 0xbe, 0xef, 0x00};
  return m;
}

MailAttempt attempt(const ClaimedRecipient& c, MailState result, std::int64_t at) {
  MailAttempt a;
  a.message_id = c.message_id;
  a.idx = c.idx;
  a.at = at;
  a.result = result;
  a.code = result == MailState::delivered ? 250 : 451;
  a.enhanced = result == MailState::delivered ? "2.0.0" : "4.3.0";
  a.reply = result == MailState::delivered ? "ok queued as X" : "try later";
  a.mx_host = "mx1." + c.domain;
  a.ip = "127.0.0.2";
  a.tls_version = "TLSv1.3";
  a.tls_cipher = "TLS_AES_256_GCM_SHA384";
  a.verified = "dane";
  a.policy = "verify";
  return a;
}

class StoreMail : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = db_.open();
    ASSERT_TRUE(store_);
  }
  MailStore& mail() { return store_->mail(); }
  TestDatabase db_;
  std::unique_ptr<detail::SqlStore> store_;
};

TEST_F(StoreMail, EnqueueThenReadBack) {
  ASSERT_TRUE(mail().enqueue_blocking(message("m1", 1000),
                                      {"a@One.Example", "b@two.example", "c@one.example"}));
  auto found = mail().find_message_blocking("m1", true).value();
  ASSERT_TRUE(found);
  EXPECT_EQ(found->sender, "clinic@sender.example");
  EXPECT_EQ(found->security, "verify");
  EXPECT_TRUE(found->phi);
  EXPECT_EQ(found->body, (std::vector<std::uint8_t>{0xde, 0xad, 0xbe, 0xef, 0x00}));
  EXPECT_TRUE(mail().find_message_blocking("m1", false).value()->body.empty());
  EXPECT_FALSE(mail().find_message_blocking("nope", true).value());

  auto rcpts = mail().list_recipients_blocking("m1").value();
  ASSERT_EQ(rcpts.size(), 3u);
  EXPECT_EQ(rcpts[0].address, "a@One.Example");
  EXPECT_EQ(rcpts[0].domain, "one.example");  // the unit of policy, lowercase
  EXPECT_EQ(rcpts[1].domain, "two.example");
  for (const auto& r : rcpts) {
    EXPECT_EQ(r.state, MailState::queued);
    EXPECT_EQ(r.attempts, 0);
    EXPECT_EQ(r.next_attempt_at, 1000);
    EXPECT_FALSE(r.last);
  }
  EXPECT_EQ(mail().next_due_blocking().value(), std::optional<std::int64_t>(1000));

  // The same id twice: conflict, and nothing of the second is stored.
  auto again = mail().enqueue_blocking(message("m1", 2000), {"x@three.example"});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind(), core::ErrorKind::conflict);
  EXPECT_EQ(mail().list_recipients_blocking("m1").value().size(), 3u);
  // No recipients, or one without a domain: refused whole.
  EXPECT_FALSE(mail().enqueue_blocking(message("m2", 1000), {}));
  EXPECT_FALSE(mail().enqueue_blocking(message("m3", 1000), {"a@x.example", "nodomain"}));
  EXPECT_FALSE(mail().find_message_blocking("m3", false).value());
}

TEST_F(StoreMail, ClaimLeasesOnlyWhatIsDueAndNotLeased) {
  ASSERT_TRUE(mail().enqueue_blocking(message("early", 100), {"a@x.example", "b@y.example"}));
  ASSERT_TRUE(mail().enqueue_blocking(message("late", 500), {"c@x.example"}));

  auto none = mail().claim_due_blocking("node-a", 50, 80, 10);
  ASSERT_TRUE(none) << none.error().detail();
  EXPECT_TRUE(none->empty());  // none due
  auto claim = mail().claim_due_blocking("node-a", 200, 1000, 10);
  ASSERT_TRUE(claim) << claim.error().detail();
  auto got = *claim;
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].message_id, "early");
  EXPECT_EQ(got[0].idx, 0);
  EXPECT_EQ(got[1].idx, 1);
  EXPECT_EQ(got[0].created_at, 100);
  // Leased: another node gets nothing until the lease ends.
  EXPECT_TRUE(mail().claim_due_blocking("node-b", 210, 270, 10).value().empty());
  // The limit holds.
  auto one = mail().claim_due_blocking("node-b", 600, 2000, 1).value();
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].message_id, "late");
  // After the lease expired (a node died), another node takes the recipients.
  EXPECT_TRUE(mail().claim_due_blocking("node-b", 999, 1100, 10).value().empty());
  auto taken = mail().claim_due_blocking("node-b", 1000, 1100, 10).value();
  EXPECT_EQ(taken.size(), 2u);
}

TEST_F(StoreMail, AnAttemptIsRecordedOnlyUnderTheLease) {
  ASSERT_TRUE(mail().enqueue_blocking(message("m", 100), {"a@x.example", "b@x.example"}));
  auto mine = mail().claim_due_blocking("node-a", 100, 130, 10).value();
  ASSERT_EQ(mine.size(), 2u);

  // a: deferred, due again at 400; b: delivered.
  EXPECT_TRUE(
      mail()
          .record_attempt_blocking("node-a", attempt(mine[0], MailState::deferred, 110), 400)
          .value());
  EXPECT_TRUE(mail()
                  .record_attempt_blocking("node-a", attempt(mine[1], MailState::delivered, 111), 0)
                  .value());
  // A second record of the same lease: the lease was released with the first.
  EXPECT_FALSE(
      mail()
          .record_attempt_blocking("node-a", attempt(mine[1], MailState::delivered, 112), 0)
          .value());
  auto rcpts = mail().list_recipients_blocking("m").value();
  EXPECT_EQ(rcpts[0].state, MailState::deferred);
  EXPECT_EQ(rcpts[0].attempts, 1);
  EXPECT_EQ(rcpts[0].next_attempt_at, 400);
  ASSERT_TRUE(rcpts[0].last);
  EXPECT_EQ(rcpts[0].last->code, 451);
  EXPECT_EQ(rcpts[1].state, MailState::delivered);
  ASSERT_TRUE(rcpts[1].last);
  EXPECT_EQ(rcpts[1].last->tls_version, "TLSv1.3");
  EXPECT_EQ(rcpts[1].last->verified, "dane");
  EXPECT_EQ(rcpts[1].last->reply, "ok queued as X");

  // Delivered is final: never claimed again. Deferred comes back when due.
  EXPECT_TRUE(mail().claim_due_blocking("node-b", 399, 450, 10).value().empty());
  auto again = mail().claim_due_blocking("node-b", 400, 450, 10).value();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].idx, 0);
  EXPECT_EQ(again[0].attempts, 1);

  // node-a's lease expired and node-b holds it now: node-a's late record changes nothing.
  EXPECT_FALSE(
      mail()
          .record_attempt_blocking("node-a", attempt(again[0], MailState::delivered, 420), 0)
          .value());
  EXPECT_EQ(mail().list_recipients_blocking("m").value()[0].state, MailState::deferred);
  // Renewal keeps it; release gives it up.
  EXPECT_EQ(mail().renew_leases_blocking("node-b", {{"m", 0}}, 600).value(), 1u);
  EXPECT_EQ(mail().renew_leases_blocking("node-a", {{"m", 0}}, 600).value(), 0u);
  EXPECT_TRUE(mail().claim_due_blocking("node-c", 500, 550, 10).value().empty());
  EXPECT_EQ(mail().release_leases_blocking("node-b").value(), 1u);
  EXPECT_EQ(mail().claim_due_blocking("node-c", 500, 550, 10).value().size(), 1u);

  auto history = mail().list_attempts_blocking("m").value();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].idx, 0);
  EXPECT_EQ(history[1].idx, 1);
}

TEST_F(StoreMail, TheBodyIsErasedOnceEveryRecipientIsFinal) {
  ASSERT_TRUE(
      mail().enqueue_blocking(message("m", 100), {"a@x.example", "b@x.example", "c@x.example"}));
  auto body = [&] { return mail().find_message_blocking("m", true).value()->body; };
  auto rcpts = mail().claim_due_blocking("node-a", 100, 130, 10).value();
  ASSERT_EQ(rcpts.size(), 3u);
  // Queued: kept.
  EXPECT_FALSE(mail().erase_body_if_final_blocking("m").value());
  ASSERT_TRUE(
      mail().record_attempt_blocking("node-a", attempt(rcpts[0], MailState::delivered, 110), 0));
  ASSERT_TRUE(
      mail().record_attempt_blocking("node-a", attempt(rcpts[1], MailState::deferred, 111), 400));
  ASSERT_TRUE(
      mail().record_attempt_blocking("node-a", attempt(rcpts[2], MailState::bounced, 112), 0));
  // One recipient deferred: the body is still needed.
  EXPECT_FALSE(mail().erase_body_if_final_blocking("m").value());
  EXPECT_EQ(body().size(), 5u);
  auto again = mail().claim_due_blocking("node-a", 400, 450, 10).value();
  ASSERT_EQ(again.size(), 1u);
  ASSERT_TRUE(
      mail().record_attempt_blocking("node-a", attempt(again[0], MailState::dropped, 401), 0));
  EXPECT_TRUE(mail().erase_body_if_final_blocking("m").value());
  EXPECT_TRUE(body().empty());
  // Once only; the envelope, recipients and attempts stay.
  EXPECT_FALSE(mail().erase_body_if_final_blocking("m").value());
  EXPECT_EQ(mail().list_recipients_blocking("m").value().size(), 3u);
  EXPECT_EQ(mail().list_attempts_blocking("m").value().size(), 4u);
  EXPECT_FALSE(mail().erase_body_if_final_blocking("nope").value());
}

TEST_F(StoreMail, ClaimingOneMessageTakesItsWaitingRecipientsNotThoseInFlight) {
  ASSERT_TRUE(
      mail().enqueue_blocking(message("m", 100), {"a@x.example", "b@x.example", "c@y.example"}));
  ASSERT_TRUE(mail().enqueue_blocking(message("other", 100), {"d@x.example"}));
  // c is being attempted by node-a; a is delivered; b is deferred far into the future.
  auto all = mail().claim_due_blocking("node-a", 100, 1000, 10).value();
  ASSERT_EQ(all.size(), 4u);
  ASSERT_TRUE(
      mail().record_attempt_blocking("node-a", attempt(all[0], MailState::delivered, 110), 0));
  ASSERT_TRUE(
      mail().record_attempt_blocking("node-a", attempt(all[1], MailState::deferred, 110), 90'000));
  ASSERT_TRUE(mail().release_leases_blocking("node-a"));
  ASSERT_EQ(mail().claim_due_blocking("node-a", 100, 1000, 10).value().size(), 2u);  // c, d

  auto taken = mail().claim_message_blocking("cancel", "m", 120, 180);
  ASSERT_TRUE(taken) << taken.error().detail();
  ASSERT_EQ(taken->size(), 1u);  // b: waiting, not due, not leased; never a nor c
  EXPECT_EQ((*taken)[0].idx, 1);
  EXPECT_EQ((*taken)[0].attempts, 1);
  // Once node-a's lease on c expires, c can be taken too; d belongs to another message.
  auto later = mail().claim_message_blocking("cancel", "m", 1000, 1100).value();
  ASSERT_EQ(later.size(), 2u);  // b again (cancel's own lease expired at 180) and c
  EXPECT_EQ(later[1].idx, 2);
  EXPECT_TRUE(mail().claim_message_blocking("cancel", "nope", 1000, 1100).value().empty());
}

TEST_F(StoreMail, TlsSessionTalliesAndReportClaims) {
  const std::int64_t day = 1'796'256'000;
  TlsSessionCount ok{day, "example.net",     "tlsa",      "3 1 1 ab", "",
                     "",  "mx1.example.net", "192.0.2.1", 2};
  TlsSessionCount bad = ok;
  bad.result_type = "tlsa-invalid";
  bad.count = 1;
  TlsSessionCount other = ok;
  other.policy_domain = "example.org";
  other.policy_type = "no-policy-found";
  other.policy_text = "";
  ASSERT_TRUE(mail().add_tls_sessions_blocking({ok, bad, other}));
  ASSERT_TRUE(mail().add_tls_sessions_blocking({ok}));  // the same key adds up
  TlsSessionCount next_day = ok;
  next_day.day = day + 86400;
  ASSERT_TRUE(mail().add_tls_sessions_blocking({next_day}));

  auto rows = mail().tls_sessions_blocking(day, "example.net");
  ASSERT_TRUE(rows) << rows.error().detail();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].result_type, "");
  EXPECT_EQ((*rows)[0].count, 4);
  EXPECT_EQ((*rows)[1].result_type, "tlsa-invalid");
  EXPECT_EQ((*rows)[1].count, 1);

  EXPECT_EQ(mail().tls_report_due_blocking(day).value(),
            (std::vector<std::string>{"example.net", "example.org"}));
  // Exactly one claim wins; the report is then no longer due.
  EXPECT_TRUE(mail().claim_tls_report_blocking(day, "example.net", "node-a", 100).value());
  EXPECT_FALSE(mail().claim_tls_report_blocking(day, "example.net", "node-b", 101).value());
  EXPECT_EQ(mail().tls_report_due_blocking(day).value(), (std::vector<std::string>{"example.org"}));
  EXPECT_TRUE(mail().finish_tls_report_blocking(day, "example.net", "sent: 1 of 1"));
  EXPECT_EQ(mail().tls_report_due_blocking(day + 86400).value(),
            (std::vector<std::string>{"example.net"}));
}

TEST_F(StoreMail, SummaryAndTlsMemory) {
  ASSERT_TRUE(mail().enqueue_blocking(message("m1", 100), {"a@x.example", "b@y.example"}));
  ASSERT_TRUE(mail().enqueue_blocking(message("m2", 50), {"c@x.example"}));
  auto rows = mail().queue_summary_blocking().value();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].domain, "x.example");
  EXPECT_EQ(rows[0].count, 2);
  EXPECT_EQ(rows[0].oldest, 50);
  EXPECT_EQ(rows[1].domain, "y.example");

  EXPECT_FALSE(mail().tls_seen_blocking("x.example").value());
  ASSERT_TRUE(mail().note_tls_seen_blocking("x.example", 100));
  ASSERT_TRUE(mail().note_tls_seen_blocking("x.example", 90));  // older news: kept at 100
  EXPECT_EQ(mail().tls_seen_blocking("x.example").value(), std::optional<std::int64_t>(100));
  ASSERT_TRUE(mail().note_tls_seen_blocking("x.example", 300));
  EXPECT_EQ(mail().tls_seen_blocking("x.example").value(), std::optional<std::int64_t>(300));
}

TEST_F(StoreMail, AttemptsKeepTheirMtaStsFacts) {
  ASSERT_TRUE(mail().enqueue_blocking(message("m", 100), {"a@x.example", "b@x.example"}));
  auto mine = mail().claim_due_blocking("node-a", 100, 130, 10).value();
  ASSERT_EQ(mine.size(), 2u);
  auto a = attempt(mine[0], MailState::deferred, 110);
  a.sts_mode = "enforce";
  a.sts_id = "20240101T000000";
  a.tls_failure = "certificate-host-mismatch";
  ASSERT_TRUE(mail().record_attempt_blocking("node-a", a, 400).value());
  ASSERT_TRUE(mail()
                  .record_attempt_blocking("node-a", attempt(mine[1], MailState::delivered, 111), 0)
                  .value());
  auto history = mail().list_attempts_blocking("m").value();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].sts_mode, "enforce");
  EXPECT_EQ(history[0].sts_id, "20240101T000000");
  EXPECT_EQ(history[0].tls_failure, "certificate-host-mismatch");
  // Without a policy: empty, never null.
  EXPECT_EQ(history[1].sts_mode, "");
  EXPECT_EQ(history[1].sts_id, "");
  EXPECT_EQ(history[1].tls_failure, "");
  auto rcpts = mail().list_recipients_blocking("m").value();
  ASSERT_TRUE(rcpts[0].last);
  EXPECT_EQ(rcpts[0].last->tls_failure, "certificate-host-mismatch");
}

TEST_F(StoreMail, MtaStsPoliciesAreCachedPerDomainAndReplaced) {
  EXPECT_FALSE(mail().mta_sts_blocking("x.example").value());
  MtaStsRecord r;
  r.domain = "x.example";
  r.policy_id = "abc123";
  r.mode = "enforce";
  r.mx = {"mx1.x.example", "*.backup.x.example"};
  r.max_age = 86400;
  r.fetched_at = 1000;
  r.expires_at = 1000 + 86400;
  ASSERT_TRUE(mail().put_mta_sts_blocking(r));
  auto got = mail().mta_sts_blocking("x.example").value();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, r);
  EXPECT_FALSE(mail().mta_sts_blocking("y.example").value());

  // A new id replaces the row; mode none keeps no patterns.
  MtaStsRecord none = r;
  none.policy_id = "def456";
  none.mode = "none";
  none.mx.clear();
  none.max_age = 0;
  none.fetched_at = 2000;
  none.expires_at = 2000;
  ASSERT_TRUE(mail().put_mta_sts_blocking(none));
  got = mail().mta_sts_blocking("x.example").value();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, none);

  // A pattern with a line break cannot be stored one per line: refused, nothing changes.
  MtaStsRecord bad = r;
  bad.mx = {"mx1.x.example\nevil.example"};
  auto refused = mail().put_mta_sts_blocking(bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind(), core::ErrorKind::invalid_input);
  EXPECT_EQ(*mail().mta_sts_blocking("x.example").value(), none);
  // The schema refuses what the parser never produces.
  MtaStsRecord odd = r;
  odd.mode = "sometimes";
  EXPECT_FALSE(mail().put_mta_sts_blocking(odd));
  odd = r;
  odd.max_age = 31557601;
  EXPECT_FALSE(mail().put_mta_sts_blocking(odd));
}

// Two stores (two nodes) claim from one queue at once, many times: every recipient is
// claimed by exactly one of them (SKIP LOCKED on PostgreSQL, the one writer on SQLite).
TEST_F(StoreMail, TwoNodesClaimingAtOnceNeverShareARecipient) {
  constexpr int kMessages = 60;
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(mail().enqueue_blocking(message("m" + std::to_string(i), 100 + i),
                                        {"a@x.example", "b@y.example"}));
  }
  auto other = db_.open();
  ASSERT_TRUE(other);
  std::mutex mutex;
  std::multiset<std::pair<std::string, int>> claimed;
  std::atomic<int> failures{0};
  auto run = [&](Store& store, const std::string& owner) {
    for (int round = 0; round < 40; ++round) {
      auto got = store.mail().claim_due_blocking(owner, 10'000, 20'000, 5);
      if (!got) {
        ++failures;
        continue;
      }
      std::lock_guard lock(mutex);
      for (const auto& c : *got) claimed.insert({c.message_id, c.idx});
    }
  };
  std::thread a([&] { run(*store_, "node-a"); });
  std::thread b([&] { run(*other, "node-b"); });
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(claimed.size(), static_cast<std::size_t>(2 * kMessages));
  for (const auto& key : claimed) EXPECT_EQ(claimed.count(key), 1u) << key.first;
}

}  // namespace
}  // namespace store::test
