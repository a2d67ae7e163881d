#pragma once
// The portal's internals shared by its handler files: the per-process state (Shared), one
// request being handled (Call), reply helpers and the handlers themselves. Private to
// src/portal/ (tests/detail_check.cmake keeps other modules out).

#include <atomic>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "audit/auditor.hpp"
#include "auth/json_body.hpp"
#include "auth/lockout.hpp"
#include "core/clock.hpp"
#include "core/rng.hpp"
#include "portal/limits.hpp"
#include "portal/portal.hpp"
#include "portal/request.hpp"
#include "portal/roles.hpp"
#include "store/store.hpp"

namespace portal::detail {

using json = nlohmann::json;

inline constexpr const char* kIssuer = "sealpost";
inline constexpr std::string_view kSignIn = "Please sign in.";

// --- replies ---------------------------------------------------------------------------------

Reply json_reply(Status status, const json& value);
Reply no_content();
std::string base64(std::span<const std::uint8_t> bytes);
// Audit objects and actors hold what an address or e-mail a client typed looks like, never
// more than 254 bytes and never control characters.
std::string printable(std::string_view text);

// --- session stages --------------------------------------------------------------------------

// Where a session is: enrolling (link opened), second_factor (password checked, code due),
// full (signed in).
enum class Stage { enrolling, second_factor, full };

// The stage as stored in store::SessionRecord::stage (a string in the store's records).
std::string_view stage_name(Stage stage);
// nullopt for a stored value that names no stage: such a session is treated as dead.
std::optional<Stage> parse_stage(std::string_view name);

// --- access rules ----------------------------------------------------------------------------

enum class Need { nothing, enrolling, second_factor, any_session, full };

struct Access {
  Need need = Need::full;
  Roles roles;       // any one of these (none: any signed-in user)
  bool csrf = true;  // X-CSRF-Token must match the session's
  bool credential = false;
};

// --- one request -----------------------------------------------------------------------------

struct Call {
  const Request& req;
  std::int64_t now = 0;
  std::optional<store::SessionRecord> session;
  std::optional<store::UserRecord> user;
  std::string actor() const { return user ? user->email : "anonymous"; }
  Stage stage = Stage::full;  // of `session`
  bool has(store::Role r) const { return user && Roles(user->roles).has(r); }
};

// What a change's audit entry names: the object ("user:x roles:y") and, when the caller is
// not signed in yet (enrolment), the actor.
struct Recorded {
  Recorded(std::string o, std::optional<std::string> a = std::nullopt)  // NOLINT: implicit
      : object(std::move(o)), actor(std::move(a)) {}
  std::string object;
  std::optional<std::string> actor;
};

// --- the portal's state ----------------------------------------------------------------------

struct Shared {
  Limits limits;
  store::Store& store;
  const core::Clock& clock;
  core::Rng& rng;
  audit::Auditor& auditor;
  Keys keys;
  std::function<void()> after_change;   // Portal::set_after_change
  SecureCodeSender send_secure_code;    // Portal::set_secure_code_sender
  SecureReplySender send_secure_reply;  // Portal::set_secure_reply_sender
  CampaignSettings campaigns;           // Portal::set_campaigns
  // The database's failure counts on PostgreSQL (several nodes share the lockout budget);
  // null on SQLite, where one node is all there is and the counts stay in memory.
  std::unique_ptr<auth::SharedFailureCounts> shared_failures;
  auth::Lockout lockout;
  mutable std::mutex origin_mutex;
  std::string origin;
  std::atomic<std::int64_t> last_prune{0};
  // Accounts with a credential check running: one at a time each, so requests sent in
  // parallel cannot all pass the lockout's delay check before the first failure counts.
  std::mutex in_flight_mutex;
  std::set<std::string, std::less<>> in_flight;

  class AttemptGuard {
   public:
    AttemptGuard(Shared& s, std::string account);
    ~AttemptGuard();
    AttemptGuard(const AttemptGuard&) = delete;
    AttemptGuard& operator=(const AttemptGuard&) = delete;
    bool owned() const { return owned_; }

   private:
    Shared& s_;
    std::string account_;
    bool owned_ = false;
  };

  Shared(Limits l, store::Store& s, const core::Clock& clk, core::Rng& r, audit::Auditor& a,
         Keys k);

  std::string current_origin() const;

  // Records an audit entry; the caller must not send data if this fails.
  core::Status audit(const Call& call, std::string action, std::string object, std::string outcome,
                     std::optional<std::string> actor = std::nullopt);
  // A change: works through `tx` and returns what its entry names; to refuse, it sets
  // `refusal` to the answer and returns any failure (everything is rolled back).
  using ChangeFn =
      std::function<core::Result<Recorded>(store::Store& tx, std::optional<Reply>& refusal)>;
  // A change and the audit entry that records it (action `action`, actor the caller,
  // outcome ok) in one unit of work: both commit or neither does, so the trail names every
  // change exactly when it happened (A1). Checks that decide whether the change is allowed
  // (the last administrator, ...) belong inside `change`, where they see what it changes.
  // Returns the answer to send when it did not commit; nullopt when it did.
  std::optional<Reply> change(const Call& call, std::string_view what, std::string action,
                              const ChangeFn& change);
  // A further entry of the same unit of work (one change that is two events).
  core::Status record_in(store::Store& tx, const Call& call, std::string action,
                         std::string object);
  // An event that changes nothing (a refused CSRF token, a sign-in): recorded if the trail
  // can take it; if not, logged, and the request goes on, since refusing to answer would
  // not make the event less true. Never use it for a change or before handing out data.
  void note(const Call& call, std::string action, std::string object, std::string outcome,
            std::optional<std::string> actor = std::nullopt);
  // A failure of ours (store, hashing, sealed data): logged, answered by its kind.
  Reply store_error(const Call& call, const core::Error& e);
  // The audit entry that must precede a delivery could not be written: nothing is delivered,
  // and the answer is "unavailable" whatever the cause (fail closed; the caller may retry
  // once the trail can record again).
  Reply audit_refused(const Call& call, const core::Error& e);
  // A new session for `user_id` at `stage`; returns the cookie value.
  core::Result<std::pair<std::string, store::SessionRecord>> new_session(const Call& call,
                                                                         std::int64_t user_id,
                                                                         Stage stage);
  // Ends the caller's current session, if any (ids rotate at every stage change). A failure
  // leaves the old id alive: the caller answers with it, never with a new session beside it.
  [[nodiscard]] core::Status end_session(const Call& call);
  // Upkeep that does not decide the answer (forgetting a dead session, touching last_seen):
  // a failure is logged and the request goes on; the work is done again later.
  void housekeeping(const Call& call, std::string_view what, const core::Status& done);
  void maybe_prune(std::int64_t now);
  // Whether a stored session is still alive at `now`.
  bool alive(const store::SessionRecord& s, std::int64_t now) const;
};

using Fn = std::function<Reply(Shared&, Call&)>;

// --- helpers shared by the handler files -------------------------------------------------------

// Parses the JSON body; the caller's Reply on failure.
std::variant<auth::JsonObject, Reply> body_of(const Call& call);
Reply session_reply(Shared& s, const store::UserRecord& user, const store::SessionRecord& session);
Reply with_cookie(Reply r, const std::string& session_id);
// New form version carrying the current grants' keys (a grant changes who can read new
// submissions). Returns the version.
// Run inside a unit of work (`tx`), with the change that calls for it.
core::Result<int> reversion_form_blocking(store::Store& tx, const std::string& form_id,
                                          std::int64_t now);
// Every form the user is granted gets a new version (their key changed or they left).
core::Status reversion_user_forms_blocking(store::Store& tx, std::int64_t user_id,
                                           std::int64_t now);

// --- handlers, by file -------------------------------------------------------------------------

// enrolment.cpp
Reply enrol_start(Shared& s, Call& call);
Reply enrol_password(Shared& s, Call& call);
Reply enrol_totp(Shared& s, Call& call);
Reply enrol_totp_svg(Shared& s, Call& call);
Reply enrol_totp_confirm(Shared& s, Call& call);
Reply enrol_key(Shared& s, Call& call);
// sign_in.cpp
void note_failure(Shared& s, const Call& call, const std::string& account, std::string action);
Reply sign_in(Shared& s, Call& call);
Reply second_factor(Shared& s, Call& call);
Reply sign_out(Shared& s, Call& call);
Reply sign_out_everywhere(Shared& s, Call& call);
Reply get_session(Shared& s, Call& call);
// submissions.cpp
Reply my_key(Shared& s, Call& call);
Reply server_key(Shared& s, Call& call);
Reply list_forms(Shared& s, Call& call);
Reply list_submissions(Shared& s, Call& call);
Reply view_submission(Shared& s, Call& call);
Reply export_batch(Shared& s, Call& call);
// users.cpp
Reply list_users(Shared& s, Call& call);
Reply invite_user(Shared& s, Call& call);
Reply set_roles(Shared& s, Call& call);
Reply disable_user(Shared& s, Call& call);
Reply reissue_link(Shared& s, Call& call);
Reply add_grant(Shared& s, Call& call);
Reply revoke_grant(Shared& s, Call& call);
// secure_messages.cpp (the recipient's side of the secure-message portal)
std::string secure_code_hash(std::string_view copy_id, std::string_view code);
std::string sha256_hex(std::string_view text);
std::string lower_ascii(std::string_view text);
Reply secure_code(Shared& s, Call& call);
Reply secure_open(Shared& s, Call& call);
Reply secure_reply(Shared& s, Call& call);
Reply secure_totp(Shared& s, Call& call);
Reply secure_totp_confirm(Shared& s, Call& call);
// campaigns.cpp (issue 11)
Reply list_campaigns(Shared& s, Call& call);
Reply add_campaign(Shared& s, Call& call);
Reply show_campaign(Shared& s, Call& call);
Reply edit_campaign(Shared& s, Call& call);
Reply campaign_audience(Shared& s, Call& call);
Reply preview_campaign(Shared& s, Call& call);
Reply approve_campaign(Shared& s, Call& call);
Reply set_campaign_state(Shared& s, Call& call);
// audit_view.cpp
Reply list_audit(Shared& s, Call& call);
Reply export_audit(Shared& s, Call& call);
Reply verify_audit(Shared& s, Call& call);

}  // namespace portal::detail
