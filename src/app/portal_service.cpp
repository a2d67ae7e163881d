// Trust: untrusted network input (JSON bodies, cookies, headers, query strings). Bodies go
// through auth::parse_json_object (size, depth, UTF-8 limits); nothing a client sends is
// logged. Every delivery of submission data is audited before it is sent, and a failing
// audit write stops the delivery.
#include "app/portal_service.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <variant>

#include "app/files.hpp"
#include "app/recipients.hpp"
#include "app/reference.hpp"
#include "auth/cookie.hpp"
#include "auth/json_body.hpp"
#include "auth/lockout.hpp"
#include "auth/password.hpp"
#include "auth/qr.hpp"
#include "auth/recovery.hpp"
#include "auth/session_token.hpp"
#include "auth/totp.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "crypto/openpgp.hpp"
#include "forms/declaration.hpp"
#include "forms/urlencoded.hpp"
#include "http/rate_limiter.hpp"
#include "portal_assets/portal_assets.hpp"

namespace app {

namespace bhttp = boost::beast::http;
using core::ErrorKind;
using json = nlohmann::json;
using store::Role;

namespace {

constexpr std::size_t kMaxJsonBody = 64 * 1024;
constexpr std::int64_t kSecondFactorSeconds = 5 * 60;  // password checked, code due
constexpr std::int64_t kEnrollingSeconds = 60 * 60;    // an enrolment in progress
constexpr std::int64_t kTouchEverySeconds = 15;        // last_seen is written at most this often
constexpr std::size_t kMaxPage = 500;
constexpr std::size_t kMaxAuditExport = 100000;
constexpr std::size_t kMaxExportBatchBytes = 32 << 20;
constexpr std::size_t kMaxEmail = 254;
constexpr const char* kIssuer = "sealpost";

constexpr std::string_view kPortalCsp =
    "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'; "
    "img-src 'self'; style-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'";

constexpr std::string_view kGrantNote =
    "New submissions to this form will be encrypted to this person's key. Submissions "
    "received before now stay readable only by the keys they were encrypted to.";

constexpr std::string_view kWrongPassword = "The e-mail address or password is wrong.";
constexpr std::string_view kWrongCode = "That code is not right.";
constexpr std::string_view kSignIn = "Please sign in.";

// --- replies -------------------------------------------------------------------------------

struct Reply {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::optional<std::string> set_cookie;
  std::optional<std::string> retry_after;
};

Reply json_reply(unsigned status, const json& value) {
  return Reply{.status = status, .body = value.dump()};
}

Reply error_reply(unsigned status, std::string_view message) {
  return json_reply(status, json{{"error", message}});
}

Reply no_content() { return Reply{.status = 204, .body = {}, .content_type = {}}; }

std::string http_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

http::Response to_response(Reply reply) {
  http::Response r{static_cast<bhttp::status>(reply.status), 11};
  if (!reply.content_type.empty()) r.set(bhttp::field::content_type, reply.content_type);
  if (reply.set_cookie) r.set(bhttp::field::set_cookie, *reply.set_cookie);
  if (reply.retry_after) r.set(bhttp::field::retry_after, *reply.retry_after);
  // The browser compares its clock with ours (a skewed clock makes fresh signatures look
  // like they come from the future).
  r.set(bhttp::field::date, http_date());
  r.body() = std::move(reply.body);
  return r;
}

std::string base64(std::span<const std::uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Audit objects and actors hold what an address or e-mail a client typed looks like, never
// more than 254 bytes and never control characters.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxEmail)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  return out;
}

// --- TOTP secrets at rest: sealed with XSalsa20-Poly1305 under secrets/portal-seal.key ----

std::vector<std::uint8_t> seal(const core::SecretBytes& key, const core::SecretBytes& plain) {
  std::vector<std::uint8_t> out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                plain.size());
  randombytes_buf(out.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES, plain.view().data(), plain.size(),
                        out.data(), key.view().data());
  return out;
}

core::Result<core::SecretBytes> unseal(const core::SecretBytes& key,
                                       const std::vector<std::uint8_t>& sealed) {
  if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return core::fail(ErrorKind::integrity, "stored second factor is unreadable");
  }
  core::SecretBytes plain(sealed.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES);
  if (crypto_secretbox_open_easy(
          plain.mutable_view().data(), sealed.data() + crypto_secretbox_NONCEBYTES,
          sealed.size() - crypto_secretbox_NONCEBYTES, sealed.data(), key.view().data()) != 0) {
    return core::fail(ErrorKind::integrity, "stored second factor is unreadable",
                      "TOTP secret failed authentication (wrong seal key or edited row)");
  }
  return plain;
}

// --- query strings ---------------------------------------------------------------------------

struct Query {
  forms::FieldPairs pairs;
  std::optional<std::string> get(std::string_view name) const {
    for (const auto& [k, v] : pairs) {
      if (k == name) return v;
    }
    return std::nullopt;
  }
};

core::Result<Query> parse_query(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return Query{};
  forms::UrlencodedLimits limits{.max_bytes = 4096, .max_pairs = 16, .max_name_bytes = 32};
  auto pairs = forms::parse_urlencoded(target.substr(q + 1), limits);
  if (!pairs) return core::fail(ErrorKind::invalid_input, "The query string is malformed.");
  return Query{std::move(*pairs)};
}

core::Result<std::optional<std::int64_t>> int_param(const Query& q, std::string_view name,
                                                    std::int64_t min, std::int64_t max) {
  auto v = q.get(name);
  if (!v || v->empty()) return std::optional<std::int64_t>{};
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc{} || end != v->data() + v->size() || n < min || n > max) {
    return core::fail(ErrorKind::invalid_input,
                      fmt::format("\"{}\" must be a whole number from {} to {}.", name, min, max));
  }
  return std::optional<std::int64_t>(n);
}

// --- access rules --------------------------------------------------------------------------

enum class Need { nothing, enrolling, second_factor, any_session, full };

struct Access {
  Need need = Need::full;
  unsigned roles = 0;  // any one of these (0: any signed-in user)
  bool csrf = true;    // X-CSRF-Token must match the session's
  // Credential checks (Argon2id, codes, links): rate limited per client address on the
  // event loop, before they take a blocking-pool thread that encryption also needs.
  bool credential = false;
};

constexpr unsigned bit(Role r) { return static_cast<unsigned>(r); }

// The roles that may read submissions of the forms they are granted.
constexpr unsigned kReaders = bit(Role::staff) | bit(Role::form_owner) | bit(Role::admin);

}  // namespace

// --- role names ------------------------------------------------------------------------------

std::string_view role_name(Role role) {
  switch (role) {
    case Role::admin:
      return "admin";
    case Role::form_owner:
      return "form_owner";
    case Role::staff:
      return "staff";
    case Role::reviewer:
      return "reviewer";
    case Role::auditor:
      return "auditor";
  }
  return "unknown";
}

namespace {
constexpr Role kAllRoles[] = {Role::admin, Role::form_owner, Role::staff, Role::reviewer,
                              Role::auditor};
}

core::Result<unsigned> parse_roles(const std::vector<std::string>& names) {
  unsigned roles = 0;
  for (const auto& name : names) {
    bool known = false;
    for (Role r : kAllRoles) {
      if (name == role_name(r)) {
        roles |= bit(r);
        known = true;
      }
    }
    if (!known) {
      return core::fail(ErrorKind::invalid_input,
                        fmt::format("unknown role \"{}\" (roles: admin, form_owner, staff, "
                                    "reviewer, auditor)",
                                    printable(name)));
    }
  }
  if (roles == 0) return core::fail(ErrorKind::invalid_input, "give at least one role");
  return roles;
}

std::vector<std::string> role_names(unsigned roles) {
  std::vector<std::string> out;
  for (Role r : kAllRoles) {
    if ((roles & bit(r)) != 0) out.emplace_back(role_name(r));
  }
  return out;
}

core::Result<std::string> normalize_email(std::string_view email) {
  std::string out;
  for (char c : email)
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  auto at = out.find('@');
  bool ok = !out.empty() && out.size() <= kMaxEmail && at != std::string::npos && at > 0 &&
            at + 1 < out.size() && out.find('@', at + 1) == std::string::npos &&
            out.find('.', at) != std::string::npos;
  for (char c : out) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"' ||
        c == ',' || c == ';' || c == '\\') {
      ok = false;
    }
  }
  if (!ok) return core::fail(ErrorKind::invalid_input, "that is not an e-mail address");
  return out;
}

core::Result<std::string> issue_enrolment_link_blocking(store::Store& store, std::int64_t user_id,
                                                        std::chrono::seconds lifetime,
                                                        const std::string& origin,
                                                        core::TimePoint now) {
  std::string token = auth::new_session_id();
  const std::int64_t t = core::unix_seconds(now);
  if (auto s = store.accounts().add_enrolment_blocking(auth::hash_token(token), user_id,
                                                       t + lifetime.count(), t);
      !s) {
    return core::fail(s.error());
  }
  return origin + "/portal/enrol#t=" + token;
}

core::Result<std::vector<std::string>> granted_recipients_blocking(store::Store& store,
                                                                   const std::string& form_id) {
  auto grants = store.accounts().list_grants_blocking(std::nullopt);
  if (!grants) return core::fail(grants.error());
  std::vector<std::string> out;
  for (const auto& g : *grants) {
    if (g.form_id != form_id) continue;
    auto user = store.accounts().find_user_blocking(g.user_id);
    if (!user) return core::fail(user.error());
    if (!*user || (*user)->status != store::UserStatus::active || !(*user)->key_fingerprint) {
      continue;
    }
    const auto& fpr = *(*user)->key_fingerprint;
    if (std::find(out.begin(), out.end(), fpr) == out.end()) out.push_back(fpr);
  }
  std::sort(out.begin(), out.end());
  return out;
}

core::Result<core::SecretBytes> load_or_create_seal_key(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    core::SecretBytes fresh(crypto_secretbox_KEYBYTES);
    core::SystemRng().fill(fresh.mutable_view());
    if (auto s = write_file(path, fresh.as_string_view(), 0600, true); !s) {
      // Another process may have created it first: read theirs.
      if (!std::filesystem::exists(path, ec)) return core::fail(s.error());
    }
  }
  auto key = read_secret_file(path, 1024);
  if (!key) return core::fail(key.error());
  if (key->size() != crypto_secretbox_KEYBYTES) {
    return core::fail(ErrorKind::invalid_input, path.string() + " must hold exactly 32 bytes");
  }
  return key;
}

// --- the service ----------------------------------------------------------------------------

struct Call {
  const http::Request& req;
  const http::RequestContext& ctx;
  std::int64_t now = 0;
  std::optional<store::SessionRecord> session;
  std::optional<store::UserRecord> user;
  std::string actor() const { return user ? user->email : "anonymous"; }
  bool has(Role r) const { return user && (user->roles & bit(r)) != 0; }
};

using Fn = std::function<Reply(PortalService::Shared&, Call&)>;

struct PortalService::Shared {
  const Config& config;
  store::Store& store;
  core::BlockingPool& pool;
  const core::Clock& clock;
  Auditor& auditor;
  PortalKeys keys;
  auth::Lockout lockout;
  http::RateLimiter credential_attempts;
  mutable std::mutex origin_mutex;
  std::string origin;
  std::atomic<std::int64_t> last_prune{0};
  // Accounts with a credential check running: one at a time each, so requests sent in
  // parallel cannot all pass the lockout's delay check before the first failure counts.
  std::mutex in_flight_mutex;
  std::set<std::string, std::less<>> in_flight;

  class AttemptGuard {
   public:
    AttemptGuard(Shared& s, std::string account) : s_(s), account_(std::move(account)) {
      std::lock_guard lock(s_.in_flight_mutex);
      owned_ = s_.in_flight.insert(account_).second;
    }
    ~AttemptGuard() {
      if (!owned_) return;
      std::lock_guard lock(s_.in_flight_mutex);
      s_.in_flight.erase(account_);
    }
    AttemptGuard(const AttemptGuard&) = delete;
    AttemptGuard& operator=(const AttemptGuard&) = delete;
    bool owned() const { return owned_; }

   private:
    Shared& s_;
    std::string account_;
    bool owned_ = false;
  };

  Shared(const Config& c, store::Store& s, core::BlockingPool& p, const core::Clock& clk,
         Auditor& a, PortalKeys k)
      : config(c),
        store(s),
        pool(p),
        clock(clk),
        auditor(a),
        keys(std::move(k)),
        lockout(clk, lockout_policy()),
        credential_attempts(clk, 30, 20) {}

  // A clinic behind one NAT address has many users, so the per-address budget is loose; a
  // burst of 5 failures on one account within 15 minutes is worth an alert.
  static auth::LockoutPolicy lockout_policy() {
    auth::LockoutPolicy policy;
    policy.address_free_failures = 50;
    policy.account_alert_failures = 5;
    return policy;
  }

  std::string current_origin() const {
    std::lock_guard lock(origin_mutex);
    return origin;
  }

  // Records an audit entry; the caller must not send data if this fails.
  core::Status audit(const Call& call, std::string action, std::string object, std::string outcome,
                     std::optional<std::string> actor = std::nullopt) {
    auto s =
        auditor.record_blocking(actor ? *actor : call.actor(), std::move(action), std::move(object),
                                call.ctx.remote_address, std::move(outcome));
    if (!s) {
      spdlog::error("event=audit_failed request_id={} detail={}", call.ctx.request_id,
                    core::log_safe(s.error().detail()));
    }
    return s;
  }

  Reply store_error(const Call& call, const core::Error& e) {
    spdlog::error("event=portal_store_failed request_id={} detail={}", call.ctx.request_id,
                  core::log_safe(e.detail()));
    return error_reply(503, "The server cannot do that right now. Please try again shortly.");
  }

  // A new session for `user_id` at `stage`; returns the cookie value.
  core::Result<std::pair<std::string, store::SessionRecord>> new_session(const Call& call,
                                                                         std::int64_t user_id,
                                                                         std::string stage) {
    std::string id = auth::new_session_id();
    store::SessionRecord record{.id_hash = auth::hash_token(id),
                                .user_id = user_id,
                                .stage = std::move(stage),
                                .csrf_token = auth::new_csrf_token(),
                                .created_at = call.now,
                                .last_seen_at = call.now,
                                .source = call.ctx.remote_address};
    if (auto s = store.accounts().create_session_blocking(record); !s) return core::fail(s.error());
    return std::make_pair(std::move(id), std::move(record));
  }

  // Ends the caller's current session, if any (ids rotate at every stage change).
  void end_session(const Call& call) {
    if (call.session) (void)store.accounts().delete_session_blocking(call.session->id_hash);
  }

  void maybe_prune(std::int64_t now) {
    auto last = last_prune.load();
    if (now - last < 300 || !last_prune.compare_exchange_strong(last, now)) return;
    (void)store.accounts().prune_sessions_blocking(now - config.portal_absolute_timeout.count(),
                                                   now - config.portal_idle_timeout.count());
  }

  // Whether a stored session is still alive at `now`.
  bool alive(const store::SessionRecord& s, std::int64_t now) const {
    if (now - s.last_seen_at >= config.portal_idle_timeout.count()) return false;
    if (now - s.created_at >= config.portal_absolute_timeout.count()) return false;
    if (s.stage == "second_factor" && now - s.created_at >= kSecondFactorSeconds) return false;
    if (s.stage == "enrolling" && now - s.created_at >= kEnrollingSeconds) return false;
    return true;
  }

  Reply handle(const Access& access, const Fn& fn, Call& call) {
    const auto& req = call.req;
    bool had_cookie = false;
    if (auto header = req[bhttp::field::cookie]; !header.empty()) {
      if (auto value = auth::find_cookie(header, auth::kSessionCookieName)) {
        had_cookie = true;
        auto found = store.accounts().find_session_blocking(auth::hash_token(*value));
        if (!found) return store_error(call, found.error());
        if (*found && alive(**found, call.now)) {
          call.session = std::move(**found);
        } else if (*found) {
          (void)store.accounts().delete_session_blocking((*found)->id_hash);
        }
      }
    }
    if (call.session) {
      auto user = store.accounts().find_user_blocking(call.session->user_id);
      if (!user) return store_error(call, user.error());
      if (!*user || (*user)->status == store::UserStatus::disabled) {
        (void)store.accounts().delete_session_blocking(call.session->id_hash);
        call.session.reset();
      } else {
        call.user = std::move(**user);
      }
    }

    // Every state change must come from the portal's own pages (CSRF, with the token below).
    if (req.method() != bhttp::verb::get) {
      std::string expected = current_origin();
      auto origin = req[bhttp::field::origin];
      if (expected.empty() || origin != expected) {
        // Audited for a signed-in user (someone is being attacked); a request without a
        // session changes nothing and would only let anyone fill the trail.
        if (call.session) {
          (void)audit(call, "csrf.rejected", std::string(req.target().substr(0, 200)), "denied");
        }
        return error_reply(403, "This request did not come from the portal page.");
      }
      auto type = req[bhttp::field::content_type];
      if (!req.body().empty() && !type.starts_with("application/json")) {
        return error_reply(415, "Send JSON (Content-Type: application/json).");
      }
    }

    // A cookie that names no live session is cleared; a live session at another stage
    // (password checked, code not yet) keeps its cookie.
    auto signed_out = [&] {
      Reply r = error_reply(401, kSignIn);
      if (had_cookie && !call.session) r.set_cookie = auth::clear_session_cookie();
      return r;
    };
    if (access.need != Need::nothing) {
      if (!call.session) return signed_out();
      const std::string& stage = call.session->stage;
      bool stage_ok = access.need == Need::any_session ||
                      (access.need == Need::full && stage == "full") ||
                      (access.need == Need::enrolling && stage == "enrolling") ||
                      (access.need == Need::second_factor && stage == "second_factor");
      if (!stage_ok) {
        return access.need == Need::full ? signed_out()
                                         : error_reply(409, "That step is not due now.");
      }
      if (access.csrf) {
        auto token = req["X-CSRF-Token"];
        if (token.empty() || !auth::constant_time_equal(token, call.session->csrf_token)) {
          (void)audit(call, "csrf.rejected", std::string(req.target().substr(0, 200)), "denied");
          return error_reply(403, "This request did not come from the portal page.");
        }
      }
      if (access.roles != 0 && (call.user->roles & access.roles) == 0) {
        (void)audit(call, "access.denied", std::string(req.target().substr(0, 200)), "denied");
        return error_reply(403, "Your role does not allow this.");
      }
      if (call.now - call.session->last_seen_at >= kTouchEverySeconds) {
        (void)store.accounts().touch_session_blocking(call.session->id_hash, call.now);
      }
    }
    maybe_prune(call.now);
    return fn(*this, call);
  }
};

PortalService::PortalService(const Config& config, store::Store& store, core::BlockingPool& pool,
                             const core::Clock& clock, Auditor& auditor, PortalKeys keys)
    : shared_(std::make_shared<Shared>(config, store, pool, clock, auditor, std::move(keys))) {}

PortalService::~PortalService() = default;

void PortalService::set_origin(std::string origin) {
  std::lock_guard lock(shared_->origin_mutex);
  shared_->origin = std::move(origin);
}

namespace {

using Shared = PortalService::Shared;

// Parses the JSON body; the caller's Reply on failure.
std::variant<auth::JsonObject, Reply> body_of(const Call& call) {
  auto parsed = auth::parse_json_object(call.req.body(), kMaxJsonBody);
  if (!parsed) return error_reply(400, parsed.error().public_text());
  return std::move(*parsed);
}

Reply session_reply(Shared& s, const store::UserRecord& user, const store::SessionRecord& session,
                    unsigned status = 200) {
  json j{{"email", user.email},
         {"roles", role_names(user.roles)},
         {"stage", session.stage},
         {"csrf", session.csrf_token},
         {"idle_timeout_seconds", s.config.portal_idle_timeout.count()},
         {"expires_at", session.created_at + s.config.portal_absolute_timeout.count()}};
  if (session.stage == "enrolling") {
    // Where an enrolment interrupted by a reload resumes.
    j["enrolment"] = json{{"password_set", user.password_hash.has_value()},
                          {"totp_confirmed", user.totp_confirmed}};
  }
  return json_reply(status, j);
}

Reply with_cookie(Reply r, const std::string& session_id) {
  r.set_cookie = auth::session_cookie(session_id);
  return r;
}

Reply delayed(std::chrono::seconds wait) {
  Reply r = json_reply(429, json{{"error", "Too many attempts. Please wait before trying again."},
                                 {"retry_after_seconds", wait.count()}});
  r.retry_after = std::to_string(wait.count());
  return r;
}

// A failed sign-in step: counts toward lockout, raises an alert on a burst.
void note_failure(Shared& s, const Call& call, const std::string& account, std::string action) {
  auto result = s.lockout.record_failure(account, call.ctx.remote_address);
  (void)s.audit(call, std::move(action), "account:" + printable(account), "failure",
                printable(account));
  if (result.alert) {
    spdlog::warn("event=alert kind=failed_sign_in_burst source={}",
                 core::log_safe(call.ctx.remote_address));
    (void)s.audit(call, "alert.failed_sign_in_burst", "account:" + printable(account), "alert",
                  "system");
  }
}

// New form version carrying the current grants' keys (a grant changes who can read new
// submissions). Returns the version.
core::Result<int> reversion_form_blocking(Shared& s, const std::string& form_id, std::int64_t now) {
  auto latest = s.store.forms().latest_form_blocking(form_id);
  if (!latest) return core::fail(latest.error());
  if (!*latest) return core::fail(ErrorKind::not_found, "There is no such form.");
  auto granted = granted_recipients_blocking(s.store, form_id);
  if (!granted) return core::fail(granted.error());
  return s.store.forms().add_form_version_blocking(form_id, (*latest)->declaration, now, *granted);
}

// Every form the user is granted gets a new version (their key changed or they left).
core::Status reversion_user_forms_blocking(Shared& s, std::int64_t user_id, std::int64_t now) {
  auto grants = s.store.accounts().list_grants_blocking(user_id);
  if (!grants) return core::fail(grants.error());
  for (const auto& g : *grants) {
    if (auto v = reversion_form_blocking(s, g.form_id, now); !v) return core::fail(v.error());
  }
  return core::ok();
}

core::Result<bool> granted(Shared& s, const Call& call, const std::string& form_id) {
  auto grants = s.store.accounts().list_grants_blocking(call.user->id);
  if (!grants) return core::fail(grants.error());
  return std::any_of(grants->begin(), grants->end(),
                     [&](const auto& g) { return g.form_id == form_id; });
}

// The form exists and the caller is granted it: nullopt. Otherwise the reply (404 / 403,
// the refusal audited).
std::optional<Reply> check_form_access(Shared& s, Call& call, const std::string& form_id) {
  auto form = s.store.forms().latest_form_blocking(form_id);
  if (!form) return s.store_error(call, form.error());
  if (!*form) return error_reply(404, "There is no such form.");
  auto ok = granted(s, call, form_id);
  if (!ok) return s.store_error(call, ok.error());
  // An auditor or reviewer with a grant still reads no health data (P4).
  if (!*ok || (call.user->roles & kReaders) == 0) {
    (void)s.audit(call, "access.denied", "form:" + form_id, "denied");
    return error_reply(403, "You have not been given access to this form.");
  }
  return std::nullopt;
}

// The parameters every list shares: a time range (unix seconds, `to` exclusive) and paging.
struct RangeParams {
  std::optional<std::int64_t> from;
  std::optional<std::int64_t> to;
  std::int64_t after = 0;
  std::size_t limit = 100;
};

core::Result<RangeParams> range_params(const Query& q) {
  auto from = int_param(q, "from", 0, std::int64_t{1} << 40);
  if (!from) return core::fail(from.error());
  auto to = int_param(q, "to", 0, std::int64_t{1} << 40);
  if (!to) return core::fail(to.error());
  auto after = int_param(q, "after", 0, std::numeric_limits<std::int64_t>::max());
  if (!after) return core::fail(after.error());
  auto limit = int_param(q, "limit", 1, kMaxPage);
  if (!limit) return core::fail(limit.error());
  return RangeParams{.from = *from,
                     .to = *to,
                     .after = after->value_or(0),
                     .limit = static_cast<std::size_t>(limit->value_or(100))};
}

core::Result<store::SubmissionQuery> submission_query(const Call& call,
                                                      const std::string& form_id) {
  auto q = parse_query(call.req.target());
  if (!q) return core::fail(q.error());
  auto range = range_params(*q);
  if (!range) return core::fail(range.error());
  store::SubmissionQuery query{.form_id = form_id,
                               .received_from = range->from,
                               .received_to = range->to,
                               .after_seq = range->after,
                               .limit = range->limit};
  if (auto ref = q->get("reference"); ref && !ref->empty()) {
    std::string upper;
    for (char c : *ref)
      upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    if (!is_reference(upper)) {
      return core::fail(ErrorKind::invalid_input,
                        "A reference looks like XXXX-XXXX-XXXX (letters and digits).");
    }
    query.reference = upper;
  }
  return query;
}

std::string search_object(const store::SubmissionQuery& q) {
  std::string out = "form:" + q.form_id;
  if (q.reference) out += " reference:" + *q.reference;
  if (q.received_from) out += fmt::format(" from:{}", *q.received_from);
  if (q.received_to) out += fmt::format(" to:{}", *q.received_to);
  return out;
}

// Paging: the store is asked for one row more than the page; if it comes, there is a next
// page, starting after the page's last row.
template <class Row, class Seq>
json take_page(std::vector<Row>& rows, std::size_t limit, Seq seq_of) {
  if (rows.size() <= limit) return json(nullptr);
  rows.resize(limit);
  return json(seq_of(rows.back()));
}

// --- handlers: enrolment ---------------------------------------------------------------------

Reply enrol_start(Shared& s, Call& call) {
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto token = std::get<auth::JsonObject>(body).string("token", 128);
  constexpr std::string_view kBadLink =
      "This enrolment link is not valid any more. Ask your administrator for a new one.";
  if (!token) return error_reply(400, kBadLink);
  // Guessing links is throttled per address (a 256-bit token cannot be guessed; this keeps
  // the attempts out of the database).
  const std::string throttle = "enrolment-link:" + call.ctx.remote_address;
  if (auto wait = s.lockout.delay(throttle, call.ctx.remote_address)) return delayed(*wait);
  auto user_id = s.store.accounts().consume_enrolment_blocking(auth::hash_token(*token), call.now);
  std::optional<store::UserRecord> user;
  if (user_id) {
    auto found = s.store.accounts().find_user_blocking(*user_id);
    if (!found) return s.store_error(call, found.error());
    if (*found && (*found)->status != store::UserStatus::disabled) user = std::move(**found);
  } else if (user_id.error().kind() != ErrorKind::not_found) {
    return s.store_error(call, user_id.error());
  }
  if (!user) {
    s.lockout.record_failure(throttle, call.ctx.remote_address);
    (void)s.audit(call, "enrol.start", "link", "failure");
    return error_reply(400, kBadLink);
  }
  // Opening a link starts the account's credentials afresh: the old password, authenticator,
  // recovery codes and sessions stop working now, so a link can never be a way around them
  // for an account that keeps working silently beside it.
  user->password_hash.reset();
  user->totp_sealed.clear();
  user->totp_confirmed = false;
  if (auto st = s.store.accounts().update_user_blocking(*user); !st)
    return s.store_error(call, st.error());
  if (auto st = s.store.accounts().replace_recovery_codes_blocking(user->id, {}); !st) {
    return s.store_error(call, st.error());
  }
  if (auto n = s.store.accounts().delete_user_sessions_blocking(user->id); !n) {
    return s.store_error(call, n.error());
  }
  s.end_session(call);
  auto session = s.new_session(call, user->id, "enrolling");
  if (!session) return s.store_error(call, session.error());
  (void)s.audit(call, "enrol.start", "user:" + user->email, "ok", user->email);
  return with_cookie(session_reply(s, *user, session->second), session->first);
}

Reply enrol_password(Shared& s, Call& call) {
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto password = std::get<auth::JsonObject>(body).string("password", 1024);
  if (!password) return error_reply(422, "Choose a password of at least 12 characters.");
  core::SecretBytes secret(*password);
  core::secure_wipe(password->data(), password->size());
  if (auto ok = auth::check_password_policy(secret.as_string_view(), call.user->email); !ok) {
    return error_reply(422, ok.error().public_text());
  }
  auto hash = auth::hash_password(secret.as_string_view());
  if (!hash) return s.store_error(call, hash.error());
  call.user->password_hash = *hash;
  // A (re-)enrolment sets the factors in order: a new password starts the authenticator
  // step afresh, so the two always come from the same enrolment.
  call.user->totp_sealed.clear();
  call.user->totp_confirmed = false;
  if (auto st = s.store.accounts().update_user_blocking(*call.user); !st) {
    return s.store_error(call, st.error());
  }
  (void)s.audit(call, "enrol.password", "user:" + call.user->email, "ok");
  return no_content();
}

Reply enrol_totp(Shared& s, Call& call) {
  if (!call.user->password_hash) return error_reply(409, "Choose a password first.");
  if (call.user->totp_confirmed) {
    return error_reply(409,
                       "Your authenticator is already set up; choose a password to start again.");
  }
  auto secret = auth::generate_totp_secret();
  call.user->totp_sealed = seal(s.keys.seal_key, secret);
  call.user->totp_confirmed = false;
  call.user->totp_last_step = 0;
  if (auto st = s.store.accounts().update_user_blocking(*call.user); !st)
    return s.store_error(call, st.error());
  return json_reply(200, json{{"otpauth_uri", auth::otpauth_uri(kIssuer, call.user->email, secret)},
                              {"secret", auth::base32_encode(secret.view())}});
}

Reply enrol_totp_svg(Shared& s, Call& call) {
  if (call.user->totp_sealed.empty() || call.user->totp_confirmed) {
    return error_reply(409, "Start the authenticator step first.");
  }
  auto secret = unseal(s.keys.seal_key, call.user->totp_sealed);
  if (!secret) return s.store_error(call, secret.error());
  auto svg = auth::qr_svg(auth::otpauth_uri(kIssuer, call.user->email, *secret));
  if (!svg) return s.store_error(call, svg.error());
  return Reply{.status = 200, .body = std::move(*svg), .content_type = "image/svg+xml"};
}

Reply enrol_totp_confirm(Shared& s, Call& call) {
  if (call.user->totp_sealed.empty() || call.user->totp_confirmed) {
    return error_reply(409, "Start the authenticator step first.");
  }
  Shared::AttemptGuard attempt(s, call.user->email);
  if (!attempt.owned()) return delayed(std::chrono::seconds(1));
  if (auto wait = s.lockout.delay(call.user->email, call.ctx.remote_address)) return delayed(*wait);
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto code = std::get<auth::JsonObject>(body).string("code", 16);
  auto secret = unseal(s.keys.seal_key, call.user->totp_sealed);
  if (!secret) return s.store_error(call, secret.error());
  std::optional<std::int64_t> step;
  if (code) step = auth::totp_verify(*secret, *code, call.now, call.user->totp_last_step);
  if (step) {
    auto advanced = s.store.accounts().advance_totp_step_blocking(call.user->id, *step);
    if (!advanced) return s.store_error(call, advanced.error());
    if (!*advanced) step.reset();
  }
  if (!step) {
    note_failure(s, call, call.user->email, "2fa.totp_confirm");
    return error_reply(422,
                       "That code is not right. Check that your phone's clock is correct and "
                       "type the code shown now.");
  }
  s.lockout.record_success(call.user->email, call.ctx.remote_address);
  auto codes = auth::generate_recovery_codes(10);
  std::vector<std::string> hashes;
  for (const auto& c : codes)
    hashes.push_back(
        auth::hash_recovery_code(s.keys.seal_key.view(), *auth::normalize_recovery_code(c)));
  if (auto st = s.store.accounts().replace_recovery_codes_blocking(call.user->id, hashes); !st) {
    return s.store_error(call, st.error());
  }
  call.user->totp_confirmed = true;
  call.user->totp_last_step = *step;
  if (auto st = s.store.accounts().update_user_blocking(*call.user); !st)
    return s.store_error(call, st.error());
  (void)s.audit(call, "2fa.totp_enrolled", "user:" + call.user->email, "ok");
  (void)s.audit(call, "2fa.recovery_codes_issued", "user:" + call.user->email, "ok");
  return json_reply(200, json{{"recovery_codes", codes}});
}

Reply enrol_key(Shared& s, Call& call) {
  if (!call.user->password_hash || !call.user->totp_confirmed) {
    return error_reply(409, "Set up the password and the authenticator first.");
  }
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto& obj = std::get<auth::JsonObject>(body);
  auto public_key = obj.string("public_key", 60000);
  if (!public_key) return error_reply(422, "Send the public key (ASCII-armored).");
  auto private_key = obj.optional_string("private_key", 60000);
  if (!private_key) return error_reply(422, private_key.error().public_text());

  std::span<const std::uint8_t> pub_bytes(reinterpret_cast<const std::uint8_t*>(public_key->data()),
                                          public_key->size());
  auto keys = crypto::parse_public_keys(pub_bytes, s.clock.now());
  if (!keys) {
    (void)s.audit(call, "key.register", "user:" + call.user->email, "failure");
    return error_reply(422, keys.error().public_text());
  }
  if (keys->size() != 1) return error_reply(422, "Send exactly one public key.");
  const auto& key = keys->front();
  if (auto ok = crypto::check_recipient(key.info, s.clock.now()); !ok) {
    (void)s.audit(call, "key.register", "user:" + call.user->email, "failure");
    return error_reply(422, ok.error().public_text());
  }
  if (*private_key) {
    const auto& text = **private_key;
    if (auto ok = crypto::check_protected_secret_key(
            std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
            key.info.fingerprint);
        !ok) {
      (void)s.audit(call, "key.register", "user:" + call.user->email, "failure");
      return error_reply(422, ok.error().public_text());
    }
  }
  // The keys table also holds the forms' declared recipients and the recovery key: an upload
  // must never replace a key someone else registered or an administrator imported.
  auto existing = s.store.forms().find_key_blocking(key.info.fingerprint.hex());
  if (!existing) return s.store_error(call, existing.error());
  if (*existing && call.user->key_fingerprint != key.info.fingerprint.hex()) {
    (void)s.audit(call, "key.register", "user:" + call.user->email, "failure");
    return error_reply(409, "This key is already registered. Make a new key for the portal.");
  }
  store::KeyRecord record{.fingerprint = key.info.fingerprint.hex(),
                          .armored = key.armored,
                          .user_ids = key.info.user_ids,
                          .created_at = key.info.created_at,
                          .expires_at = key.info.expires_at,
                          .imported_at = call.now};
  if (auto st = s.store.forms().put_key_blocking(record); !st)
    return s.store_error(call, st.error());
  bool had_key = call.user->key_fingerprint.has_value();
  call.user->key_fingerprint = record.fingerprint;
  call.user->private_key_armored = *private_key;
  call.user->status = store::UserStatus::active;
  if (auto st = s.store.accounts().update_user_blocking(*call.user); !st)
    return s.store_error(call, st.error());
  if (had_key) {
    if (auto st = reversion_user_forms_blocking(s, call.user->id, call.now); !st) {
      return s.store_error(call, st.error());
    }
  }
  (void)s.audit(call, "key.register", "user:" + call.user->email + " key:" + record.fingerprint,
                "ok");
  (void)s.audit(call, "enrol.complete", "user:" + call.user->email, "ok");
  s.end_session(call);
  auto session = s.new_session(call, call.user->id, "full");
  if (!session) return s.store_error(call, session.error());
  Reply r = session_reply(s, *call.user, session->second);
  auto j = json::parse(r.body);
  j["fingerprint"] = record.fingerprint;
  r.body = j.dump();
  return with_cookie(std::move(r), session->first);
}

// --- handlers: sign-in ----------------------------------------------------------------------

Reply sign_in(Shared& s, Call& call) {
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto& obj = std::get<auth::JsonObject>(body);
  auto email_typed = obj.string("email", kMaxEmail);
  auto password = obj.string("password", 1024);
  if (!email_typed || !password) return error_reply(401, kWrongPassword);
  core::SecretBytes secret(*password);
  core::secure_wipe(password->data(), password->size());
  // Not an address: recorded as such, never as typed (it may be a password pasted there).
  std::string account = normalize_email(*email_typed).value_or("<not an e-mail address>");
  Shared::AttemptGuard attempt(s, account);
  if (!attempt.owned()) return delayed(std::chrono::seconds(1));
  if (auto wait = s.lockout.delay(account, call.ctx.remote_address)) {
    (void)s.audit(call, "auth.password", "account:" + account, "delayed", account);
    return delayed(*wait);
  }
  auto user = s.store.accounts().find_user_by_email_blocking(account);
  if (!user) return s.store_error(call, user.error());
  bool ok = false;
  if (*user && (*user)->password_hash) {
    ok = auth::verify_password(*(*user)->password_hash, secret.as_string_view());
  } else {
    (void)auth::verify_password(auth::dummy_hash(), secret.as_string_view());  // same time
  }
  ok = ok && (*user)->status == store::UserStatus::active && (*user)->totp_confirmed;
  if (!ok) {
    note_failure(s, call, account, "auth.password");
    return error_reply(401, kWrongPassword);
  }
  s.end_session(call);
  auto session = s.new_session(call, (*user)->id, "second_factor");
  if (!session) return s.store_error(call, session.error());
  (void)s.audit(call, "auth.password", "user:" + account, "ok", account);
  return with_cookie(session_reply(s, **user, session->second), session->first);
}

Reply second_factor(Shared& s, Call& call) {
  const std::string& account = call.user->email;
  Shared::AttemptGuard attempt(s, account);
  if (!attempt.owned()) return delayed(std::chrono::seconds(1));
  if (auto wait = s.lockout.delay(account, call.ctx.remote_address)) return delayed(*wait);
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto& obj = std::get<auth::JsonObject>(body);
  auto code = obj.optional_string("code", 16);
  auto recovery = obj.optional_string("recovery_code", 32);
  bool ok = false;
  std::string method;
  if (code && *code) {
    method = "totp";
    auto secret = unseal(s.keys.seal_key, call.user->totp_sealed);
    if (!secret) return s.store_error(call, secret.error());
    if (auto step = auth::totp_verify(*secret, **code, call.now, call.user->totp_last_step)) {
      auto advanced = s.store.accounts().advance_totp_step_blocking(call.user->id, *step);
      if (!advanced) return s.store_error(call, advanced.error());
      ok = *advanced;  // false: the same code was just used (a replay)
    }
  } else if (recovery && *recovery) {
    method = "recovery_code";
    if (auto normal = auth::normalize_recovery_code(**recovery)) {
      auto used = s.store.accounts().use_recovery_code_blocking(
          call.user->id, auth::hash_recovery_code(s.keys.seal_key.view(), *normal), call.now);
      if (!used) return s.store_error(call, used.error());
      ok = *used;
    }
  }
  if (!ok) {
    note_failure(s, call, account, "auth.second_factor");
    return error_reply(401, kWrongCode);
  }
  s.lockout.record_success(account, call.ctx.remote_address);
  s.end_session(call);
  auto session = s.new_session(call, call.user->id, "full");
  if (!session) return s.store_error(call, session.error());
  (void)s.audit(call, "auth.sign_in", "user:" + account + " method:" + method, "ok");
  if (method == "recovery_code") {
    auto left = s.store.accounts().unused_recovery_codes_blocking(call.user->id);
    (void)s.audit(call, "2fa.recovery_code_used",
                  fmt::format("user:{} left:{}", account, left ? *left : 0), "ok");
  }
  return with_cookie(session_reply(s, *call.user, session->second), session->first);
}

Reply sign_out(Shared& s, Call& call) {
  s.end_session(call);
  (void)s.audit(call, "auth.sign_out", "user:" + call.user->email, "ok");
  Reply r = no_content();
  r.set_cookie = auth::clear_session_cookie();
  return r;
}

Reply sign_out_everywhere(Shared& s, Call& call) {
  auto n = s.store.accounts().delete_user_sessions_blocking(call.user->id);
  if (!n) return s.store_error(call, n.error());
  (void)s.audit(call, "auth.sign_out_everywhere",
                fmt::format("user:{} sessions:{}", call.user->email, *n), "ok");
  Reply r = no_content();
  r.set_cookie = auth::clear_session_cookie();
  return r;
}

Reply get_session(Shared& s, Call& call) {
  if (!call.session) return error_reply(401, kSignIn);
  return session_reply(s, *call.user, *call.session);
}

// --- handlers: reading ----------------------------------------------------------------------

Reply my_key(Shared& s, Call& call) {
  if (!call.user->key_fingerprint) return error_reply(404, "You have no key yet.");
  auto key = s.store.forms().find_key_blocking(*call.user->key_fingerprint);
  if (!key) return s.store_error(call, key.error());
  if (!*key) return error_reply(404, "You have no key yet.");
  if (call.user->private_key_armored) {
    // The passphrase-protected private key leaves the server: audited first.
    if (auto st = s.audit(call, "key.fetch", "key:" + (*key)->fingerprint, "ok"); !st) {
      return s.store_error(call, st.error());
    }
  }
  return json_reply(200, json{{"fingerprint", (*key)->fingerprint},
                              {"public_key", (*key)->armored},
                              {"private_key", call.user->private_key_armored
                                                  ? json(*call.user->private_key_armored)
                                                  : json(nullptr)}});
}

Reply server_key(Shared& s, Call&) {
  return json_reply(200, json{{"fingerprint", s.keys.server_fingerprint},
                              {"public_key", s.keys.server_public_armored}});
}

Reply list_forms(Shared& s, Call& call) {
  auto forms = s.store.forms().latest_forms_blocking();
  if (!forms) return s.store_error(call, forms.error());
  auto grants = s.store.accounts().list_grants_blocking(call.user->id);
  if (!grants) return s.store_error(call, grants.error());
  bool sees_all = call.has(Role::admin) || call.has(Role::form_owner);
  json out = json::array();
  for (const auto& f : *forms) {
    bool readable = std::any_of(grants->begin(), grants->end(),
                                [&](const auto& g) { return g.form_id == f.form_id; });
    if (!readable && !sees_all) continue;
    std::string title = f.form_id;
    json fields = json::array();
    if (auto decl = forms::parse_declaration(f.declaration)) {
      title = decl->title;
      for (const auto& field : decl->fields) {
        fields.push_back(json{
            {"name", field.name}, {"label", field.label}, {"type", forms::to_string(field.type)}});
      }
    }
    auto count = s.store.submissions().count_submissions_blocking(f.form_id);
    if (!count) return s.store_error(call, count.error());
    out.push_back(json{{"id", f.form_id},
                       {"title", title},
                       {"version", f.version},
                       {"enabled", f.enabled},
                       {"readable", readable},
                       {"recipients", f.granted_recipients},
                       {"fields", fields},
                       {"submissions", *count}});
  }
  return json_reply(200, out);
}

Reply list_submissions(Shared& s, Call& call) {
  const std::string& form_id = call.ctx.params.at("form");
  if (auto denied = check_form_access(s, call, form_id)) return *denied;
  auto query = submission_query(call, form_id);
  if (!query) return error_reply(400, query.error().public_text());
  if (auto st = s.audit(call, "submission.search", search_object(*query), "ok"); !st) {
    return s.store_error(call, st.error());
  }
  const std::size_t limit = query->limit;
  query->limit = limit + 1;
  auto rows = s.store.submissions().query_submissions_blocking(*query);
  if (!rows) return s.store_error(call, rows.error());
  json next = take_page(*rows, limit, [](const auto& m) { return m.seq; });
  json items = json::array();
  for (const auto& m : *rows) {
    items.push_back(json{{"seq", m.seq},
                         {"reference", m.reference},
                         {"received_at", m.received_at},
                         {"size", m.size},
                         {"form_version", m.form_version}});
  }
  return json_reply(200, json{{"items", items}, {"next_after", next}});
}

Reply view_submission(Shared& s, Call& call) {
  const std::string& form_id = call.ctx.params.at("form");
  if (auto denied = check_form_access(s, call, form_id)) return *denied;
  const std::string& ref = call.ctx.params.at("ref");
  if (!is_reference(ref)) return error_reply(404, "There is no such submission.");
  auto found = s.store.submissions().get_submission_blocking(form_id, ref);
  if (!found) return s.store_error(call, found.error());
  if (!*found) return error_reply(404, "There is no such submission.");
  // Audited before a byte of it leaves.
  if (auto st = s.audit(call, "submission.view", "form:" + form_id + " reference:" + ref, "ok");
      !st) {
    return s.store_error(call, st.error());
  }
  const auto& sub = **found;
  return json_reply(200, json{{"reference", sub.meta.reference},
                              {"received_at", sub.meta.received_at},
                              {"form_version", sub.meta.form_version},
                              {"ciphertext", base64(sub.ciphertext)}});
}

Reply export_batch(Shared& s, Call& call) {
  const std::string& form_id = call.ctx.params.at("form");
  if (auto denied = check_form_access(s, call, form_id)) return *denied;
  auto query = submission_query(call, form_id);
  if (!query) return error_reply(400, query.error().public_text());
  const std::size_t limit = query->limit;
  query->limit = limit + 1;
  auto rows = s.store.submissions().query_ciphertexts_blocking(*query);
  if (!rows) return s.store_error(call, rows.error());
  json next = take_page(*rows, limit, [](const auto& sub) { return sub.meta.seq; });
  query->limit = limit;
  // At most ~32 MiB of ciphertext per answer (a form may allow 10 MiB submissions): a
  // shorter batch, and the next one starts after its last row.
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < rows->size(); ++i) {
    bytes += (*rows)[i].ciphertext.size();
    if (bytes > kMaxExportBatchBytes && i > 0) {
      rows->resize(i);
      next = json(rows->back().meta.seq);
      break;
    }
  }
  auto object =
      fmt::format("{} after:{} count:{}", search_object(*query), query->after_seq, rows->size());
  if (auto st = s.audit(call, "submission.export", object, "ok"); !st) {
    return s.store_error(call, st.error());
  }
  json items = json::array();
  for (const auto& sub : *rows) {
    items.push_back(json{{"seq", sub.meta.seq},
                         {"reference", sub.meta.reference},
                         {"received_at", sub.meta.received_at},
                         {"form_version", sub.meta.form_version},
                         {"ciphertext", base64(sub.ciphertext)}});
  }
  return json_reply(200, json{{"items", items}, {"next_after", next}});
}

// --- handlers: administration -----------------------------------------------------------------

json user_json(const store::UserRecord& u, const std::vector<store::GrantRecord>& grants) {
  json forms = json::array();
  for (const auto& g : grants) {
    if (g.user_id == u.id) forms.push_back(g.form_id);
  }
  std::string_view status = u.status == store::UserStatus::active    ? "active"
                            : u.status == store::UserStatus::invited ? "invited"
                                                                     : "disabled";
  return json{{"id", u.id},
              {"email", u.email},
              {"roles", role_names(u.roles)},
              {"status", status},
              {"key_fingerprint", u.key_fingerprint ? json(*u.key_fingerprint) : json(nullptr)},
              {"grants", forms}};
}

Reply list_users(Shared& s, Call& call) {
  auto users = s.store.accounts().list_users_blocking();
  if (!users) return s.store_error(call, users.error());
  auto grants = s.store.accounts().list_grants_blocking(std::nullopt);
  if (!grants) return s.store_error(call, grants.error());
  json out = json::array();
  for (const auto& u : *users) out.push_back(user_json(u, *grants));
  return json_reply(200, out);
}

Reply invite_user(Shared& s, Call& call) {
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto& obj = std::get<auth::JsonObject>(body);
  auto email = obj.string("email", kMaxEmail);
  if (!email) return error_reply(422, "Give the person's e-mail address.");
  auto normal = normalize_email(*email);
  if (!normal) return error_reply(422, "That is not an e-mail address.");
  auto names = obj.string_array("roles", 5, 32);
  if (!names) return error_reply(422, names.error().public_text());
  auto roles = parse_roles(*names);
  if (!roles) return error_reply(422, roles.error().public_text());
  auto id = s.store.accounts().create_user_blocking(*normal, *roles, call.now);
  if (!id) {
    if (id.error().kind() == ErrorKind::conflict) {
      return error_reply(409, "Someone with that e-mail address already has an account.");
    }
    return s.store_error(call, id.error());
  }
  auto link = issue_enrolment_link_blocking(s.store, *id, s.config.enrolment_link_lifetime,
                                            s.current_origin(), s.clock.now());
  if (!link) return s.store_error(call, link.error());
  (void)s.audit(call, "user.invite",
                fmt::format("user:{} roles:{}", *normal, fmt::join(role_names(*roles), ",")), "ok");
  return json_reply(200, json{{"id", *id}, {"enrolment_link", *link}});
}

// The target user of /users/{id}/...: the record, or the reply.
std::variant<store::UserRecord, Reply> target_user(Shared& s, const Call& call) {
  const std::string& text = call.ctx.params.at("id");
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return error_reply(404, "There is no such user.");
  }
  auto user = s.store.accounts().find_user_blocking(id);
  if (!user) return s.store_error(call, user.error());
  if (!*user) return error_reply(404, "There is no such user.");
  return std::move(**user);
}

// Whether some active admin other than `except` remains.
core::Result<bool> other_admin_exists(Shared& s, std::int64_t except) {
  auto users = s.store.accounts().list_users_blocking();
  if (!users) return core::fail(users.error());
  return std::any_of(users->begin(), users->end(), [&](const auto& u) {
    return u.id != except && u.status == store::UserStatus::active &&
           (u.roles & bit(Role::admin)) != 0;
  });
}

Reply set_roles(Shared& s, Call& call) {
  auto target = target_user(s, call);
  if (auto* r = std::get_if<Reply>(&target)) return *r;
  auto& user = std::get<store::UserRecord>(target);
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto names = std::get<auth::JsonObject>(body).string_array("roles", 5, 32);
  if (!names) return error_reply(422, names.error().public_text());
  auto roles = parse_roles(*names);
  if (!roles) return error_reply(422, roles.error().public_text());
  if ((user.roles & bit(Role::admin)) != 0 && (*roles & bit(Role::admin)) == 0) {
    auto other = other_admin_exists(s, user.id);
    if (!other) return s.store_error(call, other.error());
    if (!*other) return error_reply(409, "This is the last administrator; make another first.");
  }
  user.roles = *roles;
  if (auto st = s.store.accounts().update_user_blocking(user); !st)
    return s.store_error(call, st.error());
  // A privilege change ends the user's sessions: the next sign-in gets a fresh id.
  (void)s.store.accounts().delete_user_sessions_blocking(user.id);
  (void)s.audit(call, "user.roles",
                fmt::format("user:{} roles:{}", user.email, fmt::join(role_names(*roles), ",")),
                "ok");
  return no_content();
}

Reply disable_user(Shared& s, Call& call) {
  auto target = target_user(s, call);
  if (auto* r = std::get_if<Reply>(&target)) return *r;
  auto& user = std::get<store::UserRecord>(target);
  if ((user.roles & bit(Role::admin)) != 0) {
    auto other = other_admin_exists(s, user.id);
    if (!other) return s.store_error(call, other.error());
    if (!*other) return error_reply(409, "This is the last administrator; make another first.");
  }
  user.status = store::UserStatus::disabled;
  if (auto st = s.store.accounts().update_user_blocking(user); !st)
    return s.store_error(call, st.error());
  (void)s.store.accounts().delete_user_sessions_blocking(user.id);
  // Their key stops receiving new submissions.
  if (auto st = reversion_user_forms_blocking(s, user.id, call.now); !st) {
    return s.store_error(call, st.error());
  }
  (void)s.audit(call, "user.disable", "user:" + user.email, "ok");
  return no_content();
}

Reply reissue_link(Shared& s, Call& call) {
  auto target = target_user(s, call);
  if (auto* r = std::get_if<Reply>(&target)) return *r;
  auto& user = std::get<store::UserRecord>(target);
  if (user.status == store::UserStatus::disabled) return error_reply(409, "This user is disabled.");
  auto link = issue_enrolment_link_blocking(s.store, user.id, s.config.enrolment_link_lifetime,
                                            s.current_origin(), s.clock.now());
  if (!link) return s.store_error(call, link.error());
  (void)s.audit(call, "user.enrolment_link", "user:" + user.email, "ok");
  return json_reply(200, json{{"id", user.id}, {"enrolment_link", *link}});
}

Reply add_grant(Shared& s, Call& call) {
  auto target = target_user(s, call);
  if (auto* r = std::get_if<Reply>(&target)) return *r;
  auto& user = std::get<store::UserRecord>(target);
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto form_id = std::get<auth::JsonObject>(body).string("form_id", 64);
  if (!form_id) return error_reply(422, "Say which form.");
  auto form = s.store.forms().latest_form_blocking(*form_id);
  if (!form) return s.store_error(call, form.error());
  if (!*form) return error_reply(404, "There is no such form.");
  if (user.status != store::UserStatus::active || !user.key_fingerprint) {
    return error_reply(409, "This person has not finished enrolment (no key yet).");
  }
  if ((user.roles & kReaders) == 0) {
    return error_reply(409,
                       "Only staff, form owners and administrators read submissions: "
                       "give this person the staff role first.");
  }
  if (auto st =
          s.store.accounts().add_grant_blocking(store::GrantRecord{.user_id = user.id,
                                                                   .form_id = *form_id,
                                                                   .granted_at = call.now,
                                                                   .granted_by = call.user->id});
      !st) {
    return s.store_error(call, st.error());
  }
  auto version = reversion_form_blocking(s, *form_id, call.now);
  if (!version) return s.store_error(call, version.error());
  (void)s.audit(call, "grant.add",
                fmt::format("user:{} form:{} version:{}", user.email, *form_id, *version), "ok");
  return json_reply(200, json{{"form_version", *version}, {"note", kGrantNote}});
}

Reply revoke_grant(Shared& s, Call& call) {
  auto target = target_user(s, call);
  if (auto* r = std::get_if<Reply>(&target)) return *r;
  auto& user = std::get<store::UserRecord>(target);
  const std::string& form_id = call.ctx.params.at("form");
  if (auto st = s.store.accounts().remove_grant_blocking(user.id, form_id); !st) {
    if (st.error().kind() == ErrorKind::not_found)
      return error_reply(404, "There is no such grant.");
    return s.store_error(call, st.error());
  }
  auto version = reversion_form_blocking(s, form_id, call.now);
  if (!version) return s.store_error(call, version.error());
  (void)s.audit(call, "grant.remove",
                fmt::format("user:{} form:{} version:{}", user.email, form_id, *version), "ok");
  return json_reply(200, json{{"form_version", *version}});
}

// --- handlers: audit ------------------------------------------------------------------------

core::Result<store::AuditQuery> audit_query(const Call& call) {
  auto q = parse_query(call.req.target());
  if (!q) return core::fail(q.error());
  store::AuditQuery query;
  auto text = [&](std::string_view name) -> std::optional<std::string> {
    auto v = q->get(name);
    if (!v || v->empty()) return std::nullopt;
    return v;
  };
  query.actor = text("actor");
  query.action = text("action");
  query.object = text("object");
  auto range = range_params(*q);
  if (!range) return core::fail(range.error());
  query.time_from = range->from;
  query.time_to = range->to;
  query.after_seq = range->after;
  query.limit = range->limit;
  return query;
}

json audit_json(const store::AuditRow& row, bool hashes) {
  json j{{"seq", row.seq},        {"time", row.time},     {"actor", row.actor},
         {"action", row.action},  {"object", row.object}, {"source", row.source},
         {"outcome", row.outcome}};
  if (hashes) {
    j["prev_hash"] = row.prev_hash;
    j["hash"] = row.hash;
  }
  return j;
}

Reply list_audit(Shared& s, Call& call) {
  auto query = audit_query(call);
  if (!query) return error_reply(400, query.error().public_text());
  if (auto st = s.audit(call, "audit.search", "audit", "ok"); !st) {
    return s.store_error(call, st.error());
  }
  const std::size_t limit = query->limit;
  query->limit = limit + 1;
  auto rows = s.store.audit().query_audit_blocking(*query);
  if (!rows) return s.store_error(call, rows.error());
  json next = take_page(*rows, limit, [](const auto& row) { return row.seq; });
  json items = json::array();
  for (const auto& row : *rows) items.push_back(audit_json(row, false));
  return json_reply(200, json{{"items", items}, {"next_after", next}});
}

Reply export_audit(Shared& s, Call& call) {
  auto query = audit_query(call);
  if (!query) return error_reply(400, query.error().public_text());
  if (auto st = s.audit(call, "audit.export", "audit", "ok"); !st) {
    return s.store_error(call, st.error());
  }
  std::string out;
  std::size_t total = 0;
  for (;;) {
    query->limit = 1000;
    auto rows = s.store.audit().query_audit_blocking(*query);
    if (!rows) return s.store_error(call, rows.error());
    for (const auto& row : *rows) {
      out += audit_json(row, true).dump();
      out += '\n';
    }
    total += rows->size();
    if (rows->size() < 1000 || total >= kMaxAuditExport) break;
    query->after_seq = rows->back().seq;
  }
  return Reply{.status = 200, .body = std::move(out), .content_type = "application/x-ndjson"};
}

Reply verify_audit(Shared& s, Call& call) {
  auto report = verify_audit_blocking(s.store, s.keys.server_public_armored);
  if (!report) return s.store_error(call, report.error());
  return json_reply(200,
                    json{{"intact", report->ok},
                         {"entries", report->entries},
                         {"checkpoints", report->checkpoints},
                         {"first_bad_entry", report->ok ? json(nullptr) : json(report->bad_seq)},
                         {"problem", report->reason}});
}

// --- pages ------------------------------------------------------------------------------------

http::Response page_response(std::string_view name) {
  auto page = portal_assets::page(name);
  http::Response r{bhttp::status::ok, 11};
  r.set(bhttp::field::content_type, "text/html; charset=utf-8");
  r.set("Content-Security-Policy", kPortalCsp);
  r.body() = std::string(page->body);
  return r;
}

}  // namespace

void PortalService::register_routes(http::Router& router) {
  auto shared = shared_;
  auto add = [&](bhttp::verb verb, std::string_view pattern, Access access, Fn fn) {
    router.add(
        verb, pattern,
        [shared, access, fn](http::Request&& req, http::RequestContext&& ctx,
                             http::Responder responder) {
          if (access.credential &&
              !shared->credential_attempts.allow(auth::address_key(ctx.remote_address))) {
            Reply r = delayed(std::chrono::seconds(2));
            return responder.send(to_response(std::move(r)));
          }
          auto request = std::make_shared<http::Request>(std::move(req));
          auto context = std::make_shared<http::RequestContext>(std::move(ctx));
          bool queued = shared->pool.post([shared, access, fn, request, context, responder] {
            Call call{
                .req = *request, .ctx = *context, .now = core::unix_seconds(shared->clock.now())};
            Reply reply;
            try {
              reply = shared->handle(access, fn, call);
            } catch (const std::exception& e) {
              spdlog::error("event=portal_exception request_id={} detail={}", context->request_id,
                            core::log_safe(e.what()));
              reply = error_reply(500, "Something went wrong on the server.");
            }
            // The body may hold a password or a key: wipe it before the buffer is freed.
            core::secure_wipe(request->body().data(), request->body().size());
            responder.send(to_response(std::move(reply)));
          });
          if (!queued) {
            responder.send(to_response(error_reply(503, "The server is busy. Please try again.")));
          }
        },
        [](const http::Params&) -> std::size_t { return kMaxJsonBody; });
  };
  using bhttp::verb;
  const Access anyone{.need = Need::nothing, .csrf = false};
  const Access enrolling{.need = Need::enrolling};
  const Access full{.need = Need::full};
  const unsigned admin = bit(Role::admin);
  const unsigned managers = bit(Role::admin) | bit(Role::form_owner);
  const unsigned auditors = bit(Role::admin) | bit(Role::auditor);

  add(verb::get, "/portal/api/session", anyone, get_session);
  const Access credential{.need = Need::nothing, .csrf = false, .credential = true};
  add(verb::post, "/portal/api/enrol/start", credential, enrol_start);
  add(verb::post, "/portal/api/enrol/password", enrolling, enrol_password);
  add(verb::post, "/portal/api/enrol/totp", enrolling, enrol_totp);
  // An <img> cannot send a header: the QR code is guarded by the SameSite=Strict cookie.
  add(verb::get, "/portal/api/enrol/totp.svg", Access{.need = Need::enrolling, .csrf = false},
      enrol_totp_svg);
  add(verb::post, "/portal/api/enrol/totp/confirm", enrolling, enrol_totp_confirm);
  add(verb::post, "/portal/api/enrol/key", enrolling, enrol_key);
  add(verb::post, "/portal/api/sign-in", credential, sign_in);
  add(verb::post, "/portal/api/sign-in/second-factor", Access{.need = Need::second_factor},
      second_factor);
  add(verb::post, "/portal/api/sign-out", Access{.need = Need::any_session}, sign_out);
  add(verb::post, "/portal/api/sign-out-everywhere", full, sign_out_everywhere);
  add(verb::get, "/portal/api/me/key", full, my_key);
  add(verb::get, "/portal/api/server-key", full, server_key);
  add(verb::get, "/portal/api/forms", full, list_forms);
  add(verb::get, "/portal/api/forms/{form}/submissions", full, list_submissions);
  add(verb::get, "/portal/api/forms/{form}/submissions/{ref}", full, view_submission);
  add(verb::get, "/portal/api/forms/{form}/export", full, export_batch);
  add(verb::get, "/portal/api/users", Access{.need = Need::full, .roles = managers}, list_users);
  add(verb::post, "/portal/api/users", Access{.need = Need::full, .roles = admin}, invite_user);
  add(verb::post, "/portal/api/users/{id}/roles", Access{.need = Need::full, .roles = admin},
      set_roles);
  add(verb::post, "/portal/api/users/{id}/disable", Access{.need = Need::full, .roles = admin},
      disable_user);
  add(verb::post, "/portal/api/users/{id}/enrolment-link",
      Access{.need = Need::full, .roles = admin}, reissue_link);
  // Forms have no owners yet (P7): only administrators grant, so a form owner cannot give
  // themselves every form.
  add(verb::post, "/portal/api/users/{id}/grants", Access{.need = Need::full, .roles = admin},
      add_grant);
  add(verb::post, "/portal/api/users/{id}/grants/{form}/revoke",
      Access{.need = Need::full, .roles = admin}, revoke_grant);
  add(verb::get, "/portal/api/audit", Access{.need = Need::full, .roles = auditors}, list_audit);
  add(verb::get, "/portal/api/audit/export", Access{.need = Need::full, .roles = auditors},
      export_audit);
  add(verb::get, "/portal/api/audit/verify", Access{.need = Need::full, .roles = auditors},
      verify_audit);

  // Pages and their scripts: static, embedded, no secrets; served without a session.
  auto page = [&](std::string_view path, std::string name) {
    router.add(verb::get, path,
               [name](http::Request&&, http::RequestContext&&, http::Responder responder) {
                 responder.send(page_response(name));
               });
  };
  page("/portal", "app");
  page("/portal/", "app");
  page("/portal/sign-in", "sign-in");
  page("/portal/enrol", "enrol");
  router.add(verb::get, "/portal/static/{file}",
             [](http::Request&&, http::RequestContext&& ctx, http::Responder responder) {
               auto file = portal_assets::static_file(ctx.params.at("file"));
               if (!file) {
                 return responder.send(to_response(error_reply(404, "Not found.")));
               }
               http::Response r{bhttp::status::ok, 11};
               r.set(bhttp::field::content_type, file->content_type);
               // A worker takes its CSP from its own script's response.
               r.set("Content-Security-Policy", kPortalCsp);
               r.body() = std::string(file->body);
               responder.send(std::move(r));
             });
}

}  // namespace app
