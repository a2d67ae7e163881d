// Staff log-ins: the shape of an e-mail address the CLI and the API accept.
#include "auth/email.hpp"

#include <gtest/gtest.h>

namespace auth {
namespace {

TEST(Email, LowerCasesAndChecksTheShape) {
  EXPECT_EQ(normalize_email("Alice@Example.ORG").value(), "alice@example.org");
  for (const char* bad : {"", "alice", "@example.org", "alice@", "alice@example", "a@b@example.org",
                          "alice smith@example.org", "alice@exa\tmple.org", "<alice@example.org>",
                          "alice@example.org,bob@example.org"}) {
    EXPECT_FALSE(normalize_email(bad).has_value()) << bad;
  }
  EXPECT_FALSE(normalize_email(std::string(250, 'a') + "@example.org").has_value());
}

}  // namespace
}  // namespace auth
