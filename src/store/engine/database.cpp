#include "store/engine/database.hpp"

#include <fmt/format.h>

#include <chrono>
#include <random>
#include <thread>

#include "core/log.hpp"

namespace store::engine {

namespace {

// A serialisation failure or a busy lock usually clears at once; a few tries with a short,
// jittered pause ride out contention between nodes without hiding a real outage.
constexpr int kMaxAttempts = 5;
constexpr auto kRetryBase = std::chrono::milliseconds(5);
// Waiting longer than this for a pooled connection means the database is not keeping up;
// the caller gets `unavailable` (a 503) instead of a request that hangs.
constexpr auto kAcquireTimeout = std::chrono::seconds(10);

constexpr const char* kUnavailable = "the store is temporarily unavailable; please try again";

void pause_before_retry(int attempt) {
  thread_local std::minstd_rand jitter(std::random_device{}());
  const auto base = kRetryBase * (1 << attempt);
  std::uniform_int_distribution<long> spread(0, base.count());
  std::this_thread::sleep_for(base + std::chrono::milliseconds(spread(jitter)));
}

}  // namespace

std::string_view dialect_name(Dialect dialect) {
  return dialect == Dialect::sqlite ? "sqlite" : "postgresql";
}

Database::Database(std::unique_ptr<Connector> connector, std::size_t size)
    : connector_(std::move(connector)),
      dialect_(connector_->dialect()),
      size_(std::max<std::size_t>(size, 1)) {}

Database::~Database() = default;

std::size_t Database::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_;
}

core::Result<std::unique_ptr<Connection>> Database::acquire() {
  {
    std::unique_lock lock(mutex_);
    ++waiting_;
    bool ready =
        cv_.wait_for(lock, kAcquireTimeout, [&] { return !idle_.empty() || open_ < size_; });
    --waiting_;
    if (!ready) {
      return core::fail(core::ErrorKind::unavailable, kUnavailable,
                        "no database connection became free in time");
    }
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    ++open_;  // reserve the slot; connect outside the lock
  }
  auto conn = connector_->connect_blocking();
  if (!conn) {
    std::lock_guard lock(mutex_);
    --open_;
    cv_.notify_one();
    return core::fail(std::move(conn).error());
  }
  return std::move(*conn);
}

void Database::release(std::unique_ptr<Connection> conn) {
  std::lock_guard lock(mutex_);
  if (conn->broken() || conn->in_transaction()) {
    // A lost connection, or one left in a transaction by a bug: never lend it again. The
    // next caller opens a fresh one, which is how a node recovers from a database restart.
    --open_;
  } else {
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

class Database::Lease {
 public:
  Lease(Database& db, std::unique_ptr<Connection> conn) : db_(db), conn_(std::move(conn)) {}
  ~Lease() { db_.release(std::move(conn_)); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Connection& operator*() { return *conn_; }
  Connection* operator->() { return conn_.get(); }

 private:
  Database& db_;
  std::unique_ptr<Connection> conn_;
};

core::Status Database::run_transaction(std::string_view what, TxMode mode,
                                       const std::function<core::Status(Connection&)>& work) {
  for (int attempt = 0;; ++attempt) {
    auto acquired = acquire();
    if (!acquired) return core::fail(std::move(acquired).error());
    Lease conn(*this, std::move(*acquired));

    auto status = conn->begin(mode);
    if (status) {
      status = work(*conn);
      if (status) {
        status = conn->commit();
      }
    }
    if (status) return status;
    const bool retry = conn->last_failure_retryable();
    if (conn->in_transaction()) conn->rollback();
    if (!retry || attempt + 1 >= kMaxAttempts) return status;
    spdlog::debug("store: {} retried after: {}", what, core::log_safe(status.error().detail()));
    pause_before_retry(attempt);
  }
}

template <class T, class F>
core::Result<T> Database::autocommit(std::string_view what, F&& statement) {
  for (int attempt = 0;; ++attempt) {
    auto acquired = acquire();
    if (!acquired) return core::fail(std::move(acquired).error());
    Lease conn(*this, std::move(*acquired));
    core::Result<T> out = statement(*conn);
    if (out || !conn->last_failure_retryable() || attempt + 1 >= kMaxAttempts) return out;
    spdlog::debug("store: {} retried after: {}", what, core::log_safe(out.error().detail()));
    pause_before_retry(attempt);
  }
}

core::Result<Rows> Database::run_query(std::string_view what, std::string_view sql,
                                       std::span<const Param> params) {
  return autocommit<Rows>(what, [&](Connection& conn) { return conn.query(sql, params); });
}

core::Result<std::int64_t> Database::run_execute(std::string_view what, std::string_view sql,
                                                 std::span<const Param> params) {
  return autocommit<std::int64_t>(what,
                                  [&](Connection& conn) { return conn.execute(sql, params); });
}

}  // namespace store::engine
