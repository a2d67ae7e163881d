#include "app/cli_support.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include "app/config.hpp"
#include "app/files.hpp"
#include "app/store_setup.hpp"
#include "core/encoding.hpp"
#include "crypto/hmac.hpp"

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

std::string secret_fingerprint(std::span<const std::uint8_t> secret) {
  static constexpr std::string_view kLabel = "sealpost-node-secret-fingerprint-v1";
  const auto mac = crypto::hmac_sha256(
      secret, std::span(reinterpret_cast<const std::uint8_t*>(kLabel.data()), kLabel.size()));
  return core::to_hex(mac);
}

core::Status claim_node_secret_blocking(store::Store& store, std::string_view name,
                                        const std::filesystem::path& file,
                                        const core::SecretBytes& secret, std::int64_t now) {
  const std::string fingerprint = secret_fingerprint(secret.view());
  auto recorded =
      store.cluster().claim_secret_fingerprint_blocking(std::string(name), fingerprint, now);
  if (!recorded) return core::fail(std::move(recorded).error());
  if (recorded->fingerprint != fingerprint) {
    return core::fail(
        core::ErrorKind::invalid_input,
        fmt::format("{} is not the one the other nodes of this database use (recorded {}); "
                    "copy secrets/ and server-signing-key.asc from a running node "
                    "(docs/OPERATIONS.md, several nodes)",
                    file.string(), recorded->recorded_at));
  }
  return core::ok();
}

}  // namespace app
