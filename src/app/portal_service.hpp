#pragma once
// The staff portal (issue 3, docs/PORTAL.md): enrolment, sign-in with two factors, sessions,
// roles and grants, metadata listing and ciphertext delivery to the browser, and the
// auditor's view of the trail. The server only ever hands out ciphertext: decryption
// happens in the staff member's browser with a key the server cannot use.
// Trust: untrusted network input (JSON bodies, cookies, headers); every state change and
// every delivery of submission data is audited before it happens.

#include <functional>
#include <memory>
#include <string>

#include "app/auditor.hpp"
#include "app/config.hpp"
#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "core/secret.hpp"
#include "http/router.hpp"
#include "store/store.hpp"

namespace app {

struct PortalKeys {
  core::SecretBytes seal_key;         // 32 bytes: seals TOTP secrets at rest
  std::string server_public_armored;  // the signing key the browser verifies with (S8)
  std::string server_fingerprint;
};

class PortalService {
 public:
  PortalService(const Config& config, store::Store& store, core::BlockingPool& pool,
                const core::Clock& clock, Auditor& auditor, PortalKeys keys);
  ~PortalService();

  // The origin (scheme://host:port) browsers use; Origin headers must equal it. Set once the
  // listener is bound (port 0 picks the port late). Before that every state change fails.
  void set_origin(std::string origin);

  void register_routes(http::Router& router);

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

// Role names as on the wire and in the CLI.
std::string_view role_name(store::Role role);
// Parses a list of role names into a bit set; invalid_input naming the bad one.
core::Result<unsigned> parse_roles(const std::vector<std::string>& names);
std::vector<std::string> role_names(unsigned roles);

// A new enrolment link for `user_id` (stores the token's hash). Returns the URL.
core::Result<std::string> issue_enrolment_link_blocking(store::Store& store, std::int64_t user_id,
                                                        std::chrono::seconds lifetime,
                                                        const std::string& origin,
                                                        core::TimePoint now);

// Whether an e-mail address is acceptable as a staff login (shape only; lower-cased).
core::Result<std::string> normalize_email(std::string_view email);

// The recipients a new version of `form_id` gets from its grants: the key fingerprints of
// the active users granted the form.
core::Result<std::vector<std::string>> granted_recipients_blocking(store::Store& store,
                                                                   const std::string& form_id);

// Reads secrets/portal-seal.key, creating it (32 random bytes, 0600) if missing.
core::Result<core::SecretBytes> load_or_create_seal_key(const std::filesystem::path& path);

}  // namespace app
