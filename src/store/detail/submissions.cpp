// SubmissionStore in SQL both engines run. Appends go through the group-commit writer;
// reads take a pooled connection, one statement in autocommit (or one read snapshot where
// two statements must agree).

#include "store/detail/codec.hpp"
#include "store/detail/sql_store.hpp"

namespace store::detail {

namespace {

using engine::Param;
using engine::Row;

constexpr const char* kNoSuchReference = "no such submission reference";

namespace sql {
constexpr const char* kTokenUsed = "SELECT 1 FROM used_tokens WHERE nonce = ?1";
constexpr const char* kFindSubmission =
    "SELECT seq, reference, form_id, form_version, received_at, length(ciphertext), recipients "
    "FROM submissions WHERE form_id = ?1 AND reference = ?2";
constexpr const char* kSeqOfReference =
    "SELECT seq FROM submissions WHERE form_id = ?1 AND reference = ?2";
constexpr const char* kListSubmissions =
    "SELECT seq, reference, form_id, form_version, received_at, length(ciphertext), recipients, "
    "ciphertext FROM submissions WHERE form_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";
constexpr const char* kCountSubmissions = "SELECT count(*) FROM submissions WHERE form_id = ?1";
// Portal searches. An unset bound is bound as NULL and drops out (`? IS NULL OR ...`), so
// one constant statement serves every combination. The metadata search never names the
// ciphertext column: length() reads only the record header (SQLite) or the TOAST pointer
// (PostgreSQL), not the bytes.
constexpr const char* kQuerySubmissions =
    "SELECT seq, reference, form_id, form_version, received_at, length(ciphertext), recipients "
    "FROM submissions WHERE form_id = ?1 AND seq > ?2 "
    "AND (CAST(?3 AS BIGINT) IS NULL OR received_at >= ?3) "
    "AND (CAST(?4 AS BIGINT) IS NULL OR received_at < ?4) "
    "AND (CAST(?5 AS TEXT) IS NULL OR reference = ?5) ORDER BY seq LIMIT ?6";
constexpr const char* kQueryCiphertexts =
    "SELECT seq, reference, form_id, form_version, received_at, length(ciphertext), recipients, "
    "ciphertext FROM submissions WHERE form_id = ?1 AND seq > ?2 "
    "AND (CAST(?3 AS BIGINT) IS NULL OR received_at >= ?3) "
    "AND (CAST(?4 AS BIGINT) IS NULL OR received_at < ?4) "
    "AND (CAST(?5 AS TEXT) IS NULL OR reference = ?5) ORDER BY seq LIMIT ?6";
constexpr const char* kGetSubmission =
    "SELECT seq, reference, form_id, form_version, received_at, length(ciphertext), recipients, "
    "ciphertext FROM submissions WHERE form_id = ?1 AND reference = ?2";
}  // namespace sql

// Columns: seq, reference, form_id, form_version, received_at, size, recipients.
core::Result<SubmissionMeta> read_meta(const Row& row) {
  SubmissionMeta meta;
  meta.seq = row.int64(0);
  meta.reference = row.text(1);
  meta.form_id = row.text(2);
  meta.form_version = static_cast<int>(row.int64(3));
  meta.received_at = row.int64(4);
  meta.size = static_cast<std::size_t>(row.int64(5));
  auto recipients = decode_strings(row.text(6));
  if (!recipients) return core::fail(std::move(recipients).error());
  meta.recipients = std::move(*recipients);
  return meta;
}

// The same columns, then the ciphertext.
core::Result<std::vector<StoredSubmission>> read_stored(const engine::Rows& rows) {
  std::vector<StoredSubmission> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    auto meta = read_meta(row);
    if (!meta) return core::fail(std::move(meta).error());
    out.push_back(StoredSubmission{std::move(*meta), row.blob(7)});
  }
  return out;
}

std::array<Param, 6> query_params(const SubmissionQuery& query) {
  return {Param{std::string_view(query.form_id)},
          Param{query.after_seq},
          engine::opt(query.received_from),
          engine::opt(query.received_to),
          engine::opt(query.reference),
          Param{sql_limit(query.limit, SubmissionStore::kMaxQueryRows)}};
}

}  // namespace

void SqlSubmissions::set_receipt_event(ReceiptEvent make) {
  if (writer_) writer_->set_receipt_event(std::move(make));
}

void SqlSubmissions::set_receipt_audit(ReceiptAudit make) {
  if (writer_) writer_->set_receipt_audit(std::move(make));
}

void SqlSubmissions::append_submission(NewSubmission submission,
                                       std::function<void(core::Status)> done) {
  // Inside a unit of work there is no group commit: a submission is committed by the
  // writer's own transaction, never by another operation's (a caller bug, refused).
  if (!writer_) {
    done(core::fail(core::ErrorKind::internal, kStoreInternal,
                    "append_submission inside a unit of work"));
    return;
  }
  writer_->append(std::move(submission), std::move(done));
}

core::Result<bool> SqlSubmissions::token_used_blocking(const TokenNonce& nonce) {
  auto rows =
      db_.query("token used", sql::kTokenUsed, {Param{std::span<const std::uint8_t>(nonce)}});
  if (!rows) return core::fail(std::move(rows).error());
  return !rows->empty();
}

core::Result<std::optional<SubmissionMeta>> SqlSubmissions::find_submission_blocking(
    const std::string& form_id, const std::string& reference) {
  auto rows = db_.query("find submission", sql::kFindSubmission,
                        {Param{std::string_view(form_id)}, Param{std::string_view(reference)}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<SubmissionMeta>();
  auto meta = read_meta(rows->front());
  if (!meta) return core::fail(std::move(meta).error());
  return std::optional<SubmissionMeta>(std::move(*meta));
}

core::Result<std::vector<StoredSubmission>> SqlSubmissions::list_submissions_blocking(
    const std::string& form_id, const std::optional<std::string>& since_reference,
    std::size_t limit) {
  // One snapshot for both statements.
  return db_.transact_value<std::vector<StoredSubmission>>(
      "list submissions", engine::TxMode::read,
      [&](engine::Connection& conn) -> core::Result<std::vector<StoredSubmission>> {
        std::int64_t after_seq = 0;
        if (since_reference) {
          auto rows = conn.query(sql::kSeqOfReference, {Param{std::string_view(form_id)},
                                                        Param{std::string_view(*since_reference)}});
          if (!rows) return core::fail(std::move(rows).error());
          if (rows->empty()) {
            return core::fail(core::ErrorKind::not_found, kNoSuchReference,
                              "since reference not found for this form");
          }
          after_seq = rows->front().int64(0);
        }
        auto rows = conn.query(sql::kListSubmissions,
                               {Param{std::string_view(form_id)}, Param{after_seq},
                                Param{sql_limit(limit, std::numeric_limits<std::size_t>::max())}});
        if (!rows) return core::fail(std::move(rows).error());
        return read_stored(*rows);
      });
}

core::Result<std::size_t> SqlSubmissions::count_submissions_blocking(const std::string& form_id) {
  auto rows =
      db_.query("count submissions", sql::kCountSubmissions, {Param{std::string_view(form_id)}});
  if (!rows) return core::fail(std::move(rows).error());
  return static_cast<std::size_t>(rows->front().int64(0));
}

core::Result<std::vector<SubmissionMeta>> SqlSubmissions::query_submissions_blocking(
    const SubmissionQuery& query) {
  auto params = query_params(query);
  auto rows = db_.query("query submissions", sql::kQuerySubmissions, params);
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<SubmissionMeta> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    auto meta = read_meta(row);
    if (!meta) return core::fail(std::move(meta).error());
    out.push_back(std::move(*meta));
  }
  return out;
}

core::Result<std::optional<StoredSubmission>> SqlSubmissions::get_submission_blocking(
    const std::string& form_id, const std::string& reference) {
  auto rows = db_.query("get submission", sql::kGetSubmission,
                        {Param{std::string_view(form_id)}, Param{std::string_view(reference)}});
  if (!rows) return core::fail(std::move(rows).error());
  auto stored = read_stored(*rows);
  if (!stored) return core::fail(std::move(stored).error());
  if (stored->empty()) return std::optional<StoredSubmission>();
  return std::optional<StoredSubmission>(std::move(stored->front()));
}

core::Result<std::vector<StoredSubmission>> SqlSubmissions::query_ciphertexts_blocking(
    const SubmissionQuery& query) {
  auto params = query_params(query);
  auto rows = db_.query("query ciphertexts", sql::kQueryCiphertexts, params);
  if (!rows) return core::fail(std::move(rows).error());
  return read_stored(*rows);
}

}  // namespace store::detail
