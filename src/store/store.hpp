#pragma once
// The store interface (DESIGN.md). Free of any database type so that PostgreSQL can
// implement it too. Everything it holds is ciphertext or non-PHI metadata.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace store {

using TokenNonce = std::array<std::uint8_t, 16>;

struct FormVersion {
  std::string form_id;
  int version = 0;
  std::string declaration;      // the TOML text, as added
  bool enabled = true;          // per form id (all versions), set by `form disable`
  std::int64_t created_at = 0;  // unix seconds
};

struct KeyRecord {
  std::string fingerprint;  // 40 upper-case hex
  std::string armored;      // public key only
  std::vector<std::string> user_ids;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> expires_at;
  std::int64_t imported_at = 0;
};

struct NewSubmission {
  std::string reference;  // unique, random, shown to the submitter
  std::string form_id;
  int form_version = 0;
  std::int64_t received_at = 0;  // unix seconds
  std::vector<std::uint8_t> ciphertext;
  std::vector<std::string> recipients;  // fingerprints it was encrypted to
  TokenNonce token_nonce{};             // consumed in the same transaction (single use)
  std::int64_t token_expires_at = 0;    // after this the nonce record may be pruned
};

struct SubmissionMeta {
  std::int64_t seq = 0;  // store order; export --since uses it
  std::string reference;
  std::string form_id;
  int form_version = 0;
  std::int64_t received_at = 0;
  std::size_t size = 0;  // ciphertext bytes
  std::vector<std::string> recipients;
};

struct StoredSubmission {
  SubmissionMeta meta;
  std::vector<std::uint8_t> ciphertext;
};

// One audit trail entry as stored (mirrors audit::Entry; the store does not interpret it
// beyond keeping seq unique). Never PHI.
struct AuditRow {
  std::int64_t seq = 0;
  std::int64_t time = 0;
  std::string actor;
  std::string action;
  std::string object;
  std::string source;
  std::string outcome;
  std::string prev_hash;
  std::string hash;
};

// A signed audit checkpoint (mirrors audit::Checkpoint).
struct AuditCheckpointRow {
  std::int64_t count = 0;
  std::string head_hash;
  std::int64_t time = 0;
  std::string signature;
};

class Store {
 public:
  virtual ~Store() = default;

  // Appends a submission with group commit. `done` runs exactly once, on the writer
  // thread, only after the transaction holding this submission is durable (fsynced) or
  // has failed. Errors: conflict (the token nonce was already used: a replay; nothing
  // stored), unavailable (disk full, I/O error, store closed; nothing stored).
  // A submission refused before it is queued (store closed, too many waiting) gets its
  // `done` inline, on the caller's thread, before append_submission returns: so do not
  // hold a lock that `done` takes. A caller bug (unknown form version, duplicate
  // reference, non-UTF-8 recipient) gets internal / invalid_input, nothing stored.
  // `done` must not block: post the answer to the caller's own executor.
  virtual void append_submission(NewSubmission submission,
                                 std::function<void(core::Status)> done) = 0;

  // A cheap pre-check before encrypting, so replays are refused early. The authoritative
  // check is the one inside append_submission.
  virtual core::Result<bool> token_used_blocking(const TokenNonce& nonce) = 0;

  virtual core::Result<std::optional<SubmissionMeta>> find_submission_blocking(
      const std::string& form_id, const std::string& reference) = 0;
  // Submissions of a form in store order, after `since_reference` if given (error
  // not_found if that reference does not exist for the form), at most `limit`.
  virtual core::Result<std::vector<StoredSubmission>> list_submissions_blocking(
      const std::string& form_id, const std::optional<std::string>& since_reference,
      std::size_t limit) = 0;
  virtual core::Result<std::size_t> count_submissions_blocking(const std::string& form_id) = 0;

  // Forms. add_form_version stores a new version (1 for a new id, else latest + 1) and
  // returns its number.
  virtual core::Result<int> add_form_version_blocking(const std::string& form_id,
                                                      const std::string& declaration,
                                                      std::int64_t now) = 0;
  // The latest version of every form id, enabled or not, ordered by id.
  virtual core::Result<std::vector<FormVersion>> latest_forms_blocking() = 0;
  virtual core::Result<std::optional<FormVersion>> latest_form_blocking(
      const std::string& form_id) = 0;
  virtual core::Result<std::optional<FormVersion>> form_version_blocking(const std::string& form_id,
                                                                         int version) = 0;
  // not_found when there is no such form.
  virtual core::Status set_form_enabled_blocking(const std::string& form_id, bool enabled) = 0;

  // Keys. put_key inserts or replaces (a refreshed key with new signatures/expiry).
  virtual core::Status put_key_blocking(const KeyRecord& key) = 0;
  virtual core::Result<std::vector<KeyRecord>> list_keys_blocking() = 0;
  virtual core::Result<std::optional<KeyRecord>> find_key_blocking(
      const std::string& fingerprint) = 0;

  // Audit trail. append_audit runs in ONE write transaction (BEGIN IMMEDIATE): it reads the
  // last row, calls `make` with it (nullopt for the first) to build the next row with its
  // hashes, inserts that and commits, so concurrent processes (the CLI and the server)
  // extend one chain. Returns the row stored. Errors: unavailable (busy, disk),
  // conflict (a row with that seq exists: `make` did not build seq = last + 1).
  virtual core::Result<AuditRow> append_audit_blocking(
      const std::function<AuditRow(const std::optional<AuditRow>& last)>& make) = 0;
  // Rows with seq > after_seq in seq order, at most `limit`.
  virtual core::Result<std::vector<AuditRow>> list_audit_blocking(std::int64_t after_seq,
                                                                  std::size_t limit) = 0;
  // The row with the highest seq, if any.
  virtual core::Result<std::optional<AuditRow>> last_audit_blocking() = 0;
  virtual core::Result<std::int64_t> audit_count_blocking() = 0;
  // Stores a checkpoint; one already stored at the same count is kept (no error).
  virtual core::Status add_audit_checkpoint_blocking(const AuditCheckpointRow& checkpoint) = 0;
  // Every checkpoint, by count.
  virtual core::Result<std::vector<AuditCheckpointRow>> list_audit_checkpoints_blocking() = 0;

  // A number that changes whenever forms or keys change, so a running server can notice
  // a `form add` / `key import` made by another process and reload.
  virtual core::Result<std::int64_t> config_generation_blocking() = 0;

  // Stops accepting appends, finishes (commits) everything already accepted, joins the
  // writer. Idempotent.
  virtual void close() = 0;
};

struct SqliteOptions {
  // Group commit: the writer takes up to this many waiting submissions per transaction.
  std::size_t max_batch = 256;
  // Appends waiting beyond this are refused with `unavailable` (back-pressure).
  std::size_t max_pending = 4096;
};

// Opens (creating if needed) the SQLite database at `path`: WAL, synchronous=FULL,
// migrations applied. The file is created with mode 0600.
core::Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path,
                                                       const SqliteOptions& options);

}  // namespace store
