// ContactStore in SQL both engines run (issue 11, C1): contacts, their sealed fields, their
// authorisations, and the stage an import fills before it applies.
//
// An import applies in set statements (INSERT ... SELECT ... ON CONFLICT) over its stage,
// so a million staged contacts become visible in one short unit of work rather than in a
// million round trips. Parameters whose type PostgreSQL cannot infer (in a select list) are
// CAST; SQLite reads the same casts.

#include <fmt/format.h>

#include "store/detail/codec.hpp"
#include "store/detail/sql_store.hpp"

namespace store::detail {

namespace {

using engine::Param;
using engine::Row;

// At most this many names in one load_fields (the template's declared fields).
constexpr std::size_t kMaxLoadedFields = 64;

namespace sql {
constexpr const char* kStageRow =
    "INSERT INTO contact_import_rows (import_id, address, new_id) VALUES (?1, ?2, ?3)";
constexpr const char* kStageField =
    "INSERT INTO contact_import_fields (import_id, address, name, value) VALUES (?1, ?2, ?3, ?4)";
constexpr const char* kCountStaged =
    "SELECT count(*) FROM contact_import_rows WHERE import_id = ?1";
constexpr const char* kCountExisting =
    "SELECT count(*) FROM contact_import_rows r JOIN contacts c ON c.address = r.address "
    "WHERE r.import_id = ?1";
constexpr const char* kApplyContacts =
    "INSERT INTO contacts (id, address, created_at, updated_at, source) "
    "SELECT new_id, address, CAST(?2 AS BIGINT), CAST(?2 AS BIGINT), CAST(?3 AS TEXT) "
    "FROM contact_import_rows WHERE import_id = ?1 "
    "ON CONFLICT (address) DO UPDATE SET updated_at = excluded.updated_at";
constexpr const char* kApplyFields =
    "INSERT INTO contact_fields (contact_id, name, value) "
    "SELECT c.id, f.name, f.value FROM contact_import_fields f "
    "JOIN contacts c ON c.address = f.address WHERE f.import_id = ?1 "
    "ON CONFLICT (contact_id, name) DO UPDATE SET value = excluded.value";
constexpr const char* kApplyGrant =
    "INSERT INTO authorisations (id, contact_id, purpose, granted_at, expires_at, scope, "
    "evidence, consent_version, revoked_at, revoked_via) "
    "SELECT CAST(?1 AS TEXT) || '-' || c.id, c.id, CAST(?2 AS TEXT), CAST(?3 AS BIGINT), "
    "CAST(?4 AS BIGINT), CAST(?5 AS TEXT), CAST(?6 AS TEXT), CAST(?7 AS TEXT), NULL, '' "
    "FROM contact_import_rows r JOIN contacts c ON c.address = r.address "
    "WHERE r.import_id = ?1";
constexpr const char* kDropRows = "DELETE FROM contact_import_rows WHERE import_id = ?1";
constexpr const char* kDropFields = "DELETE FROM contact_import_fields WHERE import_id = ?1";
#define SEALPOST_CONTACT_COLUMNS "SELECT id, address, created_at, updated_at, source FROM contacts "
constexpr const char* kFindByAddress = SEALPOST_CONTACT_COLUMNS "WHERE address = ?1";
constexpr const char* kFind = SEALPOST_CONTACT_COLUMNS "WHERE id = ?1";
constexpr const char* kList = SEALPOST_CONTACT_COLUMNS "WHERE id > ?1 ORDER BY id LIMIT ?2";
#undef SEALPOST_CONTACT_COLUMNS
constexpr const char* kCount = "SELECT count(*) FROM contacts";
constexpr const char* kAddContact =
    "INSERT INTO contacts (id, address, created_at, updated_at, source) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kSetField =
    "INSERT INTO contact_fields (contact_id, name, value) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (contact_id, name) DO UPDATE SET value = excluded.value";
constexpr const char* kTouch = "UPDATE contacts SET updated_at = ?2 WHERE id = ?1";
constexpr const char* kFieldNames =
    "SELECT name FROM contact_fields WHERE contact_id = ?1 ORDER BY name";
constexpr const char* kAddAuthorisation =
    "INSERT INTO authorisations (id, contact_id, purpose, granted_at, expires_at, scope, "
    "evidence, consent_version, revoked_at, revoked_via) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
constexpr const char* kListAuthorisations =
    "SELECT id, contact_id, purpose, granted_at, expires_at, scope, evidence, consent_version, "
    "revoked_at, revoked_via FROM authorisations WHERE contact_id = ?1 "
    "ORDER BY granted_at DESC, id DESC";
constexpr const char* kRevoke =
    "UPDATE authorisations SET revoked_at = ?4, revoked_via = ?3 "
    "WHERE contact_id = ?1 AND purpose = ?2 AND revoked_at IS NULL";
constexpr const char* kPurposeCounts =
    "SELECT purpose, "
    "count(DISTINCT CASE WHEN revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?1) "
    "THEN contact_id END), "
    "count(DISTINCT CASE WHEN revoked_at IS NOT NULL THEN contact_id END) "
    "FROM authorisations GROUP BY purpose ORDER BY purpose";
}  // namespace sql

ContactRecord read_contact(const Row& row) {
  return ContactRecord{.id = row.text(0),
                       .address = row.text(1),
                       .created_at = row.int64(2),
                       .updated_at = row.int64(3),
                       .source = row.text(4)};
}

AuthorisationRecord read_authorisation(const Row& row) {
  AuthorisationRecord a;
  a.id = row.text(0);
  a.contact_id = row.text(1);
  a.purpose = row.text(2);
  a.granted_at = row.int64(3);
  if (!row.is_null(4)) a.expires_at = row.int64(4);
  a.scope = row.text(5);
  a.evidence = row.text(6);
  a.consent_version = row.text(7);
  if (!row.is_null(8)) a.revoked_at = row.int64(8);
  a.revoked_via = row.text(9);
  return a;
}

core::Result<std::int64_t> count_of(engine::Executor& db, const char* what, const char* query,
                                    std::vector<Param> params) {
  auto rows = db.query(what, query, params);
  if (!rows) return core::fail(std::move(rows).error());
  return rows->empty() ? 0 : rows->front().int64(0);
}

}  // namespace

core::Status SqlContacts::stage_contacts_blocking(const std::string& import_id,
                                                  const std::vector<StagedContact>& rows) {
  for (const auto& row : rows) {
    auto r = db_.execute("stage contact", sql::kStageRow,
                         {Param{std::string_view(import_id)}, Param{std::string_view(row.address)},
                          Param{std::string_view(row.id)}});
    if (!r) return core::fail(std::move(r).error());
    for (const auto& field : row.fields) {
      auto f =
          db_.execute("stage contact field", sql::kStageField,
                      {Param{std::string_view(import_id)}, Param{std::string_view(row.address)},
                       Param{std::string_view(field.name)},
                       Param{std::span<const std::uint8_t>(field.sealed)}});
      if (!f) return core::fail(std::move(f).error());
    }
  }
  return core::ok();
}

core::Result<ImportCounts> SqlContacts::apply_import_blocking(
    const std::string& import_id, const std::string& source,
    const std::optional<ImportGrant>& grant, std::int64_t now) {
  const Param id{std::string_view(import_id)};
  auto staged = count_of(db_, "count staged contacts", sql::kCountStaged, {id});
  if (!staged) return core::fail(std::move(staged).error());
  auto existing = count_of(db_, "count existing contacts", sql::kCountExisting, {id});
  if (!existing) return core::fail(std::move(existing).error());
  ImportCounts counts;
  counts.updated = static_cast<std::size_t>(*existing);
  counts.added = static_cast<std::size_t>(*staged - *existing);
  if (auto r = db_.execute("apply contacts", sql::kApplyContacts,
                           {id, Param{now}, Param{std::string_view(source)}});
      !r) {
    return core::fail(std::move(r).error());
  }
  if (auto r = db_.execute("apply contact fields", sql::kApplyFields, {id}); !r) {
    return core::fail(std::move(r).error());
  }
  if (grant) {
    auto r = db_.execute("apply grant", sql::kApplyGrant,
                         {id, Param{std::string_view(grant->purpose)}, Param{grant->granted_at},
                          engine::opt(grant->expires_at), Param{std::string_view(grant->scope)},
                          Param{std::string_view(grant->evidence)},
                          Param{std::string_view(grant->consent_version)}});
    if (!r) return core::fail(std::move(r).error());
    counts.granted = static_cast<std::size_t>(*r);
  }
  if (auto s = drop_import_blocking(import_id); !s) return core::fail(std::move(s).error());
  return counts;
}

core::Status SqlContacts::drop_import_blocking(const std::string& import_id) {
  const Param id{std::string_view(import_id)};
  if (auto r = db_.execute("drop staged fields", sql::kDropFields, {id}); !r) {
    return core::fail(std::move(r).error());
  }
  if (auto r = db_.execute("drop staged contacts", sql::kDropRows, {id}); !r) {
    return core::fail(std::move(r).error());
  }
  return core::ok();
}

core::Result<std::optional<ContactRecord>> SqlContacts::find_contact_by_address_blocking(
    const std::string& address) {
  auto rows = db_.query("find contact", sql::kFindByAddress, {Param{std::string_view(address)}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<ContactRecord>();
  return std::optional<ContactRecord>(read_contact(rows->front()));
}

core::Result<std::optional<ContactRecord>> SqlContacts::find_contact_blocking(
    const std::string& id) {
  auto rows = db_.query("find contact", sql::kFind, {Param{std::string_view(id)}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<ContactRecord>();
  return std::optional<ContactRecord>(read_contact(rows->front()));
}

core::Status SqlContacts::add_contact_blocking(const ContactRecord& c) {
  auto r =
      db_.execute("add contact", sql::kAddContact,
                  {Param{std::string_view(c.id)}, Param{std::string_view(c.address)},
                   Param{c.created_at}, Param{c.updated_at}, Param{std::string_view(c.source)}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Status SqlContacts::set_contact_field_blocking(const std::string& contact_id,
                                                     const ContactField& field, std::int64_t now) {
  auto r = db_.execute("set contact field", sql::kSetField,
                       {Param{std::string_view(contact_id)}, Param{std::string_view(field.name)},
                        Param{std::span<const std::uint8_t>(field.sealed)}});
  if (!r) return core::fail(std::move(r).error());
  auto t =
      db_.execute("touch contact", sql::kTouch, {Param{std::string_view(contact_id)}, Param{now}});
  if (!t) return core::fail(std::move(t).error());
  return core::ok();
}

core::Result<std::vector<ContactRecord>> SqlContacts::list_contacts_blocking(
    const std::string& after_id, std::size_t limit) {
  auto rows =
      db_.query("list contacts", sql::kList,
                {Param{std::string_view(after_id)}, Param{static_cast<std::int64_t>(limit)}});
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<ContactRecord> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) out.push_back(read_contact(row));
  return out;
}

core::Result<std::int64_t> SqlContacts::count_contacts_blocking() {
  return count_of(db_, "count contacts", sql::kCount, {});
}

core::Result<std::vector<ContactField>> SqlContacts::load_fields_blocking(
    const std::string& contact_id, const std::vector<std::string>& names) {
  if (names.empty()) return std::vector<ContactField>();
  if (names.size() > kMaxLoadedFields) {
    return core::fail(core::ErrorKind::invalid_input, "too many contact fields in one load",
                      fmt::format("{} names", names.size()));
  }
  // One placeholder per name (never a name in the text): "?2, ?3, ...".
  std::string placeholders;
  std::vector<Param> params{Param{std::string_view(contact_id)}};
  for (std::size_t i = 0; i < names.size(); ++i) {
    placeholders += fmt::format("{}?{}", i == 0 ? "" : ", ", i + 2);
    params.emplace_back(std::string_view(names[i]));
  }
  const std::string query = fmt::format(
      "SELECT name, value FROM contact_fields WHERE contact_id = ?1 AND name IN ({}) ORDER BY name",
      placeholders);
  auto rows = db_.query("load contact fields", query, params);
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<ContactField> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) out.push_back(ContactField{row.text(0), row.blob(1)});
  return out;
}

core::Result<std::vector<std::string>> SqlContacts::field_names_blocking(
    const std::string& contact_id) {
  auto rows = db_.query("list contact field names", sql::kFieldNames,
                        {Param{std::string_view(contact_id)}});
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<std::string> out;
  for (const auto& row : *rows) out.push_back(row.text(0));
  return out;
}

core::Status SqlContacts::add_authorisation_blocking(const AuthorisationRecord& a) {
  auto r =
      db_.execute("add authorisation", sql::kAddAuthorisation,
                  {Param{std::string_view(a.id)}, Param{std::string_view(a.contact_id)},
                   Param{std::string_view(a.purpose)}, Param{a.granted_at},
                   engine::opt(a.expires_at), Param{std::string_view(a.scope)},
                   Param{std::string_view(a.evidence)}, Param{std::string_view(a.consent_version)},
                   engine::opt(a.revoked_at), Param{std::string_view(a.revoked_via)}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Result<std::vector<AuthorisationRecord>> SqlContacts::list_authorisations_blocking(
    const std::string& contact_id) {
  auto rows = db_.query("list authorisations", sql::kListAuthorisations,
                        {Param{std::string_view(contact_id)}});
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<AuthorisationRecord> out;
  for (const auto& row : *rows) out.push_back(read_authorisation(row));
  return out;
}

core::Result<std::size_t> SqlContacts::revoke_authorisations_blocking(const std::string& contact_id,
                                                                      const std::string& purpose,
                                                                      const std::string& via,
                                                                      std::int64_t now) {
  auto r = db_.execute("revoke authorisations", sql::kRevoke,
                       {Param{std::string_view(contact_id)}, Param{std::string_view(purpose)},
                        Param{std::string_view(via)}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return static_cast<std::size_t>(*r);
}

core::Result<std::vector<PurposeCount>> SqlContacts::purpose_counts_blocking(std::int64_t now) {
  auto rows = db_.query("count authorisations", sql::kPurposeCounts, {Param{now}});
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<PurposeCount> out;
  for (const auto& row : *rows) out.push_back({row.text(0), row.int64(1), row.int64(2)});
  return out;
}

}  // namespace store::detail
