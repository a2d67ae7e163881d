// Trust: our own records; reply and MX texts came from remote servers (see status.hpp).
#include "mail/queue/status.hpp"

#include <fmt/format.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "core/log.hpp"

namespace mail::queue {

namespace {

using Json = nlohmann::json;
using store::MailState;

bool waiting(MailState s) { return s == MailState::queued || s == MailState::deferred; }

Json time_or_null(std::int64_t unix_seconds) {
  if (unix_seconds <= 0) return nullptr;
  return utc_time_text(unix_seconds);
}

Json attempt_json(const store::MailAttempt& a) {
  Json tls = nullptr;
  if (!a.tls_version.empty()) {
    tls = {{"version", a.tls_version}, {"cipher", a.tls_cipher}, {"verified", a.verified}};
  }
  return {{"at", time_or_null(a.at)},
          {"mx_host", a.mx_host.empty() ? Json(nullptr) : Json(a.mx_host)},
          {"ip", a.ip.empty() ? Json(nullptr) : Json(a.ip)},
          {"policy", a.policy},
          {"tls", tls},
          {"reply", {{"code", a.code}, {"enhanced", a.enhanced}, {"text", a.reply}}}};
}

Json recipient_json(const store::MailRecipientRecord& r) {
  Json out = {{"index", r.idx},
              {"address", r.address},
              {"state", std::string(store::mail_state_name(r.state))},
              {"attempts", r.attempts},
              {"updated_at", time_or_null(r.updated_at)},
              {"last_attempt", r.last ? attempt_json(*r.last) : Json(nullptr)}};
  if (waiting(r.state)) out["next_attempt_at"] = time_or_null(r.next_attempt_at);
  if (!r.last) return out;
  const auto& a = *r.last;
  switch (r.state) {
    case MailState::delivered:
      out["tls"] = out["last_attempt"]["tls"];
      out["reply"] = fmt::format("{} {} {}", a.code, a.enhanced, a.reply);
      break;
    case MailState::bounced:
      // As a DSN (RFC 3464) would state it.
      out["dsn"] = {{"action", "failed"},
                    {"status", a.enhanced},
                    {"diagnostic_code", a.code > 0 ? fmt::format("smtp; {} {}", a.code, a.reply)
                                                   : "X-sealpost; " + a.reply}};
      out["reason"] = a.reply;
      break;
    case MailState::deferred:
    case MailState::dropped:
    case MailState::awaiting_fallback:
      out["reason"] = a.reply;
      break;
    case MailState::queued:
      break;
  }
  return out;
}

}  // namespace

std::string utc_time_text(std::int64_t unix_seconds) {
  if (unix_seconds <= 0) return "-";
  std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

core::Result<std::optional<MessageStatus>> load_status_blocking(store::Store& store,
                                                                const std::string& id) {
  auto message = store.mail().find_message_blocking(id, false);
  if (!message) return core::fail(std::move(message).error());
  if (!*message) return std::optional<MessageStatus>();
  auto recipients = store.mail().list_recipients_blocking(id);
  if (!recipients) return core::fail(std::move(recipients).error());
  auto portal = store.secure_messages().list_secure_messages_blocking(id);
  if (!portal) return core::fail(std::move(portal).error());
  for (auto& copy : *portal) {
    copy.ciphertext = {};
    copy.code_hash.reset();
  }
  return std::optional<MessageStatus>(
      MessageStatus{std::move(**message), std::move(*recipients), std::move(*portal)});
}

std::string status_text(const MessageStatus& status) {
  const auto& m = status.message;
  std::string out =
      fmt::format("message {}\n  queued {} by {}\n  sender {}\n  policy {}{}\n  size {} bytes\n",
                  m.id, utc_time_text(m.created_at), core::log_safe(m.origin),
                  core::log_safe(m.sender), m.security, m.phi ? " (PHI)" : "", m.size);
  if (!m.sealed.empty()) out += fmt::format("  sealed {} (for every recipient)\n", m.sealed);
  for (const auto& r : status.recipients) {
    out += fmt::format("recipient {} {}: {}", r.idx, core::log_safe(r.address),
                       store::mail_state_name(r.state));
    if (waiting(r.state)) out += ", next attempt " + utc_time_text(r.next_attempt_at);
    out += fmt::format(", attempts {}\n", r.attempts);
    if (!r.last) continue;
    const auto& a = *r.last;
    out += fmt::format("  last attempt {}: mx {} [{}], policy {}, ", utc_time_text(a.at),
                       a.mx_host.empty() ? "-" : core::log_safe(a.mx_host),
                       a.ip.empty() ? "-" : core::log_safe(a.ip), a.policy);
    if (a.tls_version.empty()) {
      out += "no TLS";
    } else {
      out +=
          fmt::format("{} {}, certificate verified: {}", a.tls_version, a.tls_cipher, a.verified);
    }
    out += fmt::format("\n  reply {} {} {}\n", a.code, a.enhanced, core::log_safe(a.reply));
  }
  for (const auto& c : status.portal) {
    std::string state = c.first_read_at ? "read at " + utc_time_text(*c.first_read_at)
                        : c.revoked_at  ? "revoked at " + utc_time_text(*c.revoked_at)
                                        : "unread, expires " + utc_time_text(c.expires_at);
    out += fmt::format("portal {}: {}\n", core::log_safe(c.recipient), state);
  }
  return out;
}

std::string status_json(const MessageStatus& status) {
  const auto& m = status.message;
  Json recipients = Json::array();
  for (const auto& r : status.recipients) recipients.push_back(recipient_json(r));
  Json portal = Json::array();
  for (const auto& c : status.portal) {
    portal.push_back({{"recipient", c.recipient},
                      {"state", c.first_read_at ? "read"
                                : c.revoked_at  ? "revoked"
                                                : "unread"},
                      {"deposited_at", time_or_null(c.created_at)},
                      {"expires_at", time_or_null(c.expires_at)},
                      {"read_at", time_or_null(c.first_read_at.value_or(0))},
                      {"revoked_at", time_or_null(c.revoked_at.value_or(0))}});
  }
  const Json out = {{"id", m.id},
                    {"queued_at", time_or_null(m.created_at)},
                    {"origin", m.origin},
                    {"sender", m.sender},
                    {"security", m.security},
                    {"sealed", m.sealed.empty() ? Json(nullptr) : Json(m.sealed)},
                    {"phi", m.phi},
                    {"size", m.size},
                    {"recipients", std::move(recipients)},
                    {"portal", std::move(portal)}};
  // A reply is sanitised when recorded; `replace` keeps even a stray invalid byte from
  // turning into an exception here.
  return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace mail::queue
