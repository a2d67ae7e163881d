#pragma once
// The automatic block rule's settings (F10), `[abuse]` in sealpost.toml.

#include <chrono>

namespace app {

// `[abuse]` in sealpost.toml (docs/OPERATIONS.md).
struct AbuseLimits {
  // Refusals from one address within `window` that block it (0: never block
  // automatically). A refusal is a form post refused as not genuine (bad token, honeypot,
  // malformed body: 400; replayed token: 409), a portal request delayed by the lockout
  // (429), or an API request with a missing, bad or revoked key (401) or delayed by the API's
  // own lockout (429). A person mistyping gets 422 (field errors) and is never counted.
  int auto_block_events = 30;
  std::chrono::seconds window{600};
  // How long an automatic block lasts.
  std::chrono::seconds block_for{3600};
};

}  // namespace app
