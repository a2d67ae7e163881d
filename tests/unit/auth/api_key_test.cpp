#include "auth/api_key.hpp"

#include <gtest/gtest.h>

#include <set>

#include "auth/session_token.hpp"

namespace auth {
namespace {

TEST(ApiKey, NewKeysHaveTheDocumentedShapeAndDiffer) {
  core::SystemRng rng;
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto k = new_api_key(rng);
    const std::string text(k.key.as_string_view());
    ASSERT_EQ(text.size(), kApiKeyChars);
    EXPECT_TRUE(text.starts_with("sp_" + k.id + "_")) << text;
    EXPECT_EQ(k.id.size(), 16u);
    EXPECT_EQ(k.hash, hash_token(text));
    auto parsed = parse_api_key(text);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->id, k.id);
    EXPECT_TRUE(api_key_matches(*parsed, k.hash));
    EXPECT_TRUE(seen.insert(text).second);
  }
}

TEST(ApiKey, TheHashIsOfTheWholeKeySoAnotherIdOrSecretDoesNotMatch) {
  core::FakeRng rng(7);
  auto k = new_api_key(rng);
  std::string text(k.key.as_string_view());
  std::string other_secret = text;
  other_secret.back() = other_secret.back() == '0' ? '1' : '0';
  std::string other_id = text;
  other_id[3] = other_id[3] == '0' ? '1' : '0';
  for (const auto& t : {other_secret, other_id}) {
    auto p = parse_api_key(t);
    ASSERT_TRUE(p);
    EXPECT_FALSE(api_key_matches(*p, k.hash));
  }
  EXPECT_FALSE(api_key_matches(*parse_api_key(text), ""));
}

TEST(ApiKey, ParseIsExact) {
  const std::string good = "sp_0123456789abcdef_" + std::string(64, 'e');
  ASSERT_TRUE(parse_api_key(good));
  EXPECT_EQ(parse_api_key(good)->id, "0123456789abcdef");
  for (const std::string& bad : {
           std::string(),
           good.substr(1),
           good + "0",
           "SP_0123456789abcdef_" + std::string(64, 'e'),
           "sp_0123456789ABCDEF_" + std::string(64, 'e'),  // upper case
           "sp_0123456789abcdef-" + std::string(64, 'e'),
           "sp_0123456789abcdeg_" + std::string(64, 'e'),
           "sp_0123456789abcdef_" + std::string(63, 'e') + "E",
           "sp_0123456789abcde_" + std::string(65, 'e'),
           "sp_0123456789abcdef_" + std::string(63, 'e') + '\0',
       }) {
    EXPECT_FALSE(parse_api_key(bad)) << bad;
  }
}

TEST(ApiKey, BearerHeader) {
  const std::string key = "sp_0123456789abcdef_" + std::string(64, 'e');
  for (const std::string& ok :
       {"Bearer " + key, "bearer " + key, "BEARER  " + key + " ", " Bearer\t" + key}) {
    auto p = parse_bearer(ok);
    ASSERT_TRUE(p) << ok;
    EXPECT_EQ(p->text, key);
  }
  for (const std::string& bad : {std::string(), std::string("Bearer"), std::string("Bearer "),
                                 "Basic " + key, "Bearer" + key, "Bearer " + key + " x",
                                 "Bearer x " + key, key, "Bearer " + std::string(300, ' ') + key}) {
    EXPECT_FALSE(parse_bearer(bad)) << bad;
  }
}

TEST(ApiKey, Scopes) {
  EXPECT_EQ(parse_scope("messages:send").value(), "messages:send");
  EXPECT_EQ(parse_scope("messages:read").value(), "messages:read");
  for (const auto* bad : {"", "messages:*", "Messages:send", "messages:send ", "admin"}) {
    auto s = parse_scope(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().kind(), core::ErrorKind::invalid_input);
  }
}

}  // namespace
}  // namespace auth
