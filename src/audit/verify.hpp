#pragma once
// Verification of the audit chain and its signed checkpoints. Pure: the caller loads the
// rows and supplies the signature check (crypto::verify_detached with the server's public
// signing key), so this is testable without a database or a key.
//
// What it proves: every entry present hashes to its stored hash, links to the one before,
// and the sequence has no gap from 1; every checkpoint is signed by the key the callback
// trusts and matches the entry at its count. What it cannot prove: that entries after the
// last checkpoint were not removed (truncation is detectable only up to a checkpoint), nor
// anything against someone holding the signing key (they can rewrite and re-sign it all).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/entry.hpp"

namespace audit {

// Whether `signature` is a good signature over `payload` by the trusted key.
using SignatureCheck = std::function<bool(std::string_view payload, std::string_view signature)>;

struct VerifyReport {
  bool ok = false;
  std::int64_t bad_seq = 0;  // the first bad entry when !ok
  std::string reason;        // one line, no PHI (entries never hold any)
  std::int64_t entries = 0;  // entries checked
  std::int64_t checkpoints = 0;
  std::int64_t last_checkpoint = 0;  // count of the highest checkpoint, 0 when none
};

// `entries` in ascending seq order, `checkpoints` in any order.
VerifyReport verify_chain(const std::vector<Entry>& entries,
                          const std::vector<Checkpoint>& checkpoints,
                          const SignatureCheck& signature_ok);

// Checks the chain against checkpoints kept OUTSIDE the database (A8: each node's checkpoint
// log, or one an auditor saved): each must carry a good signature and name an entry the
// chain still has, with the same hash. This is what catches a truncation that also deleted
// the checkpoint rows. `entries` as for verify_chain, already checked by it. `what` names
// where the checkpoints came from, for the reason text.
VerifyReport verify_external(const std::vector<Entry>& entries,
                             const std::vector<Checkpoint>& external, std::string_view what,
                             const SignatureCheck& signature_ok);

// Checks a stretch of the chain that starts after a trusted anchor: entry `anchor_seq`
// hashed to `anchor_hash` (0 and kGenesisHash for the start). Used before signing a new
// checkpoint, so that a checkpoint never vouches for a chain already broken.
VerifyReport verify_links(const std::vector<Entry>& entries, std::int64_t anchor_seq,
                          std::string_view anchor_hash);

}  // namespace audit
