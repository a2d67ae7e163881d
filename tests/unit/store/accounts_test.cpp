// The staff portal's tables: users, enrolment links, recovery codes, sessions, grants; the
// portal's searches over submissions and the audit trail. On both engines.

#include <fstream>
#include <limits>

#include "test_util.hpp"

namespace store::test {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;
const std::string kFprA(40, 'A');
const std::string kFprB(40, 'B');

class StorePortal : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = db_.open();
    ASSERT_TRUE(store_);
  }
  std::int64_t user(const std::string& email, unsigned roles = 0) {
    auto id = store_->accounts().create_user_blocking(email, roles, kNow);
    EXPECT_TRUE(id.has_value()) << id.error().detail();
    return id.value_or(0);
  }
  void append_all(const std::vector<NewSubmission>& subs) {
    Answers answers(subs.size());
    for (std::size_t i = 0; i < subs.size(); ++i)
      store_->submissions().append_submission(subs[i], answers.slot(i));
    ASSERT_TRUE(answers.wait_all());
    ASSERT_EQ(answers.count_ok(), subs.size());
  }
  TestDatabase db_;
  std::unique_ptr<detail::SqlStore> store_;
};

template <class T>
core::ErrorKind kind_of(const core::Result<T>& r) {
  EXPECT_FALSE(r.has_value());
  return r.has_value() ? core::ErrorKind::internal : r.error().kind();
}

// ---- users ----

TEST_F(StorePortal, CreateFindListUsers) {
  const auto alice = user("alice@example.org", unsigned(Role::admin) | unsigned(Role::staff));
  const auto bob = user("bob@example.org", unsigned(Role::auditor));
  EXPECT_NE(alice, bob);

  auto found = store_->accounts().find_user_blocking(alice).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, alice);
  EXPECT_EQ(found->email, "alice@example.org");
  EXPECT_EQ(found->roles, unsigned(Role::admin) | unsigned(Role::staff));
  EXPECT_EQ(found->status, UserStatus::invited);  // every new user starts invited
  EXPECT_FALSE(found->password_hash.has_value());
  EXPECT_TRUE(found->totp_sealed.empty());
  EXPECT_FALSE(found->totp_confirmed);
  EXPECT_EQ(found->totp_last_step, 0);
  EXPECT_FALSE(found->key_fingerprint.has_value());
  EXPECT_FALSE(found->private_key_armored.has_value());
  EXPECT_EQ(found->created_at, kNow);

  auto by_email = store_->accounts().find_user_by_email_blocking("bob@example.org").value();
  ASSERT_TRUE(by_email.has_value());
  EXPECT_EQ(by_email->id, bob);
  EXPECT_EQ(by_email->roles, unsigned(Role::auditor));

  EXPECT_FALSE(store_->accounts().find_user_blocking(bob + 100).value().has_value());
  EXPECT_FALSE(
      store_->accounts().find_user_by_email_blocking("carol@example.org").value().has_value());

  auto users = store_->accounts().list_users_blocking().value();
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].id, alice);
  EXPECT_EQ(users[1].id, bob);
}

TEST_F(StorePortal, DuplicateEmailIsAConflict) {
  const auto alice = user("alice@example.org");
  auto again =
      store_->accounts().create_user_blocking("alice@example.org", unsigned(Role::admin), kNow + 1);
  EXPECT_EQ(kind_of(again), core::ErrorKind::conflict);
  auto users = store_->accounts().list_users_blocking().value();
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].id, alice);
  EXPECT_EQ(users[0].roles, 0u);  // the first one, untouched
}

TEST_F(StorePortal, EmailIsDataNotSql) {
  const std::string hostile = "x'); DROP TABLE users; --@example.org";
  const auto id = user(hostile);
  EXPECT_EQ(store_->accounts().find_user_by_email_blocking(hostile).value()->id, id);
  EXPECT_EQ(store_->accounts().list_users_blocking().value().size(), 1u);
}

TEST_F(StorePortal, UpdateUserWritesEveryMutableField) {
  const auto id = user("alice@example.org");
  UserRecord u = store_->accounts().find_user_blocking(id).value().value();
  u.roles = unsigned(Role::reviewer) | unsigned(Role::form_owner);
  u.status = UserStatus::active;
  u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  u.totp_sealed = {0x00, 0x01, 0xfe, 0xff, 0x00};
  u.totp_confirmed = true;
  u.totp_last_step = 60'000'000;
  u.key_fingerprint = kFprA;
  u.private_key_armored = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n...";
  u.email = "changed@example.org";  // not a mutable field
  u.created_at = 1;                 // neither
  ASSERT_TRUE(store_->accounts().update_user_blocking(u).has_value());

  auto got = store_->accounts().find_user_blocking(id).value().value();
  EXPECT_EQ(got.roles, u.roles);
  EXPECT_EQ(got.status, UserStatus::active);
  EXPECT_EQ(got.password_hash, u.password_hash);
  EXPECT_EQ(got.totp_sealed, u.totp_sealed);
  EXPECT_TRUE(got.totp_confirmed);
  EXPECT_EQ(got.totp_last_step, 60'000'000);
  EXPECT_EQ(got.key_fingerprint, u.key_fingerprint);
  EXPECT_EQ(got.private_key_armored, u.private_key_armored);
  EXPECT_EQ(got.email, "alice@example.org");
  EXPECT_EQ(got.created_at, kNow);

  // And back to empty: optional fields become absent again, the TOTP secret is dropped.
  got.status = UserStatus::disabled;
  got.password_hash.reset();
  got.totp_sealed.clear();
  got.totp_confirmed = false;
  got.key_fingerprint.reset();
  got.private_key_armored.reset();
  ASSERT_TRUE(store_->accounts().update_user_blocking(got).has_value());
  auto cleared = store_->accounts().find_user_blocking(id).value().value();
  EXPECT_EQ(cleared.status, UserStatus::disabled);
  EXPECT_FALSE(cleared.password_hash.has_value());
  EXPECT_TRUE(cleared.totp_sealed.empty());
  EXPECT_FALSE(cleared.totp_confirmed);
  EXPECT_FALSE(cleared.key_fingerprint.has_value());
  EXPECT_FALSE(cleared.private_key_armored.has_value());

  UserRecord ghost = cleared;
  ghost.id = id + 100;
  EXPECT_EQ(kind_of(store_->accounts().update_user_blocking(ghost)), core::ErrorKind::not_found);
}

TEST_F(StorePortal, UpdateUserNeverLowersTheTotpStep) {
  const auto id = user("alice@example.org");
  UserRecord stale = store_->accounts().find_user_blocking(id).value().value();  // read: step 0
  ASSERT_TRUE(
      store_->accounts().advance_totp_step_blocking(id, 500).value());  // a sign-in meanwhile
  stale.roles = unsigned(Role::staff);
  ASSERT_TRUE(store_->accounts().update_user_blocking(stale).has_value());
  auto got = store_->accounts().find_user_blocking(id).value().value();
  EXPECT_EQ(got.roles, unsigned(Role::staff));
  EXPECT_EQ(got.totp_last_step, 500);
  EXPECT_FALSE(store_->accounts().advance_totp_step_blocking(id, 500).value());  // still spent
}

TEST_F(StorePortal, TotpStepOnlyAdvances) {
  const auto id = user("alice@example.org");
  const auto other = user("bob@example.org");
  EXPECT_TRUE(store_->accounts().advance_totp_step_blocking(id, 100).value());
  EXPECT_FALSE(store_->accounts().advance_totp_step_blocking(id, 100).value());  // replay
  EXPECT_FALSE(store_->accounts().advance_totp_step_blocking(id, 99).value());   // older
  EXPECT_EQ(store_->accounts().find_user_blocking(id).value()->totp_last_step, 100);
  EXPECT_TRUE(store_->accounts().advance_totp_step_blocking(id, 101).value());
  EXPECT_EQ(store_->accounts().find_user_blocking(id).value()->totp_last_step, 101);
  // Per user: the other user's step is its own.
  EXPECT_TRUE(store_->accounts().advance_totp_step_blocking(other, 100).value());
  EXPECT_FALSE(
      store_->accounts().advance_totp_step_blocking(id + other + 100, 1).value());  // no such user
}

// ---- enrolment links ----

TEST_F(StorePortal, EnrolmentLinkIsConsumedOnce) {
  const auto id = user("alice@example.org");
  ASSERT_TRUE(
      store_->accounts().add_enrolment_blocking("hash-1", id, kNow + 3600, kNow).has_value());
  auto first = store_->accounts().consume_enrolment_blocking("hash-1", kNow + 10);
  ASSERT_TRUE(first.has_value()) << first.error().detail();
  EXPECT_EQ(*first, id);
  auto second = store_->accounts().consume_enrolment_blocking("hash-1", kNow + 20);
  EXPECT_EQ(kind_of(second), core::ErrorKind::not_found);
}

TEST_F(StorePortal, ExpiredAndUnknownEnrolmentLinksAreNotFoundAlike) {
  const auto id = user("alice@example.org");
  ASSERT_TRUE(
      store_->accounts().add_enrolment_blocking("hash-x", id, kNow + 100, kNow).has_value());
  ASSERT_TRUE(
      store_->accounts().add_enrolment_blocking("hash-used", id, kNow + 100, kNow).has_value());
  ASSERT_TRUE(store_->accounts().consume_enrolment_blocking("hash-used", kNow).has_value());

  auto expired =
      store_->accounts().consume_enrolment_blocking("hash-x", kNow + 100);  // at expiry: gone
  auto unknown = store_->accounts().consume_enrolment_blocking("hash-nope", kNow);
  auto used = store_->accounts().consume_enrolment_blocking("hash-used", kNow);
  ASSERT_EQ(kind_of(expired), core::ErrorKind::not_found);
  ASSERT_EQ(kind_of(unknown), core::ErrorKind::not_found);
  ASSERT_EQ(kind_of(used), core::ErrorKind::not_found);
  // One error: the caller cannot tell which.
  EXPECT_EQ(expired.error().public_text(), unknown.error().public_text());
  EXPECT_EQ(used.error().public_text(), unknown.error().public_text());
  // The expired link was not marked used by the failed attempt; still refused later.
  EXPECT_EQ(kind_of(store_->accounts().consume_enrolment_blocking("hash-x", kNow + 200)),
            core::ErrorKind::not_found);
}

TEST_F(StorePortal, EnrolmentForUnknownUserOrDuplicateTokenIsRefused) {
  const auto id = user("alice@example.org");
  EXPECT_EQ(kind_of(store_->accounts().add_enrolment_blocking("h", id + 100, kNow + 10, kNow)),
            core::ErrorKind::not_found);
  ASSERT_TRUE(store_->accounts().add_enrolment_blocking("h", id, kNow + 10, kNow).has_value());
  EXPECT_EQ(kind_of(store_->accounts().add_enrolment_blocking("h", id, kNow + 10, kNow)),
            core::ErrorKind::conflict);
}

// ---- recovery codes ----

TEST_F(StorePortal, RecoveryCodesAreSingleUseAndPerUser) {
  const auto alice = user("alice@example.org");
  const auto bob = user("bob@example.org");
  ASSERT_TRUE(
      store_->accounts().replace_recovery_codes_blocking(alice, {"a1", "a2", "a3"}).has_value());
  ASSERT_TRUE(
      store_->accounts().replace_recovery_codes_blocking(bob, {"b1", "shared"}).has_value());
  EXPECT_EQ(store_->accounts().unused_recovery_codes_blocking(alice).value(), 3u);
  EXPECT_EQ(store_->accounts().unused_recovery_codes_blocking(bob).value(), 2u);

  EXPECT_TRUE(store_->accounts().use_recovery_code_blocking(alice, "a2", kNow).value());
  EXPECT_FALSE(
      store_->accounts().use_recovery_code_blocking(alice, "a2", kNow + 1).value());       // once
  EXPECT_FALSE(store_->accounts().use_recovery_code_blocking(alice, "b1", kNow).value());  // Bob's
  EXPECT_FALSE(store_->accounts().use_recovery_code_blocking(alice, "nope", kNow).value());
  EXPECT_EQ(store_->accounts().unused_recovery_codes_blocking(alice).value(), 2u);
  EXPECT_EQ(store_->accounts().unused_recovery_codes_blocking(bob).value(), 2u);

  // The same hash for two users is two codes.
  ASSERT_TRUE(
      store_->accounts().replace_recovery_codes_blocking(alice, {"shared", "a9"}).has_value());
  EXPECT_TRUE(store_->accounts().use_recovery_code_blocking(alice, "shared", kNow).value());
  EXPECT_TRUE(store_->accounts().use_recovery_code_blocking(bob, "shared", kNow).value());
}

TEST_F(StorePortal, ReplaceRecoveryCodesDropsTheOldOnes) {
  const auto id = user("alice@example.org");
  ASSERT_TRUE(store_->accounts().replace_recovery_codes_blocking(id, {"old1", "old2"}).has_value());
  ASSERT_TRUE(store_->accounts().use_recovery_code_blocking(id, "old1", kNow).value());
  ASSERT_TRUE(
      store_->accounts().replace_recovery_codes_blocking(id, {"new1", "new2", "new3"}).has_value());
  EXPECT_EQ(store_->accounts().unused_recovery_codes_blocking(id).value(), 3u);
  EXPECT_FALSE(store_->accounts().use_recovery_code_blocking(id, "old2", kNow).value());
  EXPECT_TRUE(store_->accounts().use_recovery_code_blocking(id, "new3", kNow).value());

  // A list with a repeated hash is refused whole: the codes in place stay.
  EXPECT_EQ(kind_of(store_->accounts().replace_recovery_codes_blocking(id, {"x", "y", "x"})),
            core::ErrorKind::invalid_input);
  EXPECT_EQ(store_->accounts().unused_recovery_codes_blocking(id).value(), 2u);
  EXPECT_TRUE(store_->accounts().use_recovery_code_blocking(id, "new1", kNow).value());

  EXPECT_EQ(kind_of(store_->accounts().replace_recovery_codes_blocking(id + 100, {"z"})),
            core::ErrorKind::not_found);
  // An empty list just removes them.
  ASSERT_TRUE(store_->accounts().replace_recovery_codes_blocking(id, {}).has_value());
  EXPECT_EQ(store_->accounts().unused_recovery_codes_blocking(id).value(), 0u);
}

// ---- sessions ----

SessionRecord make_session(const std::string& id_hash, std::int64_t user_id,
                           std::int64_t created_at, std::int64_t last_seen_at) {
  return SessionRecord{id_hash,    user_id,      "full",     "csrf-" + id_hash,
                       created_at, last_seen_at, "192.0.2.7"};
}

TEST_F(StorePortal, SessionsCreateFindTouchDelete) {
  const auto id = user("alice@example.org");
  auto s = make_session("sess-1", id, kNow, kNow);
  s.stage = "second_factor";
  ASSERT_TRUE(store_->accounts().create_session_blocking(s).has_value());

  auto found = store_->accounts().find_session_blocking("sess-1").value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id_hash, "sess-1");
  EXPECT_EQ(found->user_id, id);
  EXPECT_EQ(found->stage, "second_factor");
  EXPECT_EQ(found->csrf_token, "csrf-sess-1");
  EXPECT_EQ(found->created_at, kNow);
  EXPECT_EQ(found->last_seen_at, kNow);
  EXPECT_EQ(found->source, "192.0.2.7");
  EXPECT_FALSE(store_->accounts().find_session_blocking("sess-2").value().has_value());

  EXPECT_EQ(kind_of(store_->accounts().create_session_blocking(s)), core::ErrorKind::conflict);
  EXPECT_EQ(kind_of(store_->accounts().create_session_blocking(
                make_session("sess-9", id + 100, kNow, kNow))),
            core::ErrorKind::not_found);

  ASSERT_TRUE(store_->accounts().touch_session_blocking("sess-1", kNow + 60).has_value());
  EXPECT_EQ(store_->accounts().find_session_blocking("sess-1").value()->last_seen_at, kNow + 60);
  EXPECT_EQ(store_->accounts().find_session_blocking("sess-1").value()->created_at, kNow);
  EXPECT_EQ(kind_of(store_->accounts().touch_session_blocking("sess-2", kNow)),
            core::ErrorKind::not_found);

  ASSERT_TRUE(store_->accounts().delete_session_blocking("sess-1").has_value());
  EXPECT_FALSE(store_->accounts().find_session_blocking("sess-1").value().has_value());
  EXPECT_TRUE(
      store_->accounts().delete_session_blocking("sess-1").has_value());  // signing out twice
  EXPECT_EQ(kind_of(store_->accounts().touch_session_blocking("sess-1", kNow)),
            core::ErrorKind::not_found);
}

TEST_F(StorePortal, DeleteUserSessionsDeletesOnlyThatUsersSessions) {
  const auto alice = user("alice@example.org");
  const auto bob = user("bob@example.org");
  for (const auto* h : {"a1", "a2", "a3"})
    ASSERT_TRUE(
        store_->accounts().create_session_blocking(make_session(h, alice, kNow, kNow)).has_value());
  ASSERT_TRUE(
      store_->accounts().create_session_blocking(make_session("b1", bob, kNow, kNow)).has_value());
  EXPECT_EQ(store_->accounts().delete_user_sessions_blocking(alice).value(), 3u);
  EXPECT_EQ(store_->accounts().delete_user_sessions_blocking(alice).value(), 0u);
  EXPECT_FALSE(store_->accounts().find_session_blocking("a2").value().has_value());
  EXPECT_TRUE(store_->accounts().find_session_blocking("b1").value().has_value());
}

TEST_F(StorePortal, PruneSessionsByAgeAndByIdleness) {
  const auto id = user("alice@example.org");
  // created, last seen
  ASSERT_TRUE(
      store_->accounts().create_session_blocking(make_session("old", id, 100, 990)).has_value());
  ASSERT_TRUE(
      store_->accounts().create_session_blocking(make_session("idle", id, 500, 600)).has_value());
  ASSERT_TRUE(
      store_->accounts().create_session_blocking(make_session("fresh", id, 500, 990)).has_value());
  ASSERT_TRUE(
      store_->accounts().create_session_blocking(make_session("edge", id, 200, 700)).has_value());
  // Created before 200 (absolute timeout) or idle since before 700 (idle timeout); the
  // bounds themselves are still valid.
  // Counted live by the same bounds, before pruning removes the others.
  EXPECT_EQ(store_->accounts().count_sessions_blocking(200, 700).value(), 2u);
  EXPECT_EQ(store_->accounts().count_sessions_blocking(0, 0).value(), 4u);
  EXPECT_EQ(store_->accounts().prune_sessions_blocking(200, 700).value(), 2u);
  EXPECT_FALSE(store_->accounts().find_session_blocking("old").value().has_value());
  EXPECT_FALSE(store_->accounts().find_session_blocking("idle").value().has_value());
  EXPECT_TRUE(store_->accounts().find_session_blocking("fresh").value().has_value());
  EXPECT_TRUE(store_->accounts().find_session_blocking("edge").value().has_value());
  EXPECT_EQ(store_->accounts().prune_sessions_blocking(200, 700).value(), 0u);
  EXPECT_EQ(store_->accounts().prune_sessions_blocking(0, 991).value(), 2u);
  EXPECT_EQ(store_->accounts().count_sessions_blocking(0, 0).value(), 0u);
}

// ---- grants and granted recipients ----

TEST_F(StorePortal, GrantsAddIsIdempotentRemoveIsNotFoundWhenAbsent) {
  add_form(*store_, "contact");
  add_form(*store_, "appointment");
  const auto alice = user("alice@example.org");
  const auto bob = user("bob@example.org");
  ASSERT_TRUE(store_->accounts().add_grant_blocking({alice, "contact", kNow, 0}).has_value());
  ASSERT_TRUE(store_->accounts().add_grant_blocking({alice, "contact", kNow + 5, bob}).has_value());
  ASSERT_TRUE(store_->accounts().add_grant_blocking({alice, "appointment", kNow, bob}).has_value());
  ASSERT_TRUE(store_->accounts().add_grant_blocking({bob, "contact", kNow, alice}).has_value());

  auto all = store_->accounts().list_grants_blocking(std::nullopt).value();
  ASSERT_EQ(all.size(), 3u);
  auto mine = store_->accounts().list_grants_blocking(alice).value();
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].form_id, "appointment");
  EXPECT_EQ(mine[1].form_id, "contact");
  EXPECT_EQ(mine[1].user_id, alice);
  EXPECT_EQ(mine[1].granted_at, kNow);  // the repeated add changed nothing
  EXPECT_EQ(mine[1].granted_by, 0);
  EXPECT_EQ(mine[0].granted_by, bob);

  ASSERT_TRUE(store_->accounts().remove_grant_blocking(alice, "contact").has_value());
  EXPECT_EQ(kind_of(store_->accounts().remove_grant_blocking(alice, "contact")),
            core::ErrorKind::not_found);
  EXPECT_EQ(kind_of(store_->accounts().remove_grant_blocking(alice, "nosuch")),
            core::ErrorKind::not_found);
  EXPECT_EQ(store_->accounts().list_grants_blocking(alice).value().size(), 1u);
  EXPECT_EQ(store_->accounts().list_grants_blocking(bob).value().size(), 1u);
  EXPECT_TRUE(store_->accounts().list_grants_blocking(bob + 100).value().empty());

  EXPECT_EQ(kind_of(store_->accounts().add_grant_blocking({alice, "nosuch", kNow, 0})),
            core::ErrorKind::not_found);
  EXPECT_EQ(kind_of(store_->accounts().add_grant_blocking({bob + 100, "contact", kNow, 0})),
            core::ErrorKind::not_found);
}

TEST_F(StorePortal, FormVersionsKeepTheirGrantedRecipients) {
  const auto g0 = store_->forms().config_generation_blocking().value();
  EXPECT_EQ(store_->forms().add_form_version_blocking("contact", "v1", 100, {}).value(), 1);
  const auto g1 = store_->forms().config_generation_blocking().value();
  EXPECT_NE(g1, g0);
  EXPECT_EQ(store_->forms().add_form_version_blocking("contact", "v1", 200, {kFprA, kFprB}).value(),
            2);
  EXPECT_NE(store_->forms().config_generation_blocking().value(), g1);  // a grant's new version

  auto v1 = store_->forms().form_version_blocking("contact", 1).value().value();
  EXPECT_TRUE(v1.granted_recipients.empty());
  auto v2 = store_->forms().form_version_blocking("contact", 2).value().value();
  EXPECT_EQ(v2.granted_recipients, (std::vector<std::string>{kFprA, kFprB}));
  EXPECT_EQ(store_->forms().latest_form_blocking("contact").value()->granted_recipients,
            v2.granted_recipients);
  auto forms = store_->forms().latest_forms_blocking().value();
  ASSERT_EQ(forms.size(), 1u);
  EXPECT_EQ(forms[0].granted_recipients, v2.granted_recipients);

  auto bad = store_->forms().add_form_version_blocking("contact", "v3", 300, {"bad \xff"});
  EXPECT_EQ(kind_of(bad), core::ErrorKind::invalid_input);
  EXPECT_EQ(store_->forms().latest_form_blocking("contact").value()->version, 2);
}

// ---- submission searches ----

class StorePortalSubmissions : public StorePortal {
 protected:
  void SetUp() override {
    StorePortal::SetUp();
    add_form(*store_, "contact");
    add_form(*store_, "other");
    // make_submission: received_at = kNow + n, ciphertext of `size` bytes.
    std::vector<NewSubmission> subs;
    for (std::uint32_t n = 0; n < 10; ++n) subs.push_back(make_submission("contact", n, 10 + n));
    auto other = make_submission("other", 50);
    other.received_at = kNow + 5;  // the same time as contact 5: only the form tells them apart
    subs.push_back(other);
    append_all(subs);
    subs_ = subs;
  }
  std::vector<std::string> refs(const std::vector<SubmissionMeta>& items) {
    std::vector<std::string> out;
    for (const auto& m : items) out.push_back(m.reference);
    return out;
  }
  std::vector<std::string> refs(const std::vector<StoredSubmission>& items) {
    std::vector<std::string> out;
    for (const auto& s : items) out.push_back(s.meta.reference);
    return out;
  }
  static std::string ref(std::uint32_t n) { return "contact-REF-" + std::to_string(n); }
  std::vector<NewSubmission> subs_;
};

TEST_F(StorePortalSubmissions, MetadataOfOneFormInSeqOrder) {
  SubmissionQuery q;
  q.form_id = "contact";
  auto all = store_->submissions().query_submissions_blocking(q).value();
  ASSERT_EQ(all.size(), 10u);
  for (std::uint32_t n = 0; n < 10; ++n) {
    EXPECT_EQ(all[n].reference, ref(n));
    EXPECT_EQ(all[n].form_id, "contact");
    EXPECT_EQ(all[n].form_version, 1);
    EXPECT_EQ(all[n].received_at, kNow + n);
    EXPECT_EQ(all[n].size, 10u + n);
    EXPECT_EQ(all[n].recipients, subs_[n].recipients);
    if (n > 0) {
      EXPECT_LT(all[n - 1].seq, all[n].seq);
    }
  }
  q.form_id = "nosuch";
  EXPECT_TRUE(store_->submissions().query_submissions_blocking(q).value().empty());
}

TEST_F(StorePortalSubmissions, TimeBoundsAreFromInclusiveToExclusive) {
  SubmissionQuery q;
  q.form_id = "contact";
  q.received_from = kNow + 3;
  EXPECT_EQ(store_->submissions().query_submissions_blocking(q).value().size(), 7u);
  q.received_to = kNow + 6;
  EXPECT_EQ(refs(store_->submissions().query_submissions_blocking(q).value()),
            (std::vector<std::string>{ref(3), ref(4), ref(5)}));
  q.received_from.reset();
  EXPECT_EQ(store_->submissions().query_submissions_blocking(q).value().size(), 6u);
  q.received_from = kNow + 6;
  EXPECT_TRUE(store_->submissions().query_submissions_blocking(q).value().empty());
}

TEST_F(StorePortalSubmissions, ExactReferenceOfThatFormOnly) {
  SubmissionQuery q;
  q.form_id = "contact";
  q.reference = ref(4);
  EXPECT_EQ(refs(store_->submissions().query_submissions_blocking(q).value()),
            (std::vector<std::string>{ref(4)}));
  q.reference = "contact-REF-";  // a prefix is not a match
  EXPECT_TRUE(store_->submissions().query_submissions_blocking(q).value().empty());
  q.reference = "%";
  EXPECT_TRUE(store_->submissions().query_submissions_blocking(q).value().empty());
  q.reference = "other-REF-50";  // another form's
  EXPECT_TRUE(store_->submissions().query_submissions_blocking(q).value().empty());
}

TEST_F(StorePortalSubmissions, PagingWithAfterSeqAndLimit) {
  SubmissionQuery q;
  q.form_id = "contact";
  q.limit = 4;
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    auto items = store_->submissions().query_submissions_blocking(q).value();
    if (items.empty()) break;
    EXPECT_LE(items.size(), 4u);
    for (const auto& m : items) seen.push_back(m.reference);
    q.after_seq = items.back().seq;
  }
  ASSERT_EQ(seen.size(), 10u);
  for (std::uint32_t n = 0; n < 10; ++n) EXPECT_EQ(seen[n], ref(n));

  q.after_seq = 0;
  q.limit = 0;
  EXPECT_TRUE(store_->submissions().query_submissions_blocking(q).value().empty());
  // Paging combines with the other filters.
  q.limit = 2;
  q.received_from = kNow + 5;
  auto first = store_->submissions().query_submissions_blocking(q).value();
  EXPECT_EQ(refs(first), (std::vector<std::string>{ref(5), ref(6)}));
  q.after_seq = first.back().seq;
  EXPECT_EQ(refs(store_->submissions().query_submissions_blocking(q).value()),
            (std::vector<std::string>{ref(7), ref(8)}));
}

TEST_F(StorePortalSubmissions, CiphertextsWithTheSameFilters) {
  SubmissionQuery q;
  q.form_id = "contact";
  q.received_from = kNow + 2;
  q.received_to = kNow + 8;
  q.limit = 3;
  auto page = store_->submissions().query_ciphertexts_blocking(q).value();
  ASSERT_EQ(refs(page), (std::vector<std::string>{ref(2), ref(3), ref(4)}));
  for (std::size_t i = 0; i < page.size(); ++i) {
    EXPECT_EQ(page[i].ciphertext, subs_[i + 2].ciphertext);
    EXPECT_EQ(page[i].meta.size, subs_[i + 2].ciphertext.size());
  }
  q.after_seq = page.back().meta.seq;
  EXPECT_EQ(refs(store_->submissions().query_ciphertexts_blocking(q).value()),
            (std::vector<std::string>{ref(5), ref(6), ref(7)}));
  q.after_seq = 0;
  q.reference = ref(9);  // outside the time bounds
  EXPECT_TRUE(store_->submissions().query_ciphertexts_blocking(q).value().empty());
  q.received_to.reset();
  EXPECT_EQ(store_->submissions().query_ciphertexts_blocking(q).value().at(0).ciphertext,
            subs_[9].ciphertext);
}

TEST_F(StorePortalSubmissions, GetOneSubmissionWithItsCiphertext) {
  auto got = store_->submissions().get_submission_blocking("contact", ref(7)).value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->meta.reference, ref(7));
  EXPECT_EQ(got->meta.received_at, kNow + 7);
  EXPECT_EQ(got->meta.size, 17u);
  EXPECT_EQ(got->ciphertext, subs_[7].ciphertext);
  EXPECT_FALSE(store_->submissions().get_submission_blocking("other", ref(7)).value().has_value());
  EXPECT_FALSE(
      store_->submissions().get_submission_blocking("contact", "nope").value().has_value());
}

TEST_F(StorePortalSubmissions, LimitIsCappedAtOneThousand) {
  std::vector<NewSubmission> more;
  for (std::uint32_t n = 100; n < 1100; ++n) more.push_back(make_submission("contact", n, 1));
  append_all(more);  // 1010 for contact in all
  SubmissionQuery q;
  q.form_id = "contact";
  q.limit = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(store_->submissions().query_submissions_blocking(q).value().size(),
            SubmissionStore::kMaxQueryRows);
  EXPECT_EQ(store_->submissions().query_ciphertexts_blocking(q).value().size(),
            SubmissionStore::kMaxQueryRows);
  q.limit = 1001;
  EXPECT_EQ(store_->submissions().query_submissions_blocking(q).value().size(), 1000u);
  q.limit = 999;
  EXPECT_EQ(store_->submissions().query_submissions_blocking(q).value().size(), 999u);
}

// ---- audit search ----

class StorePortalAudit : public StorePortal {
 protected:
  struct Entry {
    const char* actor;
    const char* action;
    const char* object;
  };
  void SetUp() override {
    StorePortal::SetUp();
    const std::vector<Entry> entries = {
        {"user:1", "user.create", "user:2"},      // seq 1, time kNow + 10
        {"user:1", "user.roles", "user:2"},       // 2
        {"user:2", "session.sign_in", "user:2"},  // 3
        {"cli:root", "form.add", "form:contact v 1"},
        {"user:2", "submission.view", "form:contact"},  // 5
        {"user:1", "user", "user:3"},                   // an action named exactly "user"
        {"user:1", "usersx.create", "user:3"},          // 7: "user." must not match it
        {"user:3", "user.disable", "user:2"},           // 8
    };
    for (const auto& e : entries) {
      auto row = store_->audit().append_audit_blocking([&](const std::optional<AuditRow>& last) {
        AuditRow r;
        r.seq = last ? last->seq + 1 : 1;
        r.time = kNow + 10 * r.seq;
        r.actor = e.actor;
        r.action = e.action;
        r.object = e.object;
        r.source = "local";
        r.outcome = "ok";
        r.prev_hash = last ? last->hash : std::string(64, '0');
        r.hash = "h" + std::to_string(r.seq);
        return r;
      });
      ASSERT_TRUE(row.has_value()) << row.error().detail();
    }
  }
  std::vector<std::int64_t> seqs(const AuditQuery& q) {
    auto rows = store_->audit().query_audit_blocking(q);
    EXPECT_TRUE(rows.has_value());
    std::vector<std::int64_t> out;
    if (rows) {
      for (const auto& r : *rows) out.push_back(r.seq);
    }
    return out;
  }
  using Seqs = std::vector<std::int64_t>;
};

TEST_F(StorePortalAudit, NoFilterListsAllInSeqOrder) {
  auto rows = store_->audit().query_audit_blocking({}).value();
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(rows[3].action, "form.add");
  EXPECT_EQ(rows[3].object, "form:contact v 1");
  EXPECT_EQ(rows[3].hash, "h4");
  EXPECT_EQ(rows[3].prev_hash, "h3");
  EXPECT_EQ(rows[3].time, kNow + 40);
}

TEST_F(StorePortalAudit, ActorAndObjectAreExact) {
  AuditQuery q;
  q.actor = "user:1";
  EXPECT_EQ(seqs(q), (Seqs{1, 2, 6, 7}));
  q.actor = "user:";
  EXPECT_TRUE(seqs(q).empty());
  q.actor.reset();
  q.object = "user:2";
  EXPECT_EQ(seqs(q), (Seqs{1, 2, 3, 8}));
  q.actor = "user:1";
  EXPECT_EQ(seqs(q), (Seqs{1, 2}));
  q.actor.reset();
  q.object = "form:contact";
  EXPECT_EQ(seqs(q), (Seqs{5}));
}

TEST_F(StorePortalAudit, ActionExactOrPrefixEndingInADot) {
  AuditQuery q;
  q.action = "user.create";
  EXPECT_EQ(seqs(q), (Seqs{1}));
  q.action = "user";  // no dot: exact
  EXPECT_EQ(seqs(q), (Seqs{6}));
  q.action = "user.";
  EXPECT_EQ(seqs(q), (Seqs{1, 2, 8}));
  q.action = "session.";
  EXPECT_EQ(seqs(q), (Seqs{3}));
  q.action = "user.create.";  // a longer prefix than any action
  EXPECT_TRUE(seqs(q).empty());
  // LIKE wildcards are plain characters.
  q.action = "us_r.";
  EXPECT_TRUE(seqs(q).empty());
  q.action = "%.";
  EXPECT_TRUE(seqs(q).empty());
  q.action = "user.%";
  EXPECT_TRUE(seqs(q).empty());
  // Combined with another filter.
  q.action = "user.";
  q.object = "user:2";
  q.actor = "user:3";
  EXPECT_EQ(seqs(q), (Seqs{8}));
}

TEST_F(StorePortalAudit, TimeRangeAfterSeqAndLimit) {
  AuditQuery q;
  q.time_from = kNow + 30;  // seq 3 and later
  q.time_to = kNow + 70;    // before seq 7
  EXPECT_EQ(seqs(q), (Seqs{3, 4, 5, 6}));
  q.after_seq = 4;
  EXPECT_EQ(seqs(q), (Seqs{5, 6}));
  q.limit = 1;
  EXPECT_EQ(seqs(q), (Seqs{5}));
  q.limit = 0;
  EXPECT_TRUE(seqs(q).empty());

  AuditQuery page;
  page.limit = 3;
  EXPECT_EQ(seqs(page), (Seqs{1, 2, 3}));
  page.after_seq = 3;
  EXPECT_EQ(seqs(page), (Seqs{4, 5, 6}));
  page.after_seq = 6;
  EXPECT_EQ(seqs(page), (Seqs{7, 8}));
  page.after_seq = 8;
  EXPECT_TRUE(seqs(page).empty());
}

TEST_F(StorePortalAudit, LimitIsCappedAtOneThousand) {
  for (int i = 0; i < 1000; ++i) {
    auto row = store_->audit().append_audit_blocking([](const std::optional<AuditRow>& last) {
      AuditRow r;
      r.seq = last->seq + 1;
      r.time = kNow + 10 * r.seq;
      r.actor = r.action = r.object = r.source = r.outcome = "x";
      r.prev_hash = last->hash;
      r.hash = "h" + std::to_string(r.seq);
      return r;
    });
    ASSERT_TRUE(row.has_value());
  }
  AuditQuery q;
  q.limit = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(seqs(q).size(), SubmissionStore::kMaxQueryRows);
  q.after_seq = 500;
  EXPECT_EQ(seqs(q).size(), 508u);
}

}  // namespace
}  // namespace store::test
