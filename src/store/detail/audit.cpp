// AuditStore in SQL both engines run. The chain has one writer at a time across every
// process and node: append takes the chain's lock inside its write transaction (SQLite: the
// file's write lock, already held by BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped
// advisory lock, released by the COMMIT). Under READ COMMITTED the SELECT of the last row,
// run after the lock is granted, sees every append committed before it: no fork.

#include "store/detail/codec.hpp"
#include "store/detail/sql_store.hpp"

namespace store::detail {

namespace {

using engine::Param;
using engine::Row;

namespace sql {
constexpr const char* kLastAudit =
    "SELECT seq, time, actor, action, object, source, outcome, prev_hash, hash "
    "FROM audit ORDER BY seq DESC LIMIT 1";
constexpr const char* kInsertAudit =
    "INSERT INTO audit (seq, time, actor, action, object, source, outcome, prev_hash, hash) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
constexpr const char* kListAudit =
    "SELECT seq, time, actor, action, object, source, outcome, prev_hash, hash "
    "FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2";
constexpr const char* kCountAudit = "SELECT count(*) FROM audit";
constexpr const char* kInsertAuditCheckpoint =
    "INSERT INTO audit_checkpoints (count, head_hash, time, signature) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (count) DO NOTHING";
constexpr const char* kListAuditCheckpoints =
    "SELECT count, head_hash, time, signature FROM audit_checkpoints ORDER BY count";
// The action prefix is compared with substr(), not LIKE: '%' and '_' in the caller's text
// stay plain characters.
constexpr const char* kQueryAudit =
    "SELECT seq, time, actor, action, object, source, outcome, prev_hash, hash "
    "FROM audit WHERE seq > ?1 AND (CAST(?2 AS TEXT) IS NULL OR actor = ?2) "
    "AND (CAST(?3 AS TEXT) IS NULL OR action = ?3) "
    "AND (CAST(?4 AS TEXT) IS NULL OR substr(action, 1, length(CAST(?4 AS TEXT))) = ?4) "
    "AND (CAST(?5 AS TEXT) IS NULL OR object = ?5) "
    "AND (CAST(?6 AS BIGINT) IS NULL OR time >= ?6) AND (CAST(?7 AS BIGINT) IS NULL OR time < ?7) "
    "ORDER BY seq LIMIT ?8";
}  // namespace sql

// Columns: seq, time, actor, action, object, source, outcome, prev_hash, hash.
AuditRow read_audit(const Row& row) {
  AuditRow out;
  out.seq = row.int64(0);
  out.time = row.int64(1);
  out.actor = row.text(2);
  out.action = row.text(3);
  out.object = row.text(4);
  out.source = row.text(5);
  out.outcome = row.text(6);
  out.prev_hash = row.text(7);
  out.hash = row.text(8);
  return out;
}

std::vector<AuditRow> read_audit_rows(const engine::Rows& rows) {
  std::vector<AuditRow> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(read_audit(row));
  return out;
}

}  // namespace

core::Result<std::optional<AuditRow>> lock_audit_head_txn(engine::Connection& conn) {
  if (auto s = conn.lock_for_transaction(kAuditChainLock); !s) return core::fail(s.error());
  auto rows = conn.query(sql::kLastAudit);
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<AuditRow>();
  return std::optional<AuditRow>(read_audit(rows->front()));
}

core::Status insert_audit_txn(engine::Connection& conn, const AuditRow& row) {
  auto inserted =
      conn.execute(sql::kInsertAudit,
                   {Param{row.seq}, Param{row.time}, Param{std::string_view(row.actor)},
                    Param{std::string_view(row.action)}, Param{std::string_view(row.object)},
                    Param{std::string_view(row.source)}, Param{std::string_view(row.outcome)},
                    Param{std::string_view(row.prev_hash)}, Param{std::string_view(row.hash)}});
  if (inserted) return core::ok();
  if (inserted.error().kind() == core::ErrorKind::conflict) {
    return core::fail(core::ErrorKind::conflict, kStoreInternal, "audit seq already used");
  }
  return core::fail(std::move(inserted).error());
}

core::Result<AuditRow> SqlAudit::append_audit_blocking(
    const std::function<AuditRow(const std::optional<AuditRow>& last)>& make) {
  return db_.transact_value<AuditRow>("append audit", engine::TxMode::write,
                                      [&](engine::Connection& conn) -> core::Result<AuditRow> {
                                        auto last = lock_audit_head_txn(conn);
                                        if (!last) return core::fail(std::move(last).error());
                                        AuditRow row = make(*last);
                                        if (auto s = insert_audit_txn(conn, row); !s)
                                          return core::fail(std::move(s).error());
                                        return row;
                                      });
}

core::Result<std::vector<AuditRow>> SqlAudit::list_audit_blocking(std::int64_t after_seq,
                                                                  std::size_t limit) {
  auto rows = db_.query(
      "list audit", sql::kListAudit,
      {Param{after_seq}, Param{sql_limit(limit, std::numeric_limits<std::size_t>::max())}});
  if (!rows) return core::fail(std::move(rows).error());
  return read_audit_rows(*rows);
}

core::Result<std::optional<AuditRow>> SqlAudit::last_audit_blocking() {
  auto rows = db_.query("last audit", sql::kLastAudit);
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<AuditRow>();
  return std::optional<AuditRow>(read_audit(rows->front()));
}

core::Result<std::int64_t> SqlAudit::audit_count_blocking() {
  auto rows = db_.query("count audit", sql::kCountAudit);
  if (!rows) return core::fail(std::move(rows).error());
  return rows->front().int64(0);
}

core::Status SqlAudit::add_audit_checkpoint_blocking(const AuditCheckpointRow& checkpoint) {
  auto r = db_.execute("insert audit checkpoint", sql::kInsertAuditCheckpoint,
                       {Param{checkpoint.count}, Param{std::string_view(checkpoint.head_hash)},
                        Param{checkpoint.time}, Param{std::string_view(checkpoint.signature)}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Result<std::vector<AuditCheckpointRow>> SqlAudit::list_audit_checkpoints_blocking() {
  auto rows = db_.query("list audit checkpoints", sql::kListAuditCheckpoints);
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<AuditCheckpointRow> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    out.push_back(AuditCheckpointRow{row.int64(0), row.text(1), row.int64(2), row.text(3)});
  }
  return out;
}

core::Result<std::vector<AuditRow>> SqlAudit::query_audit_blocking(const AuditQuery& query) {
  // The prefix form: "user." matches every action starting with it.
  std::optional<std::string> exact, prefix;
  if (query.action) {
    if (!query.action->empty() && query.action->back() == '.') {
      prefix = query.action;
    } else {
      exact = query.action;
    }
  }
  const std::array<Param, 8> params = {
      Param{query.after_seq},     engine::opt(query.actor),
      engine::opt(exact),         engine::opt(prefix),
      engine::opt(query.object),  engine::opt(query.time_from),
      engine::opt(query.time_to), Param{sql_limit(query.limit, SubmissionStore::kMaxQueryRows)}};
  auto rows = db_.query("query audit", sql::kQueryAudit, params);
  if (!rows) return core::fail(std::move(rows).error());
  return read_audit_rows(*rows);
}

}  // namespace store::detail
