#include "core/secret.hpp"

#include <gtest/gtest.h>

#include "core/log.hpp"

namespace {

TEST(SecretBytes, AppendKeepsContentAndMoveEmptiesSource) {
  core::SecretBytes s("abc");
  for (int i = 0; i < 100; ++i) s.append("xyz");
  EXPECT_EQ(s.size(), 303u);
  EXPECT_EQ(s.as_string_view().substr(0, 6), "abcxyz");
  core::SecretBytes t = std::move(s);
  EXPECT_EQ(t.size(), 303u);
  t.wipe();
  EXPECT_TRUE(t.empty());
}

TEST(SecureWipe, ZeroesMemory) {
  char buf[16] = "sensitive-value";
  core::secure_wipe(buf, sizeof buf);
  for (char c : buf) EXPECT_EQ(c, 0);
}

TEST(LogSafe, EscapesControlCharactersAndBoundsLength) {
  EXPECT_EQ(core::log_safe("a\r\nb"), "a\\x0d\\x0ab");
  EXPECT_EQ(core::log_safe("\"q\""), "\\x22q\\x22");
  auto long_text = core::log_safe(std::string(1000, 'x'), 10);
  EXPECT_EQ(long_text, "xxxxxxxxxx...");
}

}  // namespace
