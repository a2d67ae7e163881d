#include "mail/queue/outbox.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/log.hpp"

namespace mail::queue {

core::Result<std::string> Outbox::enqueue_blocking(const Outgoing& out, std::string_view source,
                                                   const Also& also) {
  auto prepared = prepare(out, signer_, queue_key_, hostname_, clock_.now(), rng_);
  if (!prepared) return core::fail(std::move(prepared).error());
  const store::MailMessageRecord& record = prepared->record;
  // Never the addresses or the subject: the trail names the message and its size.
  const std::string object = fmt::format("message:{} recipients:{} policy:{} phi:{} bytes:{}",
                                         record.id, prepared->recipients.size(), record.security,
                                         record.phi ? "yes" : "no", record.size);
  auto committed = store_.transact_blocking("queue mail", [&](store::Store& tx) -> core::Status {
    if (auto q = tx.mail().enqueue_blocking(record, prepared->recipients); !q) return q;
    if (also) {
      if (auto a = also(tx); !a) return a;
    }
    return auditor_.record_in_blocking(tx, out.origin, std::string(kQueueAction), object,
                                       std::string(source), "ok");
  });
  if (!committed) return core::fail(std::move(committed).error());
  // Committed: the message is queued whatever the checkpoint does. A checkpoint that cannot
  // be signed now is signed by the next one (serve's periodic checkpoint, the CLI's finish).
  if (auto s = auditor_.settle_blocking(); !s) {
    spdlog::error("event=audit_checkpoint_failed detail={}", core::log_safe(s.error().detail()));
  }
  return record.id;
}

}  // namespace mail::queue
