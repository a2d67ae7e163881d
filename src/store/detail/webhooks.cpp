// WebhookStore in SQL both engines run: the endpoints and the queue of deliveries.
//
// The lease is the mail queue's (detail/mail.cpp): the claim is one UPDATE of the rows a
// sub-select picks, with `FOR UPDATE SKIP LOCKED` on PostgreSQL (nodes claiming at once
// take disjoint rows) and the one writer on SQLite; an attempt is recorded only
// `WHERE lease_owner = ?`, so a node whose lease expired changes nothing and learns it.
// A webhook's event types are kept as ",a,b,": one LIKE matches a type on both engines,
// and the types are checked to hold no comma nor LIKE wildcard.

#include <algorithm>

#include "store/detail/codec.hpp"
#include "store/detail/sql_store.hpp"

namespace store {

std::string_view webhook_delivery_state_name(WebhookDeliveryState state) {
  switch (state) {
    case WebhookDeliveryState::pending:
      return "pending";
    case WebhookDeliveryState::delivered:
      return "delivered";
    case WebhookDeliveryState::failed:
      return "failed";
    case WebhookDeliveryState::cancelled:
      return "cancelled";
  }
  return "pending";
}

}  // namespace store

namespace store::detail {

namespace {

using engine::Param;
using engine::Row;

namespace sql {
constexpr const char* kAdd =
    "INSERT INTO webhooks (id, name, url, events, sealed_secret, created_at, created_by) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
#define SEALPOST_WEBHOOK_COLUMNS \
  "SELECT id, name, url, events, sealed_secret, created_at, created_by, removed_at "
constexpr const char* kFind = SEALPOST_WEBHOOK_COLUMNS "FROM webhooks WHERE id = ?1";
constexpr const char* kList = SEALPOST_WEBHOOK_COLUMNS "FROM webhooks ORDER BY created_at, id";
#undef SEALPOST_WEBHOOK_COLUMNS
constexpr const char* kRemove =
    "UPDATE webhooks SET removed_at = ?2 WHERE id = ?1 AND removed_at IS NULL";
constexpr const char* kCancelPending =
    "UPDATE webhook_deliveries SET state = 'cancelled', lease_owner = NULL, lease_until = NULL, "
    "updated_at = ?2 WHERE webhook_id = ?1 AND state = 'pending'";
// ?2 is the type wrapped in commas. ON CONFLICT: a unit of work run twice adds nothing. The
// CASTs fix the parameters' types, which a SELECT list does not (PostgreSQL).
constexpr const char* kEnqueue =
    "INSERT INTO webhook_deliveries (event_id, webhook_id, type, payload, created_at, state, "
    "attempts, next_attempt_at, last_error, updated_at) "
    "SELECT CAST(?1 AS TEXT), id, CAST(?3 AS TEXT), CAST(?4 AS TEXT), CAST(?5 AS BIGINT), "
    "'pending', 0, CAST(?5 AS BIGINT), '', CAST(?5 AS BIGINT) FROM webhooks "
    "WHERE removed_at IS NULL AND events LIKE '%' || CAST(?2 AS TEXT) || '%' "
    "ON CONFLICT (event_id, webhook_id) DO NOTHING";
constexpr const char* kAnySubscriber =
    "SELECT 1 FROM webhooks WHERE removed_at IS NULL "
    "AND events LIKE '%' || CAST(?1 AS TEXT) || '%' LIMIT 1";
#define SEALPOST_CLAIM(LOCK)                                                               \
  "UPDATE webhook_deliveries SET lease_owner = ?1, lease_until = ?2 "                      \
  "WHERE (event_id, webhook_id) IN ("                                                      \
  "  SELECT event_id, webhook_id FROM webhook_deliveries "                                 \
  "  WHERE state = 'pending' AND next_attempt_at <= ?3 "                                   \
  "  AND (lease_until IS NULL OR lease_until <= ?3) "                                      \
  "  ORDER BY next_attempt_at, created_at, event_id, webhook_id LIMIT ?4" LOCK             \
  ") "                                                                                     \
  "RETURNING event_id, webhook_id, type, payload, created_at, attempts, next_attempt_at, " \
  "(SELECT url FROM webhooks AS w WHERE w.id = webhook_deliveries.webhook_id), "           \
  "(SELECT sealed_secret FROM webhooks AS w WHERE w.id = webhook_deliveries.webhook_id)"
// See the file comment: the two engines differ here in meaning, not syntax.
constexpr const char* kClaimPostgres = SEALPOST_CLAIM(" FOR UPDATE SKIP LOCKED");
constexpr const char* kClaimSqlite = SEALPOST_CLAIM("");
#undef SEALPOST_CLAIM
constexpr const char* kRecord =
    "UPDATE webhook_deliveries SET state = ?4, attempts = attempts + 1, next_attempt_at = ?5, "
    "last_status = ?6, last_error = ?7, updated_at = ?8, lease_owner = NULL, lease_until = NULL "
    "WHERE event_id = ?1 AND webhook_id = ?2 AND lease_owner = ?3 AND state = 'pending'";
constexpr const char* kRelease =
    "UPDATE webhook_deliveries SET lease_owner = NULL, lease_until = NULL "
    "WHERE lease_owner = ?1";
constexpr const char* kListDeliveries =
    "SELECT event_id, webhook_id, type, payload, created_at, state, attempts, next_attempt_at, "
    "last_status, last_error, updated_at FROM webhook_deliveries WHERE webhook_id = ?1 "
    "ORDER BY created_at DESC, event_id DESC LIMIT ?2";
constexpr const char* kSummary =
    "SELECT webhook_id, "
    "SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN state = 'delivered' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) "
    "FROM webhook_deliveries GROUP BY webhook_id ORDER BY webhook_id";
constexpr const char* kNextDue =
    "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending'";
}  // namespace sql

// An event type as the queries match it: lower-case letters and dots only (no comma, no
// LIKE wildcard), so ",type," can only match a whole type.
bool valid_type(std::string_view type) {
  return !type.empty() && type.size() <= 64 && std::all_of(type.begin(), type.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || c == '.';
  });
}

core::Result<std::string> encode_types(const std::vector<std::string>& types) {
  std::string out = ",";
  for (const auto& type : types) {
    if (!valid_type(type)) {
      return core::fail(core::ErrorKind::invalid_input, "that is not a webhook event type",
                        "webhook event type");
    }
    out += type;
    out += ',';
  }
  return out;
}

std::vector<std::string> decode_types(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::size_t end = comma == std::string::npos ? text.size() : comma;
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Columns as sql::kFind and sql::kList select them.
WebhookRecord read_webhook(const Row& row) {
  WebhookRecord w;
  w.id = row.text(0);
  w.name = row.text(1);
  w.url = row.text(2);
  w.events = decode_types(row.text(3));
  w.sealed_secret = row.blob(4);
  w.created_at = row.int64(5);
  w.created_by = row.text(6);
  if (!row.is_null(7)) w.removed_at = row.int64(7);
  return w;
}

core::Result<WebhookDeliveryState> parse_state(const std::string& text) {
  for (auto s : {WebhookDeliveryState::pending, WebhookDeliveryState::delivered,
                 WebhookDeliveryState::failed, WebhookDeliveryState::cancelled}) {
    if (webhook_delivery_state_name(s) == text) return s;
  }
  return core::fail(core::ErrorKind::integrity, kStoreInternal, "unknown webhook delivery state");
}

}  // namespace

core::Status SqlWebhooks::add_webhook_blocking(const WebhookRecord& webhook) {
  auto events = encode_types(webhook.events);
  if (!events) return core::fail(std::move(events).error());
  auto r = db_.execute("add webhook", sql::kAdd,
                       {Param{std::string_view(webhook.id)}, Param{std::string_view(webhook.name)},
                        Param{std::string_view(webhook.url)}, Param{std::string_view(*events)},
                        Param{std::span<const std::uint8_t>(webhook.sealed_secret)},
                        Param{webhook.created_at}, Param{std::string_view(webhook.created_by)}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Result<std::optional<WebhookRecord>> SqlWebhooks::find_webhook_blocking(
    const std::string& id) {
  auto rows = db_.query("find webhook", sql::kFind, {Param{std::string_view(id)}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<WebhookRecord>();
  return std::optional<WebhookRecord>(read_webhook(rows->front()));
}

core::Result<std::vector<WebhookRecord>> SqlWebhooks::list_webhooks_blocking() {
  auto rows = db_.query("list webhooks", sql::kList);
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<WebhookRecord> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) out.push_back(read_webhook(row));
  return out;
}

core::Status SqlWebhooks::remove_webhook_blocking(const std::string& id, std::int64_t now) {
  return db_.transact(
      "remove webhook", engine::TxMode::write, [&](engine::Connection& conn) -> core::Status {
        auto changed = conn.execute(sql::kRemove, {Param{std::string_view(id)}, Param{now}});
        if (!changed) return core::fail(std::move(changed).error());
        if (*changed != 1) {
          return core::fail(core::ErrorKind::not_found, "there is no such webhook",
                            "remove_webhook");
        }
        auto cancelled =
            conn.execute(sql::kCancelPending, {Param{std::string_view(id)}, Param{now}});
        if (!cancelled) return core::fail(std::move(cancelled).error());
        return core::ok();
      });
}

core::Result<std::size_t> enqueue_webhook_event_txn(engine::Connection& conn,
                                                    const WebhookEvent& event, std::int64_t now) {
  if (!valid_type(event.type)) {
    return core::fail(core::ErrorKind::invalid_input, "that is not a webhook event type",
                      "enqueue webhook event");
  }
  const std::string wrapped = "," + event.type + ",";
  auto r = conn.execute(
      sql::kEnqueue,
      {Param{std::string_view(event.id)}, Param{std::string_view(wrapped)},
       Param{std::string_view(event.type)}, Param{std::string_view(event.payload)}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return static_cast<std::size_t>(*r);
}

core::Result<bool> any_webhook_subscribes_txn(engine::Connection& conn, std::string_view type) {
  if (!valid_type(type)) {
    return core::fail(core::ErrorKind::invalid_input, "that is not a webhook event type",
                      "find webhook subscribers");
  }
  const std::string wrapped = "," + std::string(type) + ",";
  auto rows = conn.query(sql::kAnySubscriber, {Param{std::string_view(wrapped)}});
  if (!rows) return core::fail(std::move(rows).error());
  return !rows->empty();
}

core::Result<std::size_t> SqlWebhooks::enqueue_event_blocking(const std::string& event_id,
                                                              const std::string& type,
                                                              const std::string& payload,
                                                              std::int64_t now) {
  const WebhookEvent event{event_id, type, payload};
  return db_.transact_value<std::size_t>(
      "enqueue webhook event", engine::TxMode::write,
      [&](engine::Connection& conn) { return enqueue_webhook_event_txn(conn, event, now); });
}

core::Result<std::vector<ClaimedWebhookDelivery>> SqlWebhooks::claim_due_blocking(
    const std::string& owner, std::int64_t now, std::int64_t lease_until, std::size_t limit) {
  const char* statement =
      db_.dialect() == engine::Dialect::postgres ? sql::kClaimPostgres : sql::kClaimSqlite;
  return db_.transact_value<std::vector<ClaimedWebhookDelivery>>(
      "claim webhook deliveries", engine::TxMode::write,
      [&](engine::Connection& conn) -> core::Result<std::vector<ClaimedWebhookDelivery>> {
        auto rows = conn.query(statement, {Param{std::string_view(owner)}, Param{lease_until},
                                           Param{now}, Param{sql_limit(limit, 1'000)}});
        if (!rows) return core::fail(std::move(rows).error());
        std::vector<ClaimedWebhookDelivery> out;
        out.reserve(rows->size());
        for (const auto& row : *rows) {
          ClaimedWebhookDelivery c;
          c.delivery.event_id = row.text(0);
          c.delivery.webhook_id = row.text(1);
          c.delivery.type = row.text(2);
          c.delivery.payload = row.text(3);
          c.delivery.created_at = row.int64(4);
          c.delivery.attempts = static_cast<int>(row.int64(5));
          c.delivery.next_attempt_at = row.int64(6);
          c.url = row.text(7);
          c.sealed_secret = row.blob(8);
          out.push_back(std::move(c));
        }
        // RETURNING gives no order: oldest due first.
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
          return std::tie(a.delivery.next_attempt_at, a.delivery.created_at, a.delivery.event_id,
                          a.delivery.webhook_id) <
                 std::tie(b.delivery.next_attempt_at, b.delivery.created_at, b.delivery.event_id,
                          b.delivery.webhook_id);
        });
        return out;
      });
}

core::Result<bool> SqlWebhooks::record_attempt_blocking(
    const std::string& owner, const std::string& event_id, const std::string& webhook_id,
    WebhookDeliveryState state, std::int64_t next_attempt_at,
    std::optional<std::int64_t> http_status, const std::string& error, std::int64_t now) {
  auto r = db_.execute("record webhook attempt", sql::kRecord,
                       {Param{std::string_view(event_id)}, Param{std::string_view(webhook_id)},
                        Param{std::string_view(owner)}, Param{webhook_delivery_state_name(state)},
                        Param{next_attempt_at}, engine::opt(http_status),
                        Param{std::string_view(error)}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return *r == 1;
}

core::Result<std::size_t> SqlWebhooks::release_leases_blocking(const std::string& owner) {
  auto r = db_.execute("release webhook leases", sql::kRelease, {Param{std::string_view(owner)}});
  if (!r) return core::fail(std::move(r).error());
  return static_cast<std::size_t>(*r);
}

core::Result<std::vector<WebhookDeliveryRecord>> SqlWebhooks::list_deliveries_blocking(
    const std::string& webhook_id, std::size_t limit) {
  auto rows = db_.query("list webhook deliveries", sql::kListDeliveries,
                        {Param{std::string_view(webhook_id)}, Param{sql_limit(limit, 1'000)}});
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<WebhookDeliveryRecord> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    WebhookDeliveryRecord d;
    d.event_id = row.text(0);
    d.webhook_id = row.text(1);
    d.type = row.text(2);
    d.payload = row.text(3);
    d.created_at = row.int64(4);
    auto state = parse_state(row.text(5));
    if (!state) return core::fail(std::move(state).error());
    d.state = *state;
    d.attempts = static_cast<int>(row.int64(6));
    d.next_attempt_at = row.int64(7);
    if (!row.is_null(8)) d.last_status = row.int64(8);
    d.last_error = row.text(9);
    d.updated_at = row.int64(10);
    out.push_back(std::move(d));
  }
  return out;
}

core::Result<std::vector<WebhookSummary>> SqlWebhooks::summary_blocking() {
  auto rows = db_.query("webhook summary", sql::kSummary);
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<WebhookSummary> out;
  for (const auto& row : *rows) {
    out.push_back(WebhookSummary{row.text(0), row.int64(1), row.int64(2), row.int64(3)});
  }
  return out;
}

core::Result<std::optional<std::int64_t>> SqlWebhooks::next_due_blocking() {
  auto rows = db_.query("next webhook due", sql::kNextDue);
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty() || rows->front().is_null(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(rows->front().int64(0));
}

}  // namespace store::detail
