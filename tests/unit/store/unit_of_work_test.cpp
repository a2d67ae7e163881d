// The unit of work (Store::transact_blocking): every aggregate's statements made through
// `tx` commit together or not at all, on either engine. The portal and the CLI rely on it to
// write a change and its audit entry as one.

#include <atomic>
#include <thread>

#include "test_util.hpp"

namespace store::test {
namespace {

AuditRow entry_after(const std::optional<AuditRow>& last, const std::string& object) {
  AuditRow row;
  row.seq = last ? last->seq + 1 : 1;
  row.time = 1'800'000'000 + row.seq;
  row.actor = "admin@clinic.example";
  row.action = "grant.add";
  row.object = object;
  row.source = "192.0.2.7";
  row.outcome = "ok";
  row.prev_hash = last ? last->hash : std::string(64, '0');
  row.hash = "h" + std::to_string(row.seq);
  return row;
}

class StoreUnitOfWork : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = db_.open();
    ASSERT_TRUE(store_);
    add_form(*store_, "intake");
    auto id = store_->accounts().create_user_blocking("nurse@clinic.example", 1, 100);
    ASSERT_TRUE(id);
    user_ = *id;
  }
  std::size_t grants() { return store_->accounts().list_grants_blocking(user_).value().size(); }
  std::int64_t audit_rows() { return store_->audit().audit_count_blocking().value(); }

  TestDatabase db_;
  std::unique_ptr<detail::SqlStore> store_;
  std::int64_t user_ = 0;
};

TEST_F(StoreUnitOfWork, AChangeAndItsEntryCommitTogether) {
  auto status = store_->transact_blocking("grant", [&](Store& tx) -> core::Status {
    if (auto s = tx.accounts().add_grant_blocking({user_, "intake", 200, user_}); !s) return s;
    auto v = tx.forms().add_form_version_blocking("intake", "id = \"intake\"\n", 200, {"F"});
    if (!v) return core::fail(v.error());
    auto row = tx.audit().append_audit_blocking(
        [](const std::optional<AuditRow>& last) { return entry_after(last, "form:intake"); });
    if (!row) return core::fail(row.error());
    // Inside the unit its own writes are visible.
    EXPECT_EQ(tx.accounts().list_grants_blocking(user_).value().size(), 1u);
    return core::ok();
  });
  ASSERT_TRUE(status) << status.error().detail();
  EXPECT_EQ(grants(), 1u);
  EXPECT_EQ(audit_rows(), 1);
  EXPECT_EQ(store_->forms().latest_form_blocking("intake").value()->version, 2);
}

TEST_F(StoreUnitOfWork, AFailureRollsBackEveryAggregate) {
  const auto generation = store_->forms().config_generation_blocking().value();
  auto status = store_->transact_blocking("grant", [&](Store& tx) -> core::Status {
    if (auto s = tx.accounts().add_grant_blocking({user_, "intake", 200, user_}); !s) return s;
    if (auto v = tx.forms().add_form_version_blocking("intake", "id = \"intake\"\n", 200, {}); !v)
      return core::fail(v.error());
    auto row = tx.audit().append_audit_blocking(
        [](const std::optional<AuditRow>& last) { return entry_after(last, "form:intake"); });
    if (!row) return core::fail(row.error());
    // The change's own check refuses it after everything was written.
    return core::fail(core::ErrorKind::conflict, "refused", "the last administrator");
  });
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().kind(), core::ErrorKind::conflict);
  EXPECT_EQ(status.error().public_text(), "refused");
  EXPECT_EQ(grants(), 0u);
  EXPECT_EQ(audit_rows(), 0);
  EXPECT_EQ(store_->forms().latest_form_blocking("intake").value()->version, 1);
  EXPECT_EQ(store_->forms().config_generation_blocking().value(), generation);
}

TEST_F(StoreUnitOfWork, AFailedStatementRollsBackWhatCameBefore) {
  auto status = store_->transact_blocking("grant", [&](Store& tx) -> core::Status {
    if (auto s = tx.accounts().add_grant_blocking({user_, "intake", 200, user_}); !s) return s;
    // A grant for a user who does not exist: the database refuses it.
    return tx.accounts().add_grant_blocking({user_ + 1000, "intake", 200, user_});
  });
  ASSERT_FALSE(status);
  EXPECT_EQ(grants(), 0u);
}

TEST_F(StoreUnitOfWork, NestedUnitsJoinTheOuterOne) {
  auto status = store_->transact_blocking("outer", [&](Store& tx) -> core::Status {
    auto inner = tx.transact_blocking("inner", [&](Store& tx2) {
      return tx2.accounts().add_grant_blocking({user_, "intake", 200, user_});
    });
    if (!inner) return inner;
    return core::fail(core::ErrorKind::conflict, "refused");
  });
  ASSERT_FALSE(status);
  EXPECT_EQ(grants(), 0u) << "the inner unit committed on its own";
}

TEST_F(StoreUnitOfWork, ASubmissionCannotBeAppendedInsideOne) {
  std::optional<core::Status> appended;
  auto status = store_->transact_blocking("append", [&](Store& tx) -> core::Status {
    tx.submissions().append_submission(make_submission("intake", 1),
                                       [&](core::Status s) { appended = std::move(s); });
    return core::ok();
  });
  ASSERT_TRUE(status);
  ASSERT_TRUE(appended.has_value());
  ASSERT_FALSE(*appended);
  EXPECT_EQ(appended->error().kind(), core::ErrorKind::internal);
  EXPECT_EQ(store_->submissions().count_submissions_blocking("intake").value(), 0u);
}

// Two units that each read the chain's head and append after it, from two stores (two
// processes or nodes) at once: one chain, no fork, every entry once.
TEST_F(StoreUnitOfWork, ConcurrentUnitsExtendOneChain) {
  auto other = db_.open();
  ASSERT_TRUE(other);
  constexpr int kEach = 20;
  std::atomic<int> failures{0};
  auto run = [&](Store& store, const std::string& who) {
    for (int i = 0; i < kEach; ++i) {
      auto s = store.transact_blocking("append", [&](Store& tx) -> core::Status {
        auto row = tx.audit().append_audit_blocking([&](const std::optional<AuditRow>& last) {
          return entry_after(last, who + std::to_string(i));
        });
        if (!row) return core::fail(row.error());
        return core::ok();
      });
      if (!s) ++failures;
    }
  };
  std::thread a([&] { run(*store_, "a"); });
  std::thread b([&] { run(*other, "b"); });
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  auto rows = store_->audit().list_audit_blocking(0, 1000).value();
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(2 * kEach));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].seq, static_cast<std::int64_t>(i + 1));
    if (i > 0) {
      EXPECT_EQ(rows[i].prev_hash, rows[i - 1].hash);
    }
  }
}

}  // namespace
}  // namespace store::test
