// Trust: untrusted network input (the copy id in the path, the code in the JSON body); the code
// is never logged or stored, only its HMAC.
// The recipient's side of the secure-message portal (issue 9, docs/PORTAL.md "Secure
// messages"): a one-time code to the recipient's address, then the ciphertext for the
// browser, which decrypts it with the key in the link's fragment (the server never has it).
// Wrong codes count in the staff portal's lockout (Shared::lockout: in the database on
// PostgreSQL), under the account "secure-message:<copy id>".
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>

#include "auth/session_token.hpp"
#include "core/encoding.hpp"
#include "core/log.hpp"
#include "crypto/hmac.hpp"
#include "portal/detail/shared.hpp"

namespace portal::detail {

namespace {

constexpr std::string_view kNoSuchMessage = "There is no secure message at this link.";
constexpr std::string_view kGone =
    "This secure message is no longer available: it has expired or the sender withdrew it.";
constexpr std::string_view kWrongCode = "That code is not right, or it has expired or been used.";

// A copy id: 32 random bytes in base64url (43 characters); anything else names no copy.
bool valid_copy_id(std::string_view id) {
  if (id.size() != 43) return false;
  auto bytes = core::base64url_decode(id);
  return bytes && bytes->size() == 32;
}

std::string account_of(std::string_view id) { return fmt::format("secure-message:{}", id); }

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
  return json_reply(Status::ok, json{{"sent", true}, {"expires_in_seconds", kSecureCodeSeconds}});
}

Reply secure_open(Shared& s, Call& call) {
  auto copy = live_copy(s, call);
  if (auto* r = std::get_if<Reply>(&copy)) return *r;
  auto& record = std::get<store::SecureMessageRecord>(copy);
  const std::string account = account_of(record.id);
  Shared::AttemptGuard attempt(s, account);
  if (!attempt.owned()) return delayed(std::chrono::seconds(1));
  if (auto wait = s.lockout.delay(account, call.req.remote_address)) {
    s.note(call, "secure_message.code", "copy:" + record.id, "delayed", account);
    return delayed(*wait);
  }
  auto body = body_of(call);
  if (auto* r = std::get_if<Reply>(&body)) return *r;
  auto typed = std::get<auth::JsonObject>(body).string("code", 16);
  bool ok = false;
  if (typed) {
    const std::string hash = secure_code_hash(record.id, *typed);
    core::secure_wipe(typed->data(), typed->size());
    if (record.code_hash && record.code_expires_at && *record.code_expires_at > call.now &&
        auth::constant_time_equal(hash, *record.code_hash)) {
      // Single use: of two requests with the same code, one consumes it.
      auto consumed =
          s.store.secure_messages().consume_secure_code_blocking(record.id, hash, call.now);
      if (!consumed) return s.store_error(call, consumed.error());
      ok = *consumed;
    }
  }
  if (!ok) {
    note_failure(s, call, account, "secure_message.code");
    return error_reply(Status::unauthenticated, kWrongCode);
  }
  s.lockout.record_success(account, call.req.remote_address);
  // The open and its audit entry commit together, before the ciphertext leaves (A1).
  auto refused =
      s.change(call, "open secure message", "secure_message.open",
               [&](store::Store& tx, std::optional<Reply>&) -> core::Result<Recorded> {
                 auto first = tx.secure_messages().mark_secure_read_blocking(record.id, call.now);
                 if (!first) return core::fail(std::move(first).error());
                 return Recorded(fmt::format("message:{} copy:{} first:{}", record.message_id,
                                             record.id, *first ? "yes" : "no"),
                                 account);
               });
  if (refused) return *refused;
  return json_reply(Status::ok, json{{"message_id", record.message_id},
                                     {"ciphertext", base64(record.ciphertext)},
                                     {"sender", record.sender},
                                     {"expires_at", record.expires_at}});
}

}  // namespace portal::detail
