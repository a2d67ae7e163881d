#include "store/detail/sql_store.hpp"

#include "store/engine/postgres/postgres_engine.hpp"
#include "store/engine/sqlite/sqlite_engine.hpp"

namespace store::detail {

SqlStore::SqlStore(std::unique_ptr<engine::Connector> connector, const StoreOptions& options)
    : db_(std::move(connector), options.pool_size),
      writer_(db_, GroupCommit::Options{options.max_batch, options.max_pending}),
      submissions_(db_, &writer_),
      forms_(db_),
      accounts_(db_),
      audit_(db_),
      cluster_(db_),
      blocks_(db_),
      failures_(db_),
      rate_limits_(db_),
      mail_(db_),
      api_keys_(db_) {}

SqlStore::~SqlStore() { close(); }

namespace {

// The store as seen from inside a unit of work: every aggregate runs its statements on the
// unit's connection, in its transaction.
class TxStore final : public Store {
 public:
  TxStore(engine::Connection& conn, const SqlStore& outer)
      : tx_(conn),
        outer_(outer),
        submissions_(tx_, nullptr),
        forms_(tx_),
        accounts_(tx_),
        audit_(tx_),
        cluster_(tx_),
        blocks_(tx_),
        failures_(tx_),
        rate_limits_(tx_),
        mail_(tx_),
        api_keys_(tx_) {}

  SubmissionStore& submissions() override { return submissions_; }
  FormStore& forms() override { return forms_; }
  AccountStore& accounts() override { return accounts_; }
  AuditStore& audit() override { return audit_; }
  ClusterStore& cluster() override { return cluster_; }
  BlockStore& blocks() override { return blocks_; }
  FailureStore& failures() override { return failures_; }
  RateLimitStore& rate_limits() override { return rate_limits_; }
  MailStore& mail() override { return mail_; }
  ApiKeyStore& api_keys() override { return api_keys_; }
  std::string_view engine_name() const override { return outer_.engine_name(); }
  std::string describe() const override { return outer_.describe(); }
  void close() override {}
  // Already inside one: the work joins it.
  core::Status transact_blocking(std::string_view,
                                 const std::function<core::Status(Store& tx)>& work) override {
    return work(*this);
  }

 private:
  engine::InTransaction tx_;
  const SqlStore& outer_;
  SqlSubmissions submissions_;
  SqlForms forms_;
  SqlAccounts accounts_;
  SqlAudit audit_;
  SqlCluster cluster_;
  SqlBlocks blocks_;
  SqlFailures failures_;
  SqlRateLimits rate_limits_;
  SqlMail mail_;
  SqlApiKeys api_keys_;
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
