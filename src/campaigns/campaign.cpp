// Trust: a draft is untrusted (a form owner's); refusals name the member, never a value.
#include "campaigns/campaign.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "audit/entry.hpp"
#include "campaigns/input.hpp"
#include "mail/policy/policy.hpp"

namespace campaigns {
namespace {

core::Error refused(std::string text) {
  return core::Error(core::ErrorKind::invalid_input, std::move(text));
}

void put(std::string& out, std::string_view value) {
  out += fmt::format("{}:", value.size());
  out += value;
  out += ';';
}

}  // namespace

core::Result<CheckedCampaign> check_draft(CampaignDraft draft,
                                          const std::vector<std::string>& purposes) {
  if (draft.name.empty() || draft.name.size() > CampaignLimits::kMaxNameBytes) {
    return core::fail(
        refused(fmt::format("name: between 1 and {} bytes", CampaignLimits::kMaxNameBytes)));
  }
  if (std::find(purposes.begin(), purposes.end(), draft.purpose) == purposes.end()) {
    return core::fail(refused(fmt::format("purpose: not one of the configured purposes ({})",
                                          fmt::join(purposes, ", "))));
  }
  auto sender = contact_address(draft.sender);
  if (!sender) return core::fail(refused("sender: not an e-mail address"));
  draft.sender = *sender;
  auto policy = mail::policy::parse_policy(draft.policy);
  if (!policy) return core::fail(refused("policy: " + policy.error().public_text()));
  if (*policy == mail::policy::Policy::none) {
    return core::fail(refused("policy: \"none\" is not allowed for a campaign"));
  }
  if (draft.fields.size() > CampaignLimits::kMaxFields) {
    return core::fail(
        refused(fmt::format("fields: at most {} may be declared", CampaignLimits::kMaxFields)));
  }
  for (std::size_t i = 0; i < draft.fields.size(); ++i) {
    if (!valid_field_name(draft.fields[i])) {
      return core::fail(
          refused(fmt::format("fields: field {} is not a name ([a-z][a-z0-9_]{{0,31}})", i + 1)));
    }
    if (std::find(draft.fields.begin(), draft.fields.begin() + static_cast<std::ptrdiff_t>(i),
                  draft.fields[i]) != draft.fields.begin() + static_cast<std::ptrdiff_t>(i)) {
      return core::fail(refused(fmt::format("fields: \"{}\" is declared twice", draft.fields[i])));
    }
  }
  if (draft.per_minute < 1 || draft.per_minute > CampaignLimits::kMaxPerMinute) {
    return core::fail(
        refused(fmt::format("per_minute: between 1 and {}", CampaignLimits::kMaxPerMinute)));
  }
  if (draft.subject.empty() || draft.subject.size() > CampaignLimits::kMaxSubjectBytes ||
      draft.subject.find_first_of("\r\n") != std::string::npos) {
    return core::fail(refused(
        fmt::format("subject: one line of 1 to {} bytes", CampaignLimits::kMaxSubjectBytes)));
  }
  if (draft.body.empty()) return core::fail(refused("body: empty"));
  auto segment = parse_segment(draft.segment, draft.fields);
  if (!segment) return core::fail(refused("segment: " + segment.error().public_text()));
  auto subject = parse_template(draft.subject, draft.fields);
  if (!subject) return core::fail(refused("subject: " + subject.error().public_text()));
  auto body = parse_template(draft.body, draft.fields);
  if (!body) return core::fail(refused("body: " + body.error().public_text()));
  return CheckedCampaign{.draft = std::move(draft),
                         .segment = *std::move(segment),
                         .subject = *std::move(subject),
                         .body = *std::move(body)};
}

std::string content_hash(const CampaignDraft& d) {
  std::string canonical = "sealpost-campaign-v1;";
  put(canonical, d.purpose);
  put(canonical, d.sender);
  put(canonical, d.policy);
  put(canonical, std::to_string(d.fields.size()));
  for (const auto& f : d.fields) put(canonical, f);
  put(canonical, d.segment);
  put(canonical, d.subject);
  put(canonical, d.body);
  put(canonical, d.scheduled_at ? std::to_string(*d.scheduled_at) : "-");
  put(canonical, std::to_string(d.per_minute));
  return audit::sha256_hex(canonical);
}

CampaignDraft draft_of(const store::CampaignRecord& r) {
  return CampaignDraft{.name = r.name,
                       .purpose = r.purpose,
                       .sender = r.sender,
                       .policy = r.policy,
                       .fields = r.fields,
                       .segment = r.segment,
                       .subject = r.subject,
                       .body = r.body,
                       .scheduled_at = r.scheduled_at,
                       .per_minute = r.per_minute};
}

void set_draft(store::CampaignRecord& r, const CampaignDraft& d) {
  r.name = d.name;
  r.purpose = d.purpose;
  r.sender = d.sender;
  r.policy = d.policy;
  r.fields = d.fields;
  r.segment = d.segment;
  r.subject = d.subject;
  r.body = d.body;
  r.scheduled_at = d.scheduled_at;
  r.per_minute = d.per_minute;
  r.content_hash = content_hash(d);
}

bool approval_holds(const store::CampaignRecord& r) {
  return r.approved_hash && !r.content_hash.empty() && *r.approved_hash == r.content_hash &&
         content_hash(draft_of(r)) == r.content_hash;
}

}  // namespace campaigns
