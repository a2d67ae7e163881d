// Trust: untrusted network input (JSON bodies, the request target); nothing a client sends is
// logged.
// Sign-in in two steps (password, then a TOTP or recovery code), sign-out, and the session
// the page asks about. Failures count toward the lockout and raise an alert on a burst.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "auth/cookie.hpp"
#include "auth/email.hpp"
#include "auth/password.hpp"
#include "auth/recovery.hpp"
#include "auth/totp.hpp"
#include "core/log.hpp"
#include "crypto/seal.hpp"
#include "portal/detail/shared.hpp"

namespace portal::detail {

using core::ErrorKind;
using store::Role;

namespace {

constexpr std::string_view kWrongPassword = "The e-mail address or password is wrong.";
constexpr std::string_view kWrongCode = "That code is not right.";

}  // namespace

// A failed sign-in step: counts toward lockout, raises an alert on a burst.
void note_failure(Shared& s, const Call& call, const std::string& account, std::string action) {
  auto result = s.lockout.record_failure(account, call.req.remote_address);
  s.note(call, std::move(action), "account:" + printable(account), "failure", printable(account));
  if (result.alert) {
    spdlog::warn("event=alert kind=failed_sign_in_burst source={}",
                 core::log_safe(call.req.remote_address));
    s.note(call, "alert.failed_sign_in_burst", "account:" + printable(account), "alert", "system");
  }
}

Reply sign_in(Shared& s, Call& call) {
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto& obj = std::get<auth::JsonObject>(body);
  auto email_typed = obj.string("email", auth::kMaxEmailBytes);
  auto password = obj.string("password", 1024);
  if (!email_typed || !password) return error_reply(Status::unauthenticated, kWrongPassword);
  core::SecretBytes secret(*password);
  core::secure_wipe(password->data(), password->size());
  // Not an address: recorded as such, never as typed (it may be a password pasted there).
  std::string account = auth::normalize_email(*email_typed).value_or("<not an e-mail address>");
  Shared::AttemptGuard attempt(s, account);
  if (!attempt.owned()) return delayed(std::chrono::seconds(1));
  if (auto wait = s.lockout.delay(account, call.req.remote_address)) {
    s.note(call, "auth.password", "account:" + account, "delayed", account);
    return delayed(*wait);
  }
  auto user = s.store.accounts().find_user_by_email_blocking(account);
  if (!user) return s.store_error(call, user.error());
  bool ok = false;
  if (*user && (*user)->password_hash) {
    ok = auth::verify_password(*(*user)->password_hash, secret.as_string_view());
  } else {
    (void)auth::verify_password(auth::dummy_hash(s.rng), secret.as_string_view());  // same time
  }
  ok = ok && (*user)->status == store::UserStatus::active && (*user)->totp_confirmed;
  if (!ok) {
    note_failure(s, call, account, "auth.password");
    return error_reply(Status::unauthenticated, kWrongPassword);
  }
  if (auto ended = s.end_session(call); !ended) return s.store_error(call, ended.error());
  auto session = s.new_session(call, (*user)->id, Stage::second_factor);
  if (!session) return s.store_error(call, session.error());
  s.note(call, "auth.password", "user:" + account, "ok", account);
  return with_cookie(session_reply(s, **user, session->second), session->first);
}

Reply second_factor(Shared& s, Call& call) {
  const std::string& account = call.user->email;
  Shared::AttemptGuard attempt(s, account);
  if (!attempt.owned()) return delayed(std::chrono::seconds(1));
  if (auto wait = s.lockout.delay(account, call.req.remote_address)) return delayed(*wait);
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto& obj = std::get<auth::JsonObject>(body);
  auto code = obj.optional_string("code", 16);
  auto recovery = obj.optional_string("recovery_code", 32);
  bool ok = false;
  std::string method;
  if (code && *code) {
    method = "totp";
    auto secret = crypto::unseal(s.keys.seal_key, call.user->totp_sealed);
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
    return error_reply(Status::unauthenticated, kWrongCode);
  }
  s.lockout.record_success(account, call.req.remote_address);
  if (auto ended = s.end_session(call); !ended) return s.store_error(call, ended.error());
  auto session = s.new_session(call, call.user->id, Stage::full);
  if (!session) return s.store_error(call, session.error());
  s.note(call, "auth.sign_in", "user:" + account + " method:" + method, "ok");
  if (method == "recovery_code") {
    auto left = s.store.accounts().unused_recovery_codes_blocking(call.user->id);
    s.note(call, "2fa.recovery_code_used",
           fmt::format("user:{} left:{}", account, left ? *left : 0), "ok");
  }
  return with_cookie(session_reply(s, *call.user, session->second), session->first);
}

Reply sign_out(Shared& s, Call& call) {
  if (auto ended = s.end_session(call); !ended) return s.store_error(call, ended.error());
  s.note(call, "auth.sign_out", "user:" + call.user->email, "ok");
  Reply r = no_content();
  r.set_cookie = auth::clear_session_cookie();
  return r;
}

Reply sign_out_everywhere(Shared& s, Call& call) {
  auto n = s.store.accounts().delete_user_sessions_blocking(call.user->id);
  if (!n) return s.store_error(call, n.error());
  s.note(call, "auth.sign_out_everywhere", fmt::format("user:{} sessions:{}", call.user->email, *n),
         "ok");
  Reply r = no_content();
  r.set_cookie = auth::clear_session_cookie();
  return r;
}

Reply get_session(Shared& s, Call& call) {
  if (!call.session) return error_reply(Status::unauthenticated, kSignIn);
  return session_reply(s, *call.user, *call.session);
}

}  // namespace portal::detail
