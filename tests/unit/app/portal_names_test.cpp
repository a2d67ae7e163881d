// The portal's names for roles and e-mail addresses: what the CLI and the API accept.
#include <gtest/gtest.h>

#include "app/portal_service.hpp"

namespace app {
namespace {

TEST(PortalRoles, ParsesEveryRoleAndRefusesOthers) {
  auto all = parse_roles({"admin", "form_owner", "staff", "reviewer", "auditor"});
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(role_names(*all),
            (std::vector<std::string>{"admin", "form_owner", "staff", "reviewer", "auditor"}));
  auto one = parse_roles({"staff", "staff"});
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(*one, static_cast<unsigned>(store::Role::staff));

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

TEST(PortalEmail, LowerCasesAndChecksTheShape) {
  EXPECT_EQ(normalize_email("Alice@Example.ORG").value(), "alice@example.org");
  for (const char* bad : {"", "alice", "@example.org", "alice@", "alice@example", "a@b@example.org",
                          "alice smith@example.org", "alice@exa\tmple.org", "<alice@example.org>",
                          "alice@example.org,bob@example.org"}) {
    EXPECT_FALSE(normalize_email(bad).has_value()) << bad;
  }
  EXPECT_FALSE(normalize_email(std::string(250, 'a') + "@example.org").has_value());
}

}  // namespace
}  // namespace app
