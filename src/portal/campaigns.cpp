// Campaigns in the portal (issue 11, C2, C3, C6; docs/PORTAL.md, /portal/api/campaigns): a form
// owner writes one, a reviewer who is not its author approves exactly what they read (the content
// hash they were shown), and only then can it start; any edit voids the approval. Every
// change is audited in the unit of work that makes it; a preview, which shows one contact's
// fields, is audited before it is answered.
// Trust: bodies are untrusted JSON; campaigns::check_draft checks every member.
#include <fmt/format.h>

#include <array>

#include "campaigns/campaign.hpp"
#include "campaigns/input.hpp"
#include "campaigns/sender.hpp"
#include "core/encoding.hpp"
#include "portal/detail/shared.hpp"

namespace portal::detail {
namespace {

constexpr std::string_view kNoSuchCampaign = "There is no such campaign.";
constexpr std::int64_t kLatestSchedule = 4102444800;  // 2100-01-01

json optional_json(const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); }
json optional_json(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

json campaign_json(const store::CampaignRecord& c) {
  return json{{"id", c.id},
              {"name", c.name},
              {"purpose", c.purpose},
              {"sender", c.sender},
              {"policy", c.policy},
              {"fields", c.fields},
              {"segment", c.segment},
              {"subject", c.subject},
              {"body", c.body},
              {"scheduled_at", optional_json(c.scheduled_at)},
              {"per_minute", c.per_minute},
              {"author", c.author},
              {"state", c.state},
              {"content_hash", c.content_hash},
              {"approved", campaigns::approval_holds(c)},
              {"approver", optional_json(c.approver)},
              {"approved_at", optional_json(c.approved_at)},
              {"created_at", c.created_at},
              {"updated_at", c.updated_at},
              {"started_at", optional_json(c.started_at)},
              {"finished_at", optional_json(c.finished_at)}};
}

std::optional<Reply> unavailable(const Shared& s) {
  if (s.campaigns.contacts_key != nullptr) return std::nullopt;
  return error_reply(Status::conflict, "Campaigns are not available on this server.");
}

// The campaign named by the path, or the answer.
std::variant<store::CampaignRecord, Reply> target(Shared& s, const Call& call) {
  const std::string& id = call.req.params.at("id");
  if (id.size() != 32 || !core::from_hex(id))
    return error_reply(Status::not_found, kNoSuchCampaign);
  auto found = s.store.campaigns().find_campaign_blocking(id);
  if (!found) return s.store_error(call, found.error());
  if (!*found) return error_reply(Status::not_found, kNoSuchCampaign);
  return std::move(**found);
}

// For the routes that act on one campaign with one member of the body: both, or the answer.
struct Asked {
  store::CampaignRecord campaign;
  std::string value;
};
std::variant<Asked, Reply> campaign_and_member(Shared& s, const Call& call, std::string_view member,
                                               std::size_t max_len) {
  if (auto r = unavailable(s)) return *r;
  auto found = target(s, call);
  if (auto* r = std::get_if<Reply>(&found)) return *r;
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto value = std::get<auth::JsonObject>(body).string(member, max_len);
  if (!value) return error_reply(Status::unprocessable, value.error().public_text());
  return Asked{std::get<store::CampaignRecord>(std::move(found)), *std::move(value)};
}

// A draft from the body, checked; or the answer (422 naming the member).
std::variant<campaigns::CheckedCampaign, Reply> draft_from(const Shared& s, const Call& call) {
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  const auto& obj = std::get<auth::JsonObject>(body);
  if (auto unknown = obj.unknown_member({"name", "purpose", "sender", "policy", "fields", "segment",
                                         "subject", "body", "scheduled_at", "per_minute"})) {
    return error_reply(Status::unprocessable,
                       fmt::format("The field \"{}\" is not known.", printable(*unknown)));
  }
  campaigns::CampaignDraft d;
  const auto refused = [](const core::Error& e) {
    return error_reply(Status::unprocessable, e.public_text());
  };
  auto name = obj.string("name", campaigns::CampaignLimits::kMaxNameBytes);
  if (!name) return refused(name.error());
  auto purpose = obj.string("purpose", 32);
  if (!purpose) return refused(purpose.error());
  auto sender = obj.string("sender", 254);
  if (!sender) return refused(sender.error());
  auto policy = obj.optional_string("policy", 16);
  if (!policy) return refused(policy.error());
  auto fields = obj.contains("fields")
                    ? obj.string_array("fields", campaigns::CampaignLimits::kMaxFields, 32)
                    : core::Result<std::vector<std::string>>(std::vector<std::string>{});
  if (!fields) return refused(fields.error());
  auto segment = obj.optional_string("segment", campaigns::SegmentLimits::kMaxBytes);
  if (!segment) return refused(segment.error());
  auto subject = obj.string("subject", campaigns::CampaignLimits::kMaxSubjectBytes);
  if (!subject) return refused(subject.error());
  auto text = obj.string("body", campaigns::TemplateLimits::kMaxBytes);
  if (!text) return refused(text.error());
  auto scheduled_at = obj.optional_int("scheduled_at", 0, kLatestSchedule);
  if (!scheduled_at) return refused(scheduled_at.error());
  auto per_minute = obj.optional_int("per_minute", 1, campaigns::CampaignLimits::kMaxPerMinute);
  if (!per_minute) return refused(per_minute.error());
  d.name = *name;
  d.purpose = *purpose;
  d.sender = *sender;
  if (*policy) d.policy = **policy;
  d.fields = *fields;
  if (*segment) d.segment = **segment;
  d.subject = *subject;
  d.body = *text;
  d.scheduled_at = *scheduled_at;
  if (*per_minute) d.per_minute = **per_minute;
  auto checked = campaigns::check_draft(std::move(d), s.campaigns.purposes);
  if (!checked) return refused(checked.error());
  return std::move(*checked);
}

json progress_json(const store::CampaignProgress& p) {
  json outcomes = json::object();
  for (const auto& [name, n] : p.outcomes) outcomes[name] = n;
  json deliveries = json::object();
  for (const auto& [name, n] : p.deliveries) deliveries[name] = n;
  return json{{"outcomes", outcomes}, {"deliveries", deliveries}};
}

}  // namespace

Reply list_campaigns(Shared& s, Call& call) {
  if (auto r = unavailable(s)) return *r;
  auto list = s.store.campaigns().list_campaigns_blocking(200);
  if (!list) return s.store_error(call, list.error());
  json out = json::array();
  for (const auto& c : *list) {
    out.push_back(json{{"id", c.id},
                       {"name", c.name},
                       {"purpose", c.purpose},
                       {"author", c.author},
                       {"state", c.state},
                       {"approved", campaigns::approval_holds(c)},
                       {"scheduled_at", optional_json(c.scheduled_at)},
                       {"created_at", c.created_at}});
  }
  return json_reply(Status::ok, json{{"campaigns", out}});
}

Reply add_campaign(Shared& s, Call& call) {
  if (auto r = unavailable(s)) return *r;
  auto checked = draft_from(s, call);
  if (auto* r = std::get_if<Reply>(&checked)) return *r;
  const auto& draft = std::get<campaigns::CheckedCampaign>(checked).draft;
  std::array<std::uint8_t, 16> id{};
  s.rng.fill(id);
  store::CampaignRecord record;
  record.id = core::to_hex(id);
  campaigns::set_draft(record, draft);
  record.author = call.actor();
  record.created_at = record.updated_at = call.now;
  auto refused = s.change(call, "add campaign", "campaign.add",
                          [&](store::Store& tx, std::optional<Reply>&) -> core::Result<Recorded> {
                            if (auto a = tx.campaigns().add_campaign_blocking(record); !a) {
                              return core::fail(a.error());
                            }
                            return Recorded(fmt::format("campaign:{} purpose:{} hash:{}", record.id,
                                                        record.purpose, record.content_hash));
                          });
  if (refused) return *refused;
  return json_reply(Status::ok, campaign_json(record));
}

Reply show_campaign(Shared& s, Call& call) {
  if (auto r = unavailable(s)) return *r;
  auto found = target(s, call);
  if (auto* r = std::get_if<Reply>(&found)) return *r;
  const auto& c = std::get<store::CampaignRecord>(found);
  auto progress = s.store.campaigns().progress_blocking(c.id);
  if (!progress) return s.store_error(call, progress.error());
  json out = campaign_json(c);
  out["progress"] = progress_json(*progress);
  return json_reply(Status::ok, out);
}

Reply edit_campaign(Shared& s, Call& call) {
  if (auto r = unavailable(s)) return *r;
  auto found = target(s, call);
  if (auto* r = std::get_if<Reply>(&found)) return *r;
  auto record = std::get<store::CampaignRecord>(std::move(found));
  auto checked = draft_from(s, call);
  if (auto* r = std::get_if<Reply>(&checked)) return *r;
  const bool was_approved = campaigns::approval_holds(record);
  campaigns::set_draft(record, std::get<campaigns::CheckedCampaign>(checked).draft);
  auto refused = s.change(
      call, "edit campaign", "campaign.edit",
      [&](store::Store& tx, std::optional<Reply>& refusal) -> core::Result<Recorded> {
        auto updated = tx.campaigns().update_campaign_blocking(record, call.now);
        if (!updated) return core::fail(updated.error());
        if (!*updated) {
          refusal =
              error_reply(Status::conflict, "Only a draft or a paused campaign can be changed.");
          return core::fail(core::ErrorKind::conflict, "campaign not editable");
        }
        // C3: the approval covered the old content; it no longer holds.
        return Recorded(fmt::format("campaign:{} hash:{}{}", record.id, record.content_hash,
                                    was_approved ? " approval:voided" : ""));
      });
  if (refused) return *refused;
  auto reread = target(s, call);
  if (auto* r = std::get_if<Reply>(&reread)) return *r;
  return json_reply(Status::ok, campaign_json(std::get<store::CampaignRecord>(reread)));
}

Reply campaign_audience(Shared& s, Call& call) {
  if (auto r = unavailable(s)) return *r;
  auto found = target(s, call);
  if (auto* r = std::get_if<Reply>(&found)) return *r;
  const auto& c = std::get<store::CampaignRecord>(found);
  auto audience = campaigns::audience_blocking(s.store, *s.campaigns.contacts_key, c,
                                               s.campaigns.purposes, call.now);
  if (!audience) {
    if (audience.error().kind() == core::ErrorKind::invalid_input) {
      return error_reply(Status::conflict, audience.error().public_text());
    }
    return s.store_error(call, audience.error());
  }
  return json_reply(Status::ok, json{{"contacts", audience->contacts},
                                     {"in_segment", audience->in_segment},
                                     {"authorised", audience->authorised},
                                     {"everyone", audience->everyone}});
}

Reply preview_campaign(Shared& s, Call& call) {
  auto asked = campaign_and_member(s, call, "email", 254);
  if (auto* r = std::get_if<Reply>(&asked)) return *r;
  const store::CampaignRecord& c = std::get<Asked>(asked).campaign;
  const std::string& email = std::get<Asked>(asked).value;
  auto address = campaigns::contact_address(email);
  if (!address) return error_reply(Status::unprocessable, "That is not an e-mail address.");
  auto contact = s.store.contacts().find_contact_by_address_blocking(*address);
  if (!contact) return s.store_error(call, contact.error());
  if (!*contact) return error_reply(Status::not_found, "There is no such contact.");
  auto checked = campaigns::check_draft(campaigns::draft_of(c), s.campaigns.purposes);
  if (!checked) return error_reply(Status::conflict, checked.error().public_text());
  auto authorisations = s.store.contacts().list_authorisations_blocking((*contact)->id);
  if (!authorisations) return s.store_error(call, authorisations.error());
  const auto reason = campaigns::suppression_reason(*authorisations, c.purpose, call.now);
  // The preview shows the contact's fields: recorded before anything is answered.
  if (auto a = s.audit(call, "campaign.preview",
                       fmt::format("campaign:{} contact:{}", c.id, (*contact)->id), "ok");
      !a) {
    return s.audit_refused(call, a.error());
  }
  auto rendered =
      campaigns::render_for_blocking(s.store, *s.campaigns.contacts_key, *checked, **contact);
  if (!rendered) return s.store_error(call, rendered.error());
  Reply reply = json_reply(Status::ok, json{{"subject", rendered->subject},
                                            {"body", rendered->body},
                                            {"authorised", !reason.has_value()},
                                            {"suppressed_because", optional_json(reason)}});
  core::secure_wipe(rendered->subject.data(), rendered->subject.size());
  core::secure_wipe(rendered->body.data(), rendered->body.size());
  return reply;
}

Reply approve_campaign(Shared& s, Call& call) {
  auto asked = campaign_and_member(s, call, "content_hash", 64);
  if (auto* r = std::get_if<Reply>(&asked)) return *r;
  const store::CampaignRecord& c = std::get<Asked>(asked).campaign;
  const std::string& hash = std::get<Asked>(asked).value;
  const std::string object = fmt::format("campaign:{} hash:{}", c.id, printable(hash));
  // C3: four eyes. Refusals are recorded too: who tried to approve what.
  if (call.actor() == c.author) {
    s.note(call, "campaign.approve", object + " reason:author", "refused");
    return error_reply(Status::forbidden, "The author of a campaign cannot approve it.");
  }
  if (hash != c.content_hash) {
    s.note(call, "campaign.approve", object + " reason:changed", "refused");
    return error_reply(Status::conflict,
                       "The campaign changed after you read it: read it again before approving.");
  }
  auto refused = s.change(
      call, "approve campaign", "campaign.approve",
      [&](store::Store& tx, std::optional<Reply>& refusal) -> core::Result<Recorded> {
        auto approved =
            tx.campaigns().approve_campaign_blocking(c.id, hash, call.actor(), call.now);
        if (!approved) return core::fail(approved.error());
        if (!*approved) {
          refusal = error_reply(Status::conflict,
                                "Only a draft or a paused campaign, unchanged since you read it, "
                                "can be approved.");
          return core::fail(core::ErrorKind::conflict, "campaign not approvable");
        }
        return Recorded(object);
      });
  if (refused) return *refused;
  return no_content();
}

Reply set_campaign_state(Shared& s, Call& call) {
  auto asked = campaign_and_member(s, call, "state", 16);
  if (auto* r = std::get_if<Reply>(&asked)) return *r;
  const store::CampaignRecord& c = std::get<Asked>(asked).campaign;
  const std::string& wanted = std::get<Asked>(asked).value;
  std::string action;
  if (wanted == "sending") {
    if (!campaigns::approval_holds(c)) {
      return error_reply(Status::conflict,
                         "The campaign is not approved as it stands: a reviewer must approve it "
                         "first.");
    }
    if (!s.campaigns.can_unsubscribe) {
      return error_reply(Status::conflict,
                         "Campaigns need [server] public_origin for their unsubscribe links.");
    }
    action = c.state == "paused" ? "campaign.resume" : "campaign.start";
  } else if (wanted == "paused") {
    action = "campaign.pause";
  } else if (wanted == "cancelled") {
    action = "campaign.cancel";
  } else {
    return error_reply(Status::unprocessable,
                       "The field \"state\" must be \"sending\", \"paused\" or \"cancelled\".");
  }
  auto refused = s.change(
      call, "set campaign state", action,
      [&](store::Store& tx, std::optional<Reply>& refusal) -> core::Result<Recorded> {
        auto moved = tx.campaigns().set_campaign_state_blocking(c.id, wanted, call.now);
        if (!moved) return core::fail(moved.error());
        if (!*moved) {
          refusal = error_reply(Status::conflict,
                                fmt::format("A {} campaign cannot become {}.", c.state, wanted));
          return core::fail(core::ErrorKind::conflict, "campaign state");
        }
        return Recorded(fmt::format("campaign:{} state:{}", c.id, wanted));
      });
  if (refused) return *refused;
  return no_content();
}

}  // namespace portal::detail
