#include "store/detail/sql_store.hpp"

#include "store/engine/postgres/postgres_engine.hpp"
#include "store/engine/sqlite/sqlite_engine.hpp"

namespace store::detail {

SqlStoreEngine::SqlStoreEngine(std::unique_ptr<engine::Connector> connector,
                               const StoreOptions& options)
    : db_(std::move(connector), options.pool_size),
      writer_(db_, GroupCommit::Options{options.max_batch, options.max_pending}) {}

SqlStore::SqlStore(std::unique_ptr<engine::Connector> connector, const StoreOptions& options)
    : SqlStoreEngine(std::move(connector), options), AggregateStore(db_, &writer_) {}

SqlStore::~SqlStore() { close(); }

namespace {

// The store as seen from inside a unit of work: every aggregate runs its statements on the
// unit's connection, in its transaction (the transaction wrapper is a base, so it exists
// before the aggregates that use it).
struct InTransactionHolder {
  explicit InTransactionHolder(engine::Connection& conn) : tx_(conn) {}
  engine::InTransaction tx_;
};

class TxStore final : private InTransactionHolder, public AggregateStore {
 public:
  TxStore(engine::Connection& conn, const SqlStore& outer)
      : InTransactionHolder(conn), AggregateStore(tx_, nullptr), outer_(outer) {}

  std::string_view engine_name() const override { return outer_.engine_name(); }
  std::string describe() const override { return outer_.describe(); }
  void close() override {}
  // Already inside one: the work joins it.
  core::Status transact_blocking(std::string_view,
                                 const std::function<core::Status(Store& tx)>& work) override {
    return work(*this);
  }

 private:
  const SqlStore& outer_;
};

}  // namespace

core::Status SqlStore::transact_blocking(std::string_view what,
                                         const std::function<core::Status(Store& tx)>& work) {
  return db_.transact(what, engine::TxMode::write, [&](engine::Connection& conn) {
    TxStore tx(conn, *this);
    return work(tx);
  });
}

core::Result<std::unique_ptr<SqlStore>> open_sql_store_blocking(const StoreOptions& options) {
  core::Result<std::unique_ptr<engine::Connector>> connector =
      options.database.empty()
          ? engine::sqlite::prepare_blocking(options.sqlite_path)
          : engine::postgres::prepare_blocking(engine::postgres::Options{
                options.database, core::SecretBytes(options.password.as_string_view())});
  if (!connector) return core::fail(std::move(connector).error());
  return std::make_unique<SqlStore>(std::move(*connector), options);
}

}  // namespace store::detail

namespace store {

core::Status check_database_uri(const std::string& uri) { return engine::postgres::check_uri(uri); }

std::string describe_database(const std::string& uri) {
  return engine::postgres::describe_uri(uri);
}

core::Result<std::unique_ptr<Store>> open_store_blocking(const StoreOptions& options) {
  auto store = detail::open_sql_store_blocking(options);
  if (!store) return core::fail(std::move(store).error());
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace store
