// `sealpost apikey`. Trust: the operator's arguments. The new key's secret is printed once to
// stdout and never logged or stored.
#include "app/apikey_commands.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "app/cli_support.hpp"
#include "app/commands.hpp"
#include "auth/api_key.hpp"
#include "core/encoding.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "mail/queue/status.hpp"

namespace app {

namespace {

// A label for the operator, shown by `apikey list`: one line, bounded.
constexpr std::size_t kMaxKeyNameBytes = 64;

std::string scopes_text(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& s : scopes) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

int run_apikey_add(const std::string& data_dir, const std::string& name,
                   const std::vector<std::string>& scope_args) {
  if (name.empty() || name.size() > kMaxKeyNameBytes || !core::is_valid_utf8(name) ||
      std::any_of(name.begin(), name.end(),
                  [](unsigned char c) { return c < 0x20 || c == 0x7F; })) {
    return fail_line(fmt::format("--name must be one line of 1 to {} bytes", kMaxKeyNameBytes));
  }
  std::vector<std::string> scopes;
  for (const auto& s : scope_args) {
    auto scope = auth::parse_scope(s);
    if (!scope)
      return fail_line("--scope " + core::log_safe(s) + ": " + scope.error().public_text());
    if (std::find(scopes.begin(), scopes.end(), *scope) == scopes.end()) scopes.push_back(*scope);
  }
  if (scopes.empty()) return fail_line("give at least one --scope (messages:send, messages:read)");

  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  core::SystemClock clock;
  core::SystemRng rng;
  auto key = auth::new_api_key(rng);
  const store::ApiKeyRecord record{.id = key.id,
                                   .name = name,
                                   .secret_hash = key.hash,
                                   .scopes = scopes,
                                   .created_at = core::unix_seconds(clock.now()),
                                   .created_by = cli_actor()};
  if (auto s = (*audit)->change("add api key", "apikey.add",
                                [&](store::Store& tx) -> core::Result<std::string> {
                                  if (auto a = tx.api_keys().add_api_key_blocking(record); !a)
                                    return core::fail(a.error());
                                  return "apikey:" + key.id + " scopes:" + scopes_text(scopes);
                                });
      !s) {
    return fail_line(s.error().public_text());
  }
  if (auto s = (*audit)->finish(); !s) return fail_line(s.error().public_text());
  (*store)->close();
  std::fprintf(stderr,
               "API key %s (%s), scopes %s. It is shown only now; the server keeps only its "
               "hash. Use it as: Authorization: Bearer <key>\n",
               key.id.c_str(), core::log_safe(name).c_str(), scopes_text(scopes).c_str());
  const auto text = key.key.as_string_view();
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  return 0;
}

int run_apikey_list(const std::string& data_dir) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto keys = (*store)->api_keys().list_api_keys_blocking();
  if (!keys) return fail_line(keys.error().public_text());
  if (keys->empty()) std::printf("no API keys\n");
  for (const auto& k : *keys) {
    std::printf("%s %s scopes:%s created:%s by:%s last-used:%s%s\n", k.id.c_str(),
                k.revoked_at ? "revoked" : "active", scopes_text(k.scopes).c_str(),
                mail::queue::utc_time_text(k.created_at).c_str(),
                core::log_safe(k.created_by).c_str(),
                mail::queue::utc_time_text(k.last_used_at.value_or(0)).c_str(),
                (" name:" + core::log_safe(k.name)).c_str());
  }
  (*store)->close();
  return 0;
}

int run_apikey_revoke(const std::string& data_dir, const std::string& id) {
  core::SystemClock clock;
  const std::int64_t now = core::unix_seconds(clock.now());
  if (auto s = run_audited_change(data_dir, "revoke api key", "apikey.revoke",
                                  [&](store::Store& tx) -> core::Result<std::string> {
                                    if (auto r = tx.api_keys().revoke_api_key_blocking(id, now); !r)
                                      return core::fail(r.error());
                                    return "apikey:" + id;
                                  });
      !s) {
    return fail_line(s.error().public_text() + " (" + core::log_safe(id) + ")");
  }
  std::printf("revoked API key %s\n", id.c_str());
  return 0;
}

}  // namespace app
