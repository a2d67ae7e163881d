#pragma once
// `sealpost webhook add|list|show|remove`: webhooks for integrators (issue 9 point 7). Each
// returns the process exit code; errors print one line to stderr. The signing secret is
// printed once, by `add`; the database keeps it sealed under secrets/queue.key.

#include <string>

namespace app {

// add and remove are audited (webhook.add / webhook.remove, the webhook's id), committed
// in the unit of work that makes the change.
int run_webhook_add(const std::string& data_dir, const std::string& url, const std::string& events,
                    const std::string& name);
int run_webhook_list(const std::string& data_dir);
int run_webhook_show(const std::string& data_dir, const std::string& id);
int run_webhook_remove(const std::string& data_dir, const std::string& id);

}  // namespace app
