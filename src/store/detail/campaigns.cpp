// CampaignStore in SQL both engines run (issue 11): campaigns as written and approved, the
// lease of the node sending one, and one row per contact it reached.

#include <fmt/format.h>

#include "store/detail/codec.hpp"
#include "store/detail/sql_store.hpp"

namespace store::detail {

namespace {

using engine::Param;
using engine::Row;

// Campaigns listed at once, at most.
constexpr std::size_t kMaxListed = 500;

namespace sql {
#define SEALPOST_CAMPAIGN_COLUMNS                                                            \
  "SELECT id, name, purpose, sender, policy, fields, segment, subject, body, scheduled_at, " \
  "per_minute, author, state, content_hash, approved_hash, approver, approved_at, cursor, "  \
  "lease_owner, lease_until, created_at, updated_at, started_at, finished_at FROM campaigns "
constexpr const char* kFind = SEALPOST_CAMPAIGN_COLUMNS "WHERE id = ?1";
constexpr const char* kList = SEALPOST_CAMPAIGN_COLUMNS "ORDER BY created_at DESC, id LIMIT ?1";
#undef SEALPOST_CAMPAIGN_COLUMNS
constexpr const char* kAdd =
    "INSERT INTO campaigns (id, name, purpose, sender, policy, fields, segment, subject, body, "
    "scheduled_at, per_minute, author, state, content_hash, created_at, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'draft', ?13, ?14, ?14)";
constexpr const char* kUpdate =
    "UPDATE campaigns SET name = ?2, purpose = ?3, sender = ?4, policy = ?5, fields = ?6, "
    "segment = ?7, subject = ?8, body = ?9, scheduled_at = ?10, per_minute = ?11, "
    "content_hash = ?12, approved_hash = NULL, approver = NULL, approved_at = NULL, "
    "updated_at = ?13 WHERE id = ?1 AND state IN ('draft', 'paused')";
constexpr const char* kApprove =
    "UPDATE campaigns SET approved_hash = ?2, approver = ?3, approved_at = ?4, updated_at = ?4 "
    "WHERE id = ?1 AND content_hash = ?2 AND state IN ('draft', 'paused')";
// The state machine: each target state and the states that may lead to it.
constexpr const char* kToSending =
    "UPDATE campaigns SET state = 'sending', updated_at = ?2, started_at = COALESCE(started_at, "
    "?2) "
    "WHERE id = ?1 AND state IN ('draft', 'paused')";
constexpr const char* kToPaused =
    "UPDATE campaigns SET state = 'paused', updated_at = ?2 WHERE id = ?1 AND state = 'sending'";
constexpr const char* kToSent =
    "UPDATE campaigns SET state = 'sent', updated_at = ?2, finished_at = ?2, lease_owner = NULL, "
    "lease_until = NULL WHERE id = ?1 AND state = 'sending'";
constexpr const char* kToCancelled =
    "UPDATE campaigns SET state = 'cancelled', updated_at = ?2, finished_at = ?2, "
    "lease_owner = NULL, lease_until = NULL "
    "WHERE id = ?1 AND state IN ('draft', 'sending', 'paused')";
constexpr const char* kDue =
    "SELECT id FROM campaigns WHERE state = 'sending' AND (scheduled_at IS NULL OR "
    "scheduled_at <= ?1) ORDER BY created_at, id";
constexpr const char* kLease =
    "UPDATE campaigns SET lease_owner = ?2, lease_until = ?4 WHERE id = ?1 AND state = 'sending' "
    "AND (lease_owner IS NULL OR lease_owner = ?2 OR lease_until < ?3)";
constexpr const char* kRelease =
    "UPDATE campaigns SET lease_owner = NULL, lease_until = NULL "
    "WHERE id = ?1 AND lease_owner = ?2";
constexpr const char* kAdvance =
    "UPDATE campaigns SET cursor = ?3 WHERE id = ?1 AND lease_owner = ?2 AND cursor < ?3";
constexpr const char* kAddSend =
    "INSERT INTO campaign_sends (campaign_id, contact_id, outcome, message_id, at) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kHasSend =
    "SELECT count(*) FROM campaign_sends WHERE campaign_id = ?1 AND contact_id = ?2";
constexpr const char* kOutcomes =
    "SELECT outcome, count(*) FROM campaign_sends WHERE campaign_id = ?1 "
    "GROUP BY outcome ORDER BY outcome";
constexpr const char* kDeliveries =
    "SELECT r.state, count(*) FROM campaign_sends s JOIN mail_recipients r "
    "ON r.message_id = s.message_id WHERE s.campaign_id = ?1 AND s.outcome = 'queued' "
    "GROUP BY r.state ORDER BY r.state";
constexpr const char* kBounced =
    "SELECT count(*) FROM mail_recipients WHERE lower(address) = ?1 AND state = 'bounced'";
constexpr const char* kWithdrawable =
    "SELECT DISTINCT s.campaign_id, r.message_id FROM campaign_sends s "
    "JOIN campaigns c ON c.id = s.campaign_id "
    "JOIN mail_recipients r ON r.message_id = s.message_id "
    "WHERE s.contact_id = ?1 AND s.outcome = 'queued' AND c.purpose = ?2 "
    "AND r.state IN ('queued', 'deferred') AND (r.lease_owner IS NULL OR r.lease_until < ?3) "
    "ORDER BY r.message_id";
constexpr const char* kDropRecipients =
    "UPDATE mail_recipients SET state = 'dropped', updated_at = ?2, lease_owner = NULL, "
    "lease_until = NULL WHERE message_id = ?1 AND state IN ('queued', 'deferred')";
constexpr const char* kWithdrawSend =
    "UPDATE campaign_sends SET outcome = 'withdrawn', at = ?3 "
    "WHERE campaign_id = ?1 AND contact_id = ?2 AND outcome = 'queued'";
}  // namespace sql

core::Result<CampaignRecord> read_campaign(const Row& row) {
  CampaignRecord c;
  c.id = row.text(0);
  c.name = row.text(1);
  c.purpose = row.text(2);
  c.sender = row.text(3);
  c.policy = row.text(4);
  auto fields = decode_strings(row.text(5));
  if (!fields) return core::fail(std::move(fields).error());
  c.fields = std::move(*fields);
  c.segment = row.text(6);
  c.subject = row.text(7);
  c.body = row.text(8);
  if (!row.is_null(9)) c.scheduled_at = row.int64(9);
  c.per_minute = row.int64(10);
  c.author = row.text(11);
  c.state = row.text(12);
  c.content_hash = row.text(13);
  if (!row.is_null(14)) c.approved_hash = row.text(14);
  if (!row.is_null(15)) c.approver = row.text(15);
  if (!row.is_null(16)) c.approved_at = row.int64(16);
  c.cursor = row.text(17);
  if (!row.is_null(18)) c.lease_owner = row.text(18);
  if (!row.is_null(19)) c.lease_until = row.int64(19);
  c.created_at = row.int64(20);
  c.updated_at = row.int64(21);
  if (!row.is_null(22)) c.started_at = row.int64(22);
  if (!row.is_null(23)) c.finished_at = row.int64(23);
  return c;
}

core::Result<std::vector<std::pair<std::string, std::int64_t>>> counts(engine::Executor& db,
                                                                       const char* what,
                                                                       const char* query,
                                                                       const std::string& id) {
  auto rows = db.query(what, query, {Param{std::string_view(id)}});
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const Row& row : *rows) out.emplace_back(row.text(0), row.int64(1));
  return out;
}

}  // namespace

core::Status SqlCampaigns::add_campaign_blocking(const CampaignRecord& c) {
  auto fields = encode_strings(c.fields, "campaign fields");
  if (!fields) return core::fail(std::move(fields).error());
  auto r = db_.execute("add campaign", sql::kAdd,
                       {Param{std::string_view(c.id)}, Param{std::string_view(c.name)},
                        Param{std::string_view(c.purpose)}, Param{std::string_view(c.sender)},
                        Param{std::string_view(c.policy)}, Param{std::string_view(*fields)},
                        Param{std::string_view(c.segment)}, Param{std::string_view(c.subject)},
                        Param{std::string_view(c.body)}, engine::opt(c.scheduled_at),
                        Param{c.per_minute}, Param{std::string_view(c.author)},
                        Param{std::string_view(c.content_hash)}, Param{c.created_at}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Result<std::optional<CampaignRecord>> SqlCampaigns::find_campaign_blocking(
    const std::string& id) {
  auto rows = db_.query("find campaign", sql::kFind, {Param{std::string_view(id)}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<CampaignRecord>();
  auto c = read_campaign(rows->front());
  if (!c) return core::fail(std::move(c).error());
  return std::optional<CampaignRecord>(*std::move(c));
}

core::Result<std::vector<CampaignRecord>> SqlCampaigns::list_campaigns_blocking(std::size_t limit) {
  auto rows = db_.query("list campaigns", sql::kList, {Param{sql_limit(limit, kMaxListed)}});
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<CampaignRecord> out;
  for (const Row& row : *rows) {
    auto c = read_campaign(row);
    if (!c) return core::fail(std::move(c).error());
    out.push_back(*std::move(c));
  }
  return out;
}

core::Result<bool> SqlCampaigns::update_campaign_blocking(const CampaignRecord& c,
                                                          std::int64_t now) {
  auto fields = encode_strings(c.fields, "campaign fields");
  if (!fields) return core::fail(std::move(fields).error());
  auto r = db_.execute("update campaign", sql::kUpdate,
                       {Param{std::string_view(c.id)}, Param{std::string_view(c.name)},
                        Param{std::string_view(c.purpose)}, Param{std::string_view(c.sender)},
                        Param{std::string_view(c.policy)}, Param{std::string_view(*fields)},
                        Param{std::string_view(c.segment)}, Param{std::string_view(c.subject)},
                        Param{std::string_view(c.body)}, engine::opt(c.scheduled_at),
                        Param{c.per_minute}, Param{std::string_view(c.content_hash)}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return *r == 1;
}

core::Result<bool> SqlCampaigns::approve_campaign_blocking(const std::string& id,
                                                           const std::string& content_hash,
                                                           const std::string& approver,
                                                           std::int64_t now) {
  auto r = db_.execute("approve campaign", sql::kApprove,
                       {Param{std::string_view(id)}, Param{std::string_view(content_hash)},
                        Param{std::string_view(approver)}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return *r == 1;
}

core::Result<bool> SqlCampaigns::set_campaign_state_blocking(const std::string& id,
                                                             std::string_view to,
                                                             std::int64_t now) {
  const char* query = to == "sending"     ? sql::kToSending
                      : to == "paused"    ? sql::kToPaused
                      : to == "sent"      ? sql::kToSent
                      : to == "cancelled" ? sql::kToCancelled
                                          : nullptr;
  if (query == nullptr) {
    return core::fail(core::ErrorKind::invalid_input, kStoreInternal, "campaign state: unknown");
  }
  auto r = db_.execute("set campaign state", query, {Param{std::string_view(id)}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return *r == 1;
}

core::Result<std::vector<std::string>> SqlCampaigns::due_campaigns_blocking(std::int64_t now) {
  auto rows = db_.query("due campaigns", sql::kDue, {Param{now}});
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<std::string> out;
  for (const Row& row : *rows) out.push_back(row.text(0));
  return out;
}

core::Result<bool> SqlCampaigns::lease_campaign_blocking(const std::string& id,
                                                         const std::string& owner, std::int64_t now,
                                                         std::int64_t until) {
  auto r = db_.execute(
      "lease campaign", sql::kLease,
      {Param{std::string_view(id)}, Param{std::string_view(owner)}, Param{now}, Param{until}});
  if (!r) return core::fail(std::move(r).error());
  return *r == 1;
}

core::Status SqlCampaigns::release_campaign_blocking(const std::string& id,
                                                     const std::string& owner) {
  auto r = db_.execute("release campaign", sql::kRelease,
                       {Param{std::string_view(id)}, Param{std::string_view(owner)}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Status SqlCampaigns::advance_cursor_blocking(const std::string& id, const std::string& owner,
                                                   const std::string& cursor) {
  auto r = db_.execute("advance campaign cursor", sql::kAdvance,
                       {Param{std::string_view(id)}, Param{std::string_view(owner)},
                        Param{std::string_view(cursor)}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Status SqlCampaigns::add_send_blocking(const CampaignSend& s) {
  auto r =
      db_.execute("add campaign send", sql::kAddSend,
                  {Param{std::string_view(s.campaign_id)}, Param{std::string_view(s.contact_id)},
                   Param{std::string_view(s.outcome)}, engine::opt(s.message_id), Param{s.at}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Result<bool> SqlCampaigns::has_send_blocking(const std::string& campaign_id,
                                                   const std::string& contact_id) {
  auto rows =
      db_.query("find campaign send", sql::kHasSend,
                {Param{std::string_view(campaign_id)}, Param{std::string_view(contact_id)}});
  if (!rows) return core::fail(std::move(rows).error());
  return !rows->empty() && rows->front().int64(0) > 0;
}

core::Result<CampaignProgress> SqlCampaigns::progress_blocking(const std::string& campaign_id) {
  CampaignProgress p;
  auto outcomes = counts(db_, "campaign outcomes", sql::kOutcomes, campaign_id);
  if (!outcomes) return core::fail(std::move(outcomes).error());
  p.outcomes = std::move(*outcomes);
  auto deliveries = counts(db_, "campaign deliveries", sql::kDeliveries, campaign_id);
  if (!deliveries) return core::fail(std::move(deliveries).error());
  p.deliveries = std::move(*deliveries);
  return p;
}

core::Result<bool> SqlCampaigns::bounced_before_blocking(const std::string& address) {
  auto rows = db_.query("bounced before", sql::kBounced, {Param{std::string_view(address)}});
  if (!rows) return core::fail(std::move(rows).error());
  return !rows->empty() && rows->front().int64(0) > 0;
}

core::Result<std::vector<std::string>> SqlCampaigns::withdraw_queued_blocking(
    const std::string& contact_id, const std::string& purpose, std::int64_t now) {
  auto rows = db_.query(
      "withdrawable campaign mail", sql::kWithdrawable,
      {Param{std::string_view(contact_id)}, Param{std::string_view(purpose)}, Param{now}});
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<std::string> withdrawn;
  for (const Row& row : *rows) {
    const std::string campaign_id = row.text(0);
    std::string message_id = row.text(1);
    auto d = db_.execute("withdraw campaign mail", sql::kDropRecipients,
                         {Param{std::string_view(message_id)}, Param{now}});
    if (!d) return core::fail(std::move(d).error());
    auto w = db_.execute(
        "withdraw campaign send", sql::kWithdrawSend,
        {Param{std::string_view(campaign_id)}, Param{std::string_view(contact_id)}, Param{now}});
    if (!w) return core::fail(std::move(w).error());
    withdrawn.push_back(std::move(message_id));
  }
  return withdrawn;
}

}  // namespace store::detail
