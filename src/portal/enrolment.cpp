// Trust: untrusted network input (JSON bodies, the request target); nothing a client sends is
// logged.
// Enrolment: the link, the password, the authenticator (TOTP) with recovery codes, and the
// OpenPGP key the portal will encrypt to.
#include <spdlog/spdlog.h>

#include "auth/password.hpp"
#include "auth/qr.hpp"
#include "auth/recovery.hpp"
#include "auth/session_token.hpp"
#include "auth/totp.hpp"
#include "crypto/openpgp.hpp"
#include "crypto/seal.hpp"
#include "portal/detail/shared.hpp"

namespace portal::detail {

using core::ErrorKind;
using store::Role;

Reply enrol_start(Shared& s, Call& call) {
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto token = std::get<auth::JsonObject>(body).string("token", 128);
  constexpr std::string_view kBadLink =
      "This enrolment link is not valid any more. Ask your administrator for a new one.";
  if (!token) return error_reply(Status::bad_request, kBadLink);
  // Guessing links is throttled per address (a 256-bit token cannot be guessed; this keeps
  // the attempts out of the database).
  const std::string throttle = "enrolment-link:" + call.req.remote_address;
  if (auto wait = s.lockout.delay(throttle, call.req.remote_address)) return delayed(*wait);
  // The link is used up, and the account's credentials start afresh, in one unit of work:
  // opening a link can never be a way around the old password, authenticator, recovery
  // codes or sessions for an account that keeps working silently beside it.
  std::optional<store::UserRecord> user;
  bool bad_link = false;
  auto refused = s.change(
      call, "open enrolment link", "enrol.start",
      [&](store::Store& tx, std::optional<Reply>& refusal) -> core::Result<Recorded> {
        user.reset();
        bad_link = false;
        auto user_id = tx.accounts().consume_enrolment_blocking(auth::hash_token(*token), call.now);
        if (!user_id) {
          if (user_id.error().kind() == ErrorKind::not_found) {
            bad_link = true;
            refusal = error_reply(Status::bad_request, kBadLink);
          }
          return core::fail(user_id.error());
        }
        auto found = tx.accounts().find_user_blocking(*user_id);
        if (!found) return core::fail(found.error());
        if (!*found || (*found)->status == store::UserStatus::disabled) {
          bad_link = true;
          refusal = error_reply(Status::bad_request, kBadLink);
          return core::fail(ErrorKind::not_found, "enrolment link of no usable account");
        }
        user = std::move(**found);
        user->password_hash.reset();
        user->totp_sealed.clear();
        user->totp_confirmed = false;
        if (auto st = tx.accounts().update_user_blocking(*user); !st) return core::fail(st.error());
        if (auto st = tx.accounts().replace_recovery_codes_blocking(user->id, {}); !st)
          return core::fail(st.error());
        if (auto n = tx.accounts().delete_user_sessions_blocking(user->id); !n)
          return core::fail(n.error());
        return Recorded("user:" + user->email, user->email);
      });
  if (bad_link) {
    s.lockout.record_failure(throttle, call.req.remote_address);
    s.note(call, "enrol.start", "link", "failure");
  }
  if (refused) return *refused;
  if (auto ended = s.end_session(call); !ended) return s.store_error(call, ended.error());
  auto session = s.new_session(call, user->id, Stage::enrolling);
  if (!session) return s.store_error(call, session.error());
  return with_cookie(session_reply(s, *user, session->second), session->first);
}

Reply enrol_password(Shared& s, Call& call) {
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto password = std::get<auth::JsonObject>(body).string("password", 1024);
  if (!password)
    return error_reply(Status::unprocessable, "Choose a password of at least 12 characters.");
  core::SecretBytes secret(*password);
  core::secure_wipe(password->data(), password->size());
  if (auto ok = auth::check_password_policy(secret.as_string_view(), call.user->email); !ok) {
    return error_reply(Status::unprocessable, ok.error().public_text());
  }
  auto hash = auth::hash_password(secret.as_string_view());
  if (!hash) return s.store_error(call, hash.error());
  call.user->password_hash = *hash;
  // A (re-)enrolment sets the factors in order: a new password starts the authenticator
  // step afresh, so the two always come from the same enrolment.
  call.user->totp_sealed.clear();
  call.user->totp_confirmed = false;
  if (auto refused =
          s.change(call, "set password", "enrol.password",
                   [&](store::Store& tx, std::optional<Reply>&) -> core::Result<Recorded> {
                     if (auto st = tx.accounts().update_user_blocking(*call.user); !st)
                       return core::fail(st.error());
                     return Recorded("user:" + call.user->email);
                   })) {
    return *refused;
  }
  return no_content();
}

Reply enrol_totp(Shared& s, Call& call) {
  if (!call.user->password_hash) return error_reply(Status::conflict, "Choose a password first.");
  if (call.user->totp_confirmed) {
    return error_reply(Status::conflict,
                       "Your authenticator is already set up; choose a password to start again.");
  }
  auto secret = auth::generate_totp_secret(s.rng);
  call.user->totp_sealed = crypto::seal(s.keys.seal_key, secret, s.rng);
  call.user->totp_confirmed = false;
  call.user->totp_last_step = 0;
  if (auto st = s.store.accounts().update_user_blocking(*call.user); !st)
    return s.store_error(call, st.error());
  return json_reply(Status::ok,
                    json{{"otpauth_uri", auth::otpauth_uri(kIssuer, call.user->email, secret)},
                         {"secret", auth::base32_encode(secret.view())}});
}

Reply enrol_totp_svg(Shared& s, Call& call) {
  if (call.user->totp_sealed.empty() || call.user->totp_confirmed) {
    return error_reply(Status::conflict, "Start the authenticator step first.");
  }
  auto secret = crypto::unseal(s.keys.seal_key, call.user->totp_sealed);
  if (!secret) return s.store_error(call, secret.error());
  auto svg = auth::qr_svg(auth::otpauth_uri(kIssuer, call.user->email, *secret));
  if (!svg) return s.store_error(call, svg.error());
  return Reply{.status = Status::ok, .body = std::move(*svg), .content_type = "image/svg+xml"};
}

Reply enrol_totp_confirm(Shared& s, Call& call) {
  if (call.user->totp_sealed.empty() || call.user->totp_confirmed) {
    return error_reply(Status::conflict, "Start the authenticator step first.");
  }
  Shared::AttemptGuard attempt(s, call.user->email);
  if (!attempt.owned()) return delayed(std::chrono::seconds(1));
  if (auto wait = s.lockout.delay(call.user->email, call.req.remote_address)) return delayed(*wait);
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto code = std::get<auth::JsonObject>(body).string("code", 16);
  auto secret = crypto::unseal(s.keys.seal_key, call.user->totp_sealed);
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
    return error_reply(Status::unprocessable,
                       "That code is not right. Check that your phone's clock is correct and "
                       "type the code shown now.");
  }
  s.lockout.record_success(call.user->email, call.req.remote_address);
  auto codes = auth::generate_recovery_codes(s.rng, 10);
  std::vector<std::string> hashes;
  for (const auto& c : codes)
    hashes.push_back(
        auth::hash_recovery_code(s.keys.seal_key.view(), *auth::normalize_recovery_code(c)));
  call.user->totp_confirmed = true;
  call.user->totp_last_step = *step;
  if (auto refused = s.change(
          call, "confirm authenticator", "2fa.recovery_codes_issued",
          [&](store::Store& tx, std::optional<Reply>&) -> core::Result<Recorded> {
            if (auto st = tx.accounts().replace_recovery_codes_blocking(call.user->id, hashes); !st)
              return core::fail(st.error());
            if (auto st = tx.accounts().update_user_blocking(*call.user); !st)
              return core::fail(st.error());
            if (auto st = s.record_in(tx, call, "2fa.totp_enrolled", "user:" + call.user->email);
                !st)
              return core::fail(st.error());
            return Recorded("user:" + call.user->email);
          })) {
    return *refused;
  }
  return json_reply(Status::ok, json{{"recovery_codes", codes}});
}

Reply enrol_key(Shared& s, Call& call) {
  if (!call.user->password_hash || !call.user->totp_confirmed) {
    return error_reply(Status::conflict, "Set up the password and the authenticator first.");
  }
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto& obj = std::get<auth::JsonObject>(body);
  auto public_key = obj.string("public_key", 60000);
  if (!public_key)
    return error_reply(Status::unprocessable, "Send the public key (ASCII-armored).");
  auto private_key = obj.optional_string("private_key", 60000);
  if (!private_key) return error_reply(Status::unprocessable, private_key.error().public_text());

  std::span<const std::uint8_t> pub_bytes(reinterpret_cast<const std::uint8_t*>(public_key->data()),
                                          public_key->size());
  auto keys = crypto::parse_public_keys(pub_bytes, s.clock.now());
  if (!keys) {
    s.note(call, "key.register", "user:" + call.user->email, "failure");
    return error_reply(Status::unprocessable, keys.error().public_text());
  }
  if (keys->size() != 1) return error_reply(Status::unprocessable, "Send exactly one public key.");
  const auto& key = keys->front();
  if (auto ok = crypto::check_recipient(key.info, s.clock.now()); !ok) {
    s.note(call, "key.register", "user:" + call.user->email, "failure");
    return error_reply(Status::unprocessable, ok.error().public_text());
  }
  if (*private_key) {
    const auto& text = **private_key;
    if (auto ok = crypto::check_protected_secret_key(
            std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
            key.info.fingerprint);
        !ok) {
      s.note(call, "key.register", "user:" + call.user->email, "failure");
      return error_reply(Status::unprocessable, ok.error().public_text());
    }
  }
  // The keys table also holds the forms' declared recipients and the recovery key: an upload
  // must never replace a key someone else registered or an administrator imported.
  auto existing = s.store.forms().find_key_blocking(key.info.fingerprint.hex());
  if (!existing) return s.store_error(call, existing.error());
  if (*existing && call.user->key_fingerprint != key.info.fingerprint.hex()) {
    s.note(call, "key.register", "user:" + call.user->email, "failure");
    return error_reply(Status::conflict,
                       "This key is already registered. Make a new key for the portal.");
  }
  store::KeyRecord record{.fingerprint = key.info.fingerprint.hex(),
                          .armored = key.armored,
                          .user_ids = key.info.user_ids,
                          .created_at = key.info.created_at,
                          .expires_at = key.info.expires_at,
                          .imported_at = call.now};
  const bool had_key = call.user->key_fingerprint.has_value();
  call.user->key_fingerprint = record.fingerprint;
  call.user->private_key_armored = *private_key;
  call.user->status = store::UserStatus::active;
  if (auto refused = s.change(
          call, "register key", "enrol.complete",
          [&](store::Store& tx, std::optional<Reply>&) -> core::Result<Recorded> {
            if (auto st = tx.forms().put_key_blocking(record); !st) return core::fail(st.error());
            if (auto st = tx.accounts().update_user_blocking(*call.user); !st)
              return core::fail(st.error());
            // A new key: the forms they read are encrypted to it from now on.
            if (had_key) {
              if (auto st = reversion_user_forms_blocking(tx, call.user->id, call.now); !st)
                return core::fail(st.error());
            }
            if (auto st = s.record_in(tx, call, "key.register",
                                      "user:" + call.user->email + " key:" + record.fingerprint);
                !st)
              return core::fail(st.error());
            return Recorded("user:" + call.user->email);
          })) {
    return *refused;
  }
  if (auto ended = s.end_session(call); !ended) return s.store_error(call, ended.error());
  auto session = s.new_session(call, call.user->id, Stage::full);
  if (!session) return s.store_error(call, session.error());
  Reply r = session_reply(s, *call.user, session->second);
  auto j = json::parse(r.body);
  j["fingerprint"] = record.fingerprint;
  r.body = j.dump();
  return with_cookie(std::move(r), session->first);
}

}  // namespace portal::detail
