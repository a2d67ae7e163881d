// Trust: the token is untrusted input; nothing is looked up before its MAC verifies.
#include "campaigns/unsubscribe.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>

#include "campaigns/input.hpp"
#include "campaigns/sender.hpp"
#include "core/encoding.hpp"
#include "core/log.hpp"
#include "crypto/hmac.hpp"

namespace campaigns {

namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kIdBytes = 16;
constexpr std::size_t kMacBytes = 16;
constexpr std::string_view kKeyLabel = "sealpost-unsubscribe-v1";

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// The tokens' own key: an unsubscribe MAC can never be confused with anything else the
// contacts key does.
crypto::Mac token_key(const core::SecretBytes& contacts_key) {
  return crypto::hmac_sha256(contacts_key.view(), bytes_of(kKeyLabel));
}

crypto::Mac mac_of(const core::SecretBytes& contacts_key, std::span<const std::uint8_t> payload) {
  const auto key = token_key(contacts_key);
  return crypto::hmac_sha256(key, payload);
}

}  // namespace

core::Result<std::string> unsubscribe_token(const core::SecretBytes& contacts_key,
                                            const UnsubscribeTarget& target) {
  auto id = core::from_hex(target.contact_id);
  if (!id || id->size() != kIdBytes) {
    return core::fail(core::ErrorKind::invalid_input, "not a contact id");
  }
  if (!valid_field_name(target.purpose)) {
    return core::fail(core::ErrorKind::invalid_input, "not a purpose");
  }
  std::vector<std::uint8_t> payload{kVersion};
  payload.insert(payload.end(), id->begin(), id->end());
  payload.insert(payload.end(), target.purpose.begin(), target.purpose.end());
  const auto mac = mac_of(contacts_key, payload);
  payload.insert(payload.end(), mac.begin(), mac.begin() + kMacBytes);
  return core::base64url_encode(payload);
}

std::optional<UnsubscribeTarget> read_unsubscribe_token(const core::SecretBytes& contacts_key,
                                                        std::string_view token) {
  if (token.size() > kMaxUnsubscribeTokenChars) return std::nullopt;
  auto raw = core::base64url_decode(token);
  if (!raw || raw->size() < 1 + kIdBytes + 1 + kMacBytes || (*raw)[0] != kVersion) {
    return std::nullopt;
  }
  const std::size_t body = raw->size() - kMacBytes;
  const auto mac = mac_of(contacts_key, std::span(raw->data(), body));
  if (!crypto::constant_time_equal(std::span(mac.data(), kMacBytes),
                                   std::span(raw->data() + body, kMacBytes))) {
    return std::nullopt;
  }
  UnsubscribeTarget target;
  target.contact_id = core::to_hex(std::span(raw->data() + 1, kIdBytes));
  target.purpose.assign(raw->begin() + 1 + kIdBytes, raw->begin() + static_cast<long>(body));
  if (!valid_field_name(target.purpose)) return std::nullopt;
  return target;
}

core::Result<std::size_t> unsubscribe_blocking(store::Store& store, audit::Auditor& auditor,
                                               const UnsubscribeTarget& target,
                                               std::string_view source, std::int64_t now) {
  std::size_t revoked = 0;
  auto committed = store.transact_blocking("unsubscribe", [&](store::Store& tx) -> core::Status {
    auto contact = tx.contacts().find_contact_blocking(target.contact_id);
    if (!contact) return core::fail(std::move(contact).error());
    if (!*contact) return core::ok();
    auto n = tx.contacts().revoke_authorisations_blocking(target.contact_id, target.purpose,
                                                          "unsubscribe", now);
    if (!n) return core::fail(std::move(n).error());
    revoked = *n;
    auto withdrawn = withdraw_queued_in(tx, target.contact_id, target.purpose, now);
    if (!withdrawn) return core::fail(std::move(withdrawn).error());
    return auditor.record_in_blocking(
        tx, "unsubscribe", "authorisation.revoke",
        fmt::format("contact:{} purpose:{} via:unsubscribe revoked:{} withdrawn:{}",
                    target.contact_id, target.purpose, revoked, *withdrawn),
        std::string(source), "ok");
  });
  if (!committed) return core::fail(std::move(committed).error());
  if (auto s = auditor.settle_blocking(); !s) {
    spdlog::error("event=audit_checkpoint_failed detail={}", core::log_safe(s.error().detail()));
  }
  return revoked;
}

}  // namespace campaigns
