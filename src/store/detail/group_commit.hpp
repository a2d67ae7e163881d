#pragma once
// Group commit of submissions, written once for both engines (DESIGN.md step 5 of the path
// of a submission). append() only enqueues. One writer thread, on its own connection,
// takes up to max_batch waiting submissions, writes them in one transaction (a replayed
// token's nonce insert changes no row, so that item alone is refused; an item refused as a
// caller bug makes the batch run again without it) and COMMITs once: on SQLite (WAL,
// synchronous=FULL) one fsync of the WAL for the batch; on PostgreSQL one WAL flush for the
// batch. Every `done` runs after the COMMIT returned, never before.
//
// Refusals (store closed, more than max_pending waiting) call `done` inline, on the
// caller's thread, before append() returns.
//
// When the writer's connection is lost (a PostgreSQL restart or failover), the batch in
// flight is answered `unavailable` (nothing of it committed, or the COMMIT's outcome is
// unknown: see docs/OPERATIONS.md) and the next batch opens a new connection: a node
// recovers without a restart.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/result.hpp"
#include "store/engine/database.hpp"
#include "store/records.hpp"

namespace store::detail {

class GroupCommit {
 public:
  struct Options {
    std::size_t max_batch = 256;
    std::size_t max_pending = 4096;
  };
  struct Stats {
    std::int64_t transactions = 0;  // committed group-commit transactions
    std::int64_t submissions = 0;   // submissions stored by them
    std::int64_t failed_batches = 0;
  };
  // Called after every batch (committed or not) on the writer thread: batch size, seconds
  // the COMMIT took, whether it committed. For metrics; must not block.
  using BatchObserver = std::function<void(std::size_t, double, bool)>;

  GroupCommit(engine::Database& db, Options options);
  ~GroupCommit();  // close()
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  void append(NewSubmission submission, std::function<void(core::Status)> done);
  // Idempotent. From a `done` callback (the writer thread) it only stops accepting.
  void close();

  void set_observer(BatchObserver observer);
  // See SubmissionStore::set_receipt_audit.
  void set_receipt_audit(
      std::function<AuditRow(const std::optional<AuditRow>&, const NewSubmission&)> make);
  // See SubmissionStore::set_receipt_event.
  void set_receipt_event(std::function<WebhookEvent(const NewSubmission&)> make);
  Stats stats() const;
  std::size_t queue_depth() const;

  // ---- test hooks ----
  // While paused the writer takes nothing from the queue, so what is appended meanwhile
  // forms one batch (up to max_batch) on resume. close() overrides the pause.
  void pause_for_test();
  void resume_for_test();
  // Runs `fn` on the writer's connection (opening it if needed), between batches.
  core::Status with_writer_connection_for_test(
      const std::function<core::Status(engine::Connection&)>& fn);
  // Runs the used_tokens pruning now, as of `now` (unix seconds).
  core::Status prune_used_tokens_for_test(std::int64_t now);

 private:
  struct Pending {
    NewSubmission submission;
    std::string recipients_json;  // encoded (and checked) on the caller's thread
    std::function<void(core::Status)> done;
  };

  void writer_loop();
  void commit_batch(std::vector<Pending>& batch);
  // One attempt at the batch, skipping `excluded` items. nullopt: committed. A value: that
  // item was refused as a caller bug and the transaction must be rolled back and the batch
  // run again without it. An error: the whole batch failed.
  core::Result<std::optional<std::size_t>> write_batch(engine::Connection& conn,
                                                       std::vector<Pending>& batch,
                                                       std::vector<core::Status>& results,
                                                       const std::vector<bool>& excluded);
  core::Result<engine::Connection*> writer_connection();
  void maybe_prune();
  core::Status prune(std::int64_t now);

  engine::Database& db_;
  const Options options_;

  std::mutex conn_mutex_;  // the writer thread vs the test hooks
  std::unique_ptr<engine::Connection> conn_;

  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;
  bool closing_ = false;
  bool paused_ = false;
  BatchObserver observer_;
  std::function<AuditRow(const std::optional<AuditRow>&, const NewSubmission&)> receipt_;
  std::function<WebhookEvent(const NewSubmission&)> receipt_event_;

  std::atomic<std::int64_t> transactions_{0};
  std::atomic<std::int64_t> submissions_{0};
  std::atomic<std::int64_t> failed_batches_{0};
  std::int64_t commits_since_prune_ = 0;  // writer thread only
  std::chrono::steady_clock::time_point last_prune_;

  std::mutex join_mutex_;
  std::thread writer_;  // last: started once everything above exists
};

}  // namespace store::detail
