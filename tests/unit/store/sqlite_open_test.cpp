// Opening the SQLite store: file mode, WAL, migrations, refusal of a newer schema.

#include <sys/stat.h>

#include <fstream>

#include "store/sqlite/detail/schema.hpp"
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
            std::to_string(sqlite::detail::schema_version()));
}

TEST(SqliteOpen, ReopenKeepsData) {
  TempDir dir;
  const auto path = dir.file("store.db");
  {
    auto store = open_or_die(path);
    ASSERT_TRUE(store);
    add_form(*store, "contact");
    Answers answers(1);
    store->append_submission(make_submission("contact", 7), answers.slot(0));
    ASSERT_TRUE(answers.wait_all());
    ASSERT_TRUE(answers.result(0)->has_value());
  }
  auto store = open_or_die(path);
  ASSERT_TRUE(store);
  auto count = store->count_submissions_blocking("contact");
  ASSERT_TRUE(count.has_value());
  EXPECT_EQ(*count, 1u);
  auto form = store->latest_form_blocking("contact");
  ASSERT_TRUE(form.has_value());
  ASSERT_TRUE(form->has_value());
  EXPECT_EQ((*form)->version, 1);
  auto used = store->token_used_blocking(nonce_of(7));
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
    generation = store->config_generation_blocking().value();
  }
  const auto schema = raw_query(path, "SELECT group_concat(sql, ';') FROM sqlite_schema");
  for (int i = 0; i < 3; ++i) {
    auto store = open_or_die(path);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->config_generation_blocking().value(), generation);
    EXPECT_EQ(store->latest_forms_blocking().value().size(), 1u);
  }
  EXPECT_EQ(raw_query(path, "SELECT group_concat(sql, ';') FROM sqlite_schema"), schema);
  EXPECT_EQ(raw_query(path, "PRAGMA user_version"),
            std::to_string(sqlite::detail::schema_version()));
}

TEST(SqliteOpen, RefusesNewerSchemaVersion) {
  TempDir dir;
  const auto path = dir.file("store.db");
  { ASSERT_TRUE(open_or_die(path)); }
  const int newer = sqlite::detail::schema_version() + 1;
  raw_query(path, "PRAGMA user_version = " + std::to_string(newer));
  ASSERT_EQ(raw_query(path, "PRAGMA user_version"), std::to_string(newer));

  auto store = SqliteStore::open_blocking(path, {});
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
  auto store = SqliteStore::open_blocking(path, {});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().kind(), core::ErrorKind::integrity);
  EXPECT_EQ(store.error().public_text().find("sqlite"), std::string::npos);
}

TEST(SqliteOpen, MissingDirectoryIsAClearError) {
  TempDir dir;
  auto store = open_sqlite_store(dir.file("no/such/dir/store.db"), {});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().kind(), core::ErrorKind::unavailable);
  EXPECT_EQ(store.error().public_text(), "the database file cannot be opened");
}

}  // namespace
}  // namespace store::test
