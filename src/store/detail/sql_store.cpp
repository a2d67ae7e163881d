#include "store/detail/sql_store.hpp"

#include "store/engine/postgres/postgres_engine.hpp"
#include "store/engine/sqlite/sqlite_engine.hpp"

namespace store::detail {

SqlStore::SqlStore(std::unique_ptr<engine::Connector> connector, const StoreOptions& options)
    : db_(std::move(connector), options.pool_size),
      writer_(db_, GroupCommit::Options{options.max_batch, options.max_pending}),
      submissions_(db_, writer_),
      forms_(db_),
      accounts_(db_),
      audit_(db_),
      cluster_(db_),
      blocks_(db_),
      failures_(db_) {}

SqlStore::~SqlStore() { close(); }

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
