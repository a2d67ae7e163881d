// Webhooks on either engine: add, list, remove (once); an event queues one delivery per
// webhook that takes its type, once; claims lease, an attempt is recorded only under the
// lease, retries fall due again; an event enqueued in a unit of work that fails is not
// queued; two nodes claiming at once never share a delivery.

#include <atomic>
#include <set>
#include <thread>

#include "test_util.hpp"

namespace store::test {
namespace {

WebhookRecord webhook(const std::string& id, std::int64_t at, std::vector<std::string> events) {
  WebhookRecord w;
  w.id = id;
  w.name = "crm " + id;
  w.url = "https://hooks.example/" + id;
  w.events = std::move(events);
  w.sealed_secret = {1, 2, 3, 0, 255};
  w.created_at = at;
  w.created_by = "cli:test";
  return w;
}

class StoreWebhooks : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = db_.open();
    ASSERT_TRUE(store_);
  }
  WebhookStore& hooks() { return store_->webhooks(); }
  TestDatabase db_;
  std::unique_ptr<detail::SqlStore> store_;
};

TEST_F(StoreWebhooks, AddFindListRemove) {
  EXPECT_TRUE(hooks().list_webhooks_blocking().value().empty());
  ASSERT_TRUE(hooks().add_webhook_blocking(webhook("w2", 200, {"message.bounced"})));
  ASSERT_TRUE(hooks().add_webhook_blocking(
      webhook("w1", 100, {"submission.received", "message.delivered"})));
  auto found = hooks().find_webhook_blocking("w1").value();
  ASSERT_TRUE(found);
  EXPECT_EQ(found->url, "https://hooks.example/w1");
  EXPECT_EQ(found->events, (std::vector<std::string>{"submission.received", "message.delivered"}));
  EXPECT_EQ(found->sealed_secret, (std::vector<std::uint8_t>{1, 2, 3, 0, 255}));
  EXPECT_EQ(found->created_by, "cli:test");
  EXPECT_FALSE(found->removed_at);
  EXPECT_FALSE(hooks().find_webhook_blocking("nope").value());

  auto listed = hooks().list_webhooks_blocking().value();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, "w1");

  auto dup = hooks().add_webhook_blocking(webhook("w1", 300, {"message.bounced"}));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().kind(), core::ErrorKind::conflict);
  // A type with a comma or a LIKE wildcard could match another type: refused.
  auto bad = hooks().add_webhook_blocking(webhook("w3", 300, {"message.%"}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind(), core::ErrorKind::invalid_input);

  ASSERT_TRUE(hooks().remove_webhook_blocking("w2", 500));
  EXPECT_EQ(hooks().find_webhook_blocking("w2").value()->removed_at, 500);
  auto again = hooks().remove_webhook_blocking("w2", 600);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind(), core::ErrorKind::not_found);
  EXPECT_EQ(hooks().remove_webhook_blocking("nope", 600).error().kind(),
            core::ErrorKind::not_found);
}

TEST_F(StoreWebhooks, AnEventQueuesOneDeliveryPerWebhookThatTakesItsType) {
  ASSERT_TRUE(hooks().add_webhook_blocking(webhook("a", 1, {"submission.received"})));
  ASSERT_TRUE(
      hooks().add_webhook_blocking(webhook("b", 2, {"message.delivered", "submission.received"})));
  ASSERT_TRUE(hooks().add_webhook_blocking(webhook("c", 3, {"message.delivered"})));
  // "submission" is a prefix of a taken type, not a type: it matches nothing.
  EXPECT_EQ(hooks().enqueue_event_blocking("e0", "submission", "{}", 10).value(), 0u);
  EXPECT_EQ(hooks().enqueue_event_blocking("e1", "submission.received", "{\"x\":1}", 10).value(),
            2u);
  // The same event again (a unit of work run twice) adds nothing.
  EXPECT_EQ(hooks().enqueue_event_blocking("e1", "submission.received", "{\"x\":1}", 10).value(),
            0u);
  EXPECT_EQ(hooks().enqueue_event_blocking("e2", "message.delivered", "{}", 11).value(), 2u);
  ASSERT_TRUE(hooks().remove_webhook_blocking("c", 12));
  EXPECT_EQ(hooks().enqueue_event_blocking("e3", "message.delivered", "{}", 13).value(), 1u);
  EXPECT_FALSE(hooks().enqueue_event_blocking("e4", "a,b", "{}", 13));

  auto a = hooks().list_deliveries_blocking("a", 10).value();
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].event_id, "e1");
  EXPECT_EQ(a[0].payload, "{\"x\":1}");
  EXPECT_EQ(a[0].state, WebhookDeliveryState::pending);
  EXPECT_EQ(a[0].next_attempt_at, 10);
  // c was removed with e2 pending: cancelled, and not claimed.
  auto c = hooks().list_deliveries_blocking("c", 10).value();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].state, WebhookDeliveryState::cancelled);
  EXPECT_EQ(hooks().next_due_blocking().value(), 10);
  auto claimed = hooks().claim_due_blocking("n", 100, 200, 10).value();
  EXPECT_EQ(claimed.size(), 4u);  // e1→a, e1→b, e2→b, e3→b
  for (const auto& d : claimed) EXPECT_NE(d.delivery.webhook_id, "c");
}

TEST_F(StoreWebhooks, LeasesRetriesAndOutcomes) {
  ASSERT_TRUE(hooks().add_webhook_blocking(webhook("a", 1, {"message.bounced"})));
  ASSERT_EQ(hooks().enqueue_event_blocking("e1", "message.bounced", "{}", 100).value(), 1u);
  EXPECT_TRUE(hooks().claim_due_blocking("n1", 99, 200, 10).value().empty());  // not due
  auto got = hooks().claim_due_blocking("n1", 100, 200, 10).value();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].url, "https://hooks.example/a");
  EXPECT_EQ(got[0].sealed_secret, (std::vector<std::uint8_t>{1, 2, 3, 0, 255}));
  EXPECT_EQ(got[0].delivery.attempts, 0);
  // Leased: nobody else gets it until the lease runs out.
  EXPECT_TRUE(hooks().claim_due_blocking("n2", 150, 300, 10).value().empty());
  // n1's lease ran out and n2 took it: n1's result changes nothing.
  ASSERT_EQ(hooks().claim_due_blocking("n2", 200, 300, 10).value().size(), 1u);
  EXPECT_FALSE(hooks()
                   .record_attempt_blocking("n1", "e1", "a", WebhookDeliveryState::delivered, 0,
                                            200, "", 210)
                   .value());
  // n2: a 500, retry at 400.
  EXPECT_TRUE(hooks()
                  .record_attempt_blocking("n2", "e1", "a", WebhookDeliveryState::pending, 400, 500,
                                           "HTTP 500", 220)
                  .value());
  auto rows = hooks().list_deliveries_blocking("a", 10).value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, WebhookDeliveryState::pending);
  EXPECT_EQ(rows[0].attempts, 1);
  EXPECT_EQ(rows[0].last_status, 500);
  EXPECT_EQ(rows[0].last_error, "HTTP 500");
  EXPECT_EQ(hooks().next_due_blocking().value(), 400);
  EXPECT_TRUE(hooks().claim_due_blocking("n2", 399, 500, 10).value().empty());
  got = hooks().claim_due_blocking("n2", 400, 500, 10).value();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].delivery.attempts, 1);
  EXPECT_TRUE(hooks()
                  .record_attempt_blocking("n2", "e1", "a", WebhookDeliveryState::failed, 400,
                                           std::nullopt, "certificate not trusted", 410)
                  .value());
  rows = hooks().list_deliveries_blocking("a", 10).value();
  EXPECT_EQ(rows[0].state, WebhookDeliveryState::failed);
  EXPECT_EQ(rows[0].attempts, 2);
  EXPECT_FALSE(rows[0].last_status);
  EXPECT_FALSE(hooks().next_due_blocking().value());
  // A finished delivery is never recorded again, even by a node that claims to hold it.
  EXPECT_FALSE(hooks()
                   .record_attempt_blocking("n2", "e1", "a", WebhookDeliveryState::delivered, 0,
                                            200, "", 420)
                   .value());
  auto summary = hooks().summary_blocking().value();
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0].webhook_id, "a");
  EXPECT_EQ(summary[0].failed, 1);
  EXPECT_EQ(summary[0].pending, 0);

  // A clean stop releases the leases.
  ASSERT_EQ(hooks().enqueue_event_blocking("e2", "message.bounced", "{}", 500).value(), 1u);
  ASSERT_EQ(hooks().claim_due_blocking("n3", 500, 900, 10).value().size(), 1u);
  EXPECT_EQ(hooks().release_leases_blocking("n3").value(), 1u);
  EXPECT_EQ(hooks().claim_due_blocking("n4", 501, 900, 10).value().size(), 1u);
}

TEST_F(StoreWebhooks, AnEventInAFailedUnitOfWorkIsNotQueued) {
  ASSERT_TRUE(hooks().add_webhook_blocking(webhook("a", 1, {"message.dropped"})));
  auto status = store_->transact_blocking("test", [](Store& tx) -> core::Status {
    auto n = tx.webhooks().enqueue_event_blocking("e1", "message.dropped", "{}", 5);
    if (!n) return core::fail(std::move(n).error());
    return core::fail(core::ErrorKind::conflict, "stop", "rolled back on purpose");
  });
  ASSERT_FALSE(status);
  EXPECT_TRUE(hooks().list_deliveries_blocking("a", 10).value().empty());
  ASSERT_TRUE(store_->transact_blocking("test", [](Store& tx) -> core::Status {
    auto n = tx.webhooks().enqueue_event_blocking("e1", "message.dropped", "{}", 5);
    if (!n) return core::fail(std::move(n).error());
    return core::ok();
  }));
  EXPECT_EQ(hooks().list_deliveries_blocking("a", 10).value().size(), 1u);
}

// A stored submission's event is queued in the group commit's own transaction; a replayed
// token (nothing stored) queues nothing.
TEST_F(StoreWebhooks, AStoredSubmissionQueuesItsEventWithTheCommit) {
  ASSERT_TRUE(hooks().add_webhook_blocking(webhook("a", 1, {"submission.received"})));
  add_form(*store_, "contact");
  store_->submissions().set_receipt_event([](const NewSubmission& s) {
    return WebhookEvent{"evt_" + s.reference, "submission.received",
                        "{\"reference\":\"" + s.reference + "\"}"};
  });
  Answers answers(3);
  store_->submissions().append_submission(make_submission("contact", 1), answers.slot(0));
  store_->submissions().append_submission(make_submission("contact", 2), answers.slot(1));
  auto replay = make_submission("contact", 3);
  replay.token_nonce = nonce_of(1);
  store_->submissions().append_submission(std::move(replay), answers.slot(2));
  ASSERT_TRUE(answers.wait_all());
  EXPECT_EQ(answers.count_ok(), 2u);
  auto rows = hooks().list_deliveries_blocking("a", 10).value();
  ASSERT_EQ(rows.size(), 2u);
  std::set<std::string> ids;
  for (const auto& r : rows) {
    ids.insert(r.event_id);
    EXPECT_EQ(r.type, "submission.received");
  }
  EXPECT_EQ(ids, (std::set<std::string>{"evt_contact-REF-1", "evt_contact-REF-2"}));
}

// Two stores (two nodes) claim at once, many times: each delivery goes to exactly one.
TEST_F(StoreWebhooks, TwoNodesClaimingAtOnceNeverShareADelivery) {
  ASSERT_TRUE(hooks().add_webhook_blocking(webhook("a", 1, {"message.delivered"})));
  ASSERT_TRUE(hooks().add_webhook_blocking(webhook("b", 2, {"message.delivered"})));
  constexpr int kEvents = 60;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_EQ(hooks()
                  .enqueue_event_blocking("e" + std::to_string(i), "message.delivered", "{}", i)
                  .value(),
              2u);
  }
  auto other = db_.open();
  ASSERT_TRUE(other);
  std::mutex mutex;
  std::multiset<std::pair<std::string, std::string>> claimed;
  std::atomic<int> failures{0};
  auto run = [&](Store& store, const std::string& owner) {
    for (int round = 0; round < 40; ++round) {
      auto got = store.webhooks().claim_due_blocking(owner, 10'000, 20'000, 5);
      if (!got) {
        ++failures;
        continue;
      }
      std::lock_guard lock(mutex);
      for (const auto& c : *got) claimed.insert({c.delivery.event_id, c.delivery.webhook_id});
    }
  };
  std::thread a([&] { run(*store_, "node-a"); });
  std::thread b([&] { run(*other, "node-b"); });
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(claimed.size(), static_cast<std::size_t>(2 * kEvents));
  for (const auto& key : claimed) EXPECT_EQ(claimed.count(key), 1u) << key.first;
}

}  // namespace
}  // namespace store::test
