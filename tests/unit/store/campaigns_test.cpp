// Campaigns on either engine: written, edited (which voids an approval), approved only for
// the hash that is current, moved between states only from the states allowed, leased by
// one node at a time, each contact sent once; progress per outcome and delivery state; a
// revocation withdraws the queued messages no node is delivering, and nothing else.

#include "test_util.hpp"

namespace store::test {
namespace {

CampaignRecord campaign(const std::string& id, std::int64_t at) {
  CampaignRecord c;
  c.id = id;
  c.name = "Flu shots";
  c.purpose = "marketing";
  c.sender = "news@clinic.example";
  c.fields = {"first_name", "city"};
  c.segment = "city = \"Bern\"";
  c.subject = "Hello {{first_name}}";
  c.body = "Dear {{first_name}}";
  c.author = "owner@clinic.example";
  c.content_hash = "h1";
  c.created_at = c.updated_at = at;
  return c;
}

MailMessageRecord message(const std::string& id, std::int64_t at) {
  MailMessageRecord m;
  m.id = id;
  m.created_at = at;
  m.sender = "news@clinic.example";
  m.security = "exclusive";
  m.phi = true;
  m.origin = "campaign:c1";
  m.size = 3;
  m.body = {1, 2, 3};
  return m;
}

class StoreCampaigns : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = db_.open();
    ASSERT_TRUE(store_);
  }
  CampaignStore& cs() { return store_->campaigns(); }
  TestDatabase db_;
  std::unique_ptr<detail::SqlStore> store_;
};

TEST_F(StoreCampaigns, WrittenReadBackAndEditedWhileDraftOnly) {
  ASSERT_TRUE(cs().add_campaign_blocking(campaign("c1", 100)));
  EXPECT_EQ(cs().add_campaign_blocking(campaign("c1", 100)).error().kind(),
            core::ErrorKind::conflict);
  auto c = cs().find_campaign_blocking("c1").value().value();
  EXPECT_EQ(c.fields, (std::vector<std::string>{"first_name", "city"}));
  EXPECT_EQ(c.state, "draft");
  EXPECT_EQ(c.policy, "exclusive");
  EXPECT_EQ(c.per_minute, 600);
  EXPECT_FALSE(c.scheduled_at);
  EXPECT_FALSE(c.approved_hash);

  ASSERT_TRUE(cs().approve_campaign_blocking("c1", "h1", "reviewer@clinic.example", 110).value());
  c.body = "Dear {{first_name}}, again";
  c.content_hash = "h2";
  c.scheduled_at = 5000;
  ASSERT_TRUE(cs().update_campaign_blocking(c, 120).value());
  auto edited = cs().find_campaign_blocking("c1").value().value();
  EXPECT_EQ(edited.content_hash, "h2");
  EXPECT_EQ(edited.scheduled_at, 5000);
  EXPECT_FALSE(edited.approved_hash) << "an edit voids the approval";
  EXPECT_FALSE(edited.approver);
  // An approval of a hash that is not the current one does nothing.
  EXPECT_FALSE(cs().approve_campaign_blocking("c1", "h1", "reviewer@clinic.example", 130).value());
  ASSERT_TRUE(cs().approve_campaign_blocking("c1", "h2", "reviewer@clinic.example", 130).value());

  ASSERT_TRUE(cs().set_campaign_state_blocking("c1", "sending", 140).value());
  EXPECT_FALSE(cs().update_campaign_blocking(c, 150).value()) << "not while sending";
  EXPECT_FALSE(cs().set_campaign_state_blocking("c1", "sending", 150).value());
  EXPECT_FALSE(cs().set_campaign_state_blocking("c1", "draft", 150)) << "no way back to draft";
  auto sending = cs().find_campaign_blocking("c1").value().value();
  EXPECT_EQ(sending.state, "sending");
  EXPECT_EQ(sending.started_at, 140);
  ASSERT_TRUE(cs().set_campaign_state_blocking("c1", "cancelled", 160).value());
  auto ended = cs().find_campaign_blocking("c1").value().value();
  EXPECT_EQ(ended.finished_at, 160);
  EXPECT_EQ(cs().list_campaigns_blocking(10).value().size(), 1u);
}

TEST_F(StoreCampaigns, DueLeaseCursorAndEachContactOnce) {
  auto later = campaign("c1", 100);
  later.scheduled_at = 1000;
  ASSERT_TRUE(cs().add_campaign_blocking(later));
  ASSERT_TRUE(cs().add_campaign_blocking(campaign("c2", 101)));
  EXPECT_TRUE(cs().due_campaigns_blocking(2000).value().empty()) << "drafts are never due";
  ASSERT_TRUE(cs().set_campaign_state_blocking("c1", "sending", 200).value());
  ASSERT_TRUE(cs().set_campaign_state_blocking("c2", "sending", 200).value());
  EXPECT_EQ(cs().due_campaigns_blocking(500).value(), std::vector<std::string>{"c2"});
  EXPECT_EQ(cs().due_campaigns_blocking(1000).value(), (std::vector<std::string>{"c1", "c2"}));

  ASSERT_TRUE(cs().lease_campaign_blocking("c2", "node-a", 500, 560).value());
  EXPECT_FALSE(cs().lease_campaign_blocking("c2", "node-b", 530, 590).value());
  EXPECT_TRUE(cs().lease_campaign_blocking("c2", "node-a", 530, 590).value()) << "renewed";
  EXPECT_TRUE(cs().lease_campaign_blocking("c2", "node-b", 600, 660).value()) << "expired";
  ASSERT_TRUE(cs().advance_cursor_blocking("c2", "node-a", "k"));  // not the holder: no effect
  EXPECT_EQ(cs().find_campaign_blocking("c2").value()->cursor, "");
  ASSERT_TRUE(cs().advance_cursor_blocking("c2", "node-b", "k"));
  ASSERT_TRUE(cs().advance_cursor_blocking("c2", "node-b", "c"));  // never back
  EXPECT_EQ(cs().find_campaign_blocking("c2").value()->cursor, "k");
  ASSERT_TRUE(cs().release_campaign_blocking("c2", "node-b"));
  EXPECT_TRUE(cs().lease_campaign_blocking("c2", "node-a", 601, 660).value());

  ASSERT_TRUE(cs().add_send_blocking(
      CampaignSend{.campaign_id = "c2", .contact_id = "p1", .outcome = "revoked", .at = 700}));
  EXPECT_EQ(
      cs().add_send_blocking(
              CampaignSend{.campaign_id = "c2", .contact_id = "p1", .outcome = "queued", .at = 701})
          .error()
          .kind(),
      core::ErrorKind::conflict);
  EXPECT_TRUE(cs().has_send_blocking("c2", "p1").value());
  EXPECT_FALSE(cs().has_send_blocking("c1", "p1").value());
}

TEST_F(StoreCampaigns, ProgressAndWithdrawalOnRevocation) {
  ASSERT_TRUE(cs().add_campaign_blocking(campaign("c1", 100)));
  auto other = campaign("c2", 100);
  other.purpose = "reminders";
  ASSERT_TRUE(cs().add_campaign_blocking(other));
  ASSERT_TRUE(store_->mail().enqueue_blocking(message("m1", 100), {"Ann@tls.example"}));
  ASSERT_TRUE(store_->mail().enqueue_blocking(message("m2", 100), {"ann@tls.example"}));
  ASSERT_TRUE(store_->mail().enqueue_blocking(message("m3", 100), {"bob@tls.example"}));
  ASSERT_TRUE(cs().add_send_blocking({"c1", "ann", "queued", "m1", 110}));
  ASSERT_TRUE(cs().add_send_blocking({"c2", "ann", "queued", "m2", 110}));
  ASSERT_TRUE(cs().add_send_blocking({"c1", "bob", "queued", "m3", 110}));
  ASSERT_TRUE(cs().add_send_blocking({"c1", "cat", "no_authorisation", std::nullopt, 110}));

  auto progress = cs().progress_blocking("c1").value();
  EXPECT_EQ(progress.outcomes, (std::vector<std::pair<std::string, std::int64_t>>{
                                   {"no_authorisation", 1}, {"queued", 2}}));
  EXPECT_EQ(progress.deliveries,
            (std::vector<std::pair<std::string, std::int64_t>>{{"queued", 2}}));

  // Bob's message is being delivered by a node right now: it cannot be withdrawn.
  auto claimed = store_->mail().claim_message_blocking("node-a", "m3", 120, 180).value();
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_TRUE(cs().withdraw_queued_blocking("bob", "marketing", 130).value().empty());
  // Ann revokes marketing: m1 goes, m2 (reminders) stays.
  EXPECT_EQ(cs().withdraw_queued_blocking("ann", "marketing", 130).value(),
            std::vector<std::string>{"m1"});
  EXPECT_TRUE(cs().withdraw_queued_blocking("ann", "marketing", 131).value().empty());
  auto recipients = store_->mail().list_recipients_blocking("m1").value();
  ASSERT_EQ(recipients.size(), 1u);
  EXPECT_EQ(recipients[0].state, MailState::dropped);
  EXPECT_EQ(store_->mail().list_recipients_blocking("m2").value()[0].state, MailState::queued);
  progress = cs().progress_blocking("c1").value();
  EXPECT_EQ(progress.outcomes, (std::vector<std::pair<std::string, std::int64_t>>{
                                   {"no_authorisation", 1}, {"queued", 1}, {"withdrawn", 1}}));

  EXPECT_FALSE(cs().bounced_before_blocking("ann@tls.example").value());
}

}  // namespace
}  // namespace store::test
