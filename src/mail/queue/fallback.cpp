// Trust: our own queue rows (the body authenticated by open_body) and stored keys.
#include "mail/queue/fallback.hpp"

#include "crypto/seal.hpp"
#include "mail/mime/message.hpp"

namespace mail::queue {

core::Result<std::optional<FallbackCopy>> prepare_fallback(
    const store::MailMessageRecord& original, const std::string& address, store::FormStore& keys,
    const secure::Sealer& sealer, const dkim::Signer& signer, const core::SecretBytes& queue_key,
    std::string_view hostname, core::TimePoint now, core::Rng& rng) {
  auto to = Address::parse(address);
  if (!to) return core::fail(std::move(to).error());
  const std::vector<Address> recipients{*to};
  auto choices = secure::choose_blocking(keys, recipients, sealer.smime_ca_pem(), now);
  if (!choices) {
    if (choices.error().kind() == core::ErrorKind::invalid_input) {
      return std::optional<FallbackCopy>();  // no key or certificate: it waits
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

}  // namespace mail::queue
