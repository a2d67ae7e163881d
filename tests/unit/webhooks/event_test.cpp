// Event types and bodies: ids and metadata only, and the exact JSON an integrator gets.

#include "webhooks/event.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace webhooks {
namespace {

TEST(Event, SubmissionReceivedCarriesFormAndReferenceOnly) {
  auto e = submission_received("intake", "7QK2-9MZD", 1764873000);
  EXPECT_EQ(e.type, "submission.received");
  EXPECT_EQ(e.id, "evt_sub_intake_7QK2-9MZD");
  EXPECT_EQ(e.payload, R"({"data":{"form":"intake","reference":"7QK2-9MZD"},)"
                       R"("timestamp":"2025-12-04T18:30:00Z","type":"submission.received"})");
}

TEST(Event, MessageEventsCarryQueueIdPositionAndDomain) {
  auto e = message_event("message.bounced", "q123", 2, "example.org", 1764873000);
  EXPECT_EQ(e.type, "message.bounced");
  EXPECT_EQ(e.id, "evt_msg_q123_2_bounced_1764873000");
  auto j = nlohmann::json::parse(e.payload);
  EXPECT_EQ(j["type"], "message.bounced");
  EXPECT_EQ(j["data"],
            (nlohmann::json{{"message", "q123"}, {"recipient", 2}, {"domain", "example.org"}}));
}

TEST(Event, PortalEventsCarryMessageCopyTagAndDomain) {
  auto read =
      portal_event("message.read", "q9", "0123456789abcdef", "patient.example", "", 1764873000);
  EXPECT_EQ(read.type, "message.read");
  EXPECT_EQ(read.id, "evt_read_q9_0123456789abcdef");  // once per copy
  EXPECT_EQ(nlohmann::json::parse(read.payload)["data"],
            (nlohmann::json{
                {"message", "q9"}, {"copy", "0123456789abcdef"}, {"domain", "patient.example"}}));
  auto replied = portal_event("message.replied", "q9", "0123456789abcdef", "patient.example", "r7",
                              1764873000);
  EXPECT_EQ(replied.id, "evt_reply_r7");
  EXPECT_EQ(nlohmann::json::parse(replied.payload)["data"]["reply"], "r7");
  EXPECT_TRUE(parse_event_list("message.read,message.replied").has_value());
}

TEST(Event, ParsesTheEventList) {
  auto list = parse_event_list("submission.received,message.bounced,submission.received");
  ASSERT_TRUE(list);
  EXPECT_EQ(*list, (std::vector<std::string>{"submission.received", "message.bounced"}));
  EXPECT_FALSE(parse_event_list(""));
  EXPECT_FALSE(parse_event_list("message.delivered,"));
  EXPECT_FALSE(parse_event_list("message.*"));
  EXPECT_FALSE(parse_event_list("Message.delivered"));
}

}  // namespace
}  // namespace webhooks
