// A contact's fields are sealed to the contact and the field: a value opens only with the
// address and the field name it was sealed for, and only under its key. Addresses are
// keyed without regard to ASCII case; field names are a small grammar. Unsubscribe tokens
// verify only untouched, under their key.

#include "campaigns/contacts.hpp"

#include <gtest/gtest.h>

#include "campaigns/unsubscribe.hpp"
#include "core/encoding.hpp"
#include "core/rng.hpp"

namespace campaigns {
namespace {

TEST(ContactFields, SealedToTheAddressAndTheField) {
  core::SecretBytes key(std::string(32, 'k'));
  core::SecretBytes other(std::string(32, 'o'));
  core::SystemRng rng;
  auto sealed = seal_field(key, "ann@example.org", "date_of_birth", "1970-01-01", rng).value();
  EXPECT_EQ(
      std::string(
          open_field(key, "ann@example.org", "date_of_birth", sealed).value().as_string_view()),
      "1970-01-01");
  EXPECT_FALSE(open_field(key, "bob@example.org", "date_of_birth", sealed));
  EXPECT_FALSE(open_field(key, "ann@example.org", "name", sealed));
  EXPECT_FALSE(open_field(other, "ann@example.org", "date_of_birth", sealed));
  // Two seals of one value differ (a fresh IV each).
  EXPECT_NE(seal_field(key, "ann@example.org", "date_of_birth", "1970-01-01", rng).value(), sealed);
}

TEST(ContactFields, AddressesAndNames) {
  EXPECT_EQ(contact_address("Ann.Lee@Example.ORG").value(), "ann.lee@example.org");
  EXPECT_FALSE(contact_address("not an address"));
  EXPECT_FALSE(contact_address("a@b"));
  EXPECT_TRUE(valid_field_name("date_of_birth"));
  EXPECT_TRUE(valid_field_name("a"));
  EXPECT_FALSE(valid_field_name(""));
  EXPECT_FALSE(valid_field_name("1st"));
  EXPECT_FALSE(valid_field_name("First"));
  EXPECT_FALSE(valid_field_name("first name"));
  EXPECT_FALSE(valid_field_name(std::string(33, 'a')));
  EXPECT_TRUE(valid_field_name(std::string(32, 'a')));
}

}  // namespace
}  // namespace campaigns

namespace campaigns {
namespace {

// One-click unsubscribe tokens: they name a contact and a purpose, and any change of a bit,
// another key, or another length fails.
TEST(UnsubscribeToken, RoundTripsAndRefusesTampering) {
  core::SecretBytes key(std::string(32, 'k'));
  core::SecretBytes other(std::string(32, 'o'));
  const UnsubscribeTarget target{.contact_id = std::string(31, 'a') + "f", .purpose = "marketing"};
  const std::string token = unsubscribe_token(key, target).value();
  EXPECT_LE(token.size(), kMaxUnsubscribeTokenChars);
  auto read = read_unsubscribe_token(key, token);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->contact_id, target.contact_id);
  EXPECT_EQ(read->purpose, "marketing");
  EXPECT_FALSE(read_unsubscribe_token(other, token));
  auto raw = core::base64url_decode(token).value();
  for (std::size_t i = 0; i < raw.size(); ++i) {
    auto bad = raw;
    bad[i] ^= 0x01;
    EXPECT_FALSE(read_unsubscribe_token(key, core::base64url_encode(bad))) << i;
  }
  EXPECT_FALSE(read_unsubscribe_token(key, token.substr(0, token.size() - 1)));
  EXPECT_FALSE(read_unsubscribe_token(key, token + "A"));
  EXPECT_FALSE(read_unsubscribe_token(key, ""));
  EXPECT_FALSE(read_unsubscribe_token(key, std::string(200, 'A')));
  // The longest purpose still fits the bound.
  const UnsubscribeTarget longest{.contact_id = std::string(32, '0'),
                                  .purpose = std::string(32, 'p')};
  EXPECT_LE(unsubscribe_token(key, longest).value().size(), kMaxUnsubscribeTokenChars);
  EXPECT_FALSE(unsubscribe_token(key, {.contact_id = "nothex", .purpose = "marketing"}));
  EXPECT_FALSE(unsubscribe_token(key, {.contact_id = std::string(32, '0'), .purpose = "Bad"}));
}

}  // namespace
}  // namespace campaigns
