#pragma once
// A pool of connections to one database, and the unit of work: `transact` runs a function
// in one transaction on one connection, commits if it succeeds, rolls back if not, and runs
// it again when the engine says the failure was a serialisation conflict or a busy lock
// (Synapse's runInteraction). It is the Executor the aggregates run on by default; a unit
// of work runs them on one of its connections instead (engine/executor.hpp).
//
// Everything here blocks: call it from the blocking pool or a dedicated thread.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "store/engine/connection.hpp"
#include "store/engine/executor.hpp"

namespace store::engine {

// Opens new connections (the engine-specific part of the pool).
class Connector {
 public:
  virtual ~Connector() = default;
  virtual Dialect dialect() const noexcept = 0;
  virtual core::Result<std::unique_ptr<Connection>> connect_blocking() = 0;
  // For logs: the database without secrets (a file path, or host/port/dbname).
  virtual std::string describe() const = 0;
};

class Database final : public Executor {
 public:
  // `size` connections at most are open at once; callers beyond wait for one.
  Database(std::unique_ptr<Connector> connector, std::size_t size);
  ~Database() override;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Dialect dialect() const noexcept override { return dialect_; }
  std::string describe() const { return connector_->describe(); }

  // A connection for the caller's exclusive, long use (the group-commit writer). It does
  // not count against the pool.
  core::Result<std::unique_ptr<Connection>> dedicated_connection_blocking() {
    return connector_->connect_blocking();
  }

  // How many callers wait for a pooled connection now (a metric).
  std::size_t waiting() const;

 protected:
  // A transaction with retries (see the file comment).
  core::Status run_transaction(std::string_view what, TxMode mode,
                               const std::function<core::Status(Connection&)>& work) override;
  // One statement outside an explicit transaction (autocommit), with the same retries.
  core::Result<Rows> run_query(std::string_view what, std::string_view sql,
                               std::span<const Param> params) override;
  core::Result<std::int64_t> run_execute(std::string_view what, std::string_view sql,
                                         std::span<const Param> params) override;

 private:
  class Lease;
  template <class T, class F>
  core::Result<T> autocommit(std::string_view what, F&& statement);
  core::Result<std::unique_ptr<Connection>> acquire();
  void release(std::unique_ptr<Connection> conn);

  std::unique_ptr<Connector> connector_;
  const Dialect dialect_;
  const std::size_t size_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  // idle + lent
  std::size_t waiting_ = 0;
};

}  // namespace store::engine
