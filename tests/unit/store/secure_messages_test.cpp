// The secure-message portal's copies on either engine: add, find, list by message; a
// one-time code is set, consumed once, refused when wrong or expired; the first read is
// set once; revocation takes unread copies only; pruning erases the ciphertext of expired
// and revoked copies and keeps their rows; a copy added in a failed unit of work is
// not stored; replies are counted up to a bound on live copies only; a recipient account is
// added once per address, its TOTP begun, confirmed only for the secret shown, its steps only
// move forward, and it can be removed.

#include "test_util.hpp"

namespace store::test {
namespace {

SecureMessageRecord copy(const std::string& id, const std::string& message_id,
                         const std::string& to) {
  SecureMessageRecord r;
  r.id = id;
  r.message_id = message_id;
  r.recipient = to;
  r.sender = "clinic@example.org";
  r.ciphertext = {1, 2, 3, 0, 255};
  r.created_at = 100;
  r.expires_at = 1000;
  return r;
}

class StoreSecureMessages : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = db_.open();
    ASSERT_TRUE(store_);
  }
  SecureMessageStore& sm() { return store_->secure_messages(); }
  TestDatabase db_;
  std::unique_ptr<detail::SqlStore> store_;
};

TEST_F(StoreSecureMessages, AddFindList) {
  ASSERT_TRUE(sm().add_secure_message_blocking(copy("s2", "m1", "b@example.net")));
  ASSERT_TRUE(sm().add_secure_message_blocking(copy("s1", "m1", "a@example.net")));
  ASSERT_TRUE(sm().add_secure_message_blocking(copy("s3", "m2", "a@example.net")));
  auto found = sm().find_secure_message_blocking("s1").value();
  ASSERT_TRUE(found);
  EXPECT_EQ(found->message_id, "m1");
  EXPECT_EQ(found->recipient, "a@example.net");
  EXPECT_EQ(found->sender, "clinic@example.org");
  EXPECT_EQ(found->ciphertext, (std::vector<std::uint8_t>{1, 2, 3, 0, 255}));
  EXPECT_EQ(found->created_at, 100);
  EXPECT_EQ(found->expires_at, 1000);
  EXPECT_FALSE(found->revoked_at);
  EXPECT_FALSE(found->first_read_at);
  EXPECT_FALSE(found->code_hash);
  EXPECT_FALSE(sm().find_secure_message_blocking("nope").value());
  auto listed = sm().list_secure_messages_blocking("m1").value();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, "s1");  // by recipient
  EXPECT_EQ(listed[1].id, "s2");
  auto again = sm().add_secure_message_blocking(copy("s1", "m9", "c@example.net"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind(), core::ErrorKind::conflict);
}

TEST_F(StoreSecureMessages, CodeIsSingleUseAndExpires) {
  ASSERT_TRUE(sm().add_secure_message_blocking(copy("s1", "m1", "a@example.net")));
  EXPECT_FALSE(sm().set_secure_code_blocking("nope", "h1", 200, 150).value());
  ASSERT_TRUE(sm().set_secure_code_blocking("s1", "h1", 200, 150).value());
  EXPECT_EQ(sm().find_secure_message_blocking("s1").value()->code_hash,
            std::optional<std::string>("h1"));
  EXPECT_FALSE(sm().consume_secure_code_blocking("s1", "wrong", 160).value());
  EXPECT_FALSE(sm().consume_secure_code_blocking("s1", "h1", 200).value());  // expired
  ASSERT_TRUE(sm().set_secure_code_blocking("s1", "h2", 300, 250).value());  // replaces h1
  EXPECT_FALSE(sm().consume_secure_code_blocking("s1", "h1", 260).value());
  EXPECT_TRUE(sm().consume_secure_code_blocking("s1", "h2", 260).value());
  EXPECT_FALSE(sm().consume_secure_code_blocking("s1", "h2", 261).value());  // used
  EXPECT_FALSE(sm().find_secure_message_blocking("s1").value()->code_hash);
  // No code for a copy past its expiry.
  EXPECT_FALSE(sm().set_secure_code_blocking("s1", "h3", 2000, 1000).value());
}

TEST_F(StoreSecureMessages, FirstReadOnceAndRevokeOnlyUnread) {
  ASSERT_TRUE(sm().add_secure_message_blocking(copy("s1", "m1", "a@example.net")));
  ASSERT_TRUE(sm().add_secure_message_blocking(copy("s2", "m1", "b@example.net")));
  EXPECT_TRUE(sm().mark_secure_read_blocking("s1", 300).value());
  EXPECT_FALSE(sm().mark_secure_read_blocking("s1", 400).value());
  EXPECT_EQ(sm().find_secure_message_blocking("s1").value()->first_read_at,
            std::optional<std::int64_t>(300));
  ASSERT_TRUE(sm().set_secure_code_blocking("s2", "h", 900, 400).value());
  EXPECT_EQ(sm().revoke_secure_messages_blocking("m1", 500).value(), 1u);
  EXPECT_EQ(sm().revoke_secure_messages_blocking("m1", 600).value(), 0u);
  auto s2 = sm().find_secure_message_blocking("s2").value();
  EXPECT_EQ(s2->revoked_at, std::optional<std::int64_t>(500));
  EXPECT_FALSE(s2->code_hash);  // a revoked copy keeps no code
  EXPECT_FALSE(sm().consume_secure_code_blocking("s2", "h", 501).value());
  EXPECT_FALSE(sm().set_secure_code_blocking("s2", "h", 900, 501).value());
  EXPECT_FALSE(sm().find_secure_message_blocking("s1").value()->revoked_at);  // read: kept
}

TEST_F(StoreSecureMessages, PruneErasesExpiredAndRevokedCiphertextOnly) {
  ASSERT_TRUE(sm().add_secure_message_blocking(copy("s1", "m1", "a@example.net")));  // expires
  ASSERT_TRUE(sm().add_secure_message_blocking(copy("s2", "m2", "b@example.net")));  // revoked
  auto live = copy("s3", "m3", "c@example.net");
  live.expires_at = 5000;
  ASSERT_TRUE(sm().add_secure_message_blocking(live));
  ASSERT_TRUE(sm().set_secure_code_blocking("s1", "h", 990, 500).value());
  EXPECT_EQ(sm().revoke_secure_messages_blocking("m2", 600).value(), 1u);
  EXPECT_EQ(sm().prune_secure_messages_blocking(999).value(), 1u);   // s2 only: s1 not yet
  EXPECT_EQ(sm().prune_secure_messages_blocking(1000).value(), 1u);  // s1 at its expiry
  EXPECT_EQ(sm().prune_secure_messages_blocking(1000).value(), 0u);  // nothing left to erase
  for (const char* id : {"s1", "s2"}) {
    auto gone = sm().find_secure_message_blocking(id).value();
    ASSERT_TRUE(gone);  // the row stays: the read receipt and the trail name it
    EXPECT_TRUE(gone->ciphertext.empty()) << id;
    EXPECT_FALSE(gone->code_hash) << id;
  }
  EXPECT_EQ(sm().find_secure_message_blocking("s3").value()->ciphertext,
            (std::vector<std::uint8_t>{1, 2, 3, 0, 255}));
}

TEST_F(StoreSecureMessages, ACopyAddedInAFailedUnitOfWorkIsNotStored) {
  auto status = store_->transact_blocking("deposit", [](Store& tx) -> core::Status {
    if (auto s = tx.secure_messages().add_secure_message_blocking(copy("s1", "m1", "a@x.net"));
        !s) {
      return s;
    }
    return core::fail(core::ErrorKind::unavailable, "later step failed");
  });
  ASSERT_FALSE(status);
  EXPECT_FALSE(sm().find_secure_message_blocking("s1").value());
}

TEST_F(StoreSecureMessages, RepliesAreCountedUpToTheBoundOnLiveCopies) {
  ASSERT_TRUE(sm().add_secure_message_blocking(copy("s1", "m1", "a@example.net")));
  EXPECT_TRUE(sm().count_secure_reply_blocking("s1", 2, 200).value());
  EXPECT_TRUE(sm().count_secure_reply_blocking("s1", 2, 200).value());
  EXPECT_FALSE(sm().count_secure_reply_blocking("s1", 2, 200).value());  // the bound
  EXPECT_EQ(sm().find_secure_message_blocking("s1").value()->replies, 2);
  ASSERT_TRUE(sm().add_secure_message_blocking(copy("s2", "m2", "a@example.net")));
  EXPECT_FALSE(sm().count_secure_reply_blocking("s2", 2, 1000).value());  // expired
  ASSERT_EQ(sm().revoke_secure_messages_blocking("m2", 300).value(), 1u);
  EXPECT_FALSE(sm().count_secure_reply_blocking("s2", 2, 300).value());  // revoked
  EXPECT_FALSE(sm().count_secure_reply_blocking("nope", 2, 300).value());
}

TEST_F(StoreSecureMessages, RecipientAccountLifecycle) {
  EXPECT_FALSE(sm().find_recipient_account_blocking("a@example.net").value());
  RecipientAccountRecord account{.address = "a@example.net",
                                 .password_hash = "$argon2id$x",
                                 .created_at = 100,
                                 .updated_at = 100};
  ASSERT_TRUE(sm().add_recipient_account_blocking(account));
  auto again = sm().add_recipient_account_blocking(account);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind(), core::ErrorKind::conflict);
  auto found = sm().find_recipient_account_blocking("a@example.net").value();
  ASSERT_TRUE(found);
  EXPECT_EQ(found->password_hash, "$argon2id$x");
  EXPECT_TRUE(found->totp_sealed.empty());
  EXPECT_FALSE(found->totp_confirmed);
  EXPECT_EQ(found->created_at, 100);

  const std::vector<std::uint8_t> first{1, 2, 3}, second{4, 5, 6};
  EXPECT_TRUE(sm().begin_recipient_totp_blocking("a@example.net", first, 110).value());
  EXPECT_TRUE(sm().begin_recipient_totp_blocking("a@example.net", second, 120).value());
  // Only the secret shown last can be confirmed.
  EXPECT_FALSE(sm().confirm_recipient_totp_blocking("a@example.net", first, 7, 130).value());
  EXPECT_TRUE(sm().confirm_recipient_totp_blocking("a@example.net", second, 7, 130).value());
  found = sm().find_recipient_account_blocking("a@example.net").value();
  EXPECT_TRUE(found->totp_confirmed);
  EXPECT_EQ(found->totp_sealed, second);
  EXPECT_EQ(found->totp_last_step, 7);
  EXPECT_EQ(found->updated_at, 130);
  // Confirmed: not replaced by a new one.
  EXPECT_FALSE(sm().begin_recipient_totp_blocking("a@example.net", first, 140).value());
  EXPECT_FALSE(sm().advance_recipient_totp_blocking("a@example.net", 7).value());  // replay
  EXPECT_TRUE(sm().advance_recipient_totp_blocking("a@example.net", 8).value());
  EXPECT_FALSE(sm().begin_recipient_totp_blocking("b@example.net", first, 140).value());

  EXPECT_TRUE(sm().remove_recipient_account_blocking("a@example.net").value());
  EXPECT_FALSE(sm().remove_recipient_account_blocking("a@example.net").value());
  EXPECT_FALSE(sm().find_recipient_account_blocking("a@example.net").value());
}

}  // namespace
}  // namespace store::test
