#pragma once
// Where an aggregate's statements run. The aggregates (store/detail/*.cpp) are written
// against this interface once, and run either
//   - on the pool (engine::Database): each call is its own transaction or autocommit
//     statement, with the pool's retries; or
//   - inside a unit of work (engine::InTransaction): every call joins the one transaction
//     the unit of work opened on one connection, so a change and its audit entry commit
//     together or not at all (store::Store::transact_blocking).
// A `transact` inside a unit of work does not open a nested transaction: its work simply
// runs on the unit's connection, and commits when the unit commits.
//
// Everything here blocks: call it from the blocking pool or a dedicated thread.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string_view>

#include "core/result.hpp"
#include "store/engine/connection.hpp"

namespace store::engine {

class Executor {
 public:
  virtual ~Executor() = default;

  virtual Dialect dialect() const noexcept = 0;

  // One transaction (on the pool) or a part of the open one (in a unit of work). `work`
  // may run more than once (retries): it must not have effects outside the connection.
  // `what` names the operation in logs.
  core::Status transact(std::string_view what, TxMode mode,
                        const std::function<core::Status(Connection&)>& work) {
    return run_transaction(what, mode, work);
  }

  // The same, for work that returns a value: `auto r = db.transact_value<T>(...)`.
  template <class T, class F>
  core::Result<T> transact_value(std::string_view what, TxMode mode, F&& work) {
    std::optional<T> out;
    auto status = transact(what, mode, [&](Connection& conn) -> core::Status {
      core::Result<T> r = work(conn);
      if (!r) return core::fail(std::move(r).error());
      out = std::move(*r);
      return core::ok();
    });
    if (!status) return core::fail(std::move(status).error());
    return std::move(*out);
  }

  // One statement: autocommit on the pool, or in the open transaction.
  core::Result<Rows> query(std::string_view what, std::string_view sql,
                           std::span<const Param> params) {
    return run_query(what, sql, params);
  }
  core::Result<Rows> query(std::string_view what, std::string_view sql,
                           std::initializer_list<Param> params = {}) {
    return run_query(what, sql, std::span<const Param>(params.begin(), params.size()));
  }
  // One write statement; returns the rows it changed.
  core::Result<std::int64_t> execute(std::string_view what, std::string_view sql,
                                     std::span<const Param> params) {
    return run_execute(what, sql, params);
  }
  core::Result<std::int64_t> execute(std::string_view what, std::string_view sql,
                                     std::initializer_list<Param> params = {}) {
    return run_execute(what, sql, std::span<const Param>(params.begin(), params.size()));
  }

 protected:
  virtual core::Status run_transaction(std::string_view what, TxMode mode,
                                       const std::function<core::Status(Connection&)>& work) = 0;
  virtual core::Result<Rows> run_query(std::string_view what, std::string_view sql,
                                       std::span<const Param> params) = 0;
  virtual core::Result<std::int64_t> run_execute(std::string_view what, std::string_view sql,
                                                 std::span<const Param> params) = 0;
};

// The statements of one unit of work, on the connection whose write transaction the unit
// opened (Database::transact with TxMode::write).
class InTransaction final : public Executor {
 public:
  explicit InTransaction(Connection& conn) : conn_(conn) {}
  Dialect dialect() const noexcept override { return conn_.dialect(); }

 protected:
  core::Status run_transaction(std::string_view, TxMode,
                               const std::function<core::Status(Connection&)>& work) override {
    return work(conn_);
  }
  core::Result<Rows> run_query(std::string_view, std::string_view sql,
                               std::span<const Param> params) override {
    return conn_.query(sql, params);
  }
  core::Result<std::int64_t> run_execute(std::string_view, std::string_view sql,
                                         std::span<const Param> params) override {
    return conn_.execute(sql, params);
  }

 private:
  Connection& conn_;
};

}  // namespace store::engine
