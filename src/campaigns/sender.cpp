// Trust: contacts' fields are PHI: opened only for the names a campaign declares, never
// logged, wiped after use. Logs name campaigns and counts, never an address.
#include "campaigns/sender.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "campaigns/campaign.hpp"
#include "campaigns/contacts.hpp"
#include "campaigns/unsubscribe.hpp"
#include "core/log.hpp"
#include "mail/policy/policy.hpp"

namespace campaigns {
namespace {

using Values = std::map<std::string, std::string, std::less<>>;

void wipe(Values& values) {
  for (auto& [name, value] : values) core::secure_wipe(value.data(), value.size());
  values.clear();
}

// The named fields of `contact`, opened.
core::Result<Values> open_fields(store::Store& store, const core::SecretBytes& key,
                                 const store::ContactRecord& contact,
                                 const std::vector<std::string>& names) {
  Values values;
  if (names.empty()) return values;
  auto sealed = store.contacts().load_fields_blocking(contact.id, names);
  if (!sealed) return core::fail(std::move(sealed).error());
  for (const auto& field : *sealed) {
    auto value = open_field(key, contact.address, field.name, field.sealed);
    if (!value) {
      wipe(values);
      return core::fail(std::move(value).error());
    }
    values.emplace(field.name, std::string(value->as_string_view()));
  }
  return values;
}

}  // namespace

std::optional<std::string> suppression_reason(const std::vector<store::AuthorisationRecord>& list,
                                              const std::string& purpose, std::int64_t now) {
  bool revoked = false;
  bool unsubscribed = false;
  bool expired = false;
  for (const auto& a : list) {
    if (a.purpose != purpose) continue;
    if (!a.revoked_at && (!a.expires_at || *a.expires_at > now)) return std::nullopt;
    if (a.revoked_at) {
      revoked = true;
      unsubscribed = unsubscribed || a.revoked_via == "unsubscribe";
    } else {
      expired = true;
    }
  }
  if (unsubscribed) return "unsubscribed";
  if (revoked) return "revoked";
  if (expired) return "expired";
  return "no_authorisation";
}

Tally tally(const store::CampaignProgress& progress) {
  Tally t;
  for (const auto& [outcome, n] : progress.outcomes) {
    if (outcome == "queued" || outcome == "withdrawn") {
      t.queued += n;
      if (outcome == "withdrawn") t.withdrawn = n;
    } else {
      t.suppressed += n;
      t.reasons.emplace_back(outcome, n);
    }
  }
  return t;
}

core::Result<Rendered> render_for_blocking(store::Store& store,
                                           const core::SecretBytes& contacts_key,
                                           const CheckedCampaign& campaign,
                                           const store::ContactRecord& contact) {
  std::vector<std::string> names = campaign.subject.fields();
  for (auto& f : campaign.body.fields()) {
    if (std::find(names.begin(), names.end(), f) == names.end()) names.push_back(f);
  }
  auto values = open_fields(store, contacts_key, contact, names);
  if (!values) return core::fail(std::move(values).error());
  Rendered out{.subject = render(campaign.subject, *values, Escape::header),
               .body = render(campaign.body, *values, Escape::text)};
  wipe(*values);
  return out;
}

core::Result<Audience> audience_blocking(store::Store& store, const core::SecretBytes& contacts_key,
                                         const store::CampaignRecord& campaign,
                                         const std::vector<std::string>& purposes,
                                         std::int64_t now) {
  auto checked = check_draft(draft_of(campaign), purposes);
  if (!checked) return core::fail(std::move(checked).error());
  const bool everyone = matches_everyone(checked->segment);
  const std::vector<std::string> names = checked->segment.fields();
  Audience audience;
  audience.everyone = everyone;
  std::string after;
  while (true) {
    auto page = store.contacts().list_contacts_blocking(after, 1000);
    if (!page) return core::fail(std::move(page).error());
    if (page->empty()) break;
    for (const auto& contact : *page) {
      ++audience.contacts;
      if (!everyone) {
        auto values = open_fields(store, contacts_key, contact, names);
        if (!values) return core::fail(std::move(values).error());
        const bool in = matches(checked->segment, *values);
        wipe(*values);
        if (!in) continue;
      }
      ++audience.in_segment;
      auto list = store.contacts().list_authorisations_blocking(contact.id);
      if (!list) return core::fail(std::move(list).error());
      if (!suppression_reason(*list, campaign.purpose, now)) ++audience.authorised;
    }
    after = page->back().id;
  }
  return audience;
}

CampaignSender::CampaignSender(store::Store& store, audit::Auditor& auditor,
                               mail::queue::Outbox& outbox, const core::SecretBytes& contacts_key,
                               const core::Clock& clock, SenderSettings settings)
    : store_(store),
      auditor_(auditor),
      outbox_(outbox),
      contacts_key_(contacts_key),
      clock_(clock),
      settings_(std::move(settings)),
      per_domain_(clock, settings_.per_domain_per_minute,
                  std::max(1.0, settings_.per_domain_per_minute / 60.0 * 2)) {}

CampaignSender::~CampaignSender() { stop(); }

void CampaignSender::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      auto pass = pass_blocking();
      if (!pass) {
        spdlog::error("event=campaign_pass_failed detail={}",
                      core::log_safe(pass.error().detail()));
      } else if (pass->queued + pass->suppressed + pass->finished > 0) {
        spdlog::info("event=campaign_pass queued={} suppressed={} finished={}", pass->queued,
                     pass->suppressed, pass->finished);
      }
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
    }
  });
}

void CampaignSender::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<std::string> leased;
  {
    std::lock_guard lock(mutex_);
    leased.swap(leased_);
  }
  for (const auto& id : leased) {
    if (auto s = store_.campaigns().release_campaign_blocking(id, settings_.node_id); !s) {
      spdlog::warn("event=campaign_release_failed campaign={} detail={}", id,
                   core::log_safe(s.error().detail()));
    }
  }
}

bool CampaignSender::pace_allows(const store::CampaignRecord& campaign) {
  std::lock_guard lock(mutex_);
  const double per_second = static_cast<double>(campaign.per_minute) / 60.0;
  const double burst = std::max(1.0, per_second * 2);
  const auto now = clock_.now();
  auto [it, fresh] = paces_.try_emplace(campaign.id);
  Pace& pace = it->second;
  if (fresh) {
    pace.tokens = burst;
  } else {
    const double elapsed = std::chrono::duration<double>(now - pace.updated).count();
    pace.tokens = std::min(burst, pace.tokens + std::max(0.0, elapsed) * per_second);
  }
  pace.updated = now;
  if (pace.tokens < 1.0) return false;
  pace.tokens -= 1.0;
  return true;
}

core::Result<PassReport> CampaignSender::pass_blocking() {
  PassReport report;
  if (settings_.public_origin.empty()) return report;  // no unsubscribe link: nothing is sent
  const std::int64_t now = core::unix_seconds(clock_.now());
  auto due = store_.campaigns().due_campaigns_blocking(now);
  if (!due) return core::fail(std::move(due).error());
  for (const std::string& id : *due) {
    auto leased = store_.campaigns().lease_campaign_blocking(id, settings_.node_id, now,
                                                             now + settings_.lease_seconds);
    if (!leased) return core::fail(std::move(leased).error());
    if (!*leased) continue;
    {
      std::lock_guard lock(mutex_);
      if (std::find(leased_.begin(), leased_.end(), id) == leased_.end()) leased_.push_back(id);
    }
    auto found = store_.campaigns().find_campaign_blocking(id);
    if (!found) return core::fail(std::move(found).error());
    if (!*found || (*found)->state != "sending") continue;
    if (auto s = send_page_blocking(**found, report); !s) return core::fail(std::move(s).error());
  }
  return report;
}

core::Status CampaignSender::send_page_blocking(const store::CampaignRecord& c,
                                                PassReport& report) {
  const std::int64_t now = core::unix_seconds(clock_.now());
  // Stops a campaign that cannot go on as approved, audited; a person resumes it (or not).
  const auto halt = [&](std::string_view reason) -> core::Status {
    spdlog::warn("event=campaign_paused campaign={} reason={}", c.id, reason);
    auto committed = store_.transact_blocking("pause campaign", [&](store::Store& tx) {
      auto moved = tx.campaigns().set_campaign_state_blocking(c.id, "paused", now);
      if (!moved) return core::Status(core::fail(std::move(moved).error()));
      return auditor_.record_in_blocking(tx, "system", "campaign.pause",
                                         fmt::format("campaign:{} reason:{}", c.id, reason),
                                         "local", "ok");
    });
    if (!committed) return committed;
    return auditor_.settle_blocking();
  };
  if (!approval_holds(c)) return halt("approval_void");
  auto checked = check_draft(draft_of(c), settings_.purposes);
  if (!checked) return halt("no_longer_valid");
  auto from = mail::Address::parse(c.sender);
  auto policy = mail::policy::parse_policy(c.policy);
  if (!from || !policy) return halt("no_longer_valid");

  auto page = store_.contacts().list_contacts_blocking(c.cursor, settings_.page);
  if (!page) return core::fail(std::move(page).error());
  if (page->empty()) {
    auto progress = store_.campaigns().progress_blocking(c.id);
    if (!progress) return core::fail(std::move(progress).error());
    const Tally counted = tally(*progress);
    auto committed = store_.transact_blocking("finish campaign", [&](store::Store& tx) {
      auto moved = tx.campaigns().set_campaign_state_blocking(c.id, "sent", now);
      if (!moved) return core::Status(core::fail(std::move(moved).error()));
      if (!*moved) return core::ok();  // paused or cancelled meanwhile
      return auditor_.record_in_blocking(tx, "system", "campaign.sent",
                                         fmt::format("campaign:{} queued:{} suppressed:{}", c.id,
                                                     counted.queued, counted.suppressed),
                                         "local", "ok");
    });
    if (!committed) return committed;
    ++report.finished;
    spdlog::info("event=campaign_sent campaign={} queued={} suppressed={}", c.id, counted.queued,
                 counted.suppressed);
    return auditor_.settle_blocking();
  }

  const std::vector<std::string> segment_fields = checked->segment.fields();
  const bool everyone = matches_everyone(checked->segment);
  const auto open = [&](const store::ContactRecord& contact,
                        const std::vector<std::string>& names) {
    return open_fields(store_, contacts_key_, contact, names);
  };

  std::string cursor = c.cursor;
  for (const store::ContactRecord& contact : *page) {
    auto done = store_.campaigns().has_send_blocking(c.id, contact.id);
    if (!done) return core::fail(std::move(done).error());
    if (*done) {
      cursor = contact.id;
      continue;
    }
    if (!everyone) {
      auto values = open(contact, segment_fields);
      if (!values) return core::fail(std::move(values).error());
      const bool in = matches(checked->segment, *values);
      wipe(*values);
      if (!in) {
        cursor = contact.id;
        continue;
      }
    }
    // C6: the authorisation, checked as the message is built.
    const std::int64_t at = core::unix_seconds(clock_.now());
    auto authorisations = store_.contacts().list_authorisations_blocking(contact.id);
    if (!authorisations) return core::fail(std::move(authorisations).error());
    std::optional<std::string> reason = suppression_reason(*authorisations, c.purpose, at);
    if (!reason) {
      auto bounced = store_.campaigns().bounced_before_blocking(contact.address);
      if (!bounced) return core::fail(std::move(bounced).error());
      if (*bounced) reason = "bounced_before";
    }
    if (reason) {
      auto s = store_.campaigns().add_send_blocking(store::CampaignSend{
          .campaign_id = c.id, .contact_id = contact.id, .outcome = *reason, .at = at});
      if (!s && s.error().kind() != core::ErrorKind::conflict) return s;
      ++report.suppressed;
      cursor = contact.id;
      continue;
    }
    auto to = mail::Address::parse(contact.address);
    if (!to) {
      cursor = contact.id;  // stored addresses were checked; one that is not is skipped
      continue;
    }
    const std::string domain = contact.address.substr(contact.address.rfind('@') + 1);
    if (!pace_allows(c) || !per_domain_.allow(domain)) break;  // this contact, later

    auto token = unsubscribe_token(
        contacts_key_, UnsubscribeTarget{.contact_id = contact.id, .purpose = c.purpose});
    if (!token) return halt("no_unsubscribe_token");
    const std::string url = settings_.public_origin + "/u/" + *token;
    auto rendered = render_for_blocking(store_, contacts_key_, *checked, contact);
    if (!rendered) return core::fail(std::move(rendered).error());
    mail::queue::Outgoing out{.from = *from};
    out.to.push_back(*to);
    out.subject = std::move(rendered->subject);
    out.text_body = std::move(rendered->body);
    out.text_body += fmt::format(
        "\n\n-- \nYou get this message because you agreed to hear from us about \"{}\".\n"
        "To stop these messages, open this link: {}\n",
        c.purpose, url);
    // RFC 8058: one-click unsubscribe, with both fields under the DKIM signature.
    out.extra_headers = {{"List-Unsubscribe", "<" + url + ">"},
                         {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
                         {"Precedence", "bulk"},
                         {"Feedback-ID", c.id + ":campaign:sealpost"}};
    out.security = *policy;
    out.phi = true;  // merged fields may be PHI: never without the policy's TLS
    out.origin = "campaign:" + c.id;
    const std::string contact_id = contact.id;
    auto id = outbox_.enqueue_blocking(
        out, "local", [&](store::Store& tx, const std::string& message_id) {
          return tx.campaigns().add_send_blocking(store::CampaignSend{.campaign_id = c.id,
                                                                      .contact_id = contact_id,
                                                                      .outcome = "queued",
                                                                      .message_id = message_id,
                                                                      .at = at});
        });
    core::secure_wipe(out.text_body.data(), out.text_body.size());
    core::secure_wipe(out.subject.data(), out.subject.size());
    if (!id) {
      if (id.error().kind() == core::ErrorKind::conflict) {  // another pass did it
        cursor = contact.id;
        continue;
      }
      if (id.error().kind() == core::ErrorKind::invalid_input) {
        spdlog::warn("event=campaign_queue_refused campaign={} detail={}", c.id,
                     core::log_safe(id.error().public_text()));
        if (cursor != c.cursor) {
          (void)store_.campaigns().advance_cursor_blocking(c.id, settings_.node_id, cursor);
        }
        return halt("queue_refused");
      }
      return core::fail(std::move(id).error());
    }
    ++report.queued;
    cursor = contact.id;
  }
  if (cursor != c.cursor) {
    return store_.campaigns().advance_cursor_blocking(c.id, settings_.node_id, cursor);
  }
  return core::ok();
}

core::Result<std::size_t> withdraw_queued_in(store::Store& tx, const std::string& contact_id,
                                             const std::string& purpose, std::int64_t now) {
  auto ids = tx.campaigns().withdraw_queued_blocking(contact_id, purpose, now);
  if (!ids) return core::fail(std::move(ids).error());
  if (ids->empty()) return std::size_t{0};
  for (const auto& id : *ids) {
    if (auto erased = tx.mail().erase_body_if_final_blocking(id); !erased) {
      return core::fail(std::move(erased).error());
    }
  }
  return ids->size();
}

}  // namespace campaigns
