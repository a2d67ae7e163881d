#pragma once
// `sealpost campaign list|status|pause|cancel` (issue 11, C6): where campaigns stand, and an
// operator's brake. Campaigns are written, approved, started and resumed in the portal
// (four eyes need signed-in people); the command line only reads and stops. Each returns
// the process exit code; errors print one line to stderr. Nothing prints an address or a
// contact's field.

#include <string>

namespace app {

// One line per campaign, newest first: id, state, approved or not, purpose, name.
int run_campaign_list(const std::string& data_dir);
// One campaign: what it is, its approval, and its progress: contacts per outcome (queued,
// withdrawn, each suppression reason), its queued messages per delivery state, and the rate
// (messages queued a minute since it started).
int run_campaign_status(const std::string& data_dir, const std::string& id);
// Pauses a sending campaign, or cancels one that has not ended. Audited campaign.pause /
// campaign.cancel (actor cli:<user>).
int run_campaign_stop(const std::string& data_dir, const std::string& id, bool cancel);

}  // namespace app
