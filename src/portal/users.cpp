// Trust: untrusted network input (JSON bodies, the request target); nothing a client sends is
// logged.
// Users and grants: invitations and enrolment links, roles, disabling, and the grants that
// decide whose keys new submissions of a form are encrypted to.
#include "portal/users.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

#include "auth/email.hpp"
#include "auth/session_token.hpp"
#include "portal/detail/shared.hpp"
#include "store/store.hpp"

namespace portal {

core::Result<std::string> issue_enrolment_link_blocking(store::Store& store, core::Rng& rng,
                                                        std::int64_t user_id,
                                                        std::chrono::seconds lifetime,
                                                        const std::string& origin,
                                                        core::TimePoint now) {
  std::string token = auth::new_session_id(rng);
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

}  // namespace portal

namespace portal::detail {

using core::ErrorKind;
using store::Role;

namespace {

constexpr std::string_view kGrantNote =
    "New submissions to this form will be encrypted to this person's key. Submissions "
    "received before now stay readable only by the keys they were encrypted to.";

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
              {"roles", role_names(Roles(u.roles))},
              {"status", status},
              {"key_fingerprint", u.key_fingerprint ? json(*u.key_fingerprint) : json(nullptr)},
              {"grants", forms}};
}

std::variant<store::UserRecord, Reply> target_user(Shared& s, const Call& call) {
  const std::string& text = call.req.params.at("id");
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return error_reply(Status::not_found, "There is no such user.");
  }
  auto user = s.store.accounts().find_user_blocking(id);
  if (!user) return s.store_error(call, user.error());
  if (!*user) return error_reply(Status::not_found, "There is no such user.");
  return std::move(**user);
}

// Whether some active admin other than `except` remains.
core::Result<bool> other_admin_exists(Shared& s, std::int64_t except) {
  auto users = s.store.accounts().list_users_blocking();
  if (!users) return core::fail(users.error());
  return std::any_of(users->begin(), users->end(), [&](const auto& u) {
    return u.id != except && u.status == store::UserStatus::active &&
           Roles(u.roles).has(Role::admin);
  });
}

}  // namespace

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

Reply list_users(Shared& s, Call& call) {
  auto users = s.store.accounts().list_users_blocking();
  if (!users) return s.store_error(call, users.error());
  auto grants = s.store.accounts().list_grants_blocking(std::nullopt);
  if (!grants) return s.store_error(call, grants.error());
  json out = json::array();
  for (const auto& u : *users) out.push_back(user_json(u, *grants));
  return json_reply(Status::ok, out);
}

Reply invite_user(Shared& s, Call& call) {
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto& obj = std::get<auth::JsonObject>(body);
  auto email = obj.string("email", auth::kMaxEmailBytes);
  if (!email) return error_reply(Status::unprocessable, "Give the person's e-mail address.");
  auto normal = auth::normalize_email(*email);
  if (!normal) return error_reply(Status::unprocessable, "That is not an e-mail address.");
  auto names = obj.string_array("roles", 5, 32);
  if (!names) return error_reply(Status::unprocessable, names.error().public_text());
  auto roles = parse_roles(*names);
  if (!roles) return error_reply(Status::unprocessable, roles.error().public_text());
  auto id = s.store.accounts().create_user_blocking(*normal, roles->bits(), call.now);
  if (!id) {
    if (id.error().kind() == ErrorKind::conflict) {
      return error_reply(Status::conflict,
                         "Someone with that e-mail address already has an account.");
    }
    return s.store_error(call, id.error());
  }
  auto link = issue_enrolment_link_blocking(s.store, s.rng, *id, s.limits.enrolment_link_lifetime,
                                            s.current_origin(), s.clock.now());
  if (!link) return s.store_error(call, link.error());
  (void)s.audit(call, "user.invite",
                fmt::format("user:{} roles:{}", *normal, fmt::join(role_names(*roles), ",")), "ok");
  return json_reply(Status::ok, json{{"id", *id}, {"enrolment_link", *link}});
}

Reply set_roles(Shared& s, Call& call) {
  auto target = target_user(s, call);
  if (auto* r = std::get_if<Reply>(&target)) return *r;
  auto& user = std::get<store::UserRecord>(target);
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto names = std::get<auth::JsonObject>(body).string_array("roles", 5, 32);
  if (!names) return error_reply(Status::unprocessable, names.error().public_text());
  auto roles = parse_roles(*names);
  if (!roles) return error_reply(Status::unprocessable, roles.error().public_text());
  if (Roles(user.roles).has(Role::admin) && !roles->has(Role::admin)) {
    auto other = other_admin_exists(s, user.id);
    if (!other) return s.store_error(call, other.error());
    if (!*other)
      return error_reply(Status::conflict, "This is the last administrator; make another first.");
  }
  user.roles = roles->bits();
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
  if (Roles(user.roles).has(Role::admin)) {
    auto other = other_admin_exists(s, user.id);
    if (!other) return s.store_error(call, other.error());
    if (!*other)
      return error_reply(Status::conflict, "This is the last administrator; make another first.");
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
  if (user.status == store::UserStatus::disabled)
    return error_reply(Status::conflict, "This user is disabled.");
  auto link = issue_enrolment_link_blocking(
      s.store, s.rng, user.id, s.limits.enrolment_link_lifetime, s.current_origin(), s.clock.now());
  if (!link) return s.store_error(call, link.error());
  (void)s.audit(call, "user.enrolment_link", "user:" + user.email, "ok");
  return json_reply(Status::ok, json{{"id", user.id}, {"enrolment_link", *link}});
}

Reply add_grant(Shared& s, Call& call) {
  auto target = target_user(s, call);
  if (auto* r = std::get_if<Reply>(&target)) return *r;
  auto& user = std::get<store::UserRecord>(target);
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto form_id = std::get<auth::JsonObject>(body).string("form_id", 64);
  if (!form_id) return error_reply(Status::unprocessable, "Say which form.");
  auto form = s.store.forms().latest_form_blocking(*form_id);
  if (!form) return s.store_error(call, form.error());
  if (!*form) return error_reply(Status::not_found, "There is no such form.");
  if (user.status != store::UserStatus::active || !user.key_fingerprint) {
    return error_reply(Status::conflict, "This person has not finished enrolment (no key yet).");
  }
  if (!Roles(user.roles).any_of(kReaders)) {
    return error_reply(Status::conflict,
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
  return json_reply(Status::ok, json{{"form_version", *version}, {"note", kGrantNote}});
}

Reply revoke_grant(Shared& s, Call& call) {
  auto target = target_user(s, call);
  if (auto* r = std::get_if<Reply>(&target)) return *r;
  auto& user = std::get<store::UserRecord>(target);
  const std::string& form_id = call.req.params.at("form");
  if (auto st = s.store.accounts().remove_grant_blocking(user.id, form_id); !st) {
    if (st.error().kind() == ErrorKind::not_found)
      return error_reply(Status::not_found, "There is no such grant.");
    return s.store_error(call, st.error());
  }
  auto version = reversion_form_blocking(s, form_id, call.now);
  if (!version) return s.store_error(call, version.error());
  (void)s.audit(call, "grant.remove",
                fmt::format("user:{} form:{} version:{}", user.email, form_id, *version), "ok");
  return json_reply(Status::ok, json{{"form_version", *version}});
}

}  // namespace portal::detail
