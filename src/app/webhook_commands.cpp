// `sealpost webhook`. Trust: the operator's arguments (the URL is parsed strictly). The
// secret is printed once to stdout and never logged; the store keeps it sealed.
#include "app/webhook_commands.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "app/cli_support.hpp"
#include "app/commands.hpp"
#include "app/data_dir.hpp"
#include "app/files.hpp"
#include "core/encoding.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "crypto/seal.hpp"
#include "mail/queue/status.hpp"
#include "mail/tlsrpt/record.hpp"
#include "webhooks/event.hpp"
#include "webhooks/signature.hpp"

namespace app {

namespace {

constexpr std::size_t kMaxNameBytes = 64;
// A URL longer than this is refused: it is sent as a request line, and nobody needs more.
constexpr std::size_t kMaxUrlBytes = 2048;
// Deliveries `webhook show` lists, newest first.
constexpr std::size_t kShowDeliveries = 50;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

int run_webhook_add(const std::string& data_dir, const std::string& url, const std::string& events,
                    const std::string& name) {
  if (url.size() > kMaxUrlBytes) return fail_line("--url is too long");
  if (url.rfind("http:", 0) == 0 || url.rfind("HTTP:", 0) == 0) {
    return fail_line("--url must be an https:// URL (plain http is refused)");
  }
  auto parsed = mail::tlsrpt::parse_https_url(url);
  if (!parsed) {
    return fail_line(
        "--url is not a valid https URL (https://host[:port]/path, a DNS name as host, no user "
        "info, no spaces)");
  }
  if (name.size() > kMaxNameBytes || !core::is_valid_utf8(name) ||
      std::any_of(name.begin(), name.end(),
                  [](unsigned char c) { return c < 0x20 || c == 0x7F; })) {
    return fail_line(fmt::format("--name must be one line of at most {} bytes", kMaxNameBytes));
  }
  auto types = webhooks::parse_event_list(events);
  if (!types) return fail_line("--events: " + types.error().public_text());

  DataDir dir(data_dir);
  core::SystemRng rng;
  // The server must keep the secret to sign with it: sealed under the queue's key (the key
  // every node already shares for the mail queue), never in the clear in the database.
  auto seal_key = load_or_create_seal_key(dir.queue_key(), rng);
  if (!seal_key) return fail_line(seal_key.error().public_text());
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  core::SystemClock clock;
  std::array<std::uint8_t, 10> id_bytes{};
  rng.fill(id_bytes);
  const std::string id = "wh_" + core::crockford_base32(id_bytes, 16);
  auto secret = webhooks::new_secret(rng);
  const store::WebhookRecord record{.id = id,
                                    .name = name,
                                    .url = parsed->target,
                                    .events = *types,
                                    .sealed_secret = crypto::seal(*seal_key, secret, rng),
                                    .created_at = core::unix_seconds(clock.now()),
                                    .created_by = cli_actor(),
                                    .removed_at = std::nullopt};
  if (auto s = (*audit)->change("add webhook", "webhook.add",
                                [&](store::Store& tx) -> core::Result<std::string> {
                                  if (auto a = tx.webhooks().add_webhook_blocking(record); !a)
                                    return core::fail(a.error());
                                  return "webhook:" + id + " host:" + parsed->host +
                                         " events:" + join(*types);
                                });
      !s) {
    return fail_line(s.error().public_text());
  }
  if (auto s = (*audit)->finish(); !s) return fail_line(s.error().public_text());
  (*store)->close();
  std::fprintf(stderr,
               "webhook %s to %s, events %s. Its signing secret (Standard Webhooks) is shown "
               "only now:\n",
               id.c_str(), core::log_safe(parsed->host).c_str(), join(*types).c_str());
  const std::string text = webhooks::secret_text(secret);
  std::printf("%s\n%s\n", id.c_str(), text.c_str());
  std::fflush(stdout);
  return 0;
}

int run_webhook_list(const std::string& data_dir) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto hooks = (*store)->webhooks().list_webhooks_blocking();
  if (!hooks) return fail_line(hooks.error().public_text());
  auto summary = (*store)->webhooks().summary_blocking();
  if (!summary) return fail_line(summary.error().public_text());
  if (hooks->empty()) std::printf("no webhooks\n");
  for (const auto& w : *hooks) {
    store::WebhookSummary counts;
    for (const auto& s : *summary) {
      if (s.webhook_id == w.id) counts = s;
    }
    std::printf("%s %s %s events:%s pending:%lld delivered:%lld failed:%lld created:%s name:%s\n",
                w.id.c_str(), w.removed_at ? "removed" : "active", core::log_safe(w.url).c_str(),
                join(w.events).c_str(), static_cast<long long>(counts.pending),
                static_cast<long long>(counts.delivered), static_cast<long long>(counts.failed),
                mail::queue::utc_time_text(w.created_at).c_str(), core::log_safe(w.name).c_str());
  }
  (*store)->close();
  return 0;
}

int run_webhook_show(const std::string& data_dir, const std::string& id) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto hook = (*store)->webhooks().find_webhook_blocking(id);
  if (!hook) return fail_line(hook.error().public_text());
  if (!*hook) return fail_line("there is no webhook " + core::log_safe(id));
  const auto& w = **hook;
  std::printf("%s %s %s events:%s created:%s by:%s name:%s\n", w.id.c_str(),
              w.removed_at ? "removed" : "active", core::log_safe(w.url).c_str(),
              join(w.events).c_str(), mail::queue::utc_time_text(w.created_at).c_str(),
              core::log_safe(w.created_by).c_str(), core::log_safe(w.name).c_str());
  auto deliveries = (*store)->webhooks().list_deliveries_blocking(id, kShowDeliveries);
  if (!deliveries) return fail_line(deliveries.error().public_text());
  for (const auto& d : *deliveries) {
    std::printf("  %s %s %s attempts:%d status:%s next:%s error:%s\n", d.event_id.c_str(),
                d.type.c_str(), std::string(store::webhook_delivery_state_name(d.state)).c_str(),
                d.attempts, d.last_status ? std::to_string(*d.last_status).c_str() : "-",
                d.state == store::WebhookDeliveryState::pending
                    ? mail::queue::utc_time_text(d.next_attempt_at).c_str()
                    : "-",
                d.last_error.empty() ? "-" : core::log_safe(d.last_error).c_str());
  }
  (*store)->close();
  return 0;
}

int run_webhook_remove(const std::string& data_dir, const std::string& id) {
  core::SystemClock clock;
  const std::int64_t now = core::unix_seconds(clock.now());
  if (auto s = run_audited_change(data_dir, "remove webhook", "webhook.remove",
                                  [&](store::Store& tx) -> core::Result<std::string> {
                                    if (auto r = tx.webhooks().remove_webhook_blocking(id, now); !r)
                                      return core::fail(r.error());
                                    return "webhook:" + id;
                                  });
      !s) {
    return fail_line(s.error().public_text() + " (" + core::log_safe(id) + ")");
  }
  std::printf("removed webhook %s (its pending deliveries are cancelled)\n", id.c_str());
  return 0;
}

}  // namespace app
