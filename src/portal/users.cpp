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
core::Result<bool> other_admin_exists(store::Store& tx, std::int64_t except) {
  auto users = tx.accounts().list_users_blocking();
  if (!users) return core::fail(users.error());
  return std::any_of(users->begin(), users->end(), [&](const auto& u) {
    return u.id != except && u.status == store::UserStatus::active &&
           Roles(u.roles).has(Role::admin);
  });
}

// Inside a unit of work: refuses (sets `refusal`, returns a failure) a change that would
// leave no active administrator: `user` keeping only `new_roles` (none: disabled).
core::Status refuse_last_admin(store::Store& tx, const store::UserRecord& user, Roles new_roles,
                               std::optional<Reply>& refusal) {
  if (!Roles(user.roles).has(Role::admin) || new_roles.has(Role::admin)) return core::ok();
  auto other = other_admin_exists(tx, user.id);
  if (!other) return core::fail(other.error());
  if (*other) return core::ok();
  refusal = error_reply(Status::conflict, "This is the last administrator; make another first.");
  return core::fail(ErrorKind::conflict, "last administrator");
}

}  // namespace

// New form version carrying the current grants' keys (a grant changes who can read new
// submissions). Returns the version.
core::Result<int> reversion_form_blocking(store::Store& tx, const std::string& form_id,
                                          std::int64_t now) {
  auto latest = tx.forms().latest_form_blocking(form_id);
  if (!latest) return core::fail(latest.error());
  if (!*latest) return core::fail(ErrorKind::not_found, "There is no such form.");
  auto granted = granted_recipients_blocking(tx, form_id);
  if (!granted) return core::fail(granted.error());
  return tx.forms().add_form_version_blocking(form_id, (*latest)->declaration, now, *granted);
}

// Every form the user is granted gets a new version (their key changed or they left).
core::Status reversion_user_forms_blocking(store::Store& tx, std::int64_t user_id,
                                           std::int64_t now) {
  auto grants = tx.accounts().list_grants_blocking(user_id);
  if (!grants) return core::fail(grants.error());
  for (const auto& g : *grants) {
    if (auto v = reversion_form_blocking(tx, g.form_id, now); !v) return core::fail(v.error());
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
  std::int64_t id = 0;
  std::string link;
  auto refused = s.change(
      call, "invite user", "user.invite",
      [&](store::Store& tx, std::optional<Reply>& refusal) -> core::Result<std::string> {
        auto created = tx.accounts().create_user_blocking(*normal, roles->bits(), call.now);
        if (!created) {
          if (created.error().kind() == ErrorKind::conflict) {
            refusal = error_reply(Status::conflict,
                                  "Someone with that e-mail address already has an account.");
          }
          return core::fail(created.error());
        }
        id = *created;
        auto issued = issue_enrolment_link_blocking(tx, s.rng, id, s.limits.enrolment_link_lifetime,
                                                    s.current_origin(), s.clock.now());
        if (!issued) return core::fail(issued.error());
        link = std::move(*issued);
        return fmt::format("user:{} roles:{}", *normal, fmt::join(role_names(*roles), ","));
      });
  if (refused) return *refused;
  return json_reply(Status::ok, json{{"id", id}, {"enrolment_link", link}});
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
  store::UserRecord updated = user;
  updated.roles = roles->bits();
  auto refused = s.change(
      call, "set roles", "user.roles",
      [&](store::Store& tx, std::optional<Reply>& refusal) -> core::Result<std::string> {
        if (auto last = refuse_last_admin(tx, user, *roles, refusal); !last)
          return core::fail(last.error());
        if (auto st = tx.accounts().update_user_blocking(updated); !st)
          return core::fail(st.error());
        // A privilege change ends the user's sessions: the next sign-in gets a fresh id.
        if (auto n = tx.accounts().delete_user_sessions_blocking(user.id); !n)
          return core::fail(n.error());
        return fmt::format("user:{} roles:{}", user.email, fmt::join(role_names(*roles), ","));
      });
  if (refused) return *refused;
  return no_content();
}

Reply disable_user(Shared& s, Call& call) {
  auto target = target_user(s, call);
  if (auto* r = std::get_if<Reply>(&target)) return *r;
  auto& user = std::get<store::UserRecord>(target);
  store::UserRecord updated = user;
  updated.status = store::UserStatus::disabled;
  auto refused =
      s.change(call, "disable user", "user.disable",
               [&](store::Store& tx, std::optional<Reply>& refusal) -> core::Result<std::string> {
                 if (auto last = refuse_last_admin(tx, user, Roles(), refusal); !last)
                   return core::fail(last.error());
                 if (auto st = tx.accounts().update_user_blocking(updated); !st)
                   return core::fail(st.error());
                 if (auto n = tx.accounts().delete_user_sessions_blocking(user.id); !n)
                   return core::fail(n.error());
                 // Their key stops receiving new submissions.
                 if (auto st = reversion_user_forms_blocking(tx, user.id, call.now); !st)
                   return core::fail(st.error());
                 return "user:" + user.email;
               });
  if (refused) return *refused;
  return no_content();
}

Reply reissue_link(Shared& s, Call& call) {
  auto target = target_user(s, call);
  if (auto* r = std::get_if<Reply>(&target)) return *r;
  auto& user = std::get<store::UserRecord>(target);
  if (user.status == store::UserStatus::disabled)
    return error_reply(Status::conflict, "This user is disabled.");
  std::string link;
  auto refused =
      s.change(call, "reissue enrolment link", "user.enrolment_link",
               [&](store::Store& tx, std::optional<Reply>&) -> core::Result<std::string> {
                 auto issued = issue_enrolment_link_blocking(tx, s.rng, user.id,
                                                             s.limits.enrolment_link_lifetime,
                                                             s.current_origin(), s.clock.now());
                 if (!issued) return core::fail(issued.error());
                 link = std::move(*issued);
                 return "user:" + user.email;
               });
  if (refused) return *refused;
  return json_reply(Status::ok, json{{"id", user.id}, {"enrolment_link", link}});
}

Reply add_grant(Shared& s, Call& call) {
  auto target = target_user(s, call);
  if (auto* r = std::get_if<Reply>(&target)) return *r;
  auto& user = std::get<store::UserRecord>(target);
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto form_id = std::get<auth::JsonObject>(body).string("form_id", 64);
  if (!form_id) return error_reply(Status::unprocessable, "Say which form.");
  if (user.status != store::UserStatus::active || !user.key_fingerprint) {
    return error_reply(Status::conflict, "This person has not finished enrolment (no key yet).");
  }
  if (!Roles(user.roles).any_of(kReaders)) {
    return error_reply(Status::conflict,
                       "Only staff, form owners and administrators read submissions: "
                       "give this person the staff role first.");
  }
  int version = 0;
  auto refused = s.change(
      call, "add grant", "grant.add",
      [&](store::Store& tx, std::optional<Reply>& refusal) -> core::Result<std::string> {
        auto form = tx.forms().latest_form_blocking(*form_id);
        if (!form) return core::fail(form.error());
        if (!*form) {
          refusal = error_reply(Status::not_found, "There is no such form.");
          return core::fail(ErrorKind::not_found, "There is no such form.");
        }
        if (auto st =
                tx.accounts().add_grant_blocking(store::GrantRecord{.user_id = user.id,
                                                                    .form_id = *form_id,
                                                                    .granted_at = call.now,
                                                                    .granted_by = call.user->id});
            !st) {
          return core::fail(st.error());
        }
        auto made = reversion_form_blocking(tx, *form_id, call.now);
        if (!made) return core::fail(made.error());
        version = *made;
        return fmt::format("user:{} form:{} version:{}", user.email, *form_id, version);
      });
  if (refused) return *refused;
  return json_reply(Status::ok, json{{"form_version", version}, {"note", kGrantNote}});
}

Reply revoke_grant(Shared& s, Call& call) {
  auto target = target_user(s, call);
  if (auto* r = std::get_if<Reply>(&target)) return *r;
  auto& user = std::get<store::UserRecord>(target);
  const std::string& form_id = call.req.params.at("form");
  int version = 0;
  auto refused =
      s.change(call, "remove grant", "grant.remove",
               [&](store::Store& tx, std::optional<Reply>& refusal) -> core::Result<std::string> {
                 if (auto st = tx.accounts().remove_grant_blocking(user.id, form_id); !st) {
                   if (st.error().kind() == ErrorKind::not_found)
                     refusal = error_reply(Status::not_found, "There is no such grant.");
                   return core::fail(st.error());
                 }
                 auto made = reversion_form_blocking(tx, form_id, call.now);
                 if (!made) return core::fail(made.error());
                 version = *made;
                 return fmt::format("user:{} form:{} version:{}", user.email, form_id, version);
               });
  if (refused) return *refused;
  return json_reply(Status::ok, json{{"form_version", version}});
}

}  // namespace portal::detail
