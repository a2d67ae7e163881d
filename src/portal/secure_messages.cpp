// Trust: untrusted network input (the copy id in the path, the code, password, token and reply
// in the JSON body); the code is never logged or stored, only its HMAC; the password only as
// its Argon2id hash; the reply is queued sealed and never logged.
// The recipient's side of the secure-message portal (issue 9, docs/PORTAL.md "Secure
// messages"): a one-time code to the recipient's address and, from the second message to
// that address on, the password of the recipient account created at the first (TOTP
// optional); then the ciphertext for the browser, which decrypts it with the key in the
// link's fragment (the server never has it). The open answers a reply token that lets the
// page send secure replies and set up an authenticator for 30 minutes.
// Wrong codes count in the staff portal's lockout (Shared::lockout: in the database on
// PostgreSQL), under the account "secure-message:<copy id>"; wrong passwords and
// authenticator codes under "recipient:<hash of the address>" (no address in the trail).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>

#include "auth/password.hpp"
#include "auth/session_token.hpp"
#include "auth/totp.hpp"
#include "core/encoding.hpp"
#include "core/log.hpp"
#include "crypto/hmac.hpp"
#include "crypto/seal.hpp"
#include "portal/detail/shared.hpp"
#include "webhooks/event.hpp"

namespace portal::detail {

namespace {

constexpr std::string_view kNoSuchMessage = "There is no secure message at this link.";
constexpr std::string_view kGone =
    "This secure message is no longer available: it has expired or the sender withdrew it.";
constexpr std::string_view kWrongCode = "That code is not right, or it has expired or been used.";
constexpr std::string_view kWrongPassword = "That password is not right.";
constexpr std::string_view kWrongTotp =
    "That authenticator code is not right. Type the code your app shows now.";
constexpr std::string_view kNoToken =
    "Your session on this message has ended. Open the message again to continue.";

// A copy id: 32 random bytes in base64url (43 characters); anything else names no copy.
bool valid_copy_id(std::string_view id) {
  if (id.size() != 43) return false;
  auto bytes = core::base64url_decode(id);
  return bytes && bytes->size() == 32;
}

std::string account_of(std::string_view id) { return fmt::format("secure-message:{}", id); }

std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace

std::string sha256_hex(std::string_view text) {
  crypto::Sha256 h;
  h.update(text);
  return core::to_hex(h.finish());
}

// Addresses are compared in lower case (the account's key); the domain is what events name.
std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

namespace {

std::string domain_of(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : lower_ascii(address.substr(at + 1));
}

// What webhook events call a copy: a tag derived from its id, never the id (the link's path).
std::string copy_tag(std::string_view copy_id) { return sha256_hex(copy_id).substr(0, 16); }

// The reply token: base64url(expiry as 8 bytes big-endian || HMAC-SHA256(K, id || expiry)),
// K = HMAC-SHA256(portal seal key, "sealpost-secure-reply-v1"). Stateless: it dies by time,
// and the copy's revocation or expiry (checked at each use) ends it sooner.
crypto::Mac token_mac(const Shared& s, std::string_view copy_id, std::int64_t expires) {
  const auto key = crypto::hmac_sha256(s.keys.seal_key.view(),
                                       bytes_of(std::string_view("sealpost-secure-reply-v1")));
  std::string data(copy_id);
  data += '|';
  data += std::to_string(expires);
  return crypto::hmac_sha256(key, bytes_of(data));
}

std::string reply_token(const Shared& s, std::string_view copy_id, std::int64_t expires) {
  std::vector<std::uint8_t> raw(8);
  for (int i = 0; i < 8; ++i) raw[i] = static_cast<std::uint8_t>(expires >> (56 - 8 * i));
  const auto mac = token_mac(s, copy_id, expires);
  raw.insert(raw.end(), mac.begin(), mac.end());
  return core::base64url_encode(raw);
}

bool token_valid(const Shared& s, std::string_view copy_id, std::string_view token,
                 std::int64_t now) {
  if (token.size() > 64) return false;
  auto raw = core::base64url_decode(token);
  if (!raw || raw->size() != 8 + 32) return false;
  std::int64_t expires = 0;
  for (int i = 0; i < 8; ++i) expires = (expires << 8) | (*raw)[static_cast<std::size_t>(i)];
  if (expires <= now || expires > now + kSecureReplyTokenSeconds) return false;
  const auto mac = token_mac(s, copy_id, expires);
  return crypto::constant_time_equal(std::span(raw->data() + 8, 32), mac);
}

Reply gone() {
  return Reply{.status = Status::gone, .body = json{{"error", kGone}, {"gone", true}}.dump()};
}

// The copy named by the path, or the answer for a missing, revoked or expired one.
std::variant<store::SecureMessageRecord, Reply> live_copy(Shared& s, const Call& call) {
  auto it = call.req.params.find("id");
  if (it == call.req.params.end() || !valid_copy_id(it->second)) {
    return error_reply(Status::not_found, kNoSuchMessage);
  }
  auto found = s.store.secure_messages().find_secure_message_blocking(it->second);
  if (!found) return s.store_error(call, found.error());
  if (!*found) return error_reply(Status::not_found, kNoSuchMessage);
  if ((*found)->revoked_at || (*found)->expires_at <= call.now) return gone();
  return std::move(**found);
}

}  // namespace

std::string secure_code_hash(std::string_view copy_id, std::string_view code) {
  // Keyed by the copy id so that equal codes of two copies differ in the table. A 10^8
  // code space is small: the hash keeps the code off the disk in clear, the lockout and the
  // 10-minute expiry are what stop guessing (docs/THREAT_MODEL.md).
  auto mac = crypto::hmac_sha256(
      std::span(reinterpret_cast<const std::uint8_t*>(copy_id.data()), copy_id.size()),
      std::span(reinterpret_cast<const std::uint8_t*>(code.data()), code.size()));
  return core::to_hex(mac);
}

Reply secure_code(Shared& s, Call& call) {
  auto copy = live_copy(s, call);
  if (auto* r = std::get_if<Reply>(&copy)) return *r;
  auto& record = std::get<store::SecureMessageRecord>(copy);
  if (!s.send_secure_code) {
    Reply r = error_reply(Status::failed, "The server cannot send codes right now.");
    r.failure = core::ErrorKind::unavailable;
    return r;
  }
  // One code mail a minute per copy: a link holder cannot flood the recipient's mailbox.
  if (record.code_expires_at &&
      *record.code_expires_at - kSecureCodeSeconds + kSecureCodeResendSeconds > call.now) {
    return delayed(std::chrono::seconds(*record.code_expires_at - kSecureCodeSeconds +
                                        kSecureCodeResendSeconds - call.now));
  }
  // 8 decimal digits, uniform: rejection sampling over 32 random bits.
  std::uint32_t value = 0;
  do {
    std::array<std::uint8_t, 4> raw{};
    s.rng.fill(raw);
    value = (std::uint32_t{raw[0]} << 24) | (std::uint32_t{raw[1]} << 16) |
            (std::uint32_t{raw[2]} << 8) | raw[3];
  } while (value >= 4'200'000'000u);
  std::string code = fmt::format("{:08d}", value % 100'000'000u);
  auto set = s.store.secure_messages().set_secure_code_blocking(
      record.id, secure_code_hash(record.id, code), call.now + kSecureCodeSeconds, call.now);
  if (!set) {
    core::secure_wipe(code.data(), code.size());
    return s.store_error(call, set.error());
  }
  if (!*set) {
    core::secure_wipe(code.data(), code.size());
    return gone();  // revoked or expired meanwhile
  }
  auto sent = s.send_secure_code(record, code);
  core::secure_wipe(code.data(), code.size());
  if (!sent) return s.store_error(call, sent.error());
  s.note(call, "secure_message.code",
         fmt::format("message:{} copy:{}", record.message_id, record.id), "ok",
         account_of(record.id));
  // What the page asks for with the code: the password of the recipient's account, or a new
  // one (the first message to this address), and the authenticator's code if it has one.
  auto account =
      s.store.secure_messages().find_recipient_account_blocking(lower_ascii(record.recipient));
  if (!account) return s.store_error(call, account.error());
  return json_reply(Status::ok, json{{"sent", true},
                                     {"expires_in_seconds", kSecureCodeSeconds},
                                     {"account", account->has_value()},
                                     {"totp", *account && (*account)->totp_confirmed}});
}

namespace {

// The account check of an open: the password of an existing account (and its authenticator's
// code if it has one), or a new password for a new account. A Reply when it fails; the new
// account's row (hashed) when one is to be created; nothing when an existing one passed.
// A refusal that tells the page which field to ask for ("needs").
Reply needs(Status status, std::string_view message, std::string_view what) {
  return Reply{.status = status, .body = json{{"error", message}, {"needs", what}}.dump()};
}

struct AccountCheck {
  std::optional<store::RecipientAccountRecord> create;
  bool has_totp = false;
};

std::variant<AccountCheck, Reply> check_account(Shared& s, Call& call,
                                                const store::SecureMessageRecord& record,
                                                const auth::JsonObject& body) {
  const std::string address = lower_ascii(record.recipient);
  const std::string account = recipient_account_name(address);
  auto found = s.store.secure_messages().find_recipient_account_blocking(address);
  if (!found) return s.store_error(call, found.error());
  auto typed = body.optional_string("password", auth::kMaxPasswordBytes);
  if (!typed) return error_reply(Status::bad_request, typed.error().public_text());
  std::string password = typed->value_or("");
  core::SecretBytes secret(password);
  core::secure_wipe(password.data(), password.size());
  if (!*found) {
    if (secret.size() == 0) {
      return needs(Status::unprocessable,
                   "Choose a password for your secure messages: you will need it, with a code "
                   "like this one, to open the next message sent to you.",
                   "new_password");
    }
    if (auto policy = auth::check_password_policy(secret.as_string_view(), address); !policy) {
      return error_reply(Status::unprocessable, policy.error().public_text());
    }
    auto hash = auth::hash_password(secret.as_string_view());
    if (!hash) return s.store_error(call, hash.error());
    return AccountCheck{.create = store::RecipientAccountRecord{.address = address,
                                                                .password_hash = *hash,
                                                                .created_at = call.now,
                                                                .updated_at = call.now}};
  }
  const auto& existing = **found;
  if (secret.size() == 0 ||
      !auth::verify_password(existing.password_hash, secret.as_string_view())) {
    note_failure(s, call, account, "secure_message.password");
    return needs(Status::unauthenticated, kWrongPassword, "password");
  }
  if (existing.totp_confirmed) {
    auto code = body.optional_string("totp", 16);
    auto totp = crypto::unseal(s.keys.seal_key, existing.totp_sealed);
    if (!totp) return s.store_error(call, totp.error());
    std::optional<std::int64_t> step;
    if (code && *code) step = auth::totp_verify(*totp, **code, call.now, existing.totp_last_step);
    if (step) {
      auto advanced = s.store.secure_messages().advance_recipient_totp_blocking(address, *step);
      if (!advanced) return s.store_error(call, advanced.error());
      if (!*advanced) step.reset();  // a code used already (replayed)
    }
    if (!step) {
      note_failure(s, call, account, "secure_message.totp");
      return needs(Status::unauthenticated, kWrongTotp, "totp");
    }
  }
  return AccountCheck{.has_totp = existing.totp_confirmed};
}

}  // namespace

Reply secure_open(Shared& s, Call& call) {
  auto copy = live_copy(s, call);
  if (auto* r = std::get_if<Reply>(&copy)) return *r;
  auto& record = std::get<store::SecureMessageRecord>(copy);
  const std::string account = account_of(record.id);
  const std::string recipient = recipient_account_name(record.recipient);
  Shared::AttemptGuard attempt(s, account);
  if (!attempt.owned()) return delayed(std::chrono::seconds(1));
  Shared::AttemptGuard recipient_attempt(s, recipient);
  if (!recipient_attempt.owned()) return delayed(std::chrono::seconds(1));
  for (const auto& name : {account, recipient}) {
    if (auto wait = s.lockout.delay(name, call.req.remote_address)) {
      s.note(call, "secure_message.code", "copy:" + record.id, "delayed", name);
      return delayed(*wait);
    }
  }
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  const auto& fields = std::get<auth::JsonObject>(body);
  // The code first (it proves the address), without consuming it: a wrong password then
  // leaves the code usable for the next try, within the lockout.
  auto typed = fields.string("code", 16);
  std::string hash;
  if (typed) {
    hash = secure_code_hash(record.id, *typed);
    core::secure_wipe(typed->data(), typed->size());
  }
  if (!typed || !record.code_hash || !record.code_expires_at ||
      *record.code_expires_at <= call.now || !auth::constant_time_equal(hash, *record.code_hash)) {
    note_failure(s, call, account, "secure_message.code");
    return error_reply(Status::unauthenticated, kWrongCode);
  }
  auto checked = check_account(s, call, record, fields);
  if (auto* r = std::get_if<Reply>(&checked)) return *r;
  auto& check = std::get<AccountCheck>(checked);
  // Single use: of two requests with the same code, one consumes it.
  auto consumed = s.store.secure_messages().consume_secure_code_blocking(record.id, hash, call.now);
  if (!consumed) return s.store_error(call, consumed.error());
  if (!*consumed) {
    note_failure(s, call, account, "secure_message.code");
    return error_reply(Status::unauthenticated, kWrongCode);
  }
  s.lockout.record_success(account, call.req.remote_address);
  s.lockout.record_success(recipient, call.req.remote_address);
  // The open, the new account and their audit entries commit together, before the
  // ciphertext leaves (A1); so does the first read's webhook event.
  auto refused = s.change(
      call, "open secure message", "secure_message.open",
      [&](store::Store& tx, std::optional<Reply>& refusal) -> core::Result<Recorded> {
        if (check.create) {
          auto added = tx.secure_messages().add_recipient_account_blocking(*check.create);
          if (!added && added.error().kind() == core::ErrorKind::conflict) {
            // Two first messages opened at once: the other one made the account.
            refusal = error_reply(Status::conflict,
                                  "An account for your address was created a moment ago. Ask "
                                  "for a new code and enter that account's password.");
          }
          if (!added) return core::fail(std::move(added).error());
          if (auto st = s.record_in(tx, call, "recipient.account_created",
                                    fmt::format("{} copy:{}", recipient, record.id));
              !st) {
            return core::fail(st.error());
          }
        }
        auto first = tx.secure_messages().mark_secure_read_blocking(record.id, call.now);
        if (!first) return core::fail(std::move(first).error());
        if (*first) {
          const auto event =
              webhooks::portal_event("message.read", record.message_id, copy_tag(record.id),
                                     domain_of(record.recipient), "", call.now);
          if (auto e = tx.webhooks().enqueue_event_blocking(event.id, event.type, event.payload,
                                                            call.now);
              !e) {
            return core::fail(std::move(e).error());
          }
        }
        return Recorded(fmt::format("message:{} copy:{} first:{}", record.message_id, record.id,
                                    *first ? "yes" : "no"),
                        account);
      });
  if (refused) return *refused;
  return json_reply(
      Status::ok,
      json{{"message_id", record.message_id},
           {"ciphertext", base64(record.ciphertext)},
           {"sender", record.sender},
           {"expires_at", record.expires_at},
           {"reply_token", reply_token(s, record.id, call.now + kSecureReplyTokenSeconds)},
           {"replies_left", std::max<std::int64_t>(0, kMaxSecureReplies - record.replies)},
           {"totp", check.has_totp},
           {"account_created", check.create.has_value()}});
}

namespace {

// The copy and the parsed body of a request that carries the open's reply token.
struct Authorised {
  store::SecureMessageRecord record;
  auth::JsonObject body;
};

std::variant<Authorised, Reply> authorised(Shared& s, Call& call) {
  auto copy = live_copy(s, call);
  if (auto* r = std::get_if<Reply>(&copy)) return *r;
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto& record = std::get<store::SecureMessageRecord>(copy);
  auto& fields = std::get<auth::JsonObject>(body);
  auto token = fields.string("token", 64);
  if (!token || !token_valid(s, record.id, *token, call.now)) {
    return error_reply(Status::unauthenticated, kNoToken);
  }
  return Authorised{std::move(record), std::move(fields)};
}

}  // namespace

Reply secure_reply(Shared& s, Call& call) {
  auto got = authorised(s, call);
  if (auto* r = std::get_if<Reply>(&got)) return *r;
  auto& [record, fields] = std::get<Authorised>(got);
  if (!s.send_secure_reply) {
    Reply r = error_reply(Status::failed, "The server cannot send replies right now.");
    r.failure = core::ErrorKind::unavailable;
    return r;
  }
  auto text = fields.string("text", kMaxSecureReplyBytes);
  if (!text) {
    return error_reply(
        Status::unprocessable,
        fmt::format("Write your reply (at most {} KiB of text).", kMaxSecureReplyBytes / 1024));
  }
  const bool blank = text->find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank) return error_reply(Status::unprocessable, "Write your reply before sending it.");
  std::optional<Reply> refusal;
  auto queued = s.send_secure_reply(
      record, *text, [&](store::Store& tx, const std::string& reply_id) -> core::Status {
        auto counted = tx.secure_messages().count_secure_reply_blocking(
            record.id, kMaxSecureReplies, call.now);
        if (!counted) return core::fail(std::move(counted).error());
        if (!*counted) {
          refusal = error_reply(
              Status::conflict,
              fmt::format("You have sent the {} replies this message allows.", kMaxSecureReplies));
          return core::fail(core::ErrorKind::conflict, "reply bound reached");
        }
        const auto event =
            webhooks::portal_event("message.replied", record.message_id, copy_tag(record.id),
                                   domain_of(record.recipient), reply_id, call.now);
        if (auto e =
                tx.webhooks().enqueue_event_blocking(event.id, event.type, event.payload, call.now);
            !e) {
          return core::fail(std::move(e).error());
        }
        return s.record_in(
            tx, call, "secure_message.reply",
            fmt::format("message:{} copy:{} reply:{}", record.message_id, record.id, reply_id));
      });
  core::secure_wipe(text->data(), text->size());
  if (refusal) return *refusal;
  if (!queued) return s.store_error(call, queued.error());
  return json_reply(
      Status::ok,
      json{{"sent", true},
           {"replies_left", std::max<std::int64_t>(0, kMaxSecureReplies - record.replies - 1)}});
}

Reply secure_totp(Shared& s, Call& call) {
  auto got = authorised(s, call);
  if (auto* r = std::get_if<Reply>(&got)) return *r;
  auto& record = std::get<Authorised>(got).record;
  const std::string address = lower_ascii(record.recipient);
  auto secret = auth::generate_totp_secret(s.rng);
  auto sealed = crypto::seal(s.keys.seal_key, secret, s.rng);
  auto begun = s.store.secure_messages().begin_recipient_totp_blocking(address, sealed, call.now);
  if (!begun) return s.store_error(call, begun.error());
  if (!*begun) {
    return error_reply(Status::conflict,
                       "An authenticator is already set up for your account. To replace it, ask "
                       "the sender to reset your account.");
  }
  return json_reply(Status::ok, json{{"otpauth_uri", auth::otpauth_uri(kIssuer, address, secret)},
                                     {"secret", auth::base32_encode(secret.view())}});
}

Reply secure_totp_confirm(Shared& s, Call& call) {
  auto got = authorised(s, call);
  if (auto* r = std::get_if<Reply>(&got)) return *r;
  auto& [record, fields] = std::get<Authorised>(got);
  const std::string address = lower_ascii(record.recipient);
  const std::string account = recipient_account_name(address);
  Shared::AttemptGuard attempt(s, account);
  if (!attempt.owned()) return delayed(std::chrono::seconds(1));
  if (auto wait = s.lockout.delay(account, call.req.remote_address)) return delayed(*wait);
  auto found = s.store.secure_messages().find_recipient_account_blocking(address);
  if (!found) return s.store_error(call, found.error());
  if (!*found || (*found)->totp_sealed.empty() || (*found)->totp_confirmed) {
    return error_reply(Status::conflict, "Start setting up the authenticator first.");
  }
  auto secret = crypto::unseal(s.keys.seal_key, (*found)->totp_sealed);
  if (!secret) return s.store_error(call, secret.error());
  auto code = fields.string("totp", 16);
  std::optional<std::int64_t> step;
  if (code) step = auth::totp_verify(*secret, *code, call.now, (*found)->totp_last_step);
  if (!step) {
    note_failure(s, call, account, "secure_message.totp_confirm");
    return error_reply(Status::unprocessable,
                       "That code is not right. Check that your phone's clock is correct and "
                       "type the code shown now.");
  }
  s.lockout.record_success(account, call.req.remote_address);
  auto refused = s.change(
      call, "confirm recipient authenticator", "recipient.totp_enrolled",
      [&](store::Store& tx, std::optional<Reply>& refusal) -> core::Result<Recorded> {
        auto confirmed = tx.secure_messages().confirm_recipient_totp_blocking(
            address, (*found)->totp_sealed, *step, call.now);
        if (!confirmed) return core::fail(std::move(confirmed).error());
        if (!*confirmed) {
          refusal = error_reply(Status::conflict, "Start setting up the authenticator again.");
          return core::fail(core::ErrorKind::conflict, "authenticator changed meanwhile");
        }
        return Recorded(fmt::format("{} copy:{}", account, record.id), account_of(record.id));
      });
  if (refused) return *refused;
  return json_reply(Status::ok, json{{"totp", true}});
}

}  // namespace portal::detail

namespace portal {

// A hash, so that neither the trail nor the failure counts hold a patient's address.
std::string recipient_account_name(std::string_view address) {
  return "recipient:" + detail::sha256_hex(detail::lower_ascii(address)).substr(0, 24);
}

}  // namespace portal
