#include "store/detail/group_commit.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "store/detail/codec.hpp"
#include "store/detail/sql_store.hpp"

namespace store::detail {

namespace {

using engine::Param;

// Public texts (the fixed, reviewed set; see core::Error).
constexpr const char* kNotStored = "the submission could not be stored; please try again";
constexpr const char* kAlreadySubmitted = "this form was already submitted";
constexpr const char* kRejected = "the submission could not be stored";

// Pruning of used token nonces: often enough that the table stays small, rarely enough
// that the extra transaction does not show in the submission latency.
constexpr std::int64_t kPruneEveryCommits = 1000;
constexpr auto kPruneEvery = std::chrono::minutes(1);
// A nonce is kept this long past its token's expiry, so a token checked by another
// process (or node) whose clock runs slightly behind ours still meets its nonce.
constexpr std::int64_t kPruneGraceSeconds = 300;
// After a failed reconnect the writer waits this long before the next batch tries again,
// so a database that is down is not hammered (the batch is answered at once).
constexpr auto kReconnectPause = std::chrono::milliseconds(200);

namespace sql {
// A replayed nonce changes no row: refused without aborting the transaction, so the batch
// needs no savepoint per item (two round trips each on PostgreSQL).
constexpr const char* kInsertToken =
    "INSERT INTO used_tokens (nonce, expires_at) VALUES (?1, ?2) ON CONFLICT (nonce) DO NOTHING";
constexpr const char* kInsertSubmission =
    "INSERT INTO submissions (reference, form_id, form_version, received_at, ciphertext, "
    "recipients) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr const char* kPruneTokens = "DELETE FROM used_tokens WHERE expires_at < ?1";
}  // namespace sql

}  // namespace

GroupCommit::GroupCommit(engine::Database& db, Options options)
    : db_(db),
      options_(options),
      last_prune_(std::chrono::steady_clock::now()),
      writer_([this] { writer_loop(); }) {}

GroupCommit::~GroupCommit() { close(); }

void GroupCommit::close() {
  {
    std::lock_guard lock(queue_mutex_);
    closing_ = true;
  }
  queue_cv_.notify_all();
  if (std::this_thread::get_id() == writer_.get_id()) return;  // from a `done`: cannot join
  std::lock_guard lock(join_mutex_);
  if (writer_.joinable()) writer_.join();
}

void GroupCommit::set_receipt_audit(
    std::function<AuditRow(const std::optional<AuditRow>&, const NewSubmission&)> make) {
  std::lock_guard lock(queue_mutex_);
  receipt_ = std::move(make);
}

void GroupCommit::set_receipt_event(std::function<WebhookEvent(const NewSubmission&)> make) {
  std::lock_guard lock(queue_mutex_);
  receipt_event_ = std::move(make);
}

void GroupCommit::set_observer(BatchObserver observer) {
  std::lock_guard lock(queue_mutex_);
  observer_ = std::move(observer);
}

GroupCommit::Stats GroupCommit::stats() const {
  return Stats{transactions_.load(), submissions_.load(), failed_batches_.load()};
}

std::size_t GroupCommit::queue_depth() const {
  std::lock_guard lock(queue_mutex_);
  return queue_.size();
}

void GroupCommit::append(NewSubmission submission, std::function<void(core::Status)> done) {
  auto recipients = encode_strings(submission.recipients, "recipient fingerprint");
  if (!recipients) {
    done(core::fail(std::move(recipients).error()));
    return;
  }
  const char* refused = nullptr;
  {
    std::lock_guard lock(queue_mutex_);
    if (closing_) {
      refused = "store closed";
    } else if (queue_.size() >= options_.max_pending) {
      // Back-pressure: beyond this the database cannot keep up; waiting longer only grows
      // memory and latency, so the submitter is asked to retry instead.
      refused = "too many submissions waiting for the writer";
    } else {
      queue_.push_back(Pending{std::move(submission), std::move(*recipients), std::move(done)});
    }
  }
  if (refused == nullptr) {
    queue_cv_.notify_one();
    return;
  }
  done(core::fail(core::ErrorKind::unavailable, kNotStored, refused));
}

void GroupCommit::writer_loop() {
  const std::size_t max_batch = std::max<std::size_t>(options_.max_batch, 1);
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [&] { return closing_ || (!paused_ && !queue_.empty()); });
      if (queue_.empty()) return;  // closing, and everything accepted is answered
      while (!queue_.empty() && batch.size() < max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit_batch(batch);
    batch.clear();
    maybe_prune();
  }
}

core::Result<engine::Connection*> GroupCommit::writer_connection() {
  if (conn_ && conn_->broken()) {
    spdlog::warn("store: the writer's database connection was lost; reconnecting");
    conn_.reset();
  }
  if (!conn_) {
    auto conn = db_.dedicated_connection_blocking();
    if (!conn) return core::fail(std::move(conn).error());
    conn_ = std::move(*conn);
  }
  return conn_.get();
}

void GroupCommit::commit_batch(std::vector<Pending>& batch) {
  std::vector<core::Status> results(batch.size());
  bool committed = false;
  double commit_seconds = 0;
  {
    std::lock_guard lock(conn_mutex_);
    core::Status written;
    auto conn = writer_connection();
    if (!conn) {
      written = core::fail(std::move(conn).error());
    } else {
      const auto started = std::chrono::steady_clock::now();
      // An item the database refuses as a caller bug (unknown form version, duplicate
      // reference: rare) aborts the transaction; it is then run again without that item.
      std::vector<bool> excluded(batch.size(), false);
      for (;;) {
        auto outcome = write_batch(**conn, batch, results, excluded);
        if (!outcome) {
          written = core::fail(std::move(outcome).error());
          break;
        }
        if (!*outcome) {
          written = core::ok();
          break;
        }
        if ((*conn)->in_transaction()) (*conn)->rollback();
        excluded[**outcome] = true;
      }
      commit_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (!written && (*conn)->in_transaction()) (*conn)->rollback();
    }
    if (written) {
      committed = true;
      transactions_.fetch_add(1, std::memory_order_relaxed);
      std::int64_t stored = 0;
      for (const auto& r : results) stored += r ? 1 : 0;
      submissions_.fetch_add(stored, std::memory_order_relaxed);
    } else {
      failed_batches_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("store: a batch of {} submissions was not stored: {}", batch.size(),
                    core::log_safe(written.error().detail()));
      // Nothing of the batch is stored, not even what had been answered `conflict`
      // inside it (that conflict may have come from an item now rolled back).
      for (auto& r : results) {
        r = core::fail(core::ErrorKind::unavailable, kNotStored, written.error().detail());
      }
      if (!conn) std::this_thread::sleep_for(kReconnectPause);
    }
  }
  BatchObserver observer;
  {
    std::lock_guard lock(queue_mutex_);
    observer = observer_;
  }
  if (observer) observer(batch.size(), commit_seconds, committed);
  // Only now, after COMMIT returned (durable) or the batch was abandoned.
  for (std::size_t i = 0; i < batch.size(); ++i) {
    try {
      batch[i].done(std::move(results[i]));
    } catch (const std::exception& e) {
      // A bug in a callback must not kill the writer and strand every later submission.
      spdlog::error("store: a submission callback threw: {}", core::log_safe(e.what()));
    } catch (...) {
      spdlog::error("store: a submission callback threw");
    }
  }
}

core::Result<std::optional<std::size_t>> GroupCommit::write_batch(
    engine::Connection& conn, std::vector<Pending>& batch, std::vector<core::Status>& results,
    const std::vector<bool>& excluded) {
  using Outcome = std::optional<std::size_t>;
  if (auto s = conn.begin(engine::TxMode::write); !s) return core::fail(std::move(s).error());

  // Receipts join the audit chain in this transaction: take the chain's lock (every node)
  // and read its head once; each stored item's entry follows the one before.
  std::function<AuditRow(const std::optional<AuditRow>&, const NewSubmission&)> receipt;
  std::function<WebhookEvent(const NewSubmission&)> receipt_event;
  {
    std::lock_guard lock(queue_mutex_);
    receipt = receipt_;
    receipt_event = receipt_event_;
  }
  std::optional<AuditRow> head;
  std::optional<bool> subscribed;  // asked at the first stored item, once per batch
  if (receipt) {
    auto last = lock_audit_head_txn(conn);
    if (!last) return core::fail(std::move(last).error());
    head = std::move(*last);
  }

  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (excluded[i]) continue;  // refused in an earlier attempt: results[i] says why
    results[i] = core::ok();
    const NewSubmission& sub = batch[i].submission;

    auto token = conn.execute(
        sql::kInsertToken,
        {Param{std::span<const std::uint8_t>(sub.token_nonce)}, Param{sub.token_expires_at}});
    if (!token) return core::fail(std::move(token).error());
    if (*token == 0) {
      results[i] =
          core::fail(core::ErrorKind::conflict, kAlreadySubmitted, "token nonce already used");
      continue;
    }

    auto inserted =
        conn.execute(sql::kInsertSubmission,
                     {Param{std::string_view(sub.reference)}, Param{std::string_view(sub.form_id)},
                      Param{std::int64_t{sub.form_version}}, Param{sub.received_at},
                      Param{std::span<const std::uint8_t>(sub.ciphertext)},
                      Param{std::string_view(batch[i].recipients_json)}});
    if (!inserted) {
      const auto kind = inserted.error().kind();
      if (kind != core::ErrorKind::conflict && kind != core::ErrorKind::not_found &&
          kind != core::ErrorKind::invalid_input) {
        return core::fail(std::move(inserted).error());
      }
      // A duplicate reference or an unknown form version: a bug of the caller, not a
      // replay and not a disk problem. This item is refused; the batch runs again
      // without it (its nonce is then not consumed).
      std::string detail = kind == core::ErrorKind::not_found  ? "unknown form version"
                           : kind == core::ErrorKind::conflict ? "duplicate reference"
                                                               : "constraint failed";
      results[i] = core::fail(core::ErrorKind::internal, kRejected, detail);
      return Outcome(i);
    }
    if (receipt) {
      AuditRow row = receipt(head, sub);
      // Not an item's fault (a seq taken means the chain lock did not hold): the batch fails.
      if (auto s = insert_audit_txn(conn, row); !s) return core::fail(std::move(s).error());
      head = std::move(row);
    }
    if (receipt_event) {
      WebhookEvent event = receipt_event(sub);
      if (!subscribed.has_value()) {
        auto any = any_webhook_subscribes_txn(conn, event.type);
        if (!any) return core::fail(std::move(any).error());
        subscribed = *any;
      }
      // Not an item's fault either: the batch fails and is answered 503.
      if (*subscribed) {
        auto queued = enqueue_webhook_event_txn(conn, event, sub.received_at);
        if (!queued) return core::fail(std::move(queued).error());
      }
    }
  }
  // Returns once the batch is durable (SQLite: the WAL fsynced; PostgreSQL: the commit
  // record flushed, synchronous_commit = on).
  if (auto s = conn.commit(); !s) return core::fail(std::move(s).error());
  return Outcome();
}

void GroupCommit::maybe_prune() {
  ++commits_since_prune_;
  auto now = std::chrono::steady_clock::now();
  if (commits_since_prune_ < kPruneEveryCommits && now - last_prune_ < kPruneEvery) return;
  commits_since_prune_ = 0;
  last_prune_ = now;
  std::lock_guard lock(conn_mutex_);
  if (auto s = prune(core::unix_seconds(std::chrono::system_clock::now())); !s) {
    // Housekeeping only: the table grows until the next attempt; nothing is lost.
    spdlog::warn("store: pruning used tokens failed: {}", core::log_safe(s.error().detail()));
  }
}

core::Status GroupCommit::prune(std::int64_t now) {
  auto conn = writer_connection();
  if (!conn) return core::fail(std::move(conn).error());
  auto r = (*conn)->execute(sql::kPruneTokens, {Param{now - kPruneGraceSeconds}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

void GroupCommit::pause_for_test() {
  std::lock_guard lock(queue_mutex_);
  paused_ = true;
}

void GroupCommit::resume_for_test() {
  {
    std::lock_guard lock(queue_mutex_);
    paused_ = false;
  }
  queue_cv_.notify_all();
}

core::Status GroupCommit::with_writer_connection_for_test(
    const std::function<core::Status(engine::Connection&)>& fn) {
  std::lock_guard lock(conn_mutex_);
  auto conn = writer_connection();
  if (!conn) return core::fail(std::move(conn).error());
  return fn(**conn);
}

core::Status GroupCommit::prune_used_tokens_for_test(std::int64_t now) {
  std::lock_guard lock(conn_mutex_);
  return prune(now);
}

}  // namespace store::detail
