#pragma once
// One entry of the tamper-evident audit trail (A1, A2) and the hash that chains it to the
// one before. Pure: the caller supplies every value, including the time.
// Trust: entries read back from the database are untrusted until verify_chain() says so.

#include <cstdint>
#include <string>
#include <string_view>

namespace audit {

// SHA-256 of nothing before the first entry: 64 zeros.
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Never PHI: `object` names things by reference ("form:intake v 3", "key:FPR"), never by
// anything a submitter typed.
struct Entry {
  std::int64_t seq = 0;   // 1, 2, 3, ... without gaps
  std::int64_t time = 0;  // unix seconds
  std::string actor;      // "cli:alice", "system", later "user:..."
  std::string action;     // "form.add", "submission.export", ...
  std::string object;     // what it acted on, by reference
  std::string source;     // where from: "local", an IP address
  std::string outcome;    // "ok", "denied", "failed"
  std::string prev_hash;  // hash of entry seq - 1 (lower-case hex), kGenesisHash for seq 1
  std::string hash;       // chain_hash(*this)
};

// A signed statement "the chain had `count` entries and entry `count` hashed to
// `head_hash`", so that deleting entries from the end (truncation) is detectable too.
struct Checkpoint {
  std::int64_t count = 0;
  std::string head_hash;
  std::int64_t time = 0;
  std::string signature;  // armored detached OpenPGP signature over checkpoint_payload()
};

// Every field except `hash`, each as "name:length:value\n" in a fixed order after a
// version line: unambiguous whatever bytes the values hold.
std::string canonical(const Entry& entry);
// Lower-case hex SHA-256 of canonical(entry).
std::string chain_hash(const Entry& entry);
// Lower-case hex SHA-256 of arbitrary bytes.
std::string sha256_hex(std::string_view data);

// The bytes a checkpoint signature covers.
std::string checkpoint_payload(std::int64_t count, std::string_view head_hash, std::int64_t time);
inline std::string checkpoint_payload(const Checkpoint& c) {
  return checkpoint_payload(c.count, c.head_hash, c.time);
}

// Builds entry `previous.seq + 1` (or entry 1 when there is none) with its hashes.
Entry next_entry(const Entry* previous, std::int64_t time, std::string actor, std::string action,
                 std::string object, std::string source, std::string outcome);

// One JSON object (sorted keys, no newline) for `audit export`. Invalid UTF-8 is replaced,
// never thrown on.
std::string to_json_line(const Entry& entry);

}  // namespace audit
