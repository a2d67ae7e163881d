#include "app/store_setup.hpp"

#include "app/files.hpp"

namespace app {

namespace {

// A password file larger than this is not a password.
constexpr std::size_t kMaxPasswordBytes = 1024;

}  // namespace

core::Result<std::unique_ptr<store::Store>> open_configured_store_blocking(const DataDir& dir,
                                                                           const Config& config) {
  store::StoreOptions options;
  options.sqlite_path = dir.database().string();
  options.database = config.database;
  options.pool_size = config.database_pool;
  if (!config.database.empty() && std::filesystem::exists(dir.database_password())) {
    auto password = read_secret_file(dir.database_password(), kMaxPasswordBytes);
    if (!password) return core::fail(std::move(password).error());
    // A trailing newline (echo pw > file) is not part of the password.
    std::string_view text = password->as_string_view();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    options.password = core::SecretBytes(text);
  }
  return store::open_store_blocking(options);
}

}  // namespace app
