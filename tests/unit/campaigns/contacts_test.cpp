// A contact's fields are sealed to the contact and the field: a value opens only with the
// address and the field name it was sealed for, and only under its key. Addresses are
// keyed without regard to ASCII case; field names are a small grammar.

#include "campaigns/contacts.hpp"

#include <gtest/gtest.h>

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
