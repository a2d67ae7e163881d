// The embedded portal: every file is byte-for-byte the source file, every page carries the
// Subresource Integrity value of exactly the script it loads (checked against the openssl
// command line, not our own code), and no page has inline script, inline style or event
// handler attributes (the portal CSP would block them, so they would be dead code or a
// sign that someone is about to weaken the CSP).
#include "portal_assets/portal_assets.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace portal_assets {
namespace {

const std::filesystem::path kPortal = SEALPOST_PORTAL_DIR;
const std::vector<std::string> kPages = {"app", "sign-in", "enrol"};

std::filesystem::path source_of(const std::string& static_name) {
  if (static_name == "openpgp.min.js") {
    return kPortal / "node_modules" / "openpgp" / "dist" / "openpgp.min.js";
  }
  return kPortal / "static" / static_name;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The integrity value as the openssl command line computes it: an independent check of
// portal_assets.cpp's EVP_Digest + EVP_EncodeBlock.
std::string openssl_sri(const std::filesystem::path& path) {
  const std::string quoted = path.string();
  if (quoted.find('\'') != std::string::npos) ADD_FAILURE() << "unexpected quote in " << quoted;
  const std::string command =
      "openssl dgst -sha384 -binary '" + quoted + "' | openssl base64 -A 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string out;
  char chunk[256];
  while (std::size_t n = std::fread(chunk, 1, sizeof chunk, pipe)) out.append(chunk, n);
  const int status = pclose(pipe);
  if (status != 0 || out.size() != 64) return "openssl failed: " + out;
  return "sha384-" + out;
}

std::vector<std::string> static_names() {
  std::vector<std::string> names = {"openpgp.min.js"};
  for (const auto& entry : std::filesystem::directory_iterator(kPortal / "static")) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

std::string page_body(const std::string& name) {
  const auto asset = page(name);
  if (!asset) {
    ADD_FAILURE() << "no page " << name;
    return {};
  }
  return std::string(asset->body);
}

TEST(PortalAssets, TheDocumentedFilesAreEmbedded) {
  const std::set<std::string> names = [] {
    const auto v = static_names();
    return std::set<std::string>(v.begin(), v.end());
  }();
  for (const char* file : {"portal.css", "common.js", "sign-in.js", "enrol.js", "app.js",
                           "worker.js", "openpgp.min.js"}) {
    EXPECT_TRUE(names.count(file)) << file;
    EXPECT_TRUE(static_file(file).has_value()) << file;
  }
  for (const auto& name : kPages) EXPECT_TRUE(page(name).has_value()) << name;
}

TEST(PortalAssets, StaticFilesAreTheSourceFilesWithTheirTypes) {
  for (const auto& name : static_names()) {
    SCOPED_TRACE(name);
    const auto asset = static_file(name);
    ASSERT_TRUE(asset.has_value());
    EXPECT_EQ(asset->body, read_file(source_of(name)));
    if (name.ends_with(".js")) {
      EXPECT_EQ(asset->content_type, "text/javascript; charset=utf-8");
    } else {
      EXPECT_EQ(asset->content_type, "text/css; charset=utf-8");
    }
  }
  // openpgp.min.js is the UMD build that defines the global `openpgp` (importScripts needs
  // a classic script, not the .mjs module).
  EXPECT_NE(static_file("openpgp.min.js")->body.find("var openpgp="), std::string_view::npos);
  EXPECT_GT(static_file("openpgp.min.js")->body.size(), 100'000u);
}

TEST(PortalAssets, IntegrityMatchesTheOpensslCommandLine) {
  for (const auto& name : static_names()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(integrity(name), openssl_sri(source_of(name)));
  }
}

// Every <script> and stylesheet <link> of every page: served from /portal/static/, with
// the integrity value of that very file; no placeholder is left.
TEST(PortalAssets, PagesCarryTheIntegrityOfEachFileTheyLoad) {
  const std::regex tag(R"(<(script|link)\b[^>]*>)", std::regex::icase);
  const std::regex src(R"re(\b(?:src|href)="/portal/static/([A-Za-z0-9._-]+)")re");
  const std::regex sri(R"re(\bintegrity="([^"]*)")re");
  for (const auto& name : kPages) {
    SCOPED_TRACE(name);
    const std::string html = page_body(name);
    EXPECT_EQ(html.find("@SRI:"), std::string::npos);
    EXPECT_EQ(page(name)->content_type, "text/html; charset=utf-8");
    int scripts = 0;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), tag);
         it != std::sregex_iterator(); ++it) {
      const std::string element = it->str();
      std::smatch file;
      std::smatch value;
      ASSERT_TRUE(std::regex_search(element, file, src)) << element;
      ASSERT_TRUE(std::regex_search(element, value, sri)) << element;
      EXPECT_EQ(value[1].str(), openssl_sri(source_of(file[1].str()))) << element;
      EXPECT_EQ(value[1].str(), integrity(file[1].str())) << element;
      if ((*it)[1].str() == "script") ++scripts;
    }
    EXPECT_GE(scripts, 2) << "common.js and the page's own script";
  }
}

TEST(PortalAssets, PagesHaveNoInlineScriptStyleOrHandlers) {
  const std::regex script_open(R"(<script\b[^>]*>)", std::regex::icase);
  const std::regex handler(R"(\son[a-z]+\s*=)", std::regex::icase);
  for (const auto& name : kPages) {
    SCOPED_TRACE(name);
    const std::string html = page_body(name);
    for (auto it = std::sregex_iterator(html.begin(), html.end(), script_open);
         it != std::sregex_iterator(); ++it) {
      EXPECT_NE(it->str().find(" src=\""), std::string::npos) << "inline script: " << it->str();
      // A script with src must be empty: its body would be ignored, or be a mistake.
      const auto close = html.find("</script>", static_cast<std::size_t>(it->position()));
      ASSERT_NE(close, std::string::npos);
      EXPECT_EQ(close, static_cast<std::size_t>(it->position() + it->length()));
    }
    EXPECT_FALSE(std::regex_search(html, handler)) << "event handler attribute";
    EXPECT_EQ(html.find("style="), std::string::npos);
    EXPECT_EQ(html.find("<style"), std::string::npos);
    EXPECT_EQ(html.find("javascript:"), std::string::npos);
  }
}

TEST(PortalAssets, UnknownNamesAreRefused) {
  for (const char* name : {"", "nope", "app.html", "pages/app", "../app", "App"}) {
    EXPECT_FALSE(page(name).has_value()) << name;
  }
  for (const char* file : {"", "nope.js", "../pages/app.html", "static/app.js", "APP.JS",
                           "openpgp.min.js.map", "openpgp.min.mjs", "app.js/", "/app.js"}) {
    EXPECT_FALSE(static_file(file).has_value()) << file;
    EXPECT_EQ(integrity(file), "") << file;
  }
  EXPECT_FALSE(static_file(std::string_view("app.js\0", 7)).has_value());
  // Pages are not static files and static files are not pages.
  EXPECT_FALSE(static_file("app").has_value());
  EXPECT_FALSE(page("app.js").has_value());
}

TEST(PortalAssets, FirstUseFromManyThreadsSeesOneResult) {
  std::vector<const char*> seen(8, nullptr);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&seen, i] { seen[i] = page("app")->body.data(); });
  }
  for (auto& t : threads) t.join();
  for (const char* p : seen) EXPECT_EQ(p, seen.front());
}

}  // namespace
}  // namespace portal_assets
