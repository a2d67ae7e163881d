#include "store/engine/sqlite/detail/statement.hpp"

#include <fmt/format.h>

#include <limits>

namespace store::engine::sqlite::detail {

namespace {

// Long enough to ride out a checkpoint or a `form add` from another process, short enough
// that a request does not hang on a wedged database.
constexpr int kBusyTimeoutMs = 5000;

}  // namespace

core::Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  std::string detail = fmt::format("sqlite {}: {} (code {})", what, sqlite3_errstr(rc), rc);
  if (db != nullptr && sqlite3_errcode(db) == rc) {
    detail += fmt::format(": {}", sqlite3_errmsg(db));
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return core::Error(core::ErrorKind::unavailable, kStoreUnavailable, std::move(detail));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return core::Error(core::ErrorKind::integrity, kStoreIntegrity, std::move(detail));
    default:
      return core::Error(core::ErrorKind::internal, kStoreInternal, std::move(detail));
  }
}

Query::~Query() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Query& Query::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& Query::bind(int index, std::string_view text) {
  int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& Query::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& Query::bind_blob_static(int index, std::span<const std::uint8_t> bytes) {
  // A zero-length blob must still be a blob, not NULL: SQLite binds NULL for a null
  // pointer, so point at a static byte instead.
  static const std::uint8_t kEmpty = 0;
  const void* data = bytes.empty() ? &kEmpty : bytes.data();
  int rc = sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_STATIC);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

int Query::step() {
  if (bind_rc_ != SQLITE_OK) return bind_rc_;
  return sqlite3_step(stmt_);
}

core::Status Query::run(std::string_view what) {
  int rc = step();
  while (rc == SQLITE_ROW) rc = sqlite3_step(stmt_);
  if (rc != SQLITE_DONE) return core::fail(error(rc, what));
  return core::ok();
}

std::int64_t Query::column_int64(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Query::column_is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::string Query::column_text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (text == nullptr) return {};
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::vector<std::uint8_t> Query::column_blob(int column) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
  if (data == nullptr) return {};
  return {data, data + sqlite3_column_bytes(stmt_, column)};
}

core::Result<std::unique_ptr<Connection>> Connection::open_blocking(const std::string& path) {
  sqlite3* raw = nullptr;
  // NOMUTEX: each connection is used by one thread at a time (the caller's mutex or the
  // writer thread), so SQLite's own per-connection mutex would be pure overhead.
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
  std::unique_ptr<Connection> conn(raw == nullptr ? nullptr : new Connection(raw));
  if (rc != SQLITE_OK) return core::fail(sqlite_error(raw, rc, "open"));
  if (!conn) return core::fail(sqlite_error(nullptr, SQLITE_NOMEM, "open"));

  // Defensive mode: no writable_schema tricks, no direct writes to shadow tables.
  sqlite3_db_config(raw, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(raw, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  // Per-connection settings (unlike journal_mode, these are not stored in the file).
  // FULL: in WAL mode every COMMIT fsyncs the WAL, so an acknowledged submission survives
  // a power cut, not only a crash.
  for (const char* pragma : {"PRAGMA foreign_keys = ON", "PRAGMA synchronous = FULL"}) {
    if (auto s = conn->exec(pragma); !s) return core::fail(std::move(s).error());
  }
  return conn;
}

Connection::~Connection() {
  cache_.clear();  // finalize every statement before closing
  sqlite3_close_v2(db_);
}

core::Status Connection::exec(const char* sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return core::ok();
  std::string detail = fmt::format("exec: {}", message != nullptr ? message : "");
  sqlite3_free(message);
  core::Error base = sqlite_error(nullptr, rc, "exec");
  return core::fail(base.kind(), base.public_text(), base.detail() + " " + detail);
}

core::Result<Query> Connection::query(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    if (sql.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      return core::fail(sqlite_error(nullptr, SQLITE_TOOBIG, "prepare"));
    }
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return core::fail(sqlite_error(db_, rc, "prepare"));
    }
    it = cache_.emplace(std::string(sql), std::unique_ptr<sqlite3_stmt, StmtDeleter>(stmt)).first;
  }
  return Query(db_, it->second.get());
}

core::Result<std::string> Connection::pragma_text(const char* sql) {
  auto q = query(sql);
  if (!q) return core::fail(std::move(q).error());
  int rc = q->step();
  if (rc == SQLITE_ROW) return q->column_text(0);
  if (rc == SQLITE_DONE) return std::string();
  return core::fail(q->error(rc, sql));
}

core::Result<Transaction> Transaction::begin(Connection& conn, bool immediate) {
  if (auto s = conn.exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN"); !s) {
    return core::fail(std::move(s).error());
  }
  return Transaction(conn);
}

Transaction::~Transaction() {
  // SQLite may already have rolled back on its own (SQLITE_FULL, SQLITE_IOERR, ...).
  if (conn_ != nullptr && conn_->in_transaction()) (void)conn_->exec("ROLLBACK");
}

core::Status Transaction::commit() {
  if (conn_ == nullptr)
    return core::fail(core::ErrorKind::internal, kStoreInternal, "commit twice");
  auto s = conn_->exec("COMMIT");
  if (s) conn_ = nullptr;
  return s;
}

}  // namespace store::engine::sqlite::detail
