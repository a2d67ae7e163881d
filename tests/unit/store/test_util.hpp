#pragma once
// Shared helpers for the store tests: a temp dir, submissions, and a collector of `done`
// answers that checks each callback runs exactly once.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "store/detail/sql_store.hpp"
#include "store/engine/sqlite/sqlite_engine.hpp"

namespace store::test {

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "sealpost-store-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline TokenNonce nonce_of(std::uint32_t n) {
  TokenNonce nonce{};
  for (int i = 0; i < 4; ++i) nonce[static_cast<std::size_t>(i)] = (n >> (8 * i)) & 0xff;
  nonce[15] = 0xA5;
  return nonce;
}

inline NewSubmission make_submission(const std::string& form_id, std::uint32_t n,
                                     std::size_t ciphertext_size = 64) {
  NewSubmission s;
  s.reference = form_id + "-REF-" + std::to_string(n);
  s.form_id = form_id;
  s.form_version = 1;
  s.received_at = 1'800'000'000 + n;
  s.ciphertext.assign(ciphertext_size, static_cast<std::uint8_t>(n & 0xff));
  s.recipients = {"AAAABBBBCCCCDDDDEEEEFFFF0000111122223333",
                  "9999888877776666555544443333222211110000"};
  s.token_nonce = nonce_of(n);
  s.token_expires_at = 1'800'000'000 + 3600;
  return s;
}

// Collects the answers of `expected` appends, indexed by the caller's slot number.
class Answers {
 public:
  explicit Answers(std::size_t expected) : results_(expected), calls_(expected, 0) {}

  std::function<void(core::Status)> slot(std::size_t i) {
    return [this, i](core::Status s) {
      std::lock_guard lock(mutex_);
      ++calls_[i];
      results_[i] = std::move(s);
      ++answered_;
      cv_.notify_all();
    };
  }
  // True when every slot was answered within the timeout.
  bool wait_all(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return answered_ >= results_.size(); });
  }
  std::size_t answered() {
    std::lock_guard lock(mutex_);
    return answered_;
  }
  const std::optional<core::Status>& result(std::size_t i) { return results_[i]; }
  int calls(std::size_t i) {
    std::lock_guard lock(mutex_);
    return calls_[i];
  }
  std::size_t count_ok() {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& r : results_) n += (r && r->has_value()) ? 1 : 0;
    return n;
  }
  std::size_t count_kind(core::ErrorKind kind) {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& r : results_) n += (r && !r->has_value() && r->error().kind() == kind) ? 1 : 0;
    return n;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::optional<core::Status>> results_;
  std::vector<int> calls_;
  std::size_t answered_ = 0;
};

// SQLite-only tests: the store on the file at `path`.
inline core::Result<std::unique_ptr<detail::SqlStore>> open_sqlite(const std::string& path,
                                                                   StoreOptions options = {}) {
  options.sqlite_path = path;
  return detail::open_sql_store_blocking(options);
}

inline std::unique_ptr<detail::SqlStore> open_or_die(const std::string& path,
                                                     StoreOptions options = {}) {
  auto store = open_sqlite(path, std::move(options));
  if (!store) {
    ADD_FAILURE() << "open failed: " << store.error().public_text() << " / "
                  << store.error().detail();
    return nullptr;
  }
  return std::move(*store);
}

// Which engine this test process runs on: PostgreSQL when SEALPOST_TEST_POSTGRES names
// the state directory of the test cluster (tests/support/postgres.sh), else SQLite. ctest
// runs the engine-neutral suites once per engine (tests/unit/store/CMakeLists.txt).
inline engine::Dialect test_engine() {
  const char* e = std::getenv("SEALPOST_TEST_POSTGRES");
  return e != nullptr && *e != '\0' ? engine::Dialect::postgres : engine::Dialect::sqlite;
}

inline std::string read_state(const std::string& name) {
  const char* dir = std::getenv("SEALPOST_TEST_POSTGRES");
  if (dir == nullptr) throw std::runtime_error("SEALPOST_TEST_POSTGRES is not set");
  std::ifstream in(std::string(dir) + "/" + name);
  if (!in) throw std::runtime_error("no PostgreSQL test server state: " + name);
  std::stringstream text;
  text << in.rdbuf();
  std::string out = text.str();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// Runs one statement as the test cluster's superuser; empty string on success.
inline std::string pg_admin(const std::string& sql) {
  const std::string uri = read_state("admin_uri");
  PGconn* conn = PQconnectdb(uri.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      error = PQresultErrorMessage(r);
    }
    PQclear(r);
  }
  PQfinish(conn);
  return error;
}

// A fresh, empty database for one test: an SQLite file in a temp dir, or a new database
// in the test PostgreSQL cluster (dropped afterwards).
class TestDatabase {
 public:
  explicit TestDatabase(engine::Dialect engine = test_engine()) : engine_(engine) {
    if (engine_ == engine::Dialect::postgres) {
      std::random_device rd;
      name_ = "t" + std::to_string(rd()) + std::to_string(rd());
      const auto error = pg_admin("CREATE DATABASE " + name_ + " OWNER sealpost");
      if (!error.empty()) throw std::runtime_error("CREATE DATABASE failed: " + error);
    }
  }
  ~TestDatabase() {
    if (engine_ == engine::Dialect::postgres) {
      (void)pg_admin("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    }
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  engine::Dialect engine() const { return engine_; }
  bool is_sqlite() const { return engine_ == engine::Dialect::sqlite; }
  std::string sqlite_path() const { return dir_.file("store.db"); }
  std::string uri() const { return read_state("uri_base") + name_; }

  StoreOptions options(StoreOptions base = {}) const {
    if (engine_ == engine::Dialect::postgres) {
      base.database = uri();
      base.password = core::SecretBytes(read_state("password"));
    } else {
      base.sqlite_path = sqlite_path();
    }
    return base;
  }

  std::unique_ptr<detail::SqlStore> open(const StoreOptions& base = {}) const {
    auto store = detail::open_sql_store_blocking(options(copy(base)));
    if (!store) {
      ADD_FAILURE() << "open failed: " << store.error().public_text() << " / "
                    << store.error().detail();
      return nullptr;
    }
    return std::move(*store);
  }

  // Runs one statement behind the store's back, as the database's owner.
  std::string raw(const std::string& sql) const {
    if (is_sqlite()) return raw_sqlite(sqlite_path(), sql);
    const std::string conninfo = uri();
    const std::string password = read_state("password");
    const char* keys[] = {"dbname", "password", nullptr};
    const char* values[] = {conninfo.c_str(), password.c_str(), nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, 1);
    std::string out;
    if (PQstatus(conn) == CONNECTION_OK) {
      PGresult* r = PQexec(conn, sql.c_str());
      if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
      PQclear(r);
    }
    PQfinish(conn);
    return out;
  }

 private:
  static StoreOptions copy(const StoreOptions& base) {
    StoreOptions out;
    out.database = base.database;
    out.sqlite_path = base.sqlite_path;
    out.password = core::SecretBytes(base.password.as_string_view());
    out.pool_size = base.pool_size;
    out.max_batch = base.max_batch;
    out.max_pending = base.max_pending;
    return out;
  }
  static std::string raw_sqlite(const std::string& path, const std::string& sql);

  engine::Dialect engine_;
  TempDir dir_;
  std::string name_;
};

// Adds version 1 of `form_id` so that submissions may reference it.
inline void add_form(Store& store, const std::string& form_id) {
  auto v = store.forms().add_form_version_blocking(form_id, "id = \"" + form_id + "\"\n",
                                                   1'700'000'000, {});
  ASSERT_TRUE(v.has_value()) << v.error().detail();
}

// Runs one statement on a private connection, returning the first column of the first row.
inline std::string raw_query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

inline std::string TestDatabase::raw_sqlite(const std::string& path, const std::string& sql) {
  return raw_query(path, sql);
}

}  // namespace store::test
