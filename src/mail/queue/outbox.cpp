#include "mail/queue/outbox.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/log.hpp"

namespace mail::queue {

core::Status enqueue_in(store::Store& tx, audit::Auditor& auditor, const Prepared& prepared,
                        std::string_view actor, std::string_view source, std::string_view note) {
  const store::MailMessageRecord& record = prepared.record;
  // Never the addresses or the subject: the trail names the message and its size.
  std::string object = fmt::format("message:{} recipients:{} policy:{} phi:{} bytes:{}", record.id,
                                   prepared.recipients.size(), record.security,
                                   record.phi ? "yes" : "no", record.size);
  if (!note.empty()) object += fmt::format(" {}", note);
  if (auto q = tx.mail().enqueue_blocking(record, prepared.recipients); !q) return q;
  return auditor.record_in_blocking(tx, std::string(actor), std::string(kQueueAction), object,
                                    std::string(source), "ok");
}

core::Result<std::string> Outbox::enqueue_blocking(const Outgoing& out, std::string_view source,
                                                   const Also& also) {
  const core::TimePoint now = clock_.now();
  std::vector<secure::Choice> choices;
  std::optional<mime::Sealing> sealing;
  if (out.encrypt) {
    if (sealer_ == nullptr) {
      return core::fail(core::ErrorKind::invalid_input,
                        "message-level encryption is not available on this server",
                        "no Sealer (no OpenPGP signing key loaded)");
    }
    auto chosen = secure::choose_blocking(store_.forms(), out.to, sealer_->smime_ca_pem(), now);
    if (!chosen) return core::fail(std::move(chosen).error());
    choices = *std::move(chosen);
    auto s = sealer_->sealing_for(choices);
    if (!s) return core::fail(std::move(s).error());
    sealing = *std::move(s);
  }
  auto prepared = prepare(out, signer_, queue_key_, hostname_, now, rng_, sealing);
  if (!prepared) return core::fail(std::move(prepared).error());
  // The trail says how the content was protected (never which key: that names a person).
  std::string note;
  if (out.encrypt) {
    prepared->record.sealed = secure::Sealer::describe(choices);
    note = "sealed:" + prepared->record.sealed;
  }
  auto committed = store_.transact_blocking("queue mail", [&](store::Store& tx) -> core::Status {
    if (auto q = enqueue_in(tx, auditor_, *prepared, out.origin, source, note); !q) return q;
    if (also) {
      if (auto a = also(tx); !a) return a;
    }
    return core::ok();
  });
  if (!committed) return core::fail(std::move(committed).error());
  // Committed: the message is queued whatever the checkpoint does. A checkpoint that cannot
  // be signed now is signed by the next one (serve's periodic checkpoint, the CLI's finish).
  if (auto s = auditor_.settle_blocking(); !s) {
    spdlog::error("event=audit_checkpoint_failed detail={}", core::log_safe(s.error().detail()));
  }
  return prepared->record.id;
}

}  // namespace mail::queue
