// A campaign draft is checked member by member (each refusal names the member), and the
// approval is bound to a hash of everything that decides what is sent to whom and when.

#include "campaigns/campaign.hpp"

#include <gtest/gtest.h>

namespace campaigns {
namespace {

const std::vector<std::string> kPurposes = {"marketing", "reminders"};

CampaignDraft good() {
  CampaignDraft d;
  d.name = "Flu shots 2027";
  d.purpose = "marketing";
  d.sender = "News@Clinic.Example";
  d.fields = {"first_name", "city"};
  d.segment = "city = \"Bern\"";
  d.subject = "Hello {{first_name}}";
  d.body = "Dear {{first_name}},\nflu shots are here.";
  return d;
}

std::string refusal(CampaignDraft d) {
  auto r = check_draft(std::move(d), kPurposes);
  return r ? "OK" : r.error().public_text();
}

TEST(CampaignDraft, AGoodOneIsCheckedAndNormalised) {
  auto c = check_draft(good(), kPurposes);
  ASSERT_TRUE(c) << c.error().public_text();
  EXPECT_EQ(c->draft.sender, "news@clinic.example");
  EXPECT_EQ(c->segment.fields(), std::vector<std::string>{"city"});
  EXPECT_EQ(c->body.fields(), std::vector<std::string>{"first_name"});
}

TEST(CampaignDraft, EachBadMemberIsNamed) {
  auto d = good();
  d.purpose = "sales";
  EXPECT_EQ(refusal(d).rfind("purpose:", 0), 0u) << refusal(d);
  d = good();
  d.sender = "not an address";
  EXPECT_EQ(refusal(d), "sender: not an e-mail address");
  d = good();
  d.policy = "none";
  EXPECT_EQ(refusal(d), "policy: \"none\" is not allowed for a campaign");
  d = good();
  d.fields = {"city", "city"};
  EXPECT_EQ(refusal(d), "fields: \"city\" is declared twice");
  d = good();
  d.fields.push_back("Bad-Name");
  EXPECT_EQ(refusal(d).rfind("fields: field 3 is not a name", 0), 0u) << refusal(d);
  d = good();
  d.body = "Dear {{last_name}}";  // not declared: refused at save time (C4)
  EXPECT_EQ(refusal(d).rfind("body: ", 0), 0u) << refusal(d);
  EXPECT_NE(refusal(d).find("last_name"), std::string::npos) << refusal(d);
  d = good();
  d.body = "Dear {{{first_name}}}";  // unescaped output: refused
  EXPECT_NE(refusal(d).find("unescaped output is not allowed"), std::string::npos) << refusal(d);
  d = good();
  d.segment = "age > 40";
  EXPECT_EQ(refusal(d).rfind("segment: ", 0), 0u) << refusal(d);
  d = good();
  d.subject = "two\nlines";
  EXPECT_EQ(refusal(d).rfind("subject: one line", 0), 0u) << refusal(d);
  d = good();
  d.per_minute = 0;
  EXPECT_EQ(refusal(d).rfind("per_minute:", 0), 0u) << refusal(d);
  d = good();
  d.name.clear();
  EXPECT_EQ(refusal(d).rfind("name:", 0), 0u) << refusal(d);
}

TEST(CampaignDraft, TheHashCoversWhatIsSentToWhomAndWhen) {
  const std::string base = content_hash(good());
  EXPECT_EQ(base.size(), 64u);
  EXPECT_EQ(content_hash(good()), base);
  auto d = good();
  d.name = "Renamed";
  EXPECT_EQ(content_hash(d), base) << "the name is a label, not content";
  for (int i = 0; i < 8; ++i) {
    d = good();
    switch (i) {
      case 0:
        d.body += " ";
        break;
      case 1:
        d.subject += "!";
        break;
      case 2:
        d.segment = "all";
        break;
      case 3:
        d.scheduled_at = 1;
        break;
      case 4:
        d.per_minute = 601;
        break;
      case 5:
        d.purpose = "reminders";
        break;
      case 6:
        d.fields = {"city", "first_name"};
        break;
      case 7:
        d.policy = "verify";
        break;
    }
    EXPECT_NE(content_hash(d), base) << i;
  }
  // Length-prefixed: moving text from one member to the next changes the hash.
  auto a = good();
  a.subject = "ab";
  a.body = "c";
  auto b = good();
  b.subject = "a";
  b.body = "bc";
  EXPECT_NE(content_hash(a), content_hash(b));
}

TEST(CampaignDraft, AnApprovalHoldsOnlyForTheContentItCovers) {
  store::CampaignRecord r;
  set_draft(r, good());
  EXPECT_EQ(r.content_hash, content_hash(good()));
  EXPECT_EQ(content_hash(draft_of(r)), r.content_hash);
  EXPECT_FALSE(approval_holds(r));
  r.approved_hash = r.content_hash;
  EXPECT_TRUE(approval_holds(r));
  r.body += " changed behind the store's back";
  EXPECT_FALSE(approval_holds(r)) << "the stored hash no longer matches the content";
}

}  // namespace
}  // namespace campaigns
