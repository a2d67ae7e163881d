// Contacts and authorisations on either engine: an import is invisible while staged, applies
// at once (new and existing addresses, fields replaced by name, one grant each), and a
// dropped or failed one leaves nothing; fields load by name only; authorisations are listed,
// revoked per purpose, and counted per purpose.

#include "test_util.hpp"

namespace store::test {
namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

StagedContact staged(const std::string& id, const std::string& address,
                     std::vector<std::pair<std::string, std::string>> fields) {
  StagedContact c{.id = id, .address = address, .fields = {}};
  for (auto& [name, value] : fields) c.fields.push_back({name, bytes(value)});
  return c;
}

class StoreContacts : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = db_.open();
    ASSERT_TRUE(store_);
  }
  ContactStore& cs() { return store_->contacts(); }
  TestDatabase db_;
  std::unique_ptr<detail::SqlStore> store_;
};

TEST_F(StoreContacts, StagedImportAppliesAtOnce) {
  ASSERT_TRUE(cs().stage_contacts_blocking(
      "imp1", {staged("c1", "a@example.net", {{"name", "A"}, {"city", "X"}}),
               staged("c2", "b@example.net", {{"name", "B"}})}));
  // Staged: nothing is visible.
  EXPECT_EQ(cs().count_contacts_blocking().value(), 0);
  EXPECT_FALSE(cs().find_contact_by_address_blocking("a@example.net").value());
  ImportGrant grant{.purpose = "marketing",
                    .scope = "email",
                    .evidence = "import:abc",
                    .consent_version = "v1",
                    .granted_at = 100,
                    .expires_at = 5000};
  auto counts = cs().apply_import_blocking("imp1", "import:abc", grant, 200).value();
  EXPECT_EQ(counts.added, 2u);
  EXPECT_EQ(counts.updated, 0u);
  EXPECT_EQ(counts.granted, 2u);
  EXPECT_EQ(cs().count_contacts_blocking().value(), 2);
  auto a = cs().find_contact_by_address_blocking("a@example.net").value();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, "c1");
  EXPECT_EQ(a->created_at, 200);
  EXPECT_EQ(a->source, "import:abc");
  EXPECT_EQ(cs().field_names_blocking("c1").value(), (std::vector<std::string>{"city", "name"}));
  // Only the fields asked for are read.
  auto loaded = cs().load_fields_blocking("c1", {"name", "missing"}).value();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].name, "name");
  EXPECT_EQ(loaded[0].sealed, bytes("A"));
  auto auths = cs().list_authorisations_blocking("c1").value();
  ASSERT_EQ(auths.size(), 1u);
  EXPECT_EQ(auths[0].purpose, "marketing");
  EXPECT_EQ(auths[0].granted_at, 100);
  EXPECT_EQ(auths[0].expires_at, std::optional<std::int64_t>(5000));
  EXPECT_EQ(auths[0].evidence, "import:abc");
  EXPECT_EQ(auths[0].consent_version, "v1");
  EXPECT_FALSE(auths[0].revoked_at);

  // A second import: an existing address keeps its id and gets the new fields.
  ASSERT_TRUE(cs().stage_contacts_blocking(
      "imp2", {staged("c9", "a@example.net", {{"city", "Y"}}), staged("c3", "c@example.net", {})}));
  counts = cs().apply_import_blocking("imp2", "import:def", std::nullopt, 300).value();
  EXPECT_EQ(counts.added, 1u);
  EXPECT_EQ(counts.updated, 1u);
  EXPECT_EQ(counts.granted, 0u);
  a = cs().find_contact_by_address_blocking("a@example.net").value();
  EXPECT_EQ(a->id, "c1");
  EXPECT_EQ(a->created_at, 200);
  EXPECT_EQ(a->updated_at, 300);
  EXPECT_EQ(a->source, "import:abc");  // how it first came
  EXPECT_EQ(cs().load_fields_blocking("c1", {"city", "name"}).value()[0].sealed, bytes("Y"));
  EXPECT_EQ(cs().load_fields_blocking("c1", {"city", "name"}).value()[1].sealed, bytes("A"));
  // Pages by id.
  auto page = cs().list_contacts_blocking("", 2).value();
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id, "c1");
  EXPECT_EQ(page[1].id, "c2");
  page = cs().list_contacts_blocking("c2", 2).value();
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, "c3");
}

TEST_F(StoreContacts, ADroppedOrFailedImportLeavesNothing) {
  ASSERT_TRUE(cs().stage_contacts_blocking("imp1", {staged("c1", "a@example.net", {{"n", "1"}})}));
  ASSERT_TRUE(cs().drop_import_blocking("imp1"));
  auto counts = cs().apply_import_blocking("imp1", "import:x", std::nullopt, 10).value();
  EXPECT_EQ(counts.added, 0u);
  EXPECT_EQ(cs().count_contacts_blocking().value(), 0);

  ASSERT_TRUE(cs().stage_contacts_blocking("imp2", {staged("c1", "a@example.net", {{"n", "1"}})}));
  auto status = store_->transact_blocking("import", [&](Store& tx) -> core::Status {
    auto applied = tx.contacts().apply_import_blocking("imp2", "import:y", std::nullopt, 10);
    if (!applied) return core::fail(std::move(applied).error());
    return core::fail(core::ErrorKind::unavailable, "the audit entry failed");
  });
  ASSERT_FALSE(status);
  EXPECT_EQ(cs().count_contacts_blocking().value(), 0);
  // The stage survives the failed unit of work: the import can be applied again or dropped.
  EXPECT_EQ(cs().apply_import_blocking("imp2", "import:y", std::nullopt, 11).value().added, 1u);
}

TEST_F(StoreContacts, OneContactAtATime) {
  const ContactRecord c{
      .id = "c1", .address = "a@example.net", .created_at = 5, .updated_at = 5, .source = "api:k1"};
  ASSERT_TRUE(cs().add_contact_blocking(c));
  auto again = cs().add_contact_blocking(ContactRecord{.id = "c2", .address = "a@example.net"});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind(), core::ErrorKind::conflict);
  ASSERT_TRUE(cs().set_contact_field_blocking("c1", {"name", bytes("A")}, 7));
  ASSERT_TRUE(cs().set_contact_field_blocking("c1", {"name", bytes("B")}, 8));
  auto found = cs().find_contact_blocking("c1").value();
  ASSERT_TRUE(found);
  EXPECT_EQ(found->address, "a@example.net");
  EXPECT_EQ(found->source, "api:k1");
  EXPECT_EQ(found->updated_at, 8);
  EXPECT_EQ(cs().load_fields_blocking("c1", {"name"}).value()[0].sealed, bytes("B"));
  EXPECT_FALSE(cs().find_contact_blocking("c9").value());
}

TEST_F(StoreContacts, RevokeAndCountPerPurpose) {
  ASSERT_TRUE(cs().stage_contacts_blocking(
      "imp", {staged("c1", "a@example.net", {}), staged("c2", "b@example.net", {}),
              staged("c3", "c@example.net", {})}));
  ASSERT_TRUE(cs().apply_import_blocking("imp", "import:x", std::nullopt, 10));
  auto grant = [&](const std::string& id, const std::string& contact, const std::string& purpose,
                   std::optional<std::int64_t> expires) {
    AuthorisationRecord a{.id = id,
                          .contact_id = contact,
                          .purpose = purpose,
                          .granted_at = 20,
                          .expires_at = expires,
                          .scope = "email",
                          .evidence = "form:consent/ABC",
                          .consent_version = "v2",
                          .revoked_at = std::nullopt,
                          .revoked_via = ""};
    ASSERT_TRUE(cs().add_authorisation_blocking(a));
  };
  grant("g1", "c1", "marketing", std::nullopt);
  grant("g2", "c2", "marketing", 100);  // expired at 100
  grant("g3", "c3", "marketing", std::nullopt);
  grant("g4", "c3", "reminders", std::nullopt);
  auto again = cs().add_authorisation_blocking(AuthorisationRecord{.id = "g1", .contact_id = "c1"});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind(), core::ErrorKind::conflict);

  EXPECT_EQ(cs().revoke_authorisations_blocking("c3", "marketing", "unsubscribe", 50).value(), 1u);
  EXPECT_EQ(cs().revoke_authorisations_blocking("c3", "marketing", "unsubscribe", 60).value(), 0u);
  auto c3 = cs().list_authorisations_blocking("c3").value();
  ASSERT_EQ(c3.size(), 2u);
  for (const auto& a : c3) {
    if (a.purpose == "marketing") {
      EXPECT_EQ(a.revoked_at, std::optional<std::int64_t>(50));
      EXPECT_EQ(a.revoked_via, "unsubscribe");
    } else {
      EXPECT_FALSE(a.revoked_at);
    }
  }
  auto counts = cs().purpose_counts_blocking(200).value();
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].purpose, "marketing");
  EXPECT_EQ(counts[0].authorised, 1);  // c1 (c2 expired, c3 revoked)
  EXPECT_EQ(counts[0].revoked, 1);
  EXPECT_EQ(counts[1].purpose, "reminders");
  EXPECT_EQ(counts[1].authorised, 1);
  EXPECT_EQ(cs().purpose_counts_blocking(99).value()[0].authorised, 2);  // c2 not yet expired
}

}  // namespace
}  // namespace store::test
