// The audit chain: canonical form, hashing, and verify_chain() naming the first bad entry
// for each kind of tampering (edit, delete, insert, truncate, forged checkpoint).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "audit/entry.hpp"
#include "audit/verify.hpp"

namespace {

using audit::Checkpoint;
using audit::Entry;

std::vector<Entry> make_chain(int n) {
  std::vector<Entry> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(audit::next_entry(out.empty() ? nullptr : &out.back(), 1'800'000'000 + i,
                                    "cli:alice", "form.add", "form:f" + std::to_string(i) + " v 1",
                                    "local", "ok"));
  }
  return out;
}

// A stand-in for the OpenPGP signature: "good:" + payload.
std::string fake_sign(const std::string& payload) { return "good:" + payload; }
bool fake_check(std::string_view payload, std::string_view signature) {
  return signature == "good:" + std::string(payload);
}

Checkpoint checkpoint_at(const std::vector<Entry>& chain, std::int64_t count) {
  Checkpoint c{count, chain[static_cast<std::size_t>(count - 1)].hash, 1'900'000'000, {}};
  c.signature = fake_sign(audit::checkpoint_payload(c));
  return c;
}

TEST(AuditEntry, Sha256KnownAnswer) {
  EXPECT_EQ(audit::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AuditEntry, GenesisAndLinks) {
  auto chain = make_chain(3);
  EXPECT_EQ(chain[0].seq, 1);
  EXPECT_EQ(chain[0].prev_hash, std::string(64, '0'));
  EXPECT_EQ(chain[1].prev_hash, chain[0].hash);
  EXPECT_EQ(chain[2].prev_hash, chain[1].hash);
  for (const auto& e : chain) {
    EXPECT_EQ(e.hash.size(), 64u);
    EXPECT_EQ(e.hash.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(e.hash, audit::chain_hash(e));
  }
}

TEST(AuditEntry, CanonicalIsUnambiguousAndCoversEveryField) {
  Entry a = make_chain(1)[0];
  Entry b = a;
  // Moving bytes between adjacent fields must change the canonical form.
  a.actor = "ab";
  a.action = "c";
  b.actor = "a";
  b.action = "bc";
  EXPECT_NE(audit::canonical(a), audit::canonical(b));

  Entry base = make_chain(1)[0];
  const std::string h = audit::chain_hash(base);
  auto differs = [&](auto mutate) {
    Entry e = base;
    mutate(e);
    return audit::chain_hash(e) != h;
  };
  EXPECT_TRUE(differs([](Entry& e) { e.seq += 1; }));
  EXPECT_TRUE(differs([](Entry& e) { e.time += 1; }));
  EXPECT_TRUE(differs([](Entry& e) { e.actor += "x"; }));
  EXPECT_TRUE(differs([](Entry& e) { e.action += "x"; }));
  EXPECT_TRUE(differs([](Entry& e) { e.object += "x"; }));
  EXPECT_TRUE(differs([](Entry& e) { e.source += "x"; }));
  EXPECT_TRUE(differs([](Entry& e) { e.outcome += "x"; }));
  EXPECT_TRUE(differs([](Entry& e) { e.prev_hash[0] = '1'; }));
  // The stored hash itself is not hashed.
  EXPECT_FALSE(differs([](Entry& e) { e.hash = "x"; }));
}

TEST(AuditVerify, IntactChainWithCheckpoints) {
  auto chain = make_chain(10);
  auto r =
      audit::verify_chain(chain, {checkpoint_at(chain, 10), checkpoint_at(chain, 5)}, fake_check);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.entries, 10);
  EXPECT_EQ(r.checkpoints, 2);
  EXPECT_EQ(r.last_checkpoint, 10);
}

TEST(AuditVerify, EmptyChainIsIntact) {
  auto r = audit::verify_chain({}, {}, fake_check);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.entries, 0);
}

TEST(AuditVerify, EditedEntryIsNamed) {
  auto chain = make_chain(10);
  chain[3].object = "form:evil v 1";
  auto r = audit::verify_chain(chain, {}, fake_check);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 4);
  EXPECT_NE(r.reason.find("edited"), std::string::npos) << r.reason;
}

TEST(AuditVerify, EditedAndRehashedEntryBreaksTheNextLink) {
  auto chain = make_chain(10);
  chain[3].object = "form:evil v 1";
  chain[3].hash = audit::chain_hash(chain[3]);
  auto r = audit::verify_chain(chain, {}, fake_check);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 5);
  EXPECT_NE(r.reason.find("prev_hash"), std::string::npos) << r.reason;
}

TEST(AuditVerify, DeletedMiddleEntryIsNamed) {
  auto chain = make_chain(10);
  chain.erase(chain.begin() + 6);  // seq 7
  auto r = audit::verify_chain(chain, {}, fake_check);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 7);
  EXPECT_NE(r.reason.find("missing"), std::string::npos) << r.reason;
}

TEST(AuditVerify, DeletedFirstEntryIsNamed) {
  auto chain = make_chain(3);
  chain.erase(chain.begin());
  auto r = audit::verify_chain(chain, {}, fake_check);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 1);
}

TEST(AuditVerify, DeletedAndRenumberedIsCaught) {
  auto chain = make_chain(6);
  chain.erase(chain.begin() + 2);
  for (std::size_t i = 2; i < chain.size(); ++i) chain[i].seq -= 1;
  auto r = audit::verify_chain(chain, {}, fake_check);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 3);
}

TEST(AuditVerify, InsertedEntryIsCaught) {
  auto chain = make_chain(5);
  Entry extra = chain[1];
  extra.object = "form:inserted v 1";
  extra.hash = audit::chain_hash(extra);
  chain.insert(chain.begin() + 2, extra);  // a second seq 2
  auto r = audit::verify_chain(chain, {}, fake_check);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 3);
}

TEST(AuditVerify, TruncationAfterCheckpointIsCaught) {
  auto chain = make_chain(10);
  auto cp = checkpoint_at(chain, 8);
  chain.resize(6);
  auto r = audit::verify_chain(chain, {cp}, fake_check);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 7);
  EXPECT_NE(r.reason.find("truncated"), std::string::npos) << r.reason;
}

TEST(AuditVerify, TruncationBeyondLastCheckpointIsNotDetectable) {
  // The documented limit: entries after the last checkpoint can go unnoticed.
  auto chain = make_chain(10);
  auto cp = checkpoint_at(chain, 8);
  chain.resize(9);
  EXPECT_TRUE(audit::verify_chain(chain, {cp}, fake_check).ok);
}

TEST(AuditVerify, ForgedCheckpointSignatureIsCaught) {
  auto chain = make_chain(10);
  auto cp = checkpoint_at(chain, 10);
  cp.signature = "forged";
  auto r = audit::verify_chain(chain, {cp}, fake_check);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 10);
  EXPECT_NE(r.reason.find("signature"), std::string::npos) << r.reason;
}

TEST(AuditVerify, RewrittenChainUnderOldCheckpointIsCaught) {
  // Someone without the key rebuilds the whole chain: the old checkpoint no longer matches.
  auto chain = make_chain(10);
  auto cp = checkpoint_at(chain, 10);
  std::vector<Entry> rebuilt;
  for (const auto& e : chain) {
    rebuilt.push_back(audit::next_entry(rebuilt.empty() ? nullptr : &rebuilt.back(), e.time,
                                        e.actor, e.action, e.object + "!", e.source, e.outcome));
  }
  auto r = audit::verify_chain(rebuilt, {cp}, fake_check);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 10);
}

TEST(AuditVerify, LinksFromAnchor) {
  auto chain = make_chain(10);
  std::vector<Entry> tail(chain.begin() + 5, chain.end());
  EXPECT_TRUE(audit::verify_links(tail, 5, chain[4].hash).ok);
  auto r = audit::verify_links(tail, 5, chain[3].hash);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 6);
}

TEST(AuditEntry, JsonLineHasEveryFieldSortedAndNoNewline) {
  Entry e = make_chain(1)[0];
  e.object = "bad \xff utf8\nline";
  const std::string line = audit::to_json_line(e);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const char* keys[] = {"\"action\"",    "\"actor\"", "\"hash\"",   "\"object\"", "\"outcome\"",
                        "\"prev_hash\"", "\"seq\"",   "\"source\"", "\"time\""};
  std::size_t pos = 0;
  for (const char* k : keys) {
    auto at = line.find(k);
    ASSERT_NE(at, std::string::npos) << k;
    EXPECT_GE(at, pos) << k;
    pos = at;
  }
}

// ---- checkpoints kept outside the database (A8) ----

TEST(AuditExternal, MatchingCheckpointsPass) {
  auto chain = make_chain(10);
  auto r = audit::verify_external(chain, {checkpoint_at(chain, 4), checkpoint_at(chain, 10)},
                                  "the log", fake_check);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.checkpoints, 2);
  EXPECT_EQ(r.last_checkpoint, 10);
  EXPECT_TRUE(audit::verify_external(chain, {}, "the log", fake_check).ok);
}

TEST(AuditExternal, TruncationWithTheCheckpointRowsIsNamedByTheLargestCount) {
  auto chain = make_chain(10);
  const auto c6 = checkpoint_at(chain, 6);
  const auto c10 = checkpoint_at(chain, 10);
  chain.resize(5);  // entries 6..10 deleted, and with them the database's checkpoints
  auto r = audit::verify_external(chain, {c6, c10}, "the log", fake_check);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 6);
  EXPECT_NE(r.reason.find("the log vouches for 10 entries"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("entries 6 to 10 were deleted"), std::string::npos) << r.reason;
}

TEST(AuditExternal, ARewrittenEntryOrAForgedLineIsFound) {
  auto chain = make_chain(8);
  const auto c5 = checkpoint_at(chain, 5);
  auto rewritten = make_chain(8);
  rewritten[4].object = "form:other v 1";  // and (we pretend) every hash recomputed
  rewritten[4].hash = audit::chain_hash(rewritten[4]);
  auto r = audit::verify_external(rewritten, {c5}, "the log", fake_check);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 5);
  EXPECT_NE(r.reason.find("rewritten"), std::string::npos);

  auto forged = c5;
  forged.count = 7;  // the signature no longer covers it
  r = audit::verify_external(chain, {forged}, "the log", fake_check);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("no good signature"), std::string::npos);
}

}  // namespace
