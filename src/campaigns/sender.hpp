#pragma once
// Sending campaigns (issue 11, C2, C5, C6): each node runs a CampaignSender; a campaign in
// state `sending` whose schedule is due is sent by the one node holding its lease, a page of
// contacts at a time, so that no more than a page is ever in memory (200,000 contacts or
// more). For each contact, in id order, after the campaign's cursor:
//   1. not in the segment (its fields, opened only for the names the segment uses): skipped;
//   2. the authorisation for the campaign's purpose is checked now, at the moment the
//      message is built: none in force is a suppression recorded with its reason
//      (no_authorisation, revoked, expired, unsubscribed), as is an address that bounced
//      for good before (bounced_before);
//   3. otherwise the templates are rendered with the declared fields only (C4), the message
//      gets a signed one-click unsubscribe URL (RFC 8058: List-Unsubscribe and
//      List-Unsubscribe-Post, DKIM-signed) and goes through the Outbox under the campaign's
//      policy, its send row committed in the same unit of work.
// Each contact is done once (the send row's key): a node that dies mid-page leaves its
// lease to expire, and the next holder skips who has a row. The pace: at most the
// campaign's per_minute messages a minute, and per recipient domain at most
// per_domain_per_minute; a page stops at the first contact over either, to go on later.
// A pass that finds no contact left marks the campaign `sent` (audited with its counts).
//
// Revocation (C1) reaches messages already queued: withdraw_queued_in(), called in the unit
// of work of every revocation (unsubscribe, API, CLI).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/auditor.hpp"
#include "campaigns/campaign.hpp"
#include "core/clock.hpp"
#include "core/rate_limiter.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"
#include "mail/queue/outbox.hpp"
#include "store/store.hpp"

namespace campaigns {

struct SenderSettings {
  std::string node_id;                 // the lease's owner
  std::string public_origin;           // https://host[:port] of the unsubscribe links
  std::vector<std::string> purposes;   // [contacts] purposes
  std::size_t page = 500;              // contacts read at once
  std::int64_t lease_seconds = 60;     // a node that stops holds a campaign no longer
  double per_domain_per_minute = 600;  // messages to one recipient domain, all campaigns
};

// What one pass did (for logs and tests).
struct PassReport {
  std::size_t queued = 0;
  std::size_t suppressed = 0;
  std::size_t finished = 0;  // campaigns marked sent
};

class CampaignSender {
 public:
  // All must outlive the sender.
  CampaignSender(store::Store& store, audit::Auditor& auditor, mail::queue::Outbox& outbox,
                 const core::SecretBytes& contacts_key, const core::Clock& clock,
                 SenderSettings settings);
  ~CampaignSender();
  CampaignSender(const CampaignSender&) = delete;
  CampaignSender& operator=(const CampaignSender&) = delete;

  // A thread of its own: a pass every second. stop() finishes the pass in progress, joins,
  // and releases this node's leases.
  void start();
  void stop();

  // One pass over the due campaigns: for each this node can lease, at most one page.
  // Blocks (the blocking pool or a thread of its own). A store or trail error ends the pass.
  core::Result<PassReport> pass_blocking();

 private:
  core::Status send_page_blocking(const store::CampaignRecord& campaign, PassReport& report);
  bool pace_allows(const store::CampaignRecord& campaign);

  store::Store& store_;
  audit::Auditor& auditor_;
  mail::queue::Outbox& outbox_;
  const core::SecretBytes& contacts_key_;
  const core::Clock& clock_;
  SenderSettings settings_;
  core::RateLimiter per_domain_;
  struct Pace {
    double tokens = 0;
    core::TimePoint updated{};
  };
  std::mutex mutex_;
  std::map<std::string, Pace> paces_;  // per campaign id
  std::vector<std::string> leased_;    // ids this node leased (released at stop)
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// Why a contact with these authorisations may not get a message of `purpose` at `now`:
// "unsubscribed", "revoked", "expired" (of several, in that order) or "no_authorisation";
// nullopt when one is in force (granted, not revoked, not expired).
std::optional<std::string> suppression_reason(
    const std::vector<store::AuthorisationRecord>& authorisations, const std::string& purpose,
    std::int64_t now);

// A campaign's subject and body for one contact, with the fields its templates declare
// (C4: only those are opened). PHI: the caller wipes both. The body is without the
// unsubscribe footer the sender adds. Blocks.
struct Rendered {
  std::string subject;
  std::string body;
};
core::Result<Rendered> render_for_blocking(store::Store& store,
                                           const core::SecretBytes& contacts_key,
                                           const CheckedCampaign& campaign,
                                           const store::ContactRecord& contact);

// A campaign's outcomes summed: contacts it queued a message for (withdrawn ones included),
// of those withdrawn since, and the suppressed ones, with each reason's count.
struct Tally {
  std::int64_t queued = 0;
  std::int64_t withdrawn = 0;
  std::int64_t suppressed = 0;
  std::vector<std::pair<std::string, std::int64_t>> reasons;
};
Tally tally(const store::CampaignProgress& progress);

// Who a campaign would reach now (the approval page's numbers): every contact, those in
// its segment, and of those the ones with an authorisation for its purpose in force. Reads
// every contact a page at a time (and, unless the segment is "all", opens the fields the
// segment uses): O(contacts). Blocks.
struct Audience {
  bool everyone = false;  // the segment is "all"
  std::int64_t contacts = 0;
  std::int64_t in_segment = 0;
  std::int64_t authorised = 0;
};
core::Result<Audience> audience_blocking(store::Store& store, const core::SecretBytes& contacts_key,
                                         const store::CampaignRecord& campaign,
                                         const std::vector<std::string>& purposes,
                                         std::int64_t now);

// Withdraws, in the unit of work `tx` of a revocation, the queued campaign messages of
// `contact_id` for `purpose` that are not being delivered at this moment (their bodies
// erased); how many. The revocation's audit entry says it (`... withdrawn:N`). A message
// being delivered at that moment cannot be withdrawn any more.
core::Result<std::size_t> withdraw_queued_in(store::Store& tx, const std::string& contact_id,
                                             const std::string& purpose, std::int64_t now);

}  // namespace campaigns
