// FormStore in SQL both engines run. Every change also bumps meta.config_generation in the
// same transaction, which is how every other process and node notices it.
//
// Isolation: `write` (READ COMMITTED on PostgreSQL). add_form_version first upserts the
// form's form_state row, which locks it: two nodes adding a version of one form serialise
// there, so "latest + 1" cannot be computed twice.

#include <limits>

#include "store/detail/codec.hpp"
#include "store/detail/sql_store.hpp"

namespace store::detail {

namespace {

using engine::Param;
using engine::Row;

constexpr const char* kNoSuchForm = "no such form";

namespace sql {
constexpr const char* kEnableFormState =
    "INSERT INTO form_state (form_id, enabled) VALUES (?1, 1) "
    "ON CONFLICT (form_id) DO UPDATE SET enabled = 1";
constexpr const char* kNextFormVersion =
    "SELECT coalesce(max(version), 0) + 1 FROM forms WHERE form_id = ?1";
constexpr const char* kInsertForm =
    "INSERT INTO forms (form_id, version, declaration, created_at, granted_recipients) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kLatestForms =
    "SELECT f.form_id, f.version, f.declaration, s.enabled, f.created_at, f.granted_recipients "
    "FROM forms AS f JOIN form_state AS s ON s.form_id = f.form_id "
    "WHERE f.version = (SELECT max(version) FROM forms WHERE form_id = f.form_id) "
    "ORDER BY f.form_id";
constexpr const char* kLatestForm =
    "SELECT f.form_id, f.version, f.declaration, s.enabled, f.created_at, f.granted_recipients "
    "FROM forms AS f JOIN form_state AS s ON s.form_id = f.form_id "
    "WHERE f.form_id = ?1 ORDER BY f.version DESC LIMIT 1";
constexpr const char* kFormVersion =
    "SELECT f.form_id, f.version, f.declaration, s.enabled, f.created_at, f.granted_recipients "
    "FROM forms AS f JOIN form_state AS s ON s.form_id = f.form_id "
    "WHERE f.form_id = ?1 AND f.version = ?2";
constexpr const char* kSetFormEnabled = "UPDATE form_state SET enabled = ?1 WHERE form_id = ?2";
constexpr const char* kPutKey =
    "INSERT INTO keys (fingerprint, armored, user_ids, created_at, expires_at, imported_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (fingerprint) DO UPDATE SET "
    "armored = excluded.armored, user_ids = excluded.user_ids, "
    "created_at = excluded.created_at, expires_at = excluded.expires_at, "
    "imported_at = excluded.imported_at";
constexpr const char* kListKeys =
    "SELECT fingerprint, armored, user_ids, created_at, expires_at, imported_at "
    "FROM keys ORDER BY fingerprint";
constexpr const char* kFindKey =
    "SELECT fingerprint, armored, user_ids, created_at, expires_at, imported_at "
    "FROM keys WHERE fingerprint = ?1";
constexpr const char* kPutCert =
    "INSERT INTO recipient_certs (sha256, pem, emails, subject, not_before, not_after, pinned, "
    "aes_gcm, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
    "ON CONFLICT (sha256) DO UPDATE SET pinned = excluded.pinned, aes_gcm = excluded.aes_gcm, "
    "imported_at = excluded.imported_at";
constexpr const char* kListCerts =
    "SELECT sha256, pem, emails, subject, not_before, not_after, pinned, aes_gcm, imported_at "
    "FROM recipient_certs ORDER BY sha256";
constexpr const char* kRemoveCert = "DELETE FROM recipient_certs WHERE sha256 = ?1";
constexpr const char* kConfigGeneration = "SELECT value FROM meta WHERE key = 'config_generation'";
constexpr const char* kBumpConfigGeneration =
    "UPDATE meta SET value = value + 1 WHERE key = 'config_generation'";
}  // namespace sql

// Columns: form_id, version, declaration, enabled, created_at, granted_recipients.
core::Result<FormVersion> read_form(const Row& row) {
  FormVersion form;
  form.form_id = row.text(0);
  form.version = static_cast<int>(row.int64(1));
  form.declaration = row.text(2);
  form.enabled = row.int64(3) != 0;
  form.created_at = row.int64(4);
  auto granted = decode_strings(row.text(5));
  if (!granted) return core::fail(std::move(granted).error());
  form.granted_recipients = std::move(*granted);
  return form;
}

core::Result<std::optional<FormVersion>> read_one_form(core::Result<engine::Rows> rows) {
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<FormVersion>();
  auto form = read_form(rows->front());
  if (!form) return core::fail(std::move(form).error());
  return std::optional<FormVersion>(std::move(*form));
}

// Columns: fingerprint, armored, user_ids, created_at, expires_at, imported_at.
core::Result<KeyRecord> read_key(const Row& row) {
  KeyRecord key;
  key.fingerprint = row.text(0);
  key.armored = row.text(1);
  auto user_ids = decode_strings(row.text(2));
  if (!user_ids) return core::fail(std::move(user_ids).error());
  key.user_ids = std::move(*user_ids);
  key.created_at = row.int64(3);
  if (!row.is_null(4)) key.expires_at = row.int64(4);
  key.imported_at = row.int64(5);
  return key;
}

core::Status bump_generation_txn(engine::Connection& conn) {
  auto r = conn.execute(sql::kBumpConfigGeneration);
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

}  // namespace

core::Result<int> SqlForms::add_form_version_blocking(
    const std::string& form_id, const std::string& declaration, std::int64_t now,
    const std::vector<std::string>& granted_recipients) {
  auto granted = encode_strings(granted_recipients, "granted recipient fingerprint");
  if (!granted) return core::fail(std::move(granted).error());
  return db_.transact_value<int>(
      "add form version", engine::TxMode::write,
      [&](engine::Connection& conn) -> core::Result<int> {
        if (auto r = conn.execute(sql::kEnableFormState, {Param{std::string_view(form_id)}}); !r) {
          return core::fail(std::move(r).error());
        }
        auto next = conn.query(sql::kNextFormVersion, {Param{std::string_view(form_id)}});
        if (!next) return core::fail(std::move(next).error());
        const std::int64_t version = next->front().int64(0);
        if (version > std::numeric_limits<int>::max()) {
          return core::fail(core::ErrorKind::invalid_input, "this form has too many versions",
                            "form version overflow");
        }
        auto inserted =
            conn.execute(sql::kInsertForm, {Param{std::string_view(form_id)}, Param{version},
                                            Param{std::string_view(declaration)}, Param{now},
                                            Param{std::string_view(*granted)}});
        if (!inserted) return core::fail(std::move(inserted).error());
        if (auto s = bump_generation_txn(conn); !s) return core::fail(std::move(s).error());
        return static_cast<int>(version);
      });
}

core::Result<std::vector<FormVersion>> SqlForms::latest_forms_blocking() {
  auto rows = db_.query("latest forms", sql::kLatestForms);
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<FormVersion> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    auto form = read_form(row);
    if (!form) return core::fail(std::move(form).error());
    out.push_back(std::move(*form));
  }
  return out;
}

core::Result<std::optional<FormVersion>> SqlForms::latest_form_blocking(
    const std::string& form_id) {
  return read_one_form(
      db_.query("latest form", sql::kLatestForm, {Param{std::string_view(form_id)}}));
}

core::Result<std::optional<FormVersion>> SqlForms::form_version_blocking(const std::string& form_id,
                                                                         int version) {
  return read_one_form(db_.query("form version", sql::kFormVersion,
                                 {Param{std::string_view(form_id)}, Param{std::int64_t{version}}}));
}

core::Status SqlForms::set_form_enabled_blocking(const std::string& form_id, bool enabled) {
  return db_.transact(
      "set form enabled", engine::TxMode::write, [&](engine::Connection& conn) -> core::Status {
        auto changed = conn.execute(sql::kSetFormEnabled, {Param{std::int64_t{enabled ? 1 : 0}},
                                                           Param{std::string_view(form_id)}});
        if (!changed) return core::fail(std::move(changed).error());
        if (*changed == 0) {
          return core::fail(core::ErrorKind::not_found, kNoSuchForm, "set_form_enabled");
        }
        return bump_generation_txn(conn);
      });
}

core::Status SqlForms::put_key_blocking(const KeyRecord& key) {
  auto user_ids = encode_strings(key.user_ids, "key user id");
  if (!user_ids) return core::fail(std::move(user_ids).error());
  return db_.transact(
      "put key", engine::TxMode::write, [&](engine::Connection& conn) -> core::Status {
        auto r =
            conn.execute(sql::kPutKey, {Param{std::string_view(key.fingerprint)},
                                        Param{std::string_view(key.armored)},
                                        Param{std::string_view(*user_ids)}, Param{key.created_at},
                                        engine::opt(key.expires_at), Param{key.imported_at}});
        if (!r) return core::fail(std::move(r).error());
        return bump_generation_txn(conn);
      });
}

core::Result<std::vector<KeyRecord>> SqlForms::list_keys_blocking() {
  auto rows = db_.query("list keys", sql::kListKeys);
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<KeyRecord> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    auto key = read_key(row);
    if (!key) return core::fail(std::move(key).error());
    out.push_back(std::move(*key));
  }
  return out;
}

core::Result<std::optional<KeyRecord>> SqlForms::find_key_blocking(const std::string& fingerprint) {
  auto rows = db_.query("find key", sql::kFindKey, {Param{std::string_view(fingerprint)}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<KeyRecord>();
  auto key = read_key(rows->front());
  if (!key) return core::fail(std::move(key).error());
  return std::optional<KeyRecord>(std::move(*key));
}

core::Status SqlForms::put_cert_blocking(const CertRecord& cert) {
  auto emails = encode_strings(cert.emails, "certificate e-mail address");
  if (!emails) return core::fail(std::move(emails).error());
  auto r = db_.execute(
      "put certificate", sql::kPutCert,
      {Param{std::string_view(cert.sha256)}, Param{std::string_view(cert.pem)},
       Param{std::string_view(*emails)}, Param{std::string_view(cert.subject)},
       Param{cert.not_before}, Param{cert.not_after},
       Param{static_cast<std::int64_t>(cert.pinned ? 1 : 0)},
       Param{static_cast<std::int64_t>(cert.aes_gcm ? 1 : 0)}, Param{cert.imported_at}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Result<std::vector<CertRecord>> SqlForms::list_certs_blocking() {
  auto rows = db_.query("list certificates", sql::kListCerts);
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<CertRecord> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    CertRecord cert;
    cert.sha256 = row.text(0);
    cert.pem = row.text(1);
    auto emails = decode_strings(row.text(2));
    if (!emails) return core::fail(std::move(emails).error());
    cert.emails = std::move(*emails);
    cert.subject = row.text(3);
    cert.not_before = row.int64(4);
    cert.not_after = row.int64(5);
    cert.pinned = row.int64(6) != 0;
    cert.aes_gcm = row.int64(7) != 0;
    cert.imported_at = row.int64(8);
    out.push_back(std::move(cert));
  }
  return out;
}

core::Status SqlForms::remove_cert_blocking(const std::string& sha256) {
  auto changed =
      db_.execute("remove certificate", sql::kRemoveCert, {Param{std::string_view(sha256)}});
  if (!changed) return core::fail(std::move(changed).error());
  if (*changed == 0) {
    return core::fail(core::ErrorKind::not_found, "no such certificate", "remove_cert");
  }
  return core::ok();
}

core::Result<std::int64_t> SqlForms::config_generation_blocking() {
  auto rows = db_.query("config generation", sql::kConfigGeneration);
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) {
    return core::fail(core::ErrorKind::integrity, kStoreIntegrity, "config_generation row missing");
  }
  return rows->front().int64(0);
}

}  // namespace store::detail
