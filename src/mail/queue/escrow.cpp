#include "mail/queue/escrow.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>

#include "core/encoding.hpp"
#include "crypto/aes_gcm.hpp"
#include "mail/queue/status.hpp"

namespace mail::queue {

namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

}  // namespace

EscrowCopy start_copy(const Outgoing& out, const Address& to, const EscrowSettings& settings,
                      core::TimePoint now, core::Rng& rng, core::SecretBytes& key) {
  std::array<std::uint8_t, 32> id{};
  rng.fill(id);
  key = core::SecretBytes(crypto::kAesGcmKeyBytes);
  rng.fill(key.mutable_view());
  const std::int64_t at = core::unix_seconds(now);
  store::SecureMessageRecord record;
  record.id = core::base64url_encode(id);
  record.recipient = to.str();
  record.sender = out.from.str();
  record.created_at = at;
  record.expires_at = at + std::int64_t{settings.days} * 86400;

  // Nothing of the message: not its subject, not its sender's name (it may say who treats
  // the patient); the organisation is named by the sender's domain.
  const std::string& org = out.from.domain();
  std::string link =
      fmt::format("{}/s/{}#{}", settings.origin, record.id, core::base64url_encode(key.view()));
  Outgoing notice{
      .from = out.from,
      .to = {to},
      .subject = fmt::format("Secure message from {}", org),
      .text_body = fmt::format(
          "You have a secure message from {}.\r\n\r\n"
          "Open it here:\r\n{}\r\n\r\n"
          "To open it you will be asked for a one-time code, which we send to this address "
          "in a separate e-mail when you ask for it. The message can be read until "
          "{}.\r\n\r\n"
          "Keep this e-mail to yourself: the link is the key to the message.\r\n",
          org, link, utc_time_text(record.expires_at)),
      .security = out.security,
      .phi = false,
      .origin = out.origin,
  };
  core::secure_wipe(link.data(), link.size());
  return EscrowCopy{.record = std::move(record), .notice = std::move(notice)};
}

core::Status seal_copy(EscrowCopy& copy, const Outgoing& out, std::string_view message_id,
                       core::SecretBytes& key, core::Rng& rng) {
  copy.record.message_id = std::string(message_id);
  std::string plain = nlohmann::json{{"subject", out.subject}, {"body", out.text_body}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto sealed = crypto::seal_aes256_gcm(key, bytes_of(message_id), bytes_of(plain), rng);
  core::secure_wipe(plain.data(), plain.size());
  key.wipe();
  if (!sealed) return core::fail(std::move(sealed).error());
  copy.record.ciphertext = std::move(*sealed);
  return core::ok();
}

core::Result<Outgoing> code_mail(const store::SecureMessageRecord& copy, std::string_view code,
                                 policy::Policy security) {
  auto from = Address::parse(copy.sender);
  if (!from) return core::fail(std::move(from).error());
  auto to = Address::parse(copy.recipient);
  if (!to) return core::fail(std::move(to).error());
  return Outgoing{
      .from = *from,
      .to = {*to},
      .subject = fmt::format("Your code for the secure message from {}", from->domain()),
      .text_body = fmt::format("Your one-time code is: {}\r\n\r\n"
                               "Type it on the page where you asked for it. It works once, for 10 "
                               "minutes.\r\nIf you did not ask for a code, ignore this e-mail.\r\n",
                               code),
      .security = security,
      .phi = false,
      .origin = "secure-message",
  };
}

core::Result<Outgoing> reply_mail(const store::SecureMessageRecord& copy, std::string_view text,
                                  const Address& from, core::TimePoint now) {
  auto to = Address::parse(copy.sender);
  if (!to) return core::fail(std::move(to).error());
  return Outgoing{
      .from = from,
      .from_name = "Secure reply",
      .to = {*to},
      .subject = fmt::format("Secure reply to message {}", copy.message_id),
      .text_body = fmt::format(
          "A reply through the secure-message portal.\r\n"
          "From: {}\r\nIn reply to: message {}\r\nSent: {:%Y-%m-%d %H:%M} UTC\r\n\r\n{}\r\n",
          copy.recipient, copy.message_id, fmt::gmtime(std::chrono::system_clock::to_time_t(now)),
          text),
      .security = policy::Policy::opportunistic,
      .phi = true,
      .origin = "secure-reply",
      .encrypt = true,
  };
}

}  // namespace mail::queue
