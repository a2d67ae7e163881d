// The audit tables: append in one write transaction (one chain even with two stores, i.e.
// two processes, appending at once), listing, checkpoints. The hashes here are stand-ins;
// the real chain hashing is audit/'s and is tested there.

#include <thread>

#include "test_util.hpp"

namespace store::test {
namespace {

AuditRow next_row(const std::optional<AuditRow>& last, const std::string& object) {
  AuditRow row;
  row.seq = last ? last->seq + 1 : 1;
  row.time = 1'800'000'000 + row.seq;
  row.actor = "cli:test";
  row.action = "form.add";
  row.object = object;
  row.source = "local";
  row.outcome = "ok";
  row.prev_hash = last ? last->hash : std::string(64, '0');
  row.hash = "h" + std::to_string(row.seq) + "<" + row.prev_hash.substr(0, 8);
  return row;
}

TEST(StoreAudit, AppendListLastCount) {
  TestDatabase db;
  auto store = db.open();
  ASSERT_TRUE(store);
  auto count = store->audit().audit_count_blocking();
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 0);
  auto none = store->audit().last_audit_blocking();
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());

  // Text that would be SQL if it were spliced: it must come back verbatim.
  const std::string tricky = "form:x'); DROP TABLE audit; -- v 1";
  for (int i = 0; i < 5; ++i) {
    bool saw_last = false;
    auto row = store->audit().append_audit_blocking([&](const std::optional<AuditRow>& last) {
      saw_last = last.has_value();
      return next_row(last, i == 2 ? tricky : "form:f v " + std::to_string(i));
    });
    ASSERT_TRUE(row) << row.error().detail();
    EXPECT_EQ(row->seq, i + 1);
    EXPECT_EQ(saw_last, i > 0);
  }
  auto rows = store->audit().list_audit_blocking(0, 100);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 5u);
  EXPECT_EQ((*rows)[2].object, tricky);
  for (std::size_t i = 1; i < rows->size(); ++i) {
    EXPECT_EQ((*rows)[i].seq, (*rows)[i - 1].seq + 1);
    EXPECT_EQ((*rows)[i].prev_hash, (*rows)[i - 1].hash);
  }
  auto page = store->audit().list_audit_blocking(2, 2);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ(page->front().seq, 3);
  auto last = store->audit().last_audit_blocking();
  ASSERT_TRUE(last && last->has_value());
  EXPECT_EQ((*last)->seq, 5);
  EXPECT_EQ(*store->audit().audit_count_blocking(), 5);
}

TEST(StoreAudit, DuplicateSeqIsAConflictAndStoresNothing) {
  TestDatabase db;
  auto store = db.open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(
      store->audit().append_audit_blocking([](const auto& last) { return next_row(last, "a"); }));
  auto dup =
      store->audit().append_audit_blocking([](const auto&) { return next_row(std::nullopt, "b"); });
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().kind(), core::ErrorKind::conflict);
  EXPECT_EQ(*store->audit().audit_count_blocking(), 1);
}

TEST(StoreAudit, TwoStoresOnOneFileKeepOneChain) {
  TestDatabase db;
  auto a = db.open();
  auto b = db.open();
  ASSERT_TRUE(a && b);
  constexpr int kEach = 40;
  std::atomic<int> failures{0};
  auto worker = [&](detail::SqlStore& store, const std::string& who) {
    for (int i = 0; i < kEach; ++i) {
      auto row = store.audit().append_audit_blocking(
          [&](const std::optional<AuditRow>& last) { return next_row(last, who); });
      if (!row) ++failures;
    }
  };
  std::thread t1(worker, std::ref(*a), "a");
  std::thread t2(worker, std::ref(*b), "b");
  t1.join();
  t2.join();
  EXPECT_EQ(failures.load(), 0);
  auto rows = a->audit().list_audit_blocking(0, 1000);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u * kEach);
  for (std::size_t i = 0; i < rows->size(); ++i) {
    EXPECT_EQ((*rows)[i].seq, static_cast<std::int64_t>(i + 1));
    if (i > 0) {
      EXPECT_EQ((*rows)[i].prev_hash, (*rows)[i - 1].hash) << i;
    }
  }
}

TEST(StoreAudit, Checkpoints) {
  TestDatabase db;
  auto store = db.open();
  ASSERT_TRUE(store);
  auto empty = store->audit().list_audit_checkpoints_blocking();
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  ASSERT_TRUE(store->audit().add_audit_checkpoint_blocking({10, "h10", 1'800'000'010, "sig10"}));
  ASSERT_TRUE(store->audit().add_audit_checkpoint_blocking({5, "h5", 1'800'000'005, "sig5"}));
  // A second checkpoint at the same count keeps the first.
  ASSERT_TRUE(store->audit().add_audit_checkpoint_blocking({10, "other", 1, "other"}));
  auto list = store->audit().list_audit_checkpoints_blocking();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].count, 5);
  EXPECT_EQ((*list)[1].count, 10);
  EXPECT_EQ((*list)[1].head_hash, "h10");
  EXPECT_EQ((*list)[1].signature, "sig10");
  EXPECT_EQ((*list)[1].time, 1'800'000'010);
}

}  // namespace
}  // namespace store::test
