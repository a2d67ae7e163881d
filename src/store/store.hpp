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
  // Fingerprints of the staff keys granted this form (P4) when this version was made: they
  // are recipients too, besides the declaration's own. A grant makes a new version.
  std::vector<std::string> granted_recipients;
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

// --- Staff portal (issue 3). Users, enrolment links, recovery codes, sessions, grants. ---

// Roles (P4). A user holds a set of them.
enum class Role : unsigned { admin = 1, form_owner = 2, staff = 4, reviewer = 8, auditor = 16 };

enum class UserStatus { invited, active, disabled };

struct UserRecord {
  std::int64_t id = 0;
  std::string email;   // lower-case, unique
  unsigned roles = 0;  // bit set of Role
  UserStatus status = UserStatus::invited;
  std::optional<std::string> password_hash;  // libsodium Argon2id string
  // The TOTP secret, sealed by the portal (AEAD under a key file in the data dir); the
  // store never sees it in the clear. Empty: no TOTP enrolled. Pending during enrolment.
  std::vector<std::uint8_t> totp_sealed;
  bool totp_confirmed = false;
  std::int64_t totp_last_step = 0;                 // highest accepted time step (a code works once)
  std::optional<std::string> key_fingerprint;      // the user's own OpenPGP public key
  std::optional<std::string> private_key_armored;  // passphrase-encrypted in the browser
  std::int64_t created_at = 0;
};

struct SessionRecord {
  std::string id_hash;  // SHA-256 of the cookie value, hex; the value itself is never stored
  std::int64_t user_id = 0;
  // "enrolling" (after an enrolment link), "second_factor" (password checked, code due),
  // "full" (signed in).
  std::string stage;
  std::string csrf_token;  // random, base64url; sent back in X-CSRF-Token
  std::int64_t created_at = 0;
  std::int64_t last_seen_at = 0;
  std::string source;  // the address that created it
};

struct GrantRecord {
  std::int64_t user_id = 0;
  std::string form_id;
  std::int64_t granted_at = 0;
  std::int64_t granted_by = 0;  // user id, 0 for the CLI
};

// Metadata search for the portal's submission list (P6). All bounds optional.
struct SubmissionQuery {
  std::string form_id;
  std::optional<std::int64_t> received_from;  // unix seconds, inclusive
  std::optional<std::int64_t> received_to;    // unix seconds, exclusive
  std::optional<std::string> reference;       // exact reference
  std::int64_t after_seq = 0;                 // paging: seq strictly greater
  std::size_t limit = 100;
};

struct AuditQuery {
  std::optional<std::string> actor;
  std::optional<std::string> action;  // exact, or a prefix ending in '.' ("user.")
  std::optional<std::string> object;  // exact
  std::optional<std::int64_t> time_from;
  std::optional<std::int64_t> time_to;
  std::int64_t after_seq = 0;
  std::size_t limit = 100;
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
  virtual core::Result<int> add_form_version_blocking(
      const std::string& form_id, const std::string& declaration, std::int64_t now,
      const std::vector<std::string>& granted_recipients) = 0;
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

  // --- Portal. Every method is one transaction. ---
  // conflict if the e-mail exists. Returns the new id.
  virtual core::Result<std::int64_t> create_user_blocking(const std::string& email, unsigned roles,
                                                          std::int64_t now) = 0;
  virtual core::Result<std::optional<UserRecord>> find_user_blocking(std::int64_t id) = 0;
  virtual core::Result<std::optional<UserRecord>> find_user_by_email_blocking(
      const std::string& email) = 0;
  virtual core::Result<std::vector<UserRecord>> list_users_blocking() = 0;
  // Writes every mutable field of the user (roles, status, password, TOTP, keys); not_found
  // if the id is unknown.
  virtual core::Status update_user_blocking(const UserRecord& user) = 0;
  // Accepts a TOTP step once: sets totp_last_step = step only if step > the stored value.
  // Returns false (nothing changed) for a replayed or older step.
  virtual core::Result<bool> advance_totp_step_blocking(std::int64_t user_id,
                                                        std::int64_t step) = 0;

  // Enrolment links: the token's hash only. consume returns the user id and marks the link
  // used, atomically; not_found for an unknown, used or expired link (one error: callers do
  // not learn which).
  virtual core::Status add_enrolment_blocking(const std::string& token_hash, std::int64_t user_id,
                                              std::int64_t expires_at, std::int64_t now) = 0;
  virtual core::Result<std::int64_t> consume_enrolment_blocking(const std::string& token_hash,
                                                                std::int64_t now) = 0;

  // Recovery codes (hashes). replace drops the user's old codes.
  virtual core::Status replace_recovery_codes_blocking(std::int64_t user_id,
                                                       const std::vector<std::string>& hashes) = 0;
  // Marks the code used if it is the user's and unused; false otherwise.
  virtual core::Result<bool> use_recovery_code_blocking(std::int64_t user_id,
                                                        const std::string& hash,
                                                        std::int64_t now) = 0;
  virtual core::Result<std::size_t> unused_recovery_codes_blocking(std::int64_t user_id) = 0;

  // Sessions.
  virtual core::Status create_session_blocking(const SessionRecord& session) = 0;
  virtual core::Result<std::optional<SessionRecord>> find_session_blocking(
      const std::string& id_hash) = 0;
  // Sets last_seen_at. not_found if gone. (A stage change is a new session: ids rotate.)
  virtual core::Status touch_session_blocking(const std::string& id_hash, std::int64_t now) = 0;
  virtual core::Status delete_session_blocking(const std::string& id_hash) = 0;
  // Returns how many were deleted.
  virtual core::Result<std::size_t> delete_user_sessions_blocking(std::int64_t user_id) = 0;
  // Deletes sessions created before `created_before` or idle since before `idle_before`.
  virtual core::Result<std::size_t> prune_sessions_blocking(std::int64_t created_before,
                                                            std::int64_t idle_before) = 0;

  // Grants (P4): which forms a user may read. add is idempotent.
  virtual core::Status add_grant_blocking(const GrantRecord& grant) = 0;
  // not_found if there was no such grant.
  virtual core::Status remove_grant_blocking(std::int64_t user_id, const std::string& form_id) = 0;
  virtual core::Result<std::vector<GrantRecord>> list_grants_blocking(
      std::optional<std::int64_t> user_id) = 0;

  // Portal reads: metadata only (never the ciphertext) for the list, in seq order.
  virtual core::Result<std::vector<SubmissionMeta>> query_submissions_blocking(
      const SubmissionQuery& query) = 0;
  // One submission with its ciphertext.
  virtual core::Result<std::optional<StoredSubmission>> get_submission_blocking(
      const std::string& form_id, const std::string& reference) = 0;
  // Ciphertexts matching the query (the export's batches), in seq order.
  virtual core::Result<std::vector<StoredSubmission>> query_ciphertexts_blocking(
      const SubmissionQuery& query) = 0;
  virtual core::Result<std::vector<AuditRow>> query_audit_blocking(const AuditQuery& query) = 0;

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
