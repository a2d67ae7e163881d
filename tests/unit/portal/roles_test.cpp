// The portal's names for roles: what the CLI and the API accept.
#include "portal/roles.hpp"

#include <gtest/gtest.h>

namespace portal {
namespace {

TEST(PortalRoles, ParsesEveryRoleAndRefusesOthers) {
  auto all = parse_roles({"admin", "form_owner", "staff", "reviewer", "auditor"});
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(role_names(*all),
            (std::vector<std::string>{"admin", "form_owner", "staff", "reviewer", "auditor"}));
  auto one = parse_roles({"staff", "staff"});
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->bits(), static_cast<unsigned>(store::Role::staff));
  EXPECT_TRUE(one->has(store::Role::staff));
  EXPECT_FALSE(one->any_of(Roles{store::Role::admin, store::Role::auditor}));

  auto unknown = parse_roles({"staff", "root"});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().public_text().find("\"root\""), std::string::npos);
  EXPECT_FALSE(parse_roles({}).has_value());
  EXPECT_FALSE(parse_roles({"Admin"}).has_value()) << "names are exact";
}

TEST(PortalRoles, UnknownRoleNameIsNotEchoedWithControlCharacters) {
  auto bad = parse_roles({"a\nb"});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().public_text().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace portal
