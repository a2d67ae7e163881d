// Opening the SQLite store: file mode, WAL, migrations, refusal of a newer schema.

#include <sys/stat.h>

#include <fstream>

#include "test_util.hpp"

namespace store::test {
namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

TEST(SqliteOpen, CreatesFileWithMode0600InWalMode) {
  TempDir dir;
  const auto path = dir.file("store.db");
  const mode_t old_umask = ::umask(0);  // the most permissive umask must not leak through
  auto store = open_or_die(path);
  ::umask(old_umask);
  ASSERT_TRUE(store);
  add_form(*store, "contact");  // a write, so that the -wal file exists

  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(mode_of(path + "-wal"), 0600u);
  EXPECT_EQ(mode_of(path + "-shm"), 0600u);
  EXPECT_EQ(raw_query(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw_query(path, "PRAGMA user_version"),
            std::to_string(engine::sqlite::schema_version()));
}

TEST(SqliteOpen, ReopenKeepsData) {
  TempDir dir;
  const auto path = dir.file("store.db");
  {
    auto store = open_or_die(path);
    ASSERT_TRUE(store);
    add_form(*store, "contact");
    Answers answers(1);
    store->submissions().append_submission(make_submission("contact", 7), answers.slot(0));
    ASSERT_TRUE(answers.wait_all());
    ASSERT_TRUE(answers.result(0)->has_value());
  }
  auto store = open_or_die(path);
  ASSERT_TRUE(store);
  auto count = store->submissions().count_submissions_blocking("contact");
  ASSERT_TRUE(count.has_value());
  EXPECT_EQ(*count, 1u);
  auto form = store->forms().latest_form_blocking("contact");
  ASSERT_TRUE(form.has_value());
  ASSERT_TRUE(form->has_value());
  EXPECT_EQ((*form)->version, 1);
  auto used = store->submissions().token_used_blocking(nonce_of(7));
  ASSERT_TRUE(used.has_value());
  EXPECT_TRUE(*used);
}

TEST(SqliteOpen, MigrationsAreIdempotent) {
  TempDir dir;
  const auto path = dir.file("store.db");
  std::int64_t generation = 0;
  {
    auto store = open_or_die(path);
    ASSERT_TRUE(store);
    add_form(*store, "contact");
    generation = store->forms().config_generation_blocking().value();
  }
  const auto schema = raw_query(path, "SELECT group_concat(sql, ';') FROM sqlite_schema");
  for (int i = 0; i < 3; ++i) {
    auto store = open_or_die(path);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->forms().config_generation_blocking().value(), generation);
    EXPECT_EQ(store->forms().latest_forms_blocking().value().size(), 1u);
  }
  EXPECT_EQ(raw_query(path, "SELECT group_concat(sql, ';') FROM sqlite_schema"), schema);
  EXPECT_EQ(raw_query(path, "PRAGMA user_version"),
            std::to_string(engine::sqlite::schema_version()));
}

TEST(SqliteOpen, ANewerSchemaWithinTheCompatibilityFloorIsUsed) {
  TempDir dir;
  const auto path = dir.file("store.db");
  { ASSERT_TRUE(open_or_die(path)); }
  // A newer sealpost added something this one may ignore: its floor is still ours.
  const int newer = engine::sqlite::schema_version() + 1;
  raw_query(path, "PRAGMA user_version = " + std::to_string(newer));
  auto store = open_or_die(path);
  ASSERT_TRUE(store);
  add_form(*store, "contact");
  EXPECT_EQ(raw_query(path, "PRAGMA user_version"), std::to_string(newer));  // not lowered
}

TEST(SqliteOpen, RefusesNewerSchemaVersion) {
  TempDir dir;
  const auto path = dir.file("store.db");
  { ASSERT_TRUE(open_or_die(path)); }
  const int newer = engine::sqlite::schema_version() + 1;
  raw_query(path, "PRAGMA user_version = " + std::to_string(newer));
  // ...and this time one that older binaries must not use.
  raw_query(path, "UPDATE meta SET value = " + std::to_string(newer) +
                      " WHERE key = 'schema_compat_version'");
  ASSERT_EQ(raw_query(path, "PRAGMA user_version"), std::to_string(newer));

  auto store = open_sqlite(path);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().kind(), core::ErrorKind::invalid_input);
  EXPECT_NE(store.error().public_text().find("newer"), std::string::npos);
  // Left untouched.
  EXPECT_EQ(raw_query(path, "PRAGMA user_version"), std::to_string(newer));
}

TEST(SqliteOpen, RefusesAFileThatIsNotADatabase) {
  TempDir dir;
  const auto path = dir.file("store.db");
  {
    std::ofstream out(path);
    out << std::string(8192, 'x');
  }
  auto store = open_sqlite(path);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().kind(), core::ErrorKind::integrity);
  EXPECT_EQ(store.error().public_text().find("sqlite"), std::string::npos);
}

TEST(SqliteOpen, MissingDirectoryIsAClearError) {
  TempDir dir;
  auto store = open_sqlite(dir.file("no/such/dir/store.db"));
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().kind(), core::ErrorKind::unavailable);
  EXPECT_EQ(store.error().public_text(), "the database file cannot be opened");
}

// ---- migration 3 on a schema-2 database ----

TEST(SqliteOpen, OpensADatabaseOfSchemaTwoAndKeepsItsData) {
  TempDir dir;
  const auto path = dir.file("old.db");
  {
    ASSERT_TRUE(engine::sqlite::migrate_to_for_test(path, 2).has_value());
    ASSERT_EQ(raw_query(path, "PRAGMA user_version"), "2");
    // What a schema-2 sealpost wrote: a form, a submission, a key, an audit entry.
    for (const char* sql : {
             "INSERT INTO form_state (form_id, enabled) VALUES ('contact', 1)",
             "INSERT INTO forms (form_id, version, declaration, created_at) "
             "VALUES ('contact', 1, 'v1', 100)",
             "INSERT INTO forms (form_id, version, declaration, created_at) "
             "VALUES ('contact', 2, 'v2', 200)",
             "INSERT INTO submissions (reference, form_id, form_version, received_at, "
             "ciphertext, recipients) VALUES ('R-1', 'contact', 2, 300, x'00ff10', '[\"F1\"]')",
             "INSERT INTO keys (fingerprint, armored, user_ids, created_at, expires_at, "
             "imported_at) VALUES ('F1', 'armor', '[\"Ann\"]', 1, NULL, 2)",
             "INSERT INTO audit (seq, time, actor, action, object, source, outcome, prev_hash, "
             "hash) VALUES (1, 400, 'cli:root', 'form.add', 'form:contact v 2', 'local', 'ok', "
             "'0', 'h1')",
             "UPDATE meta SET value = 7 WHERE key = 'config_generation'",
         }) {
      raw_query(path, sql);
    }
  }

  auto store = open_or_die(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(raw_query(path, "PRAGMA user_version"),
            std::to_string(engine::sqlite::schema_version()));
  EXPECT_EQ(store->forms().config_generation_blocking().value(), 7);

  auto forms = store->forms().latest_forms_blocking().value();
  ASSERT_EQ(forms.size(), 1u);
  EXPECT_EQ(forms[0].version, 2);
  EXPECT_EQ(forms[0].declaration, "v2");
  EXPECT_TRUE(forms[0].granted_recipients.empty());
  EXPECT_TRUE(
      store->forms().form_version_blocking("contact", 1).value()->granted_recipients.empty());

  auto sub = store->submissions().get_submission_blocking("contact", "R-1").value();
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(sub->ciphertext, (std::vector<std::uint8_t>{0x00, 0xff, 0x10}));
  EXPECT_EQ(sub->meta.recipients, std::vector<std::string>{"F1"});
  SubmissionQuery q;
  q.form_id = "contact";
  EXPECT_EQ(store->submissions().query_submissions_blocking(q).value().size(), 1u);
  EXPECT_EQ(store->forms().find_key_blocking("F1").value()->user_ids,
            std::vector<std::string>{"Ann"});
  auto audit = store->audit().query_audit_blocking({}).value();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].hash, "h1");

  // The new tables work on the migrated file, and an old form can be granted.
  const auto id =
      store->accounts().create_user_blocking("ann@example.org", unsigned(Role::staff), 500);
  ASSERT_TRUE(id.has_value());
  ASSERT_TRUE(store->accounts().add_grant_blocking({*id, "contact", 500, 0}).has_value());
  EXPECT_EQ(store->forms().add_form_version_blocking("contact", "v2", 500, {"F1"}).value(), 3);
  EXPECT_EQ(store->forms().latest_form_blocking("contact").value()->granted_recipients,
            std::vector<std::string>{"F1"});
  Answers answers(1);
  auto next = make_submission("contact", 1);
  next.form_version = 3;
  store->submissions().append_submission(next, answers.slot(0));
  ASSERT_TRUE(answers.wait_all());
  EXPECT_TRUE(answers.result(0)->has_value());
}

}  // namespace
}  // namespace store::test
