// A failing commit (disk full, I/O error) refuses the whole batch, stores nothing of it,
// and leaves the store usable once space is back.

#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdio>

#include "test_util.hpp"

namespace store::test {
namespace {

constexpr const char* kNotStored = "the submission could not be stored; please try again";

TEST(SqliteDiskFull, FullDatabaseRefusesTheWholeBatchThenRecovers) {
  TempDir dir;
  const auto path = dir.file("store.db");
  auto store = open_or_die(path);
  ASSERT_TRUE(store);
  add_form(*store, "contact");
  const auto generation = store->forms().config_generation_blocking().value();

  ASSERT_TRUE(store->writer()
                  .with_writer_connection_for_test([](engine::Connection& c) {
                    return engine::sqlite::simulate_disk_full_for_test(c, true);
                  })
                  .has_value());
  store->writer().pause_for_test();
  constexpr std::uint32_t kCount = 10;
  Answers failing(kCount);
  for (std::uint32_t i = 0; i < kCount; ++i) {
    store->submissions().append_submission(make_submission("contact", i, 32 * 1024),
                                           failing.slot(i));
  }
  store->writer().resume_for_test();
  ASSERT_TRUE(failing.wait_all());
  for (std::uint32_t i = 0; i < kCount; ++i) {
    ASSERT_TRUE(failing.result(i).has_value());
    ASSERT_FALSE(failing.result(i)->has_value()) << i;
    EXPECT_EQ(failing.result(i)->error().kind(), core::ErrorKind::unavailable);
    EXPECT_EQ(failing.result(i)->error().public_text(), kNotStored);
    EXPECT_EQ(failing.calls(i), 1);
  }
  EXPECT_EQ(store->writer().stats().failed_batches, 1);
  EXPECT_EQ(store->submissions().count_submissions_blocking("contact").value(), 0u);
  for (std::uint32_t i = 0; i < kCount; ++i) {
    EXPECT_FALSE(store->submissions().token_used_blocking(nonce_of(i)).value());
  }

  // Space is back: the very same submissions (same nonces) now go through.
  ASSERT_TRUE(store->writer()
                  .with_writer_connection_for_test([](engine::Connection& c) {
                    return engine::sqlite::simulate_disk_full_for_test(c, false);
                  })
                  .has_value());
  Answers retry(kCount);
  for (std::uint32_t i = 0; i < kCount; ++i) {
    store->submissions().append_submission(make_submission("contact", i, 32 * 1024), retry.slot(i));
  }
  ASSERT_TRUE(retry.wait_all());
  EXPECT_EQ(retry.count_ok(), kCount);
  EXPECT_EQ(store->submissions().count_submissions_blocking("contact").value(), kCount);
  EXPECT_EQ(store->forms().config_generation_blocking().value(), generation);
}

// The real thing: the kernel refuses to grow the WAL file (RLIMIT_FSIZE, with SIGXFSZ
// ignored, makes write() fail with EFBIG), so the COMMIT itself fails with an I/O error.
// Run in a child process, since the limit applies to the whole process.
#define CHILD_CHECK(cond)                                                           \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "child check failed at line %d: %s\n", __LINE__, #cond); \
      std::exit(1);                                                                 \
    }                                                                               \
  } while (0)

[[noreturn]] void file_size_limit_scenario() {
  std::signal(SIGXFSZ, SIG_IGN);
  int code = 0;
  {
    TempDir dir;
    const auto path = dir.file("store.db");
    {
      auto opened = open_sqlite(path);
      CHILD_CHECK(opened.has_value());
      auto& store = **opened;
      CHILD_CHECK(store.forms().add_form_version_blocking("contact", "x", 1, {}).has_value());
      Answers warmup(3);
      for (std::uint32_t i = 0; i < 3; ++i) {
        store.submissions().append_submission(make_submission("contact", 100 + i), warmup.slot(i));
      }
      CHILD_CHECK(warmup.wait_all() && warmup.count_ok() == 3);

      struct stat st {};
      CHILD_CHECK(::stat((path + "-wal").c_str(), &st) == 0);
      struct rlimit old_limit {};
      CHILD_CHECK(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
      struct rlimit limit = old_limit;
      limit.rlim_cur = static_cast<rlim_t>(st.st_size) + 100;  // less than one more frame
      CHILD_CHECK(::setrlimit(RLIMIT_FSIZE, &limit) == 0);

      constexpr std::uint32_t kCount = 10;
      store.writer().pause_for_test();
      Answers failing(kCount);
      for (std::uint32_t i = 0; i < kCount; ++i) {
        store.submissions().append_submission(make_submission("contact", i, 16 * 1024),
                                              failing.slot(i));
      }
      store.writer().resume_for_test();
      CHILD_CHECK(failing.wait_all());
      CHILD_CHECK(failing.count_kind(core::ErrorKind::unavailable) == kCount);
      CHILD_CHECK(store.writer().stats().failed_batches == 1);
      CHILD_CHECK(store.submissions().count_submissions_blocking("contact").value() == 3);

      CHILD_CHECK(::setrlimit(RLIMIT_FSIZE, &old_limit) == 0);  // space is back
      Answers retry(kCount);
      for (std::uint32_t i = 0; i < kCount; ++i) {
        store.submissions().append_submission(make_submission("contact", i, 16 * 1024),
                                              retry.slot(i));
      }
      CHILD_CHECK(retry.wait_all());
      CHILD_CHECK(retry.count_ok() == kCount);
    }
    auto reopened = open_sqlite(path);
    CHILD_CHECK(reopened.has_value());
    CHILD_CHECK((*reopened)->submissions().count_submissions_blocking("contact").value() == 13);
    std::fprintf(stderr, "scenario passed\n");
  }
  std::exit(code);
}

TEST(SqliteDiskFullDeathTest, CommitFailingWithIoErrorRefusesTheBatchThenRecovers) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(file_size_limit_scenario(), ::testing::ExitedWithCode(0), "scenario passed");
}

}  // namespace
}  // namespace store::test
