// RateLimitStore in SQL both engines run (issue 7: budgets shared by the nodes).
//
// Isolation: each call is one autocommit statement. A take or a count is one
// `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`: on PostgreSQL two nodes taking from the
// same key serialise on its row lock and each re-evaluates the update on the row the other
// left, so no take is lost and no budget is spent twice; on SQLite the file's write lock
// does the same. Every value a statement computes with is a bound parameter; CAST fixes the
// parameters' type where PostgreSQL could not infer it.
//
// A refused take is the `DO UPDATE ... WHERE` that matches nothing: the statement changes no
// row and RETURNING gives none. (The INSERT of a new key always succeeds: a fresh bucket
// holds at least one request, which take_blocking checks before it runs.)

#include <openssl/evp.h>

#include "core/encoding.hpp"
#include "store/detail/codec.hpp"
#include "store/detail/sql_store.hpp"

namespace store::detail {

namespace {

using engine::Param;

// What the tables keep of a key: its SHA-256 (hex), never the key itself (a client
// address, a form id).
core::Result<std::string> stored_key(const std::string& key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(key.data(), key.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return core::fail(core::ErrorKind::internal, kStoreInternal, "SHA-256 failed");
  }
  return core::to_hex(std::span<const std::uint8_t>(digest, length));
}

namespace sql {
// ?1 key, ?2 now, ?3 interval, ?4 tolerance (microseconds).
constexpr const char* kTake =
    "INSERT INTO rate_buckets (key, tat) VALUES (?1, CAST(?2 AS BIGINT) + CAST(?3 AS BIGINT)) "
    "ON CONFLICT (key) DO UPDATE SET "
    "tat = CASE WHEN rate_buckets.tat > CAST(?2 AS BIGINT) THEN rate_buckets.tat "
    "ELSE CAST(?2 AS BIGINT) END + CAST(?3 AS BIGINT) "
    "WHERE CASE WHEN rate_buckets.tat > CAST(?2 AS BIGINT) THEN rate_buckets.tat "
    "ELSE CAST(?2 AS BIGINT) END + CAST(?3 AS BIGINT) <= CAST(?2 AS BIGINT) + CAST(?4 AS BIGINT) "
    "RETURNING tat";
// ?1 key, ?2 window start, ?3 window (seconds). All three SET expressions read the row as
// it was before this update (both engines).
constexpr const char* kCountEvent =
    "INSERT INTO rate_events (key, window_start, count, previous) "
    "VALUES (?1, CAST(?2 AS BIGINT), 1, 0) "
    "ON CONFLICT (key) DO UPDATE SET "
    "previous = CASE WHEN rate_events.window_start >= CAST(?2 AS BIGINT) THEN rate_events.previous "
    "WHEN rate_events.window_start = CAST(?2 AS BIGINT) - CAST(?3 AS BIGINT) "
    "THEN rate_events.count ELSE 0 END, "
    "count = CASE WHEN rate_events.window_start >= CAST(?2 AS BIGINT) "
    "THEN rate_events.count + 1 ELSE 1 END, "
    "window_start = CASE WHEN rate_events.window_start >= CAST(?2 AS BIGINT) "
    "THEN rate_events.window_start ELSE CAST(?2 AS BIGINT) END "
    "RETURNING window_start, count, previous";
constexpr const char* kClearEvents = "DELETE FROM rate_events WHERE key = ?1";
constexpr const char* kPruneBuckets = "DELETE FROM rate_buckets WHERE tat < ?1";
constexpr const char* kPruneEvents = "DELETE FROM rate_events WHERE window_start < ?1";
}  // namespace sql

}  // namespace

core::Result<bool> SqlRateLimits::take_blocking(const std::string& key, std::int64_t now,
                                                std::int64_t interval, std::int64_t tolerance) {
  if (interval < 1 || tolerance < interval) {
    return core::fail(core::ErrorKind::invalid_input, kStoreInternal,
                      "rate limit: interval < 1 or tolerance < interval");
  }
  const auto hashed = stored_key(key);
  if (!hashed) return core::fail(hashed.error());
  auto rows =
      db_.query("take rate limit", sql::kTake,
                {Param{std::string_view(*hashed)}, Param{now}, Param{interval}, Param{tolerance}});
  if (!rows) return core::fail(std::move(rows).error());
  return !rows->empty();
}

core::Result<EventCount> SqlRateLimits::count_event_blocking(const std::string& key,
                                                             std::int64_t window_start,
                                                             std::int64_t window) {
  if (window < 1) {
    return core::fail(core::ErrorKind::invalid_input, kStoreInternal, "event count: window < 1");
  }
  const auto hashed = stored_key(key);
  if (!hashed) return core::fail(hashed.error());
  auto rows = db_.query("count event", sql::kCountEvent,
                        {Param{std::string_view(*hashed)}, Param{window_start}, Param{window}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) {
    return core::fail(core::ErrorKind::integrity, kStoreIntegrity,
                      "event count upsert returned no row");
  }
  const auto& row = rows->front();
  return EventCount{row.int64(0), row.int64(1), row.int64(2)};
}

core::Status SqlRateLimits::clear_events_blocking(const std::string& key) {
  const auto hashed = stored_key(key);
  if (!hashed) return core::fail(hashed.error());
  auto r = db_.execute("clear events", sql::kClearEvents, {Param{std::string_view(*hashed)}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Result<std::size_t> SqlRateLimits::prune_buckets_blocking(std::int64_t tat_before) {
  auto r = db_.execute("prune rate buckets", sql::kPruneBuckets, {Param{tat_before}});
  if (!r) return core::fail(std::move(r).error());
  return static_cast<std::size_t>(*r);
}

core::Result<std::size_t> SqlRateLimits::prune_events_blocking(std::int64_t window_before) {
  auto r = db_.execute("prune rate events", sql::kPruneEvents, {Param{window_before}});
  if (!r) return core::fail(std::move(r).error());
  return static_cast<std::size_t>(*r);
}

}  // namespace store::detail
