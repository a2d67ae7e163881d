// ApiKeyStore in SQL both engines run. Each method is one statement, safe on its own under
// concurrency: a revoke is `UPDATE ... WHERE revoked_at IS NULL`, so two revokes at once
// see one success and one conflict.

#include "store/detail/codec.hpp"
#include "store/detail/sql_store.hpp"

namespace store::detail {

namespace {

using engine::Param;
using engine::Row;

namespace sql {
constexpr const char* kAdd =
    "INSERT INTO api_keys (id, name, secret_hash, scopes, created_at, created_by) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
// Both read the columns read_key() expects, in its order. Whole statements, bound
// parameters only: nothing is put together at run time.
#define SEALPOST_API_KEY_COLUMNS \
  "SELECT id, name, secret_hash, scopes, created_at, created_by, revoked_at, last_used_at "
constexpr const char* kFind = SEALPOST_API_KEY_COLUMNS "FROM api_keys WHERE id = ?1";
constexpr const char* kList = SEALPOST_API_KEY_COLUMNS "FROM api_keys ORDER BY created_at, id";
#undef SEALPOST_API_KEY_COLUMNS
constexpr const char* kRevoke =
    "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL";
constexpr const char* kExists = "SELECT count(*) FROM api_keys WHERE id = ?1";
constexpr const char* kTouch = "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1";
}  // namespace sql

// Columns as sql::kFind and sql::kList select them.
core::Result<ApiKeyRecord> read_key(const Row& row) {
  ApiKeyRecord key;
  key.id = row.text(0);
  key.name = row.text(1);
  key.secret_hash = row.text(2);
  auto scopes = decode_strings(row.text(3));
  if (!scopes) return core::fail(std::move(scopes).error());
  key.scopes = std::move(*scopes);
  key.created_at = row.int64(4);
  key.created_by = row.text(5);
  if (!row.is_null(6)) key.revoked_at = row.int64(6);
  if (!row.is_null(7)) key.last_used_at = row.int64(7);
  return key;
}

}  // namespace

core::Status SqlApiKeys::add_api_key_blocking(const ApiKeyRecord& key) {
  auto scopes = encode_strings(key.scopes, "api key scope");
  if (!scopes) return core::fail(std::move(scopes).error());
  auto r = db_.execute("add api key", sql::kAdd,
                       {Param{std::string_view(key.id)}, Param{std::string_view(key.name)},
                        Param{std::string_view(key.secret_hash)}, Param{std::string_view(*scopes)},
                        Param{key.created_at}, Param{std::string_view(key.created_by)}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Result<std::optional<ApiKeyRecord>> SqlApiKeys::find_api_key_blocking(const std::string& id) {
  auto rows = db_.query("find api key", sql::kFind, {Param{std::string_view(id)}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<ApiKeyRecord>();
  auto key = read_key(rows->front());
  if (!key) return core::fail(std::move(key).error());
  return std::optional<ApiKeyRecord>(std::move(*key));
}

core::Result<std::vector<ApiKeyRecord>> SqlApiKeys::list_api_keys_blocking() {
  auto rows = db_.query("list api keys", sql::kList);
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<ApiKeyRecord> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    auto key = read_key(row);
    if (!key) return core::fail(std::move(key).error());
    out.push_back(std::move(*key));
  }
  return out;
}

core::Status SqlApiKeys::revoke_api_key_blocking(const std::string& id, std::int64_t now) {
  return db_.transact(
      "revoke api key", engine::TxMode::write, [&](engine::Connection& conn) -> core::Status {
        auto changed = conn.execute(sql::kRevoke, {Param{std::string_view(id)}, Param{now}});
        if (!changed) return core::fail(std::move(changed).error());
        if (*changed == 1) return core::ok();
        auto exists = conn.query(sql::kExists, {Param{std::string_view(id)}});
        if (!exists) return core::fail(std::move(exists).error());
        if (!exists->empty() && exists->front().int64(0) > 0) {
          return core::fail(core::ErrorKind::conflict, "that API key is revoked already",
                            "revoke_api_key");
        }
        return core::fail(core::ErrorKind::not_found, "there is no API key with that id",
                          "revoke_api_key");
      });
}

core::Status SqlApiKeys::touch_api_key_blocking(const std::string& id, std::int64_t now) {
  auto r = db_.execute("touch api key", sql::kTouch, {Param{std::string_view(id)}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

}  // namespace store::detail
