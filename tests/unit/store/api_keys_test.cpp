// API keys on either engine: add, find, list, revoke (once), touch, and a key added inside
// a unit of work that fails is not stored.

#include "test_util.hpp"

namespace store::test {
namespace {

ApiKeyRecord key(const std::string& id, std::int64_t at, std::vector<std::string> scopes) {
  ApiKeyRecord k;
  k.id = id;
  k.name = "ehr " + id;
  k.secret_hash = std::string(64, 'a');
  k.scopes = std::move(scopes);
  k.created_at = at;
  k.created_by = "cli:test";
  return k;
}

class StoreApiKeys : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = db_.open();
    ASSERT_TRUE(store_);
  }
  ApiKeyStore& keys() { return store_->api_keys(); }
  TestDatabase db_;
  std::unique_ptr<detail::SqlStore> store_;
};

TEST_F(StoreApiKeys, AddFindListRoundTrip) {
  EXPECT_TRUE(keys().list_api_keys_blocking().value().empty());
  ASSERT_TRUE(keys().add_api_key_blocking(key("k2", 200, {"messages:send"})));
  ASSERT_TRUE(keys().add_api_key_blocking(key("k1", 100, {"messages:send", "messages:read"})));

  auto found = keys().find_api_key_blocking("k1").value();
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "ehr k1");
  EXPECT_EQ(found->secret_hash, std::string(64, 'a'));
  EXPECT_EQ(found->scopes, (std::vector<std::string>{"messages:send", "messages:read"}));
  EXPECT_EQ(found->created_at, 100);
  EXPECT_EQ(found->created_by, "cli:test");
  EXPECT_FALSE(found->revoked_at);
  EXPECT_FALSE(found->last_used_at);
  EXPECT_FALSE(keys().find_api_key_blocking("nope").value());

  auto listed = keys().list_api_keys_blocking().value();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, "k1");  // by creation time
  EXPECT_EQ(listed[1].id, "k2");

  auto again = keys().add_api_key_blocking(key("k1", 300, {}));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind(), core::ErrorKind::conflict);
  EXPECT_EQ(keys().find_api_key_blocking("k1").value()->created_at, 100);
}

TEST_F(StoreApiKeys, RevokeOnceAndTouch) {
  ASSERT_TRUE(keys().add_api_key_blocking(key("k1", 100, {"messages:send"})));
  ASSERT_TRUE(keys().touch_api_key_blocking("k1", 150));
  EXPECT_EQ(keys().find_api_key_blocking("k1").value()->last_used_at,
            std::optional<std::int64_t>(150));

  ASSERT_TRUE(keys().revoke_api_key_blocking("k1", 500));
  EXPECT_EQ(keys().find_api_key_blocking("k1").value()->revoked_at,
            std::optional<std::int64_t>(500));
  auto twice = keys().revoke_api_key_blocking("k1", 600);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().kind(), core::ErrorKind::conflict);
  EXPECT_EQ(keys().find_api_key_blocking("k1").value()->revoked_at,
            std::optional<std::int64_t>(500));  // the first revocation stands
  auto missing = keys().revoke_api_key_blocking("nope", 600);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), core::ErrorKind::not_found);
  EXPECT_TRUE(keys().touch_api_key_blocking("nope", 600));  // gone meanwhile: no error
}

TEST_F(StoreApiKeys, AKeyAddedInAFailedUnitOfWorkIsNotStored) {
  auto status = store_->transact_blocking("add key", [](Store& tx) -> core::Status {
    if (auto s = tx.api_keys().add_api_key_blocking(key("k1", 100, {"messages:send"})); !s) {
      return s;
    }
    return core::fail(core::ErrorKind::unavailable, "audit failed");
  });
  ASSERT_FALSE(status);
  EXPECT_FALSE(keys().find_api_key_blocking("k1").value());
  ASSERT_TRUE(store_->transact_blocking("add key", [](Store& tx) {
    return tx.api_keys().add_api_key_blocking(key("k1", 100, {"messages:send"}));
  }));
  EXPECT_TRUE(keys().find_api_key_blocking("k1").value());
}

}  // namespace
}  // namespace store::test
