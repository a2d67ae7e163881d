#include "audit/verify.hpp"

#include <algorithm>

namespace audit {

namespace {

VerifyReport broken(std::int64_t seq, std::string reason) {
  VerifyReport r;
  r.ok = false;
  r.bad_seq = seq;
  r.reason = std::move(reason);
  return r;
}

}  // namespace

VerifyReport verify_links(const std::vector<Entry>& entries, std::int64_t anchor_seq,
                          std::string_view anchor_hash) {
  std::int64_t expected = anchor_seq + 1;
  std::string prev(anchor_hash);
  for (const Entry& e : entries) {
    if (e.seq != expected) {
      // A missing seq is a deleted entry; a repeated or lower one is an inserted or
      // reordered one. Either way the first seq that is not where it should be is named.
      if (e.seq > expected) {
        return broken(expected, "entry " + std::to_string(expected) +
                                    " is missing (next present is " + std::to_string(e.seq) +
                                    "): deleted");
      }
      return broken(expected, "entry with seq " + std::to_string(e.seq) + " found where " +
                                  std::to_string(expected) + " belongs: inserted or reordered");
    }
    if (chain_hash(e) != e.hash) {
      return broken(e.seq, "its content does not match its hash: edited");
    }
    if (e.prev_hash != prev) {
      return broken(e.seq,
                    "its prev_hash does not match the entry before it: an entry was "
                    "deleted, inserted or replaced");
    }
    prev = e.hash;
    ++expected;
  }
  VerifyReport r;
  r.ok = true;
  r.entries = static_cast<std::int64_t>(entries.size());
  return r;
}

VerifyReport verify_chain(const std::vector<Entry>& entries,
                          const std::vector<Checkpoint>& checkpoints,
                          const SignatureCheck& signature_ok) {
  VerifyReport chain = verify_links(entries, 0, kGenesisHash);
  if (!chain.ok) return chain;

  std::vector<const Checkpoint*> sorted;
  sorted.reserve(checkpoints.size());
  for (const auto& c : checkpoints) sorted.push_back(&c);
  std::sort(sorted.begin(), sorted.end(),
            [](const Checkpoint* a, const Checkpoint* b) { return a->count < b->count; });

  const auto present = static_cast<std::int64_t>(entries.size());
  for (const Checkpoint* c : sorted) {
    const std::string at = "checkpoint at " + std::to_string(c->count);
    if (c->count < 1) return broken(1, at + " is malformed");
    // Signature first: an unsigned (forged) checkpoint says nothing about the entries.
    if (!signature_ok(checkpoint_payload(*c), c->signature)) {
      return broken(std::min(c->count, present + 1), at + " has a bad signature");
    }
    if (c->count > present) {
      return broken(present + 1, at + " is beyond the last entry (" + std::to_string(present) +
                                     "): entries were deleted from the end (truncated)");
    }
    const Entry& head = entries[static_cast<std::size_t>(c->count - 1)];
    if (head.hash != c->head_hash) {
      return broken(c->count, at + " does not match this entry's hash: the chain was rewritten");
    }
  }
  chain.checkpoints = static_cast<std::int64_t>(sorted.size());
  chain.last_checkpoint = sorted.empty() ? 0 : sorted.back()->count;
  return chain;
}

VerifyReport verify_external(const std::vector<Entry>& entries,
                             const std::vector<Checkpoint>& external, std::string_view what,
                             const SignatureCheck& signature_ok) {
  VerifyReport report;
  report.ok = true;
  report.entries = static_cast<std::int64_t>(entries.size());
  const Checkpoint* highest = nullptr;
  for (const auto& c : external) {
    if (!signature_ok(checkpoint_payload(c), c.signature)) {
      report.ok = false;
      report.bad_seq = c.count;
      report.reason = std::string(what) + ": a checkpoint at entry " + std::to_string(c.count) +
                      " has no good signature by the server's key";
      return report;
    }
    ++report.checkpoints;
    if (highest == nullptr || c.count > highest->count) highest = &c;
  }
  if (highest == nullptr) return report;
  report.last_checkpoint = highest->count;
  // The strongest statement first: the largest count vouched for.
  if (highest->count > static_cast<std::int64_t>(entries.size())) {
    report.ok = false;
    report.bad_seq = static_cast<std::int64_t>(entries.size()) + 1;
    report.reason = std::string(what) + " vouches for " + std::to_string(highest->count) +
                    " entries (signed at " + std::to_string(highest->time) +
                    "), the database has " + std::to_string(entries.size()) + ": entries " +
                    std::to_string(entries.size() + 1) + " to " + std::to_string(highest->count) +
                    " were deleted (truncated)";
    return report;
  }
  for (const auto& c : external) {
    if (c.count < 1) continue;
    const Entry& at = entries[static_cast<std::size_t>(c.count - 1)];
    if (at.seq != c.count || at.hash != c.head_hash) {
      report.ok = false;
      report.bad_seq = c.count;
      report.reason = std::string(what) + ": entry " + std::to_string(c.count) +
                      " is not the one its checkpoint signed (rewritten)";
      return report;
    }
  }
  return report;
}

}  // namespace audit
