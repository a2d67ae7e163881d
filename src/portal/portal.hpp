#pragma once
// The staff portal (issue 3, docs/PORTAL.md): enrolment, sign-in with two factors, sessions,
// roles and grants, metadata listing and ciphertext delivery to the browser, and the
// auditor's view of the trail. The server only ever hands out ciphertext: decryption
// happens in the staff member's browser with a key the server cannot use.
// Trust: untrusted network input (JSON bodies, cookies, headers); every state change and
// every delivery of submission data is audited before it happens.
//
// Transport-neutral: app/ registers routes() on the HTTP router, turns each request into a
// portal::Request, runs handle_blocking on the blocking pool and the Reply into a response.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit/auditor.hpp"
#include "core/clock.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "portal/limits.hpp"
#include "portal/request.hpp"
#include "store/store.hpp"

namespace portal {

struct Keys {
  core::SecretBytes seal_key;         // 32 bytes: seals TOTP secrets at rest (crypto/seal.hpp)
  std::string server_public_armored;  // the signing key the browser verifies with (S8)
  std::string server_fingerprint;
};

// One API endpoint.
struct Route {
  Method method;
  std::string_view pattern;  // literal segments and {name} parameters
  // A credential check (password, code, link): the caller rate-limits it per client address
  // (kCredentialChecksPerMinute) before queueing it.
  bool credential_check = false;
  std::size_t index = 0;  // which handler; pass the Route back to handle_blocking
};

namespace detail {
struct Shared;
}

// Queues the mail that carries a secure message's one-time code to its recipient (app/ wires
// it to the Outbox). Blocking.
using SecureCodeSender =
    std::function<core::Status(const store::SecureMessageRecord& copy, std::string_view code)>;

// Queues a secure reply (issue 9) from a copy's recipient to its sender (app/ wires it to
// the Outbox) and runs `also` in the unit of work that queues it, with the reply's queue id;
// returns that id. Blocking. Errors: `also`'s (nothing queued), the Outbox's.
using InSameUnit = std::function<core::Status(store::Store& tx, const std::string& reply_id)>;
using SecureReplySender = std::function<core::Result<std::string>(
    const store::SecureMessageRecord& copy, std::string_view text, const InSameUnit& also)>;

// How the lockout and the audit trail name a secure-message recipient's account:
// "recipient:" and 24 hex digits of the SHA-256 of the lower-case address (never the address).
std::string recipient_account_name(std::string_view address);

// Campaigns (issue 11): the purposes an authorisation may name, the key contacts' fields
// are sealed under (the audience and the preview open them), and whether unsubscribe links
// can be made ([server] public_origin set): without, no campaign can start.
struct CampaignSettings {
  std::vector<std::string> purposes;
  const core::SecretBytes* contacts_key = nullptr;  // must outlive the portal
  bool can_unsubscribe = false;
};

class Portal {
 public:
  Portal(Limits limits, store::Store& store, const core::Clock& clock, core::Rng& rng,
         audit::Auditor& auditor, Keys keys);
  ~Portal();
  Portal(const Portal&) = delete;
  Portal& operator=(const Portal&) = delete;

  // The origin (scheme://host:port) browsers use; Origin headers must equal it. Set once the
  // listener is bound (port 0 picks the port late). Before that every state change fails.
  void set_origin(std::string origin);

  // Runs after every change the portal committed, before its answer is sent (app/ reloads
  // the form catalog here, so a grant applies on this node at once). Set before serving.
  void set_after_change(std::function<void()> hook);

  // Campaigns. Set before serving; without it (contacts_key null) the campaign routes
  // answer that campaigns are not available.
  void set_campaigns(CampaignSettings settings);

  // The secure-message portal's code mail. Set before serving; without it /api/s/{id}/code
  // answers 503.
  void set_secure_code_sender(SecureCodeSender send);
  // The secure-message portal's replies. Set before serving; without it /api/s/{id}/reply
  // answers 503.
  void set_secure_reply_sender(SecureReplySender send);

  // Every API endpoint, under /portal/api/, and the secure-message portal's under /api/s/.
  const std::vector<Route>& routes() const;

  // Checks the session, stage, CSRF token and role the route needs, then runs it. Blocking
  // (the store, Argon2id): run it on the blocking pool.
  Reply handle_blocking(const Route& route, const Request& request);

 private:
  std::unique_ptr<detail::Shared> shared_;
};

}  // namespace portal
