// Trust: our own queue rows (the body authenticated by open_body) and stored keys.
#include "mail/queue/fallback.hpp"

#include <fmt/format.h>

#include "crypto/seal.hpp"
#include "mail/mime/message.hpp"
#include "mail/queue/outbox.hpp"

namespace mail::queue {

namespace {

core::Result<std::optional<FallbackCopy>> portal_copy(
    const store::MailMessageRecord& original, const Address& to, const EscrowSettings& escrow,
    const dkim::Signer& signer, const core::SecretBytes& queue_key, std::string_view hostname,
    core::TimePoint now, core::Rng& rng) {
  auto from = Address::parse(original.sender);
  if (!from) return core::fail(std::move(from).error());
  auto clear = open_body(original, queue_key);
  if (!clear) return core::fail(std::move(clear).error());
  auto content = mime::read_text(clear->as_string_view());
  if (!content) return core::fail(std::move(content).error());
  // What the copy holds: the subject and the text, nothing else (seal_copy's JSON).
  Outgoing out{
      .from = *from,
      .to = {to},
      .subject = std::move(content->subject),
      .text_body = std::move(content->text),
      .security = policy::Policy::opportunistic,
      .phi = false,
      .origin = "fallback",
  };
  const auto wipe = [&out] { core::secure_wipe(out.text_body.data(), out.text_body.size()); };
  core::SecretBytes key;
  EscrowCopy copy = start_copy(out, to, escrow, now, rng, key);
  auto notice = prepare(copy.notice, signer, queue_key, hostname, now, rng);
  core::secure_wipe(copy.notice.text_body.data(), copy.notice.text_body.size());
  if (!notice) {
    wipe();
    key.wipe();
    return core::fail(std::move(notice).error());
  }
  auto sealed = seal_copy(copy, out, original.id, key, rng);
  wipe();
  if (!sealed) return core::fail(sealed.error());
  FallbackCopy result;
  result.how = "portal";
  result.prepared = *std::move(notice);
  result.prepared.record.origin = "fallback";
  result.portal = std::move(copy.record);
  return std::optional<FallbackCopy>(std::move(result));
}

}  // namespace

core::Result<std::optional<FallbackCopy>> prepare_fallback(
    const store::MailMessageRecord& original, const std::string& address, store::FormStore& keys,
    const secure::Sealer& sealer, const dkim::Signer& signer, const core::SecretBytes& queue_key,
    std::string_view hostname, core::TimePoint now, core::Rng& rng, const EscrowSettings* escrow) {
  auto to = Address::parse(address);
  if (!to) return core::fail(std::move(to).error());
  const std::vector<Address> recipients{*to};
  auto choices = secure::choose_blocking(keys, recipients, sealer.smime_ca_pem(), now);
  if (!choices) {
    if (choices.error().kind() == core::ErrorKind::invalid_input) {
      // No key or certificate: the portal, when it is on; else it waits.
      if (escrow == nullptr || escrow->origin.empty() || original.sender.empty()) {
        return std::optional<FallbackCopy>();
      }
      return portal_copy(original, *to, *escrow, signer, queue_key, hostname, now, rng);
    }
    return core::fail(std::move(choices).error());
  }
  auto sealing = sealer.sealing_for(*choices);
  if (!sealing) return std::optional<FallbackCopy>();  // S/MIME not set up here
  auto clear = open_body(original, queue_key);
  if (!clear) return core::fail(std::move(clear).error());
  auto built = mime::reseal_message(clear->as_string_view(), *sealing, hostname, rng);
  if (!built) return core::fail(std::move(built).error());
  auto signed_ = signer.sign(built->bytes, now);
  if (!signed_) return core::fail(std::move(signed_).error());

  FallbackCopy copy;
  copy.how = secure::Sealer::describe(*choices);
  Prepared& p = copy.prepared;
  p.message_id = built->message_id;
  p.record.id = queue_id_of(built->message_id);
  p.record.created_at = core::unix_seconds(now);
  p.record.sender = original.sender;
  p.record.security = std::string(policy::policy_name(policy::Policy::opportunistic));
  p.record.phi = original.phi;
  p.record.origin = "fallback";
  p.record.sealed = copy.how;
  p.record.size = static_cast<std::int64_t>(signed_->size());
  core::SecretBytes plain(*signed_);
  p.record.body = crypto::seal(queue_key, plain, rng);
  p.recipients.push_back(address);
  return std::optional<FallbackCopy>(std::move(copy));
}

core::Status commit_fallback_in(store::Store& tx, audit::Auditor& auditor, const FallbackCopy& copy,
                                const std::string& message_id, int idx) {
  if (auto q = enqueue_in(
          tx, auditor, copy.prepared, "system", "local",
          fmt::format("fallback-for:{} recipient:{} sealed:{}", message_id, idx, copy.how));
      !q) {
    return q;
  }
  if (!copy.portal) return core::ok();
  if (auto a = tx.secure_messages().add_secure_message_blocking(*copy.portal); !a) return a;
  return auditor.record_in_blocking(tx, "system", std::string(kSecureDepositAction),
                                    fmt::format("message:{} copy:{} expires:{}", message_id,
                                                copy.portal->id, copy.portal->expires_at),
                                    "local", "ok");
}

}  // namespace mail::queue
