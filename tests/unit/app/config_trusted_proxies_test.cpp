// [server] trusted_proxies and proxy_protocol in sealpost.toml.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "app/config.hpp"

namespace {

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "sealpost-config-XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  core::Result<app::Config> load(const std::string& text) {
    std::ofstream(root_ / "sealpost.toml") << text;
    return app::load_config(app::DataDir(root_));
  }

  std::filesystem::path root_;
};

TEST_F(ConfigFile, DefaultsTrustNobody) {
  auto c = load("");
  ASSERT_TRUE(c) << c.error().public_text();
  EXPECT_TRUE(c->trusted_proxies.empty());
  EXPECT_TRUE(c->proxy_protocol);
}

TEST_F(ConfigFile, ReadsCidrsOfBothFamilies) {
  auto c = load(
      "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7\", \"2001:db8::/32\"]\n"
      "proxy_protocol = false\n");
  ASSERT_TRUE(c) << c.error().public_text();
  ASSERT_EQ(c->trusted_proxies.size(), 3u);
  EXPECT_EQ(c->trusted_proxies[1].to_string(), "192.0.2.7/32");
  EXPECT_FALSE(c->proxy_protocol);
}

TEST_F(ConfigFile, AnEntryThatIsNotACidrIsNamed) {
  auto c = load("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"lb.example.org\"]\n");
  ASSERT_FALSE(c);
  const std::string text = c.error().public_text();
  EXPECT_NE(text.find("line 2"), std::string::npos) << text;
  EXPECT_NE(text.find("trusted_proxies entry \"lb.example.org\" is not a CIDR"), std::string::npos)
      << text;
  EXPECT_EQ(text.find('\n'), std::string::npos);

  c = load("[server]\ntrusted_proxies = [\"10.0.0.1/8\"]\n");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().public_text().find("host bits"), std::string::npos);
}

TEST_F(ConfigFile, WrongShapes) {
  for (const char* text :
       {"[server]\ntrusted_proxies = \"10.0.0.0/8\"\n", "[server]\ntrusted_proxies = [8]\n",
        "[server]\nproxy_protocol = 1\n", "[server]\nproxy_protocol = \"yes\"\n"}) {
    auto c = load(text);
    ASSERT_FALSE(c) << text;
    EXPECT_NE(c.error().public_text().find("[server]"), std::string::npos) << text;
  }
  std::string many = "[server]\ntrusted_proxies = [";
  for (int i = 0; i < 257; ++i) many += "\"10.0.0." + std::to_string(i % 256) + "\",";
  many += "]\n";
  EXPECT_FALSE(load(many));
}

}  // namespace
