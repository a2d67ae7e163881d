#include "app/cli_support.hpp"

#include <pwd.h>
#include <unistd.h>

#include "app/config.hpp"
#include "app/files.hpp"
#include "app/store_setup.hpp"

namespace app {

namespace fs = std::filesystem;
using core::ErrorKind;

std::string cli_actor() {
  const uid_t uid = ::geteuid();
  passwd pw{};
  passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr &&
      found->pw_name != nullptr && found->pw_name[0] != '\0') {
    return std::string("cli:") + found->pw_name;
  }
  return "cli:uid=" + std::to_string(uid);
}

core::Result<std::unique_ptr<store::Store>> open_store(const DataDir& dir) {
  if (!fs::exists(dir.config())) {
    return core::fail(ErrorKind::invalid_input,
                      dir.root().string() +
                          " is not a sealpost data directory (run `sealpost "
                          "init --data " +
                          dir.root().string() + "` first)");
  }
  auto config = load_config(dir);
  if (!config) return core::fail(std::move(config).error());
  return open_configured_store_blocking(dir, *config);
}

core::Status run_audited_change(
    const std::string& data_dir, std::string_view what, std::string action,
    const std::function<core::Result<std::string>(store::Store&)>& work) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return core::fail(std::move(store).error());
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return core::fail(std::move(audit).error());
  if (auto s = (*audit)->change(what, std::move(action), work); !s) return s;
  if (auto s = (*audit)->finish(); !s) return s;
  (*store)->close();
  return {};
}

}  // namespace app
