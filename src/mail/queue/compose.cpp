#include "mail/queue/compose.hpp"

#include "crypto/seal.hpp"
#include "mail/mime/message.hpp"
#include "store/store.hpp"

namespace mail::queue {

std::string queue_id_of(std::string_view message_id) {
  return std::string(message_id.substr(0, message_id.find('@')));
}

core::Result<Prepared> prepare(const Outgoing& out, const dkim::Signer& signer,
                               const core::SecretBytes& queue_key, std::string_view hostname,
                               core::TimePoint now, core::Rng& rng,
                               const std::optional<mime::Sealing>& sealing) {
  if (out.phi && out.security == policy::Policy::none) {
    return core::fail(core::ErrorKind::invalid_input,
                      "policy none is never used for a message marked as PHI");
  }
  if (out.to.empty() || out.to.size() > store::MailStore::kMaxRecipients) {
    return core::fail(core::ErrorKind::invalid_input, "a message needs 1 to 1000 recipients");
  }
  if (out.encrypt != sealing.has_value()) {
    return core::fail(core::ErrorKind::internal, "the message could not be built",
                      "encrypt without sealing, or sealing without encrypt");
  }
  mime::MessageSpec spec{.from = out.from,
                         .from_name = out.from_name,
                         .to = out.to,
                         .subject = out.subject,
                         .text_body = out.text_body,
                         .html_body = out.html_body,
                         .message_id_domain = std::string(hostname),
                         .extra_headers = out.extra_headers,
                         .report = out.report,
                         .tls_report = out.tls_report,
                         .attachment = out.attachment,
                         .sealing = sealing};
  auto built = mime::build_message(spec, now, rng);
  if (!built) return core::fail(std::move(built).error());
  auto signed_ = signer.sign(built->bytes, now);
  if (!signed_) return core::fail(std::move(signed_).error());

  Prepared p;
  p.message_id = built->message_id;
  p.record.id = queue_id_of(built->message_id);
  p.record.created_at = core::unix_seconds(now);
  p.record.sender = out.report || out.null_sender ? std::string() : out.from.str();
  p.record.security = std::string(policy::policy_name(out.security));
  p.record.phi = out.phi;
  p.record.origin = out.origin;
  p.record.size = static_cast<std::int64_t>(signed_->size());
  core::SecretBytes plain(*signed_);
  p.record.body = crypto::seal(queue_key, plain, rng);
  for (const auto& a : out.to) p.recipients.push_back(a.str());
  return p;
}

core::Result<core::SecretBytes> open_body(const store::MailMessageRecord& record,
                                          const core::SecretBytes& queue_key) {
  return crypto::unseal(queue_key, record.body);
}

}  // namespace mail::queue
