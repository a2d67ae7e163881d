#pragma once
// Shared helpers for the store tests: a temp dir, submissions, and a collector of `done`
// answers that checks each callback runs exactly once.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store.hpp"

namespace store::test {

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "sealpost-store-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline TokenNonce nonce_of(std::uint32_t n) {
  TokenNonce nonce{};
  for (int i = 0; i < 4; ++i) nonce[static_cast<std::size_t>(i)] = (n >> (8 * i)) & 0xff;
  nonce[15] = 0xA5;
  return nonce;
}

inline NewSubmission make_submission(const std::string& form_id, std::uint32_t n,
                                     std::size_t ciphertext_size = 64) {
  NewSubmission s;
  s.reference = form_id + "-REF-" + std::to_string(n);
  s.form_id = form_id;
  s.form_version = 1;
  s.received_at = 1'800'000'000 + n;
  s.ciphertext.assign(ciphertext_size, static_cast<std::uint8_t>(n & 0xff));
  s.recipients = {"AAAABBBBCCCCDDDDEEEEFFFF0000111122223333",
                  "9999888877776666555544443333222211110000"};
  s.token_nonce = nonce_of(n);
  s.token_expires_at = 1'800'000'000 + 3600;
  return s;
}

// Collects the answers of `expected` appends, indexed by the caller's slot number.
class Answers {
 public:
  explicit Answers(std::size_t expected) : results_(expected), calls_(expected, 0) {}

  std::function<void(core::Status)> slot(std::size_t i) {
    return [this, i](core::Status s) {
      std::lock_guard lock(mutex_);
      ++calls_[i];
      results_[i] = std::move(s);
      ++answered_;
      cv_.notify_all();
    };
  }
  // True when every slot was answered within the timeout.
  bool wait_all(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return answered_ >= results_.size(); });
  }
  std::size_t answered() {
    std::lock_guard lock(mutex_);
    return answered_;
  }
  const std::optional<core::Status>& result(std::size_t i) { return results_[i]; }
  int calls(std::size_t i) {
    std::lock_guard lock(mutex_);
    return calls_[i];
  }
  std::size_t count_ok() {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& r : results_) n += (r && r->has_value()) ? 1 : 0;
    return n;
  }
  std::size_t count_kind(core::ErrorKind kind) {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& r : results_) n += (r && !r->has_value() && r->error().kind() == kind) ? 1 : 0;
    return n;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::optional<core::Status>> results_;
  std::vector<int> calls_;
  std::size_t answered_ = 0;
};

inline std::unique_ptr<SqliteStore> open_or_die(const std::string& path,
                                                SqliteOptions options = {}) {
  auto store = SqliteStore::open_blocking(path, options);
  if (!store) {
    ADD_FAILURE() << "open failed: " << store.error().public_text() << " / "
                  << store.error().detail();
    return nullptr;
  }
  return std::move(*store);
}

// Adds version 1 of `form_id` so that submissions may reference it.
inline void add_form(Store& store, const std::string& form_id) {
  auto v =
      store.add_form_version_blocking(form_id, "id = \"" + form_id + "\"\n", 1'700'000'000, {});
  ASSERT_TRUE(v.has_value()) << v.error().detail();
}

// Runs one statement on a private connection, returning the first column of the first row.
inline std::string raw_query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

}  // namespace store::test
