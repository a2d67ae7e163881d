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
  // The recipients the main message goes to: all of them, or (encrypt) those with a key.
  std::vector<Address> sealed_to = out.to;
  std::vector<Address> portal_to;
  if (out.encrypt) {
    if (sealer_ == nullptr) {
      return core::fail(core::ErrorKind::invalid_input,
                        "message-level encryption is not available on this server",
                        "no Sealer (no OpenPGP signing key loaded)");
    }
    if (escrow_ != nullptr && !escrow_->origin.empty()) {
      auto each =
          secure::choose_each_blocking(store_.forms(), out.to, sealer_->smime_ca_pem(), now);
      if (!each) return core::fail(std::move(each).error());
      sealed_to.clear();
      for (std::size_t i = 0; i < out.to.size(); ++i) {
        if ((*each)[i]) {
          sealed_to.push_back(out.to[i]);
          choices.push_back(*std::move((*each)[i]));
        } else {
          portal_to.push_back(out.to[i]);
        }
      }
    } else {
      auto chosen = secure::choose_blocking(store_.forms(), out.to, sealer_->smime_ca_pem(), now);
      if (!chosen) return core::fail(std::move(chosen).error());
      choices = *std::move(chosen);
    }
    if (!choices.empty()) {
      auto s = sealer_->sealing_for(choices);
      if (!s) return core::fail(std::move(s).error());
      sealing = *std::move(s);
    }
  }
  std::optional<Prepared> prepared;
  if (!sealed_to.empty() || portal_to.empty()) {  // no recipient at all: prepare() says so
    auto p = [&] {
      if (sealed_to.size() == out.to.size()) {
        return prepare(out, signer_, queue_key_, hostname_, now, rng_, sealing);
      }
      Outgoing part = out;  // one queued message per method: this one to the keyed group
      part.to = sealed_to;
      auto r = prepare(part, signer_, queue_key_, hostname_, now, rng_, sealing);
      core::secure_wipe(part.text_body.data(), part.text_body.size());
      return r;
    }();
    if (!p) return core::fail(std::move(p).error());
    prepared = *std::move(p);
  }
  // The portal's copies: each with its notice (which carries the key in its link, and is
  // wiped once prepared: from then on only the queue's sealed body holds it, until delivered).
  std::vector<EscrowCopy> copies;
  std::vector<Prepared> notices;
  std::vector<core::SecretBytes> keys(portal_to.size());
  for (std::size_t i = 0; i < portal_to.size(); ++i) {
    EscrowCopy copy = start_copy(out, portal_to[i], *escrow_, now, rng_, keys[i]);
    auto n = prepare(copy.notice, signer_, queue_key_, hostname_, now, rng_);
    core::secure_wipe(copy.notice.text_body.data(), copy.notice.text_body.size());
    if (!n) return core::fail(std::move(n).error());
    notices.push_back(*std::move(n));
    copies.push_back(std::move(copy));
  }
  const std::string id = prepared ? prepared->record.id : notices.front().record.id;
  for (std::size_t i = 0; i < copies.size(); ++i) {
    if (auto s = seal_copy(copies[i], out, id, keys[i], rng_); !s) return core::fail(s.error());
  }
  // The trail says how the content was protected (never which key: that names a person).
  std::string note;
  if (out.encrypt && !choices.empty() && prepared) {
    prepared->record.sealed = secure::Sealer::describe(choices);
    note = "sealed:" + prepared->record.sealed;
  }
  if (!copies.empty() && prepared) note += fmt::format(" portal:{}", copies.size());
  auto committed = store_.transact_blocking("queue mail", [&](store::Store& tx) -> core::Status {
    if (prepared) {
      if (auto q = enqueue_in(tx, auditor_, *prepared, out.origin, source, note); !q) return q;
    }
    for (std::size_t i = 0; i < copies.size(); ++i) {
      if (auto q = enqueue_in(tx, auditor_, notices[i], out.origin, source,
                              fmt::format("secure-notice-for:{}", id));
          !q) {
        return q;
      }
      if (auto a = tx.secure_messages().add_secure_message_blocking(copies[i].record); !a) {
        return a;
      }
      if (auto a = auditor_.record_in_blocking(
              tx, out.origin, std::string(kSecureDepositAction),
              fmt::format("message:{} copy:{} expires:{}", id, copies[i].record.id,
                          copies[i].record.expires_at),
              std::string(source), "ok");
          !a) {
        return a;
      }
    }
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
  return id;
}

core::Result<std::size_t> prune_portal_copies_blocking(store::Store& store, audit::Auditor& auditor,
                                                       std::int64_t now, std::string_view actor,
                                                       std::string_view source) {
  std::size_t erased = 0;
  auto committed = store.transact_blocking("prune portal copies", [&](store::Store& tx) {
    auto n = tx.secure_messages().prune_secure_messages_blocking(now);
    if (!n) return core::Status(core::fail(std::move(n).error()));
    erased = *n;
    if (erased == 0) return core::ok();
    return auditor.record_in_blocking(tx, std::string(actor), std::string(kSecurePruneAction),
                                      fmt::format("copies:{}", erased), std::string(source), "ok");
  });
  if (!committed) return core::fail(std::move(committed).error());
  if (erased > 0) {
    if (auto s = auditor.settle_blocking(); !s) {
      spdlog::error("event=audit_checkpoint_failed detail={}", core::log_safe(s.error().detail()));
    }
  }
  return erased;
}

}  // namespace mail::queue
