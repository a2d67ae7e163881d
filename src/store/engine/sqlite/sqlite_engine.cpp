#include "store/engine/sqlite/sqlite_engine.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.hpp"
#include "store/engine/sqlite/detail/schema.hpp"
#include "store/engine/sqlite/detail/statement.hpp"

namespace store::engine::sqlite {

namespace {

using detail::Query;

constexpr const char* kCannotOpen = "the database file cannot be opened";

core::Error cannot_open(const std::string& path, int err) {
  return core::Error(core::ErrorKind::unavailable, kCannotOpen,
                     fmt::format("{}: {}", core::log_safe(path), std::strerror(err)));
}

core::Status create_file_0600(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    int rc = ::fchmod(fd, 0600);  // a umask may have removed the owner's bits
    int err = errno;
    ::close(fd);
    if (rc != 0) return core::fail(cannot_open(path, err));
    return core::ok();
  }
  if (errno != EEXIST) return core::fail(cannot_open(path, errno));
  return core::ok();  // an existing database keeps the mode its operator gave it
}

// Constraint failures are the callers' to interpret (a duplicate user, an unknown parent).
core::Error classify(const Query& q, int rc, std::string_view what) {
  core::Error base = q.error(rc, what);
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return core::Error(core::ErrorKind::conflict, base.public_text(), base.detail());
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return core::Error(core::ErrorKind::not_found, base.public_text(), base.detail());
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
      return core::Error(core::ErrorKind::invalid_input, base.public_text(), base.detail());
    default:
      return base;
  }
}

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(std::unique_ptr<detail::Connection> db) : db_(std::move(db)) {}

  Dialect dialect() const noexcept override { return Dialect::sqlite; }

  using Connection::execute;
  using Connection::query;
  core::Result<Rows> query(std::string_view sql, std::span<const Param> params) override {
    retryable_ = false;
    auto q = prepare(sql, params);
    if (!q) return core::fail(std::move(q).error());
    Rows rows;
    int rc;
    while ((rc = q->step()) == SQLITE_ROW) rows.push_back(read_row(*q));
    if (rc != SQLITE_DONE) return fail(*q, rc);
    return rows;
  }

  core::Result<std::int64_t> execute(std::string_view sql, std::span<const Param> params) override {
    retryable_ = false;
    auto q = prepare(sql, params);
    if (!q) return core::fail(std::move(q).error());
    int rc;
    while ((rc = q->step()) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) return fail(*q, rc);
    return db_->changes();
  }

  core::Status execute_script(const char* sql) override {
    retryable_ = false;
    return db_->exec(sql);
  }

  core::Status begin(TxMode mode) override {
    retryable_ = false;
    // IMMEDIATE: the write lock up front, so a read-then-write cannot fail half-way with
    // SQLITE_BUSY (the busy timeout applies to the BEGIN instead).
    auto s = db_->exec(mode == TxMode::write ? "BEGIN IMMEDIATE" : "BEGIN");
    if (!s) retryable_ = is_busy(sqlite3_extended_errcode(db_->handle()));
    return s;
  }

  core::Status commit() override {
    auto s = db_->exec("COMMIT");
    if (!s) retryable_ = false;  // the outcome of a failed COMMIT is the caller's problem
    return s;
  }

  void rollback() noexcept override {
    // SQLite may already have rolled back on its own (SQLITE_FULL, SQLITE_IOERR, ...).
    if (!db_->in_transaction()) return;
    if (auto s = db_->exec("ROLLBACK"); !s) {
      spdlog::error("store: rollback failed: {}", core::log_safe(s.error().detail()));
      broken_ = true;
    }
  }

  bool in_transaction() const noexcept override { return db_->in_transaction(); }
  core::Status lock_for_transaction(std::int64_t) override { return core::ok(); }
  bool last_failure_retryable() const noexcept override { return retryable_; }
  bool broken() const noexcept override { return broken_; }

  detail::Connection& raw() { return *db_; }

 private:
  // Retrying the whole transaction is safe: Database::transact rolls back first (or finds
  // that SQLite already did).
  static bool is_busy(int rc) { return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED; }

  core::Unexpected<core::Error> fail(const Query& q, int rc) {
    retryable_ = is_busy(rc);
    return core::fail(classify(q, rc, "statement"));
  }

  core::Result<Query> prepare(std::string_view sql, std::span<const Param> params) {
    auto q = db_->query(sql);
    if (!q) return core::fail(std::move(q).error());
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i + 1);
      std::visit(
          [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>) {
              q->bind_null(index);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
              q->bind(index, value);
            } else if constexpr (std::is_same_v<T, std::string_view>) {
              q->bind(index, value);
            } else {
              q->bind_blob_static(index, value);
            }
          },
          params[i]);
    }
    return q;
  }

  static Row read_row(const Query& q) {
    sqlite3_stmt* stmt = q.statement();
    const int n = sqlite3_column_count(stmt);
    std::vector<Value> columns;
    columns.reserve(static_cast<std::size_t>(n));
    for (int c = 0; c < n; ++c) {
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_NULL:
          columns.emplace_back(std::monostate{});
          break;
        case SQLITE_INTEGER:
          columns.emplace_back(q.column_int64(c));
          break;
        case SQLITE_BLOB:
          columns.emplace_back(q.column_blob(c));
          break;
        default:
          columns.emplace_back(q.column_text(c));
          break;
      }
    }
    return Row(std::move(columns));
  }

  std::unique_ptr<detail::Connection> db_;
  bool retryable_ = false;
  bool broken_ = false;
};

class SqliteConnector final : public Connector {
 public:
  explicit SqliteConnector(std::string path) : path_(std::move(path)) {}
  Dialect dialect() const noexcept override { return Dialect::sqlite; }
  core::Result<std::unique_ptr<Connection>> connect_blocking() override {
    auto db = detail::Connection::open_blocking(path_);
    if (!db) return core::fail(std::move(db).error());
    return std::unique_ptr<Connection>(new SqliteConnection(std::move(*db)));
  }
  std::string describe() const override { return "sqlite:" + core::log_safe(path_); }

 private:
  std::string path_;
};

core::Status open_wal(const std::string& path, detail::Connection*& out,
                      std::unique_ptr<detail::Connection>& holder) {
  if (sqlite3_threadsafe() == 0) {
    return core::fail(core::ErrorKind::internal, detail::kStoreInternal,
                      "SQLite was built without thread support");
  }
  if (auto s = create_file_0600(path); !s) return s;
  auto admin = detail::Connection::open_blocking(path);
  if (!admin) return core::fail(std::move(admin).error());
  // Stored in the file: set once, every later connection finds WAL already on.
  auto mode = (*admin)->pragma_text("PRAGMA journal_mode = WAL");
  if (!mode) return core::fail(std::move(mode).error());
  if (*mode != "wal") {
    return core::fail(core::ErrorKind::unavailable, kCannotOpen,
                      fmt::format("journal_mode WAL refused (got {})", core::log_safe(*mode)));
  }
  holder = std::move(*admin);
  out = holder.get();
  return core::ok();
}

}  // namespace

core::Result<std::unique_ptr<Connector>> prepare_blocking(const std::string& path) {
  detail::Connection* admin = nullptr;
  std::unique_ptr<detail::Connection> holder;
  if (auto s = open_wal(path, admin, holder); !s) return core::fail(std::move(s).error());
  if (auto s = detail::migrate_blocking(*admin); !s) return core::fail(std::move(s).error());
  return std::unique_ptr<Connector>(new SqliteConnector(path));
}

int schema_version() { return detail::schema_version(); }

core::Status migrate_to_for_test(const std::string& path, int version) {
  detail::Connection* admin = nullptr;
  std::unique_ptr<detail::Connection> holder;
  if (auto s = open_wal(path, admin, holder); !s) return s;
  return detail::migrate_to_for_test(*admin, version);
}

core::Status simulate_disk_full_for_test(Connection& conn, bool full) {
  auto& raw = static_cast<SqliteConnection&>(conn).raw();
  if (!full) return raw.exec("PRAGMA max_page_count = 4294967294");
  auto pages = raw.pragma_text("PRAGMA page_count");
  if (!pages) return core::fail(std::move(pages).error());
  const std::string sql = fmt::format("PRAGMA max_page_count = {}", std::stoll(*pages));
  return raw.exec(sql.c_str());
}

}  // namespace store::engine::sqlite
