// Group commit: batching, single-use nonces, back-pressure, close().

#include <thread>

#include "test_util.hpp"

namespace store::test {
namespace {

TEST(StoreGroupCommit, ConcurrentAppendsAreAllStoredInFewerTransactions) {
  TestDatabase db;
  auto store = db.open();
  ASSERT_TRUE(store);
  add_form(*store, "contact");

  constexpr std::size_t kThreads = 8;
  constexpr std::size_t kPerThread = 200;
  Answers answers(kThreads * kPerThread);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < kPerThread; ++i) {
        const std::size_t slot = t * kPerThread + i;
        store->submissions().append_submission(
            make_submission("contact", static_cast<std::uint32_t>(slot)), answers.slot(slot));
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(answers.wait_all());

  EXPECT_EQ(answers.count_ok(), kThreads * kPerThread);
  for (std::size_t i = 0; i < kThreads * kPerThread; ++i) ASSERT_EQ(answers.calls(i), 1) << i;
  EXPECT_EQ(store->submissions().count_submissions_blocking("contact").value(),
            kThreads * kPerThread);
  const auto stats = store->writer().stats();
  EXPECT_EQ(stats.submissions, static_cast<std::int64_t>(kThreads * kPerThread));
  EXPECT_LT(stats.transactions, stats.submissions) << "no batching happened";
  EXPECT_EQ(stats.failed_batches, 0);
}

TEST(StoreGroupCommit, PausedAppendsFormOneTransaction) {
  TestDatabase db;
  auto store = db.open();
  ASSERT_TRUE(store);
  add_form(*store, "contact");
  store->writer().pause_for_test();
  Answers answers(50);
  for (std::uint32_t i = 0; i < 50; ++i)
    store->submissions().append_submission(make_submission("contact", i), answers.slot(i));
  // Nothing may be acknowledged before it is committed.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(answers.answered(), 0u);
  EXPECT_EQ(store->submissions().count_submissions_blocking("contact").value(), 0u);
  store->writer().resume_for_test();
  ASSERT_TRUE(answers.wait_all());
  EXPECT_EQ(answers.count_ok(), 50u);
  EXPECT_EQ(store->writer().stats().transactions, 1);
}

TEST(StoreGroupCommit, CommitObserverThroughTheStoreInterfaceSeesEachBatch) {
  TestDatabase db;
  auto store = db.open();
  ASSERT_TRUE(store);
  add_form(*store, "contact");
  std::mutex mutex;
  std::vector<std::pair<std::size_t, bool>> batches;
  Store& plain = *store;  // what app/ sees: no detail types
  plain.set_commit_observer([&](std::size_t size, double seconds, bool committed) {
    EXPECT_GE(seconds, 0.0);
    std::lock_guard lock(mutex);
    batches.emplace_back(size, committed);
  });
  store->writer().pause_for_test();
  Answers answers(20);
  for (std::uint32_t i = 0; i < 20; ++i)
    store->submissions().append_submission(make_submission("contact", i), answers.slot(i));
  EXPECT_EQ(plain.pending_appends(), 20u);
  store->writer().resume_for_test();
  ASSERT_TRUE(answers.wait_all());
  std::lock_guard lock(mutex);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].first, 20u);
  EXPECT_TRUE(batches[0].second);
}

TEST(StoreGroupCommit, DoneRunsOnlyOnceTheSubmissionIsCommitted) {
  TestDatabase db;
  auto store = db.open();
  ASSERT_TRUE(store);
  add_form(*store, "contact");
  store->writer().pause_for_test();
  constexpr std::uint32_t kCount = 20;
  std::vector<std::string> seen_by_other_connection(kCount);
  Answers answers(kCount);
  for (std::uint32_t i = 0; i < kCount; ++i) {
    auto sub = make_submission("contact", i);
    const std::string sql =
        "SELECT count(*) FROM submissions WHERE reference = '" + sub.reference + "'";
    auto record = answers.slot(i);
    store->submissions().append_submission(std::move(sub), [&, i, sql, record](core::Status s) {
      // A fresh connection sees only committed data.
      seen_by_other_connection[i] = db.raw(sql);
      record(std::move(s));
    });
  }
  store->writer().resume_for_test();
  ASSERT_TRUE(answers.wait_all());
  for (std::uint32_t i = 0; i < kCount; ++i) EXPECT_EQ(seen_by_other_connection[i], "1") << i;
}

TEST(StoreGroupCommit, ReplayedNonceInALaterBatchIsAConflict) {
  TestDatabase db;
  auto store = db.open();
  ASSERT_TRUE(store);
  add_form(*store, "contact");
  Answers first(1);
  store->submissions().append_submission(make_submission("contact", 1), first.slot(0));
  ASSERT_TRUE(first.wait_all());
  ASSERT_TRUE(first.result(0)->has_value());

  auto replay = make_submission("contact", 1);
  replay.reference = "contact-OTHER";
  Answers second(1);
  store->submissions().append_submission(replay, second.slot(0));
  ASSERT_TRUE(second.wait_all());
  ASSERT_FALSE(second.result(0)->has_value());
  EXPECT_EQ(second.result(0)->error().kind(), core::ErrorKind::conflict);
  EXPECT_EQ(second.result(0)->error().public_text(), "this form was already submitted");

  EXPECT_EQ(store->submissions().count_submissions_blocking("contact").value(), 1u);
  EXPECT_FALSE(store->submissions()
                   .find_submission_blocking("contact", "contact-OTHER")
                   .value()
                   .has_value());
}

TEST(StoreGroupCommit, ReplayedNonceInsideOneBatchStoresExactlyOne) {
  TestDatabase db;
  auto store = db.open();
  ASSERT_TRUE(store);
  add_form(*store, "contact");
  store->writer().pause_for_test();
  Answers answers(4);
  auto a = make_submission("contact", 1);
  auto b = make_submission("contact", 1);
  b.reference = "contact-B";
  store->submissions().append_submission(make_submission("contact", 2), answers.slot(0));
  store->submissions().append_submission(a, answers.slot(1));
  store->submissions().append_submission(b, answers.slot(2));
  store->submissions().append_submission(make_submission("contact", 3), answers.slot(3));
  store->writer().resume_for_test();
  ASSERT_TRUE(answers.wait_all());

  EXPECT_EQ(store->writer().stats().transactions, 1);  // really one batch
  EXPECT_TRUE(answers.result(0)->has_value());
  EXPECT_TRUE(answers.result(1)->has_value());
  ASSERT_FALSE(answers.result(2)->has_value());
  EXPECT_EQ(answers.result(2)->error().kind(), core::ErrorKind::conflict);
  EXPECT_TRUE(answers.result(3)->has_value());  // the batch goes on after the conflict
  EXPECT_EQ(store->submissions().count_submissions_blocking("contact").value(), 3u);
  EXPECT_FALSE(
      store->submissions().find_submission_blocking("contact", "contact-B").value().has_value());
}

TEST(StoreGroupCommit, TokenUsedPreCheck) {
  TestDatabase db;
  auto store = db.open();
  ASSERT_TRUE(store);
  add_form(*store, "contact");
  EXPECT_FALSE(store->submissions().token_used_blocking(nonce_of(5)).value());
  Answers answers(1);
  store->submissions().append_submission(make_submission("contact", 5), answers.slot(0));
  ASSERT_TRUE(answers.wait_all());
  EXPECT_TRUE(store->submissions().token_used_blocking(nonce_of(5)).value());
  EXPECT_FALSE(store->submissions().token_used_blocking(nonce_of(6)).value());
}

TEST(StoreGroupCommit, BadItemIsRefusedAloneAndReleasesItsNonce) {
  TestDatabase db;
  auto store = db.open();
  ASSERT_TRUE(store);
  add_form(*store, "contact");
  store->writer().pause_for_test();
  Answers answers(3);
  auto unknown_version = make_submission("contact", 2);
  unknown_version.form_version = 9;
  auto duplicate_reference = make_submission("contact", 3);
  duplicate_reference.reference = make_submission("contact", 1).reference;
  store->submissions().append_submission(make_submission("contact", 1), answers.slot(0));
  store->submissions().append_submission(unknown_version, answers.slot(1));
  store->submissions().append_submission(duplicate_reference, answers.slot(2));
  store->writer().resume_for_test();
  ASSERT_TRUE(answers.wait_all());
  EXPECT_TRUE(answers.result(0)->has_value());
  for (std::size_t i : {1u, 2u}) {
    ASSERT_FALSE(answers.result(i)->has_value());
    EXPECT_EQ(answers.result(i)->error().kind(), core::ErrorKind::internal);
  }
  EXPECT_EQ(store->submissions().count_submissions_blocking("contact").value(), 1u);
  // The refused items' nonces were rolled back with them.
  EXPECT_FALSE(store->submissions().token_used_blocking(nonce_of(2)).value());
  EXPECT_FALSE(store->submissions().token_used_blocking(nonce_of(3)).value());
}

TEST(StoreGroupCommit, BackPressureRefusesBeyondMaxPending) {
  TestDatabase db;
  StoreOptions options;
  options.max_pending = 4;
  auto store = db.open(options);
  ASSERT_TRUE(store);
  add_form(*store, "contact");
  store->writer().pause_for_test();
  Answers answers(6);
  for (std::uint32_t i = 0; i < 6; ++i)
    store->submissions().append_submission(make_submission("contact", i), answers.slot(i));
  // The two beyond max_pending are refused at once, before the writer runs.
  EXPECT_EQ(answers.answered(), 2u);
  for (std::size_t i : {4u, 5u}) {
    ASSERT_TRUE(answers.result(i).has_value());
    ASSERT_FALSE(answers.result(i)->has_value());
    EXPECT_EQ(answers.result(i)->error().kind(), core::ErrorKind::unavailable);
  }
  store->writer().resume_for_test();
  ASSERT_TRUE(answers.wait_all());
  EXPECT_EQ(answers.count_ok(), 4u);
  EXPECT_EQ(store->submissions().count_submissions_blocking("contact").value(), 4u);
}

TEST(StoreGroupCommit, CloseAnswersEverythingPendingAndCommitsIt) {
  TestDatabase db;
  constexpr std::uint32_t kCount = 300;
  Answers answers(kCount + 1);
  {
    StoreOptions options;
    options.max_batch = 16;  // several batches are still waiting when close() starts
    auto store = db.open(options);
    ASSERT_TRUE(store);
    add_form(*store, "contact");
    store->writer().pause_for_test();
    for (std::uint32_t i = 0; i < kCount; ++i)
      store->submissions().append_submission(make_submission("contact", i), answers.slot(i));
    store->close();  // overrides the pause, drains, joins
    EXPECT_EQ(answers.answered(), static_cast<std::size_t>(kCount));
    EXPECT_EQ(answers.count_ok(), static_cast<std::size_t>(kCount));
    EXPECT_GE(store->writer().stats().transactions, static_cast<std::int64_t>(kCount / 16));

    store->submissions().append_submission(make_submission("contact", kCount),
                                           answers.slot(kCount));
    ASSERT_TRUE(answers.result(kCount).has_value());
    ASSERT_FALSE(answers.result(kCount)->has_value());
    EXPECT_EQ(answers.result(kCount)->error().kind(), core::ErrorKind::unavailable);
    store->close();  // idempotent
  }
  for (std::size_t i = 0; i <= kCount; ++i) EXPECT_EQ(answers.calls(i), 1) << i;
  auto store = db.open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->submissions().count_submissions_blocking("contact").value(),
            static_cast<std::size_t>(kCount));
}

TEST(StoreGroupCommit, DestructorClosesToo) {
  TestDatabase db;
  Answers answers(20);
  {
    auto store = db.open();
    ASSERT_TRUE(store);
    add_form(*store, "contact");
    store->writer().pause_for_test();
    for (std::uint32_t i = 0; i < 20; ++i)
      store->submissions().append_submission(make_submission("contact", i), answers.slot(i));
  }
  EXPECT_EQ(answers.count_ok(), 20u);
  auto store = db.open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->submissions().count_submissions_blocking("contact").value(), 20u);
}

TEST(StoreGroupCommit, PruneRemovesOnlyLongExpiredNonces) {
  TestDatabase db;
  auto store = db.open();
  ASSERT_TRUE(store);
  add_form(*store, "contact");
  constexpr std::int64_t kNow = 1'900'000'000;
  Answers answers(3);
  auto long_expired = make_submission("contact", 1);
  long_expired.token_expires_at = kNow - 3600;
  auto just_expired = make_submission("contact", 2);
  just_expired.token_expires_at = kNow - 10;  // within the grace period: kept
  auto valid = make_submission("contact", 3);
  valid.token_expires_at = kNow + 3600;
  store->submissions().append_submission(long_expired, answers.slot(0));
  store->submissions().append_submission(just_expired, answers.slot(1));
  store->submissions().append_submission(valid, answers.slot(2));
  ASSERT_TRUE(answers.wait_all());
  ASSERT_EQ(answers.count_ok(), 3u);

  ASSERT_TRUE(store->writer().prune_used_tokens_for_test(kNow).has_value());
  EXPECT_FALSE(store->submissions().token_used_blocking(nonce_of(1)).value());
  EXPECT_TRUE(store->submissions().token_used_blocking(nonce_of(2)).value());
  EXPECT_TRUE(store->submissions().token_used_blocking(nonce_of(3)).value());
  EXPECT_EQ(store->submissions().count_submissions_blocking("contact").value(),
            3u);  // submissions stay
}

}  // namespace
}  // namespace store::test
