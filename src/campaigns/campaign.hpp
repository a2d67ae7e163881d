#pragma once
// A campaign as its author writes it (issue 11, C2-C4), checked before it is stored: the
// fields it declares, a segment and two templates that use only those (unescaped output
// cannot even be written: the template language has none), a purpose that is configured,
// a sender, a TLS policy (exclusive by default, M2), a schedule and a pace.
//
// Four-eyes approval (C3): an approval records the SHA-256 of everything that decides what is
// sent to whom and when (content_hash below); any change gives another hash, so the approval
// no longer holds, and only an approved campaign can start. The approver must not be the
// author. The store keeps both hashes; holds() compares them.
// Trust: every member is untrusted (a form owner's, through the portal).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "campaigns/segment.hpp"
#include "campaigns/template.hpp"
#include "core/result.hpp"
#include "store/records.hpp"

namespace campaigns {

struct CampaignLimits {
  static constexpr std::size_t kMaxNameBytes = 200;
  static constexpr std::size_t kMaxFields = 32;
  static constexpr std::size_t kMaxSubjectBytes = 998;
  static constexpr std::int64_t kMaxPerMinute = 100000;
  static constexpr std::int64_t kDefaultPerMinute = 600;
};

// What an author submits (portal JSON, campaigns_api.hpp).
struct CampaignDraft {
  std::string name;
  std::string purpose;
  std::string sender;
  std::string policy = "exclusive";
  std::vector<std::string> fields;
  std::string segment = "all";
  std::string subject;
  std::string body;
  std::optional<std::int64_t> scheduled_at;
  std::int64_t per_minute = CampaignLimits::kDefaultPerMinute;
};

// A draft that passed check_draft: its segment and templates parsed.
struct CheckedCampaign {
  CampaignDraft draft;
  Segment segment;
  Template subject;
  Template body;
};

// invalid_input naming the member and what to change: an unknown purpose (not in
// `purposes`), a sender that is no address, a policy that is not a name or is `none`, a
// field name twice or not [a-z][a-z0-9_]{0,31}, too many fields, a segment or a template
// that does not parse or uses an undeclared field, an empty subject or body, a pace out of
// 1..kMaxPerMinute.
core::Result<CheckedCampaign> check_draft(CampaignDraft draft,
                                          const std::vector<std::string>& purposes);

// The hex SHA-256 of what an approval covers: every member of the draft but the name, each
// length-prefixed so that no two drafts encode alike.
std::string content_hash(const CampaignDraft& draft);

// The draft a stored campaign was written from, and the other way: a record's written
// members (and its content_hash) set from a draft.
CampaignDraft draft_of(const store::CampaignRecord& record);
void set_draft(store::CampaignRecord& record, const CampaignDraft& draft);

// Whether the campaign's approval holds: approved, and nothing changed since.
bool approval_holds(const store::CampaignRecord& record);

}  // namespace campaigns
