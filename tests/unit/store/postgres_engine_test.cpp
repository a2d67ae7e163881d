// The PostgreSQL engine's own behaviour: URIs and passwords, the schema on a new database,
// a database down and back (nodes recover without a restart), two stores (two nodes) on
// one database keeping single-use tokens single-use.

#include "store/engine/postgres/postgres_engine.hpp"

#include <thread>

#include "test_util.hpp"

namespace store::test {
namespace {

TEST(PostgresUri, ShapeIsChecked) {
  EXPECT_TRUE(
      engine::postgres::check_uri("postgresql://sealpost@db.internal:5432/sealpost").has_value());
  EXPECT_TRUE(
      engine::postgres::check_uri("postgresql://sealpost@db.internal/sealpost?sslmode=verify-full")
          .has_value());
  auto not_pg = engine::postgres::check_uri("mysql://x@y/z");
  ASSERT_FALSE(not_pg.has_value());
  EXPECT_EQ(not_pg.error().kind(), core::ErrorKind::invalid_input);
  auto garbage = engine::postgres::check_uri("postgresql://host/db?nosuchoption=1");
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().kind(), core::ErrorKind::invalid_input);
}

TEST(PostgresUri, APasswordInTheUriIsRefusedAndNeverEchoed) {
  auto r = engine::postgres::check_uri("postgresql://sealpost:hunter2secret@db/sealpost");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().public_text().find("password"), std::string::npos);
  EXPECT_EQ(r.error().public_text().find("hunter2secret"), std::string::npos);
  EXPECT_EQ(r.error().detail().find("hunter2secret"), std::string::npos);
  EXPECT_EQ(engine::postgres::describe_uri("postgresql://sealpost@db:5432/x?sslmode=require"),
            "postgresql://sealpost@db:5432/x");
}

TEST(PostgresOpen, WrongPasswordIsUnavailableWithoutTheSecret) {
  TestDatabase db(engine::Dialect::postgres);
  StoreOptions options = db.options();
  options.password = core::SecretBytes(std::string_view("not-the-password-xyzzy"));
  auto store = detail::open_sql_store_blocking(options);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().kind(), core::ErrorKind::unavailable);
  EXPECT_EQ(store.error().detail().find("xyzzy"), std::string::npos);
}

TEST(PostgresOpen, UnreachableServerIsUnavailable) {
  StoreOptions options;
  options.database = "postgresql://sealpost@127.0.0.1:1/sealpost?connect_timeout=2";
  auto store = detail::open_sql_store_blocking(options);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().kind(), core::ErrorKind::unavailable);
}

TEST(PostgresOpen, MigratesOnceAndRefusesANewerSchema) {
  TestDatabase db(engine::Dialect::postgres);
  { ASSERT_TRUE(db.open()); }
  { ASSERT_TRUE(db.open()); }  // idempotent
  EXPECT_EQ(db.raw("SELECT value FROM meta WHERE key = 'schema_version'"),
            std::to_string(engine::postgres::schema_version()));
  const int newer = engine::postgres::schema_version() + 1;
  db.raw("UPDATE meta SET value = " + std::to_string(newer) + " WHERE key = 'schema_version'");
  // Within the compatibility floor: used as it is.
  { ASSERT_TRUE(db.open()); }
  db.raw("UPDATE meta SET value = " + std::to_string(newer) +
         " WHERE key = 'schema_compat_version'");
  auto store = detail::open_sql_store_blocking(db.options());
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().kind(), core::ErrorKind::invalid_input);
  EXPECT_NE(store.error().public_text().find("newer"), std::string::npos);
}

TEST(PostgresNodes, ATokenIsAcceptedOnceAcrossTwoStores) {
  TestDatabase db(engine::Dialect::postgres);
  auto a = db.open();
  auto b = db.open();
  ASSERT_TRUE(a && b);
  add_form(*a, "contact");
  // The same 50 tokens submitted at once through both "nodes": each is stored once.
  constexpr std::uint32_t kCount = 50;
  Answers answers(2 * kCount);
  a->writer().pause_for_test();
  b->writer().pause_for_test();
  for (std::uint32_t i = 0; i < kCount; ++i) {
    a->submissions().append_submission(make_submission("contact", i), answers.slot(i));
    auto replay = make_submission("contact", i);
    replay.reference += "-replay";
    b->submissions().append_submission(replay, answers.slot(kCount + i));
  }
  a->writer().resume_for_test();
  b->writer().resume_for_test();
  ASSERT_TRUE(answers.wait_all());
  EXPECT_EQ(answers.count_ok(), kCount);
  EXPECT_EQ(answers.count_kind(core::ErrorKind::conflict), kCount);
  EXPECT_EQ(a->submissions().count_submissions_blocking("contact").value(), kCount);
}

TEST(PostgresRecovery, ADatabaseRestartIsSurvivedWithoutReopening) {
  TestDatabase db(engine::Dialect::postgres);
  auto store = db.open();
  ASSERT_TRUE(store);
  add_form(*store, "contact");
  {
    Answers before(1);
    store->submissions().append_submission(make_submission("contact", 1), before.slot(0));
    ASSERT_TRUE(before.wait_all());
    ASSERT_TRUE(before.result(0)->has_value());
  }
  // Every connection of this database is killed, as a restart or failover would.
  ASSERT_EQ(pg_admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                     db.uri().substr(db.uri().rfind('/') + 1) + "' AND pid <> pg_backend_pid()"),
            "");
  // Reads recover on the next call (the pool drops the dead connection and retries).
  EXPECT_EQ(store->submissions().count_submissions_blocking("contact").value(), 1u);
  // The writer's first batch after the loss may be refused (unavailable: nothing stored);
  // the next one goes through on a new connection.
  bool stored = false;
  for (std::uint32_t attempt = 0; attempt < 3 && !stored; ++attempt) {
    Answers after(1);
    store->submissions().append_submission(make_submission("contact", 2), after.slot(0));
    ASSERT_TRUE(after.wait_all());
    if (after.result(0)->has_value()) {
      stored = true;
    } else {
      EXPECT_EQ(after.result(0)->error().kind(), core::ErrorKind::unavailable);
    }
  }
  EXPECT_TRUE(stored);
  EXPECT_EQ(store->submissions().count_submissions_blocking("contact").value(), 2u);
}

}  // namespace
}  // namespace store::test
