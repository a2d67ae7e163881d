#include "mail/queue/outbox.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

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

namespace {

// The recipients one queued message goes to, and how it is sealed for them: every recipient
// (no encryption), or those of one method (PGP/MIME or S/MIME), sealed once for all of them.
struct Group {
  std::vector<Address> to;
  std::vector<secure::Choice> choices;
};

}  // namespace

core::Result<std::string> Outbox::enqueue_blocking(const Outgoing& out, std::string_view source,
                                                   const Also& also) {
  const core::TimePoint now = clock_.now();
  // One queued message per method (recipients of both get one each); portal recipients get
  // a copy and a notice each.
  std::vector<Group> groups;
  std::vector<Address> portal_to;
  if (!out.encrypt) {
    groups.push_back(Group{.to = out.to});
  } else {
    if (sealer_ == nullptr) {
      return core::fail(core::ErrorKind::invalid_input,
                        "message-level encryption is not available on this server",
                        "no Sealer (no OpenPGP signing key loaded)");
    }
    const bool portal = escrow_ != nullptr && !escrow_->origin.empty() && !out.method;
    std::vector<std::optional<secure::Choice>> each;
    if (portal) {
      auto e = secure::choose_each_blocking(store_.forms(), out.to, sealer_->smime_ca_pem(), now);
      if (!e) return core::fail(std::move(e).error());
      each = *std::move(e);
    } else {
      auto chosen =
          secure::choose_blocking(store_.forms(), out.to, sealer_->smime_ca_pem(), now, out.method);
      if (!chosen) return core::fail(std::move(chosen).error());
      for (auto& c : *chosen) each.emplace_back(std::move(c));
    }
    for (std::size_t i = 0; i < out.to.size(); ++i) {
      if (!each[i]) {
        portal_to.push_back(out.to[i]);
        continue;
      }
      auto group = std::find_if(groups.begin(), groups.end(), [&](const Group& g) {
        return g.choices.front().method == each[i]->method;
      });
      if (group == groups.end()) group = groups.insert(groups.end(), Group{});
      group->to.push_back(out.to[i]);
      group->choices.push_back(*std::move(each[i]));
    }
  }
  // The sealed messages (or the one plain one); none when every recipient is a portal one,
  // except that a message without any recipient goes to prepare(), which says so.
  if (groups.empty() && portal_to.empty()) groups.push_back(Group{.to = out.to});
  std::vector<Prepared> prepared;
  for (const Group& group : groups) {
    std::optional<mime::Sealing> sealing;
    if (!group.choices.empty()) {
      auto sealed = sealer_->sealing_for(group.choices);
      if (!sealed) return core::fail(std::move(sealed).error());
      sealing = *std::move(sealed);
    }
    auto p = [&] {
      if (group.to.size() == out.to.size()) {
        return prepare(out, signer_, queue_key_, hostname_, now, rng_, sealing);
      }
      Outgoing part = out;  // one queued message per method: this one to its group
      part.to = group.to;
      auto r = prepare(part, signer_, queue_key_, hostname_, now, rng_, sealing);
      core::secure_wipe(part.text_body.data(), part.text_body.size());
      return r;
    }();
    if (!p) return core::fail(std::move(p).error());
    if (!group.choices.empty()) p->record.sealed = secure::Sealer::describe(group.choices);
    prepared.push_back(*std::move(p));
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
  const std::string id = !prepared.empty() ? prepared.front().record.id : notices.front().record.id;
  for (std::size_t i = 0; i < copies.size(); ++i) {
    if (auto s = seal_copy(copies[i], out, id, keys[i], rng_); !s) return core::fail(s.error());
  }
  // The trail says how the content was protected (never which key: that names a person);
  // a second sealed message names the first, whose id the sender was given.
  std::vector<std::string> notes(prepared.size());
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    if (!prepared[i].record.sealed.empty()) notes[i] = "sealed:" + prepared[i].record.sealed;
    if (i > 0) notes[i] += fmt::format(" split-from:{}", id);
  }
  if (!copies.empty() && !prepared.empty()) notes[0] += fmt::format(" portal:{}", copies.size());
  auto committed = store_.transact_blocking("queue mail", [&](store::Store& tx) -> core::Status {
    for (std::size_t i = 0; i < prepared.size(); ++i) {
      if (auto q = enqueue_in(tx, auditor_, prepared[i], out.origin, source, notes[i]); !q) {
        return q;
      }
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
      if (auto a = also(tx, id); !a) return a;
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
