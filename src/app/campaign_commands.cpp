// Trust: campaign names and templates are a form owner's text: printed through log_safe.
#include "app/campaign_commands.hpp"

#include <fmt/format.h>

#include <cstdio>

#include "app/cli_support.hpp"
#include "campaigns/campaign.hpp"
#include "campaigns/sender.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "mail/queue/status.hpp"

namespace app {
namespace {

int fail_line(std::string_view message) {
  std::fprintf(stderr, "sealpost: %.*s\n", static_cast<int>(message.size()), message.data());
  return 1;
}

std::string when(const std::optional<std::int64_t>& t) {
  return t ? mail::queue::utc_time_text(*t) : std::string("-");
}

std::string counts_text(const std::vector<std::pair<std::string, std::int64_t>>& counts) {
  std::string out;
  for (const auto& [name, n] : counts)
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name, n);
  return out.empty() ? "-" : out;
}

core::Result<store::CampaignRecord> campaign_of(store::Store& store, const std::string& id) {
  auto found = store.campaigns().find_campaign_blocking(id);
  if (!found) return core::fail(std::move(found).error());
  if (!*found) {
    return core::fail(
        core::ErrorKind::not_found,
        fmt::format("no campaign {} (sealpost campaign list shows them)", core::log_safe(id)));
  }
  return **found;
}

}  // namespace

int run_campaign_list(const std::string& data_dir) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto list = (*store)->campaigns().list_campaigns_blocking(500);
  if (!list) return fail_line(list.error().public_text());
  for (const auto& c : *list) {
    std::printf("%s %s %s purpose:%s %s\n", c.id.c_str(), c.state.c_str(),
                campaigns::approval_holds(c) ? "approved" : "not-approved", c.purpose.c_str(),
                core::log_safe(c.name).c_str());
  }
  if (list->empty()) std::printf("no campaigns\n");
  (*store)->close();
  return 0;
}

int run_campaign_status(const std::string& data_dir, const std::string& id) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto c = campaign_of(**store, id);
  if (!c) return fail_line(c.error().public_text());
  auto progress = (*store)->campaigns().progress_blocking(c->id);
  if (!progress) return fail_line(progress.error().public_text());
  const campaigns::Tally counted = campaigns::tally(*progress);
  std::printf("campaign %s \"%s\"\n", c->id.c_str(), core::log_safe(c->name).c_str());
  std::printf("  purpose %s, from %s, policy %s, %lld a minute at most\n", c->purpose.c_str(),
              c->sender.c_str(), c->policy.c_str(), static_cast<long long>(c->per_minute));
  std::printf(
      "  state %s; author %s; %s\n", c->state.c_str(), c->author.c_str(),
      campaigns::approval_holds(*c)
          ? fmt::format("approved by {} at {}", c->approver.value_or("?"), when(c->approved_at))
                .c_str()
          : "not approved as it stands");
  std::printf("  scheduled %s, started %s, finished %s\n", when(c->scheduled_at).c_str(),
              when(c->started_at).c_str(), when(c->finished_at).c_str());
  std::printf("  contacts: queued %lld (withdrawn since %lld), suppressed %lld (%s)\n",
              static_cast<long long>(counted.queued), static_cast<long long>(counted.withdrawn),
              static_cast<long long>(counted.suppressed), counts_text(counted.reasons).c_str());
  std::printf("  deliveries: %s\n", counts_text(progress->deliveries).c_str());
  if (c->started_at) {
    core::SystemClock clock;
    const std::int64_t end = c->finished_at.value_or(core::unix_seconds(clock.now()));
    const double minutes = std::max<double>(1.0, static_cast<double>(end - *c->started_at)) / 60.0;
    std::printf("  rate: %.1f messages a minute since it started\n",
                static_cast<double>(counted.queued) / minutes);
  }
  (*store)->close();
  return 0;
}

int run_campaign_stop(const std::string& data_dir, const std::string& id, bool cancel) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto c = campaign_of(**store, id);
  if (!c) return fail_line(c.error().public_text());
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  const std::string to = cancel ? "cancelled" : "paused";
  core::SystemClock clock;
  bool moved = false;
  auto s = (*audit)->change(
      cancel ? "cancel campaign" : "pause campaign", cancel ? "campaign.cancel" : "campaign.pause",
      [&](store::Store& tx) -> core::Result<std::string> {
        auto m =
            tx.campaigns().set_campaign_state_blocking(c->id, to, core::unix_seconds(clock.now()));
        if (!m) return core::fail(m.error());
        if (!*m) {
          return core::fail(
              core::ErrorKind::conflict,
              fmt::format("campaign {} is {}: it cannot become {}", c->id, c->state, to));
        }
        moved = true;
        return fmt::format("campaign:{} state:{}", c->id, to);
      });
  if (!s) return fail_line(s.error().public_text());
  if (auto f = (*audit)->finish(); !f) return fail_line(f.error().public_text());
  (*store)->close();
  if (moved) std::printf("campaign %s %s\n", c->id.c_str(), to.c_str());
  return 0;
}

}  // namespace app
