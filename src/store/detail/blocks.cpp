// BlockStore and FailureStore in SQL both engines run.
//
// Isolation: `write` (READ COMMITTED on PostgreSQL). Each change is one upsert or delete,
// safe on its own under concurrency; a block change bumps meta.config_generation in the
// same transaction, which is how every node notices it. A failure count is one
// `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`: two nodes counting the same key at
// once both see their own increment (the row lock orders them), never a lost update.

#include "store/detail/codec.hpp"
#include "store/detail/sql_store.hpp"

namespace store::detail {

namespace {

using engine::Param;
using engine::Row;

constexpr const char* kNoSuchBlock = "there is no block of that network";

namespace sql {
constexpr const char* kPutBlock =
    "INSERT INTO blocks (cidr, reason, created_at, expires_at, created_by) "
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (cidr) DO UPDATE SET "
    "reason = excluded.reason, created_at = excluded.created_at, "
    "expires_at = excluded.expires_at, created_by = excluded.created_by";
constexpr const char* kRemoveBlock = "DELETE FROM blocks WHERE cidr = ?1";
constexpr const char* kListBlocks =
    "SELECT cidr, reason, created_at, expires_at, created_by FROM blocks ORDER BY cidr";
constexpr const char* kBumpConfigGeneration =
    "UPDATE meta SET value = value + 1 WHERE key = 'config_generation'";

constexpr const char* kAddFailure =
    "INSERT INTO auth_failures (key, failures, last_failure) VALUES (?1, 1, ?2) "
    "ON CONFLICT (key) DO UPDATE SET "
    "failures = CASE WHEN auth_failures.last_failure < ?3 THEN 1 "
    "ELSE auth_failures.failures + 1 END, "
    "last_failure = excluded.last_failure "
    "RETURNING failures, last_failure";
constexpr const char* kFailureCount =
    "SELECT failures, last_failure FROM auth_failures WHERE key = ?1";
constexpr const char* kClearFailures = "DELETE FROM auth_failures WHERE key = ?1";
constexpr const char* kPruneFailures = "DELETE FROM auth_failures WHERE last_failure < ?1";
}  // namespace sql

core::Status bump_generation_txn(engine::Connection& conn) {
  auto r = conn.execute(sql::kBumpConfigGeneration);
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

// Columns: cidr, reason, created_at, expires_at, created_by.
BlockRecord read_block(const Row& row) {
  BlockRecord block;
  block.cidr = row.text(0);
  block.reason = row.text(1);
  block.created_at = row.int64(2);
  if (!row.is_null(3)) block.expires_at = row.int64(3);
  block.created_by = row.text(4);
  return block;
}

}  // namespace

core::Status SqlBlocks::put_block_blocking(const BlockRecord& block) {
  return db_.transact(
      "put block", engine::TxMode::write, [&](engine::Connection& conn) -> core::Status {
        auto r =
            conn.execute(sql::kPutBlock, {Param{std::string_view(block.cidr)},
                                          Param{std::string_view(block.reason)},
                                          Param{block.created_at}, engine::opt(block.expires_at),
                                          Param{std::string_view(block.created_by)}});
        if (!r) return core::fail(std::move(r).error());
        return bump_generation_txn(conn);
      });
}

core::Status SqlBlocks::remove_block_blocking(const std::string& cidr) {
  return db_.transact(
      "remove block", engine::TxMode::write, [&](engine::Connection& conn) -> core::Status {
        auto removed = conn.execute(sql::kRemoveBlock, {Param{std::string_view(cidr)}});
        if (!removed) return core::fail(std::move(removed).error());
        if (*removed == 0) {
          return core::fail(core::ErrorKind::not_found, kNoSuchBlock, "remove_block");
        }
        return bump_generation_txn(conn);
      });
}

core::Result<std::vector<BlockRecord>> SqlBlocks::list_blocks_blocking() {
  auto rows = db_.query("list blocks", sql::kListBlocks);
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<BlockRecord> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) out.push_back(read_block(row));
  return out;
}

core::Result<FailureCount> SqlFailures::add_failure_blocking(const std::string& key,
                                                             std::int64_t now,
                                                             std::int64_t forget_before) {
  return db_.transact_value<FailureCount>(
      "add failure", engine::TxMode::write,
      [&](engine::Connection& conn) -> core::Result<FailureCount> {
        auto rows = conn.query(sql::kAddFailure,
                               {Param{std::string_view(key)}, Param{now}, Param{forget_before}});
        if (!rows) return core::fail(std::move(rows).error());
        if (rows->empty()) {
          return core::fail(core::ErrorKind::integrity, kStoreIntegrity,
                            "failure upsert returned no row");
        }
        return FailureCount{rows->front().int64(0), rows->front().int64(1)};
      });
}

core::Result<std::optional<FailureCount>> SqlFailures::failure_count_blocking(
    const std::string& key) {
  auto rows = db_.query("failure count", sql::kFailureCount, {Param{std::string_view(key)}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<FailureCount>();
  return std::optional<FailureCount>(FailureCount{rows->front().int64(0), rows->front().int64(1)});
}

core::Status SqlFailures::clear_failures_blocking(const std::string& key) {
  auto r = db_.execute("clear failures", sql::kClearFailures, {Param{std::string_view(key)}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Result<std::size_t> SqlFailures::prune_failures_blocking(std::int64_t before) {
  auto r = db_.execute("prune failures", sql::kPruneFailures, {Param{before}});
  if (!r) return core::fail(std::move(r).error());
  return static_cast<std::size_t>(*r);
}

}  // namespace store::detail
