// Trust: untrusted network input (headers, cookies); nothing a client sends is logged.
// The portal's gate and route table. Every API request passes Portal::handle_blocking, which
// in this order: checks Origin (and the JSON content type) on every state change; finds the
// session by the hash of its cookie and drops it if idle, too old or at an expired stage;
// loads the user (disabled: the session is deleted); checks the stage the route needs, the
// CSRF token (constant time) and the role; touches last_seen_at. Refusals are audited.
#include "portal/portal.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include "auth/cookie.hpp"
#include "auth/email.hpp"
#include "auth/session_token.hpp"
#include "core/log.hpp"
#include "portal/detail/shared.hpp"
#include "portal/failure_counts.hpp"

namespace portal {

using store::Role;

Reply error_reply(Status status, std::string_view message) {
  return detail::json_reply(status, detail::json{{"error", message}});
}

Reply delayed(std::chrono::seconds wait) {
  Reply r = detail::json_reply(Status::too_many_attempts,
                               detail::json{{"error",
                                             "Too many attempts. Please wait before "
                                             "trying again."},
                                            {"retry_after_seconds", wait.count()}});
  r.retry_after = wait;
  return r;
}

namespace detail {

// --- replies ---------------------------------------------------------------------------------

Reply json_reply(Status status, const json& value) {
  return Reply{.status = status, .body = value.dump()};
}

Reply no_content() { return Reply{.status = Status::no_content, .body = {}, .content_type = {}}; }

std::string base64(std::span<const std::uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, auth::kMaxEmailBytes)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  return out;
}

std::variant<auth::JsonObject, Reply> body_of(const Call& call) {
  auto parsed = auth::parse_json_object(call.req.body, kMaxJsonBody);
  if (!parsed) return error_reply(Status::bad_request, parsed.error().public_text());
  return std::move(*parsed);
}

Reply session_reply(Shared& s, const store::UserRecord& user, const store::SessionRecord& session) {
  json j{{"email", user.email},
         {"roles", role_names(Roles(user.roles))},
         {"stage", session.stage},
         {"csrf", session.csrf_token},
         {"idle_timeout_seconds", s.limits.idle_timeout.count()},
         {"expires_at", session.created_at + s.limits.absolute_timeout.count()}};
  if (parse_stage(session.stage) == Stage::enrolling) {
    // Where an enrolment interrupted by a reload resumes.
    j["enrolment"] = json{{"password_set", user.password_hash.has_value()},
                          {"totp_confirmed", user.totp_confirmed}};
  }
  return json_reply(Status::ok, j);
}

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::enrolling:
      return "enrolling";
    case Stage::second_factor:
      return "second_factor";
    case Stage::full:
      return "full";
  }
  return "full";
}

std::optional<Stage> parse_stage(std::string_view name) {
  for (Stage s : {Stage::enrolling, Stage::second_factor, Stage::full}) {
    if (name == stage_name(s)) return s;
  }
  return std::nullopt;
}

Reply with_cookie(Reply r, const std::string& session_id) {
  r.set_cookie = auth::session_cookie(session_id);
  return r;
}

// --- the portal's state ----------------------------------------------------------------------

Shared::AttemptGuard::AttemptGuard(Shared& s, std::string account)
    : s_(s), account_(std::move(account)) {
  std::lock_guard lock(s_.in_flight_mutex);
  owned_ = s_.in_flight.insert(account_).second;
}

Shared::AttemptGuard::~AttemptGuard() {
  if (!owned_) return;
  std::lock_guard lock(s_.in_flight_mutex);
  s_.in_flight.erase(account_);
}

namespace {

std::unique_ptr<auth::SharedFailureCounts> shared_failures_of(store::Store& store) {
  if (store.engine_name() != "postgresql") return nullptr;
  return std::make_unique<StoreFailureCounts>(store.failures());
}

auth::LockoutPolicy lockout_policy(const Limits& limits) {
  auth::LockoutPolicy policy;
  policy.account_free_failures = limits.account_free_failures;
  policy.address_free_failures = limits.address_free_failures;
  policy.account_alert_failures = kAccountAlertFailures;
  return policy;
}

}  // namespace

Shared::Shared(Limits l, store::Store& s, const core::Clock& clk, core::Rng& r, audit::Auditor& a,
               Keys k)
    : limits(l),
      store(s),
      clock(clk),
      rng(r),
      auditor(a),
      keys(std::move(k)),
      shared_failures(shared_failures_of(s)),
      lockout(clk, lockout_policy(l), shared_failures.get()) {}

std::string Shared::current_origin() const {
  std::lock_guard lock(origin_mutex);
  return origin;
}

core::Status Shared::audit(const Call& call, std::string action, std::string object,
                           std::string outcome, std::optional<std::string> actor) {
  auto s = auditor.record_blocking(actor ? *actor : call.actor(), std::move(action),
                                   std::move(object), call.req.remote_address, std::move(outcome));
  if (!s) {
    spdlog::error("event=audit_failed request_id={} detail={}", call.req.request_id,
                  core::log_safe(s.error().detail()));
  }
  return s;
}

std::optional<Reply> Shared::change(const Call& call, std::string_view what, std::string action,
                                    const ChangeFn& change) {
  std::optional<Reply> refusal;
  auto status = store.transact_blocking(what, [&](store::Store& tx) -> core::Status {
    refusal.reset();  // a retried unit starts over
    auto recorded = change(tx, refusal);
    if (!recorded) return core::fail(std::move(recorded).error());
    return auditor.record_in_blocking(tx, recorded->actor.value_or(call.actor()), action,
                                      std::move(recorded->object), call.req.remote_address, "ok");
  });
  if (refusal) return refusal;
  if (!status) return store_error(call, status.error());
  if (after_change) after_change();
  // The change and its entry are committed; a checkpoint that fails now is signed at the
  // next one due (it covers every entry before it).
  if (auto signed_ = auditor.settle_blocking(); !signed_) {
    spdlog::error("event=audit_checkpoint_failed request_id={} detail={}", call.req.request_id,
                  core::log_safe(signed_.error().detail()));
  }
  return std::nullopt;
}

core::Status Shared::record_in(store::Store& tx, const Call& call, std::string action,
                               std::string object) {
  return auditor.record_in_blocking(tx, call.actor(), std::move(action), std::move(object),
                                    call.req.remote_address, "ok");
}

void Shared::note(const Call& call, std::string action, std::string object, std::string outcome,
                  std::optional<std::string> actor) {
  // audit() has logged a failure; an event does not stop the request.
  static_cast<void>(
      audit(call, std::move(action), std::move(object), std::move(outcome), std::move(actor)));
}

Reply Shared::store_error(const Call& call, const core::Error& e) {
  spdlog::error("event=portal_store_failed request_id={} detail={}", call.req.request_id,
                core::log_safe(e.detail()));
  Reply r =
      error_reply(Status::failed, "The server cannot do that right now. Please try again shortly.");
  r.failure = e.kind();
  return r;
}

Reply Shared::audit_refused(const Call& call, const core::Error& e) {
  Reply r = store_error(call, e);
  r.failure = core::ErrorKind::unavailable;
  return r;
}

core::Result<std::pair<std::string, store::SessionRecord>> Shared::new_session(const Call& call,
                                                                               std::int64_t user_id,
                                                                               Stage stage) {
  std::string id = auth::new_session_id(rng);
  store::SessionRecord record{.id_hash = auth::hash_token(id),
                              .user_id = user_id,
                              .stage = std::string(stage_name(stage)),
                              .csrf_token = auth::new_csrf_token(rng),
                              .created_at = call.now,
                              .last_seen_at = call.now,
                              .source = call.req.remote_address};
  if (auto s = store.accounts().create_session_blocking(record); !s) return core::fail(s.error());
  return std::make_pair(std::move(id), std::move(record));
}

core::Status Shared::end_session(const Call& call) {
  if (!call.session) return core::ok();
  return store.accounts().delete_session_blocking(call.session->id_hash);
}

void Shared::housekeeping(const Call& call, std::string_view what, const core::Status& done) {
  if (done) return;
  spdlog::warn("event=portal_housekeeping_failed request_id={} what={} detail={}",
               call.req.request_id, what, core::log_safe(done.error().detail()));
}

void Shared::maybe_prune(std::int64_t now) {
  auto last = last_prune.load();
  if (now - last < 300 || !last_prune.compare_exchange_strong(last, now)) return;
  // Expired sessions are refused by alive() whether or not they are deleted: pruning only
  // keeps the table small, and runs again in 5 minutes.
  if (auto pruned = store.accounts().prune_sessions_blocking(now - limits.absolute_timeout.count(),
                                                             now - limits.idle_timeout.count());
      !pruned) {
    spdlog::warn("event=session_prune_failed detail={}", core::log_safe(pruned.error().detail()));
  }
  // Shared lockout counts older than the lockout's forget_after count for nothing any more.
  if (shared_failures) {
    const auto forget = auth::LockoutPolicy{}.forget_after.count();
    if (auto pruned = store.failures().prune_failures_blocking(now - forget); !pruned) {
      spdlog::warn("event=lockout_prune_failed detail={}", core::log_safe(pruned.error().detail()));
    }
  }
}

bool Shared::alive(const store::SessionRecord& s, std::int64_t now) const {
  if (now - s.last_seen_at >= limits.idle_timeout.count()) return false;
  if (now - s.created_at >= limits.absolute_timeout.count()) return false;
  auto stage = parse_stage(s.stage);
  if (!stage) return false;
  if (*stage == Stage::second_factor && now - s.created_at >= kSecondFactorSeconds) return false;
  if (*stage == Stage::enrolling && now - s.created_at >= kEnrollingSeconds) return false;
  return true;
}

namespace {

// The gate in front of every handler (see the top of this file).
Reply gate(Shared& s, const Access& access, const Fn& fn, Call& call) {
  const Request& req = call.req;
  bool had_cookie = false;
  if (!req.cookie.empty()) {
    if (auto value = auth::find_cookie(req.cookie, auth::kSessionCookieName)) {
      had_cookie = true;
      auto found = s.store.accounts().find_session_blocking(auth::hash_token(*value));
      if (!found) return s.store_error(call, found.error());
      if (*found && s.alive(**found, call.now)) {
        call.stage = *parse_stage((*found)->stage);
        call.session = std::move(**found);
      } else if (*found) {
        s.housekeeping(call, "delete dead session",
                       s.store.accounts().delete_session_blocking((*found)->id_hash));
      }
    }
  }
  if (call.session) {
    auto user = s.store.accounts().find_user_blocking(call.session->user_id);
    if (!user) return s.store_error(call, user.error());
    if (!*user || (*user)->status == store::UserStatus::disabled) {
      s.housekeeping(call, "delete session of a disabled user",
                     s.store.accounts().delete_session_blocking(call.session->id_hash));
      call.session.reset();
    } else {
      call.user = std::move(**user);
    }
  }

  // Every state change must come from the portal's own pages (CSRF, with the token below).
  if (req.method != Method::get) {
    std::string expected = s.current_origin();
    if (expected.empty() || req.origin != expected) {
      // Audited for a signed-in user (someone is being attacked); a request without a
      // session changes nothing and would only let anyone fill the trail.
      if (call.session) {
        s.note(call, "csrf.rejected", req.target.substr(0, 200), "denied");
      }
      return error_reply(Status::forbidden, "This request did not come from the portal page.");
    }
    if (!req.body.empty() && !std::string_view(req.content_type).starts_with("application/json")) {
      return error_reply(Status::unsupported_media_type,
                         "Send JSON (Content-Type: application/json).");
    }
  }

  // A cookie that names no live session is cleared; a live session at another stage
  // (password checked, code not yet) keeps its cookie.
  auto signed_out = [&] {
    Reply r = error_reply(Status::unauthenticated, kSignIn);
    if (had_cookie && !call.session) r.set_cookie = auth::clear_session_cookie();
    return r;
  };
  if (access.need != Need::nothing) {
    if (!call.session) return signed_out();
    const Stage stage = call.stage;
    bool stage_ok = access.need == Need::any_session ||
                    (access.need == Need::full && stage == Stage::full) ||
                    (access.need == Need::enrolling && stage == Stage::enrolling) ||
                    (access.need == Need::second_factor && stage == Stage::second_factor);
    if (!stage_ok) {
      return access.need == Need::full ? signed_out()
                                       : error_reply(Status::conflict, "That step is not due now.");
    }
    if (access.csrf) {
      if (req.csrf_token.empty() ||
          !auth::constant_time_equal(req.csrf_token, call.session->csrf_token)) {
        s.note(call, "csrf.rejected", req.target.substr(0, 200), "denied");
        return error_reply(Status::forbidden, "This request did not come from the portal page.");
      }
    }
    if (!access.roles.empty() && !Roles(call.user->roles).any_of(access.roles)) {
      s.note(call, "access.denied", req.target.substr(0, 200), "denied");
      return error_reply(Status::forbidden, "Your role does not allow this.");
    }
    if (call.now - call.session->last_seen_at >= kTouchEverySeconds) {
      s.housekeeping(call, "touch session",
                     s.store.accounts().touch_session_blocking(call.session->id_hash, call.now));
    }
  }
  s.maybe_prune(call.now);
  return fn(s, call);
}

struct Endpoint {
  Method method;
  std::string_view pattern;
  Access access;
  Fn fn;
};

const std::vector<Endpoint>& endpoints() {
  static const std::vector<Endpoint> table = [] {
    const Access anyone{.need = Need::nothing, .csrf = false};
    // Credential checks (Argon2id, codes, links): rate limited per client address by the
    // caller, before they take a blocking-pool thread that encryption also needs.
    const Access credential{.need = Need::nothing, .csrf = false, .credential = true};
    const Access enrolling{.need = Need::enrolling};
    const Access full{.need = Need::full};
    const Roles managers{Role::admin, Role::form_owner};
    const Access admins{.need = Need::full, .roles = Roles{Role::admin}};
    const Access auditing{.need = Need::full, .roles = Roles{Role::admin, Role::auditor}};
    const Access managers_only{.need = Need::full, .roles = managers};
    const Access campaign_reviewers{.need = Need::full,
                                    .roles = Roles{Role::admin, Role::form_owner, Role::reviewer}};
    const Access campaign_readers{
        .need = Need::full,
        .roles = Roles{Role::admin, Role::form_owner, Role::reviewer, Role::auditor}};
    using M = Method;
    return std::vector<Endpoint>{
        {M::get, "/portal/api/session", anyone, get_session},
        {M::post, "/portal/api/enrol/start", credential, enrol_start},
        {M::post, "/portal/api/enrol/password", enrolling, enrol_password},
        {M::post, "/portal/api/enrol/totp", enrolling, enrol_totp},
        // An <img> cannot send a header: the QR code is guarded by the SameSite=Strict cookie.
        {M::get, "/portal/api/enrol/totp.svg", Access{.need = Need::enrolling, .csrf = false},
         enrol_totp_svg},
        {M::post, "/portal/api/enrol/totp/confirm", enrolling, enrol_totp_confirm},
        {M::post, "/portal/api/enrol/key", enrolling, enrol_key},
        {M::post, "/portal/api/sign-in", credential, sign_in},
        {M::post, "/portal/api/sign-in/second-factor", Access{.need = Need::second_factor},
         second_factor},
        {M::post, "/portal/api/sign-out", Access{.need = Need::any_session}, sign_out},
        {M::post, "/portal/api/sign-out-everywhere", full, sign_out_everywhere},
        {M::get, "/portal/api/me/key", full, my_key},
        {M::get, "/portal/api/server-key", full, server_key},
        {M::get, "/portal/api/forms", full, list_forms},
        {M::get, "/portal/api/forms/{form}/submissions", full, list_submissions},
        {M::get, "/portal/api/forms/{form}/submissions/{ref}", full, view_submission},
        {M::get, "/portal/api/forms/{form}/export", full, export_batch},
        {M::get, "/portal/api/users", Access{.need = Need::full, .roles = managers}, list_users},
        {M::post, "/portal/api/users", admins, invite_user},
        {M::post, "/portal/api/users/{id}/roles", admins, set_roles},
        {M::post, "/portal/api/users/{id}/disable", admins, disable_user},
        {M::post, "/portal/api/users/{id}/enrolment-link", admins, reissue_link},
        // Forms have no owners yet (P7): only administrators grant, so a form owner cannot
        // give themselves every form.
        {M::post, "/portal/api/users/{id}/grants", admins, add_grant},
        {M::post, "/portal/api/users/{id}/grants/{form}/revoke", admins, revoke_grant},
        // Campaigns (issue 11): form owners write and run them; a reviewer who is not the
        // author approves (four eyes); auditors read.
        {M::get, "/portal/api/campaigns", campaign_readers, list_campaigns},
        {M::post, "/portal/api/campaigns", managers_only, add_campaign},
        {M::get, "/portal/api/campaigns/{id}", campaign_readers, show_campaign},
        {M::post, "/portal/api/campaigns/{id}", managers_only, edit_campaign},
        {M::get, "/portal/api/campaigns/{id}/audience", campaign_readers, campaign_audience},
        {M::post, "/portal/api/campaigns/{id}/preview", campaign_reviewers, preview_campaign},
        {M::post, "/portal/api/campaigns/{id}/approve",
         Access{.need = Need::full, .roles = Roles{Role::reviewer}}, approve_campaign},
        {M::post, "/portal/api/campaigns/{id}/state", managers_only, set_campaign_state},
        {M::get, "/portal/api/audit", auditing, list_audit},
        {M::get, "/portal/api/audit/export", auditing, export_audit},
        {M::get, "/portal/api/audit/verify", auditing, verify_audit},
        // The secure-message portal (issue 9): no session; Origin and JSON are checked by
        // the gate like every state change; both are credential checks (a code mailed, a
        // code tried), rate limited per address before they are queued.
        {M::post, "/api/s/{id}/code", credential, secure_code},
        {M::post, "/api/s/{id}/open", credential, secure_open},
        // After an open, with the token it answered (a bearer in the page's memory, bound to
        // the copy and 30 minutes; no cookie, so no CSRF): replies and an authenticator.
        {M::post, "/api/s/{id}/reply", credential, secure_reply},
        {M::post, "/api/s/{id}/totp", credential, secure_totp},
        {M::post, "/api/s/{id}/totp/confirm", credential, secure_totp_confirm},
    };
  }();
  return table;
}

}  // namespace

}  // namespace detail

Portal::Portal(Limits limits, store::Store& store, const core::Clock& clock, core::Rng& rng,
               audit::Auditor& auditor, Keys keys)
    : shared_(
          std::make_unique<detail::Shared>(limits, store, clock, rng, auditor, std::move(keys))) {}

Portal::~Portal() = default;

void Portal::set_origin(std::string origin) {
  std::lock_guard lock(shared_->origin_mutex);
  shared_->origin = std::move(origin);
}

void Portal::set_secure_code_sender(SecureCodeSender send) {
  shared_->send_secure_code = std::move(send);
}

void Portal::set_secure_reply_sender(SecureReplySender send) {
  shared_->send_secure_reply = std::move(send);
}

void Portal::set_campaigns(CampaignSettings settings) { shared_->campaigns = std::move(settings); }

void Portal::set_after_change(std::function<void()> hook) {
  shared_->after_change = std::move(hook);
}

const std::vector<Route>& Portal::routes() const {
  static const std::vector<Route> routes = [] {
    std::vector<Route> out;
    const auto& table = detail::endpoints();
    for (std::size_t i = 0; i < table.size(); ++i) {
      out.push_back(Route{.method = table[i].method,
                          .pattern = table[i].pattern,
                          .credential_check = table[i].access.credential,
                          .index = i});
    }
    return out;
  }();
  return routes;
}

Reply Portal::handle_blocking(const Route& route, const Request& request) {
  const auto& endpoint = detail::endpoints().at(route.index);
  detail::Call call{.req = request, .now = core::unix_seconds(shared_->clock.now())};
  return detail::gate(*shared_, endpoint.access, endpoint.fn, call);
}

}  // namespace portal
