#pragma once
// store::Store on an embedded SQLite database (DESIGN.md "embedded store").
//
// Three connections to one WAL-mode file:
//   - the writer thread's, used only by that thread: group commit of submissions;
//   - the admin connection (behind a mutex): form and key writes, which may interleave
//     with the writer thanks to BEGIN IMMEDIATE + the busy timeout;
//   - the reader connection (behind a mutex, query_only): every *_blocking read. WAL lets
//     it read a consistent snapshot while the writer commits.
//
// Group commit: append_submission() only enqueues. The writer takes up to max_batch
// waiting submissions, writes each inside its own SAVEPOINT (so a replayed token refuses
// that one item only), and COMMITs once: with synchronous=FULL that is one fsync of the
// WAL for the whole batch. Every `done` runs after the COMMIT returned, never before.
//
// Refusals (store closed, more than max_pending waiting) call `done` inline, on the
// caller's thread, before append_submission() returns.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace store {

namespace sqlite::detail {
class Connection;
}

class SqliteStore final : public Store {
 public:
  // Creates the file (mode 0600) if needed, applies migrations, starts the writer.
  static core::Result<std::unique_ptr<SqliteStore>> open_blocking(const std::string& path,
                                                                  const SqliteOptions& options);
  ~SqliteStore() override;  // close()
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  void append_submission(NewSubmission submission, std::function<void(core::Status)> done) override;
  core::Result<bool> token_used_blocking(const TokenNonce& nonce) override;
  core::Result<std::optional<SubmissionMeta>> find_submission_blocking(
      const std::string& form_id, const std::string& reference) override;
  core::Result<std::vector<StoredSubmission>> list_submissions_blocking(
      const std::string& form_id, const std::optional<std::string>& since_reference,
      std::size_t limit) override;
  core::Result<std::size_t> count_submissions_blocking(const std::string& form_id) override;

  // Adding a version of a disabled form enables the form again: `form add` publishes the
  // declaration it is given, and the usual fix for a misbehaving form is "disable, fix,
  // add the new version". Keeping it disabled would silently leave the fix unpublished.
  core::Result<int> add_form_version_blocking(
      const std::string& form_id, const std::string& declaration, std::int64_t now,
      const std::vector<std::string>& granted_recipients) override;
  core::Result<std::vector<FormVersion>> latest_forms_blocking() override;
  core::Result<std::optional<FormVersion>> latest_form_blocking(
      const std::string& form_id) override;
  core::Result<std::optional<FormVersion>> form_version_blocking(const std::string& form_id,
                                                                 int version) override;
  core::Status set_form_enabled_blocking(const std::string& form_id, bool enabled) override;

  core::Status put_key_blocking(const KeyRecord& key) override;
  core::Result<std::vector<KeyRecord>> list_keys_blocking() override;
  core::Result<std::optional<KeyRecord>> find_key_blocking(const std::string& fingerprint) override;

  core::Result<std::int64_t> config_generation_blocking() override;

  // On the admin connection, so an audit append serialises with form and key writes of
  // this process and, through BEGIN IMMEDIATE, with every other process's.
  core::Result<AuditRow> append_audit_blocking(
      const std::function<AuditRow(const std::optional<AuditRow>& last)>& make) override;
  core::Result<std::vector<AuditRow>> list_audit_blocking(std::int64_t after_seq,
                                                          std::size_t limit) override;
  core::Result<std::optional<AuditRow>> last_audit_blocking() override;
  core::Result<std::int64_t> audit_count_blocking() override;
  core::Status add_audit_checkpoint_blocking(const AuditCheckpointRow& checkpoint) override;
  core::Result<std::vector<AuditCheckpointRow>> list_audit_checkpoints_blocking() override;

  // ---- portal ----
  // Writes on the admin connection (one transaction each, never the group-commit queue);
  // reads on the reader connection. Constraint failures are the caller's to hear about:
  // a duplicate is `conflict`, an unknown user (or form, for a grant) is `not_found`.
  core::Result<std::int64_t> create_user_blocking(const std::string& email, unsigned roles,
                                                  std::int64_t now) override;
  core::Result<std::optional<UserRecord>> find_user_blocking(std::int64_t id) override;
  core::Result<std::optional<UserRecord>> find_user_by_email_blocking(
      const std::string& email) override;
  core::Result<std::vector<UserRecord>> list_users_blocking() override;
  // totp_last_step is only ever raised (the larger of the stored and the given value): a
  // caller writing back a user it read before a concurrent sign-in must not re-open a TOTP
  // code that was just accepted.
  core::Status update_user_blocking(const UserRecord& user) override;
  core::Result<bool> advance_totp_step_blocking(std::int64_t user_id, std::int64_t step) override;

  core::Status add_enrolment_blocking(const std::string& token_hash, std::int64_t user_id,
                                      std::int64_t expires_at, std::int64_t now) override;
  core::Result<std::int64_t> consume_enrolment_blocking(const std::string& token_hash,
                                                        std::int64_t now) override;

  core::Status replace_recovery_codes_blocking(std::int64_t user_id,
                                               const std::vector<std::string>& hashes) override;
  core::Result<bool> use_recovery_code_blocking(std::int64_t user_id, const std::string& hash,
                                                std::int64_t now) override;
  core::Result<std::size_t> unused_recovery_codes_blocking(std::int64_t user_id) override;

  // A session that is already gone is not an error for delete (signing out twice is fine).
  core::Status create_session_blocking(const SessionRecord& session) override;
  core::Result<std::optional<SessionRecord>> find_session_blocking(
      const std::string& id_hash) override;
  core::Status touch_session_blocking(const std::string& id_hash, std::int64_t now) override;
  core::Status delete_session_blocking(const std::string& id_hash) override;
  core::Result<std::size_t> delete_user_sessions_blocking(std::int64_t user_id) override;
  core::Result<std::size_t> prune_sessions_blocking(std::int64_t created_before,
                                                    std::int64_t idle_before) override;

  // Grants do not change config_generation: the grant's new form version does.
  core::Status add_grant_blocking(const GrantRecord& grant) override;
  core::Status remove_grant_blocking(std::int64_t user_id, const std::string& form_id) override;
  core::Result<std::vector<GrantRecord>> list_grants_blocking(
      std::optional<std::int64_t> user_id) override;

  // The query methods return at most kMaxQueryRows rows, whatever limit is asked for: it
  // bounds the memory (ciphertexts included) one request can make the server hold; the
  // portal asks for at most 500 per page or export batch. Time bounds are [from, to), for
  // audit entries as for submissions.
  static constexpr std::size_t kMaxQueryRows = 1000;
  core::Result<std::vector<SubmissionMeta>> query_submissions_blocking(
      const SubmissionQuery& query) override;
  core::Result<std::optional<StoredSubmission>> get_submission_blocking(
      const std::string& form_id, const std::string& reference) override;
  core::Result<std::vector<StoredSubmission>> query_ciphertexts_blocking(
      const SubmissionQuery& query) override;
  core::Result<std::vector<AuditRow>> query_audit_blocking(const AuditQuery& query) override;

  // Idempotent. Called from a `done` callback (the writer thread) it only stops accepting;
  // the owner's later close() or the destructor joins.
  void close() override;

  // ---- test hooks ----
  struct StatsForTest {
    std::int64_t transactions = 0;  // committed group-commit transactions
    std::int64_t submissions = 0;   // submissions stored by them
    std::int64_t failed_batches = 0;
  };
  StatsForTest stats_for_test() const;
  // While paused the writer takes nothing from the queue, so what is appended meanwhile
  // forms one batch (up to max_batch) on resume. close() overrides the pause.
  void pause_writer_for_test();
  void resume_writer_for_test();
  // Caps the writer connection's database at its current page count (PRAGMA
  // max_page_count), so that writes needing a new page fail with SQLITE_FULL.
  core::Status simulate_disk_full_for_test(bool full);
  // Runs the used_tokens pruning now, as of `now` (unix seconds).
  core::Status prune_used_tokens_for_test(std::int64_t now);

 private:
  struct Pending {
    NewSubmission submission;
    std::string recipients_json;  // encoded (and checked) on the caller's thread
    std::function<void(core::Status)> done;
  };

  SqliteStore(std::unique_ptr<sqlite::detail::Connection> writer,
              std::unique_ptr<sqlite::detail::Connection> admin,
              std::unique_ptr<sqlite::detail::Connection> reader, const SqliteOptions& options);

  void writer_loop();
  void commit_batch(std::vector<Pending>& batch);
  // Writes the batch in one transaction; per-item refusals go to `results`. An error
  // return means the whole transaction was abandoned.
  core::Status write_batch_locked(std::vector<Pending>& batch, std::vector<core::Status>& results);
  void maybe_prune();
  core::Status prune_locked(std::int64_t now);
  core::Status bump_generation_locked();

  const SqliteOptions options_;

  std::mutex writer_db_mutex_;  // writer thread vs the writer-connection test hooks
  std::unique_ptr<sqlite::detail::Connection> writer_db_;
  std::mutex admin_mutex_;
  std::unique_ptr<sqlite::detail::Connection> admin_db_;
  std::mutex reader_mutex_;
  std::unique_ptr<sqlite::detail::Connection> reader_db_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;
  bool closing_ = false;
  bool paused_ = false;

  std::atomic<std::int64_t> transactions_{0};
  std::atomic<std::int64_t> submissions_{0};
  std::atomic<std::int64_t> failed_batches_{0};
  std::int64_t commits_since_prune_ = 0;  // writer thread only
  std::chrono::steady_clock::time_point last_prune_;

  std::mutex join_mutex_;
  std::thread writer_;  // last: started once everything above exists
};

}  // namespace store
