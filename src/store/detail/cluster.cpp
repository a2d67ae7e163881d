// ClusterStore in SQL both engines run.

#include "store/detail/codec.hpp"
#include "store/detail/sql_store.hpp"

namespace store::detail {

namespace {

using engine::Param;

namespace sql {
// The first node's value stays: ON CONFLICT DO NOTHING, then read what is there.
constexpr const char* kClaim =
    "INSERT INTO node_secrets (name, fingerprint, recorded_at) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (name) DO NOTHING";
constexpr const char* kRecorded =
    "SELECT fingerprint, recorded_at FROM node_secrets WHERE name = ?1";
}  // namespace sql

}  // namespace

core::Result<ClusterStore::Recorded> SqlCluster::claim_secret_fingerprint_blocking(
    const std::string& name, const std::string& fingerprint, std::int64_t now) {
  return db_.transact_value<Recorded>(
      "claim secret fingerprint", engine::TxMode::write,
      [&](engine::Connection& conn) -> core::Result<Recorded> {
        auto claimed = conn.execute(
            sql::kClaim,
            {Param{std::string_view(name)}, Param{std::string_view(fingerprint)}, Param{now}});
        if (!claimed) return core::fail(std::move(claimed).error());
        auto rows = conn.query(sql::kRecorded, {Param{std::string_view(name)}});
        if (!rows) return core::fail(std::move(rows).error());
        if (rows->empty()) {
          return core::fail(core::ErrorKind::integrity, kStoreIntegrity,
                            "node secret fingerprint vanished");
        }
        return Recorded{rows->front().text(0), rows->front().int64(1)};
      });
}

}  // namespace store::detail
