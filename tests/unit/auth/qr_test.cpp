#include "auth/qr.hpp"

#include <gtest/gtest.h>
#include <qrencode.h>

#include <charconv>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace auth {
namespace {

using Grid = std::vector<std::vector<bool>>;

struct ParsedSvg {
  int size = 0;
  Grid dark;
};

int read_int(std::string_view& d) {
  int value = -1;
  const auto [ptr, ec] = std::from_chars(d.data(), d.data() + d.size(), value);
  EXPECT_EQ(ec, std::errc());
  d.remove_prefix(static_cast<std::size_t>(ptr - d.data()));
  return value;
}

bool eat(std::string_view& d, std::string_view token) {
  if (!d.starts_with(token)) return false;
  d.remove_prefix(token.size());
  return true;
}

// Checks the shape of the SVG we promise and paints its path back into a module grid.
ParsedSvg parse(const std::string& svg) {
  static const std::regex kShape(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 (\\d+) \\1\" "
      "shape-rendering=\"crispEdges\"><rect width=\"\\1\" height=\"\\1\" fill=\"#fff\"/>"
      "<path fill=\"#000\" d=\"([^\"]*)\"/></svg>");
  std::smatch m;
  ParsedSvg out;
  if (!std::regex_match(svg, m, kShape)) {
    ADD_FAILURE() << "unexpected SVG shape: " << svg.substr(0, 300);
    return out;
  }
  out.size = std::stoi(m[1].str());
  out.dark.assign(static_cast<std::size_t>(out.size),
                  std::vector<bool>(static_cast<std::size_t>(out.size), false));
  const std::string d_text = m[2].str();
  std::string_view d = d_text;
  while (!d.empty()) {
    // Each run is "M x y h n v1 h-n z".
    if (!eat(d, "M")) return ADD_FAILURE() << "bad path at " << d.substr(0, 20), out;
    const int x = read_int(d);
    if (!eat(d, " ")) return ADD_FAILURE() << "bad path", out;
    const int y = read_int(d);
    if (!eat(d, "h")) return ADD_FAILURE() << "bad path", out;
    const int n = read_int(d);
    if (!eat(d, "v1h-")) return ADD_FAILURE() << "bad path", out;
    EXPECT_EQ(read_int(d), n);
    if (!eat(d, "z")) return ADD_FAILURE() << "bad path", out;
    EXPECT_GT(n, 0);
    for (int i = 0; i < n; ++i) {
      EXPECT_FALSE(out.dark.at(static_cast<std::size_t>(y)).at(static_cast<std::size_t>(x + i)))
          << "module painted twice";
      out.dark[static_cast<std::size_t>(y)][static_cast<std::size_t>(x + i)] = true;
    }
  }
  return out;
}

struct QrFree {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

TEST(Qr, ShortTextIsVersion1WithQuietZone) {
  const auto svg = qr_svg("hello");
  ASSERT_TRUE(svg.has_value());
  const ParsedSvg parsed = parse(*svg);
  EXPECT_EQ(parsed.size, 21 + 8);  // version 1 is 21 modules, plus 4 each side
}

// 100 lower-case bytes need byte mode; level M holds 84 bytes in version 5, 106 in 6.
TEST(Qr, ModuleCountFollowsTheVersion) {
  const auto svg = qr_svg(std::string(100, 'q'));
  ASSERT_TRUE(svg.has_value());
  EXPECT_EQ(parse(*svg).size, 17 + 4 * 6 + 8);
}

TEST(Qr, PathPaintsExactlyTheSymbolsDarkModules) {
  const std::string text =
      "otpauth://totp/sealpost:alice%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
      "&issuer=sealpost&algorithm=SHA1&digits=6&period=30";
  const auto svg = qr_svg(text);
  ASSERT_TRUE(svg.has_value());
  const ParsedSvg parsed = parse(*svg);
  const std::unique_ptr<QRcode, QrFree> code(
      QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
  ASSERT_TRUE(code);
  ASSERT_EQ(parsed.size, code->width + 8);
  for (int y = 0; y < parsed.size; ++y) {
    for (int x = 0; x < parsed.size; ++x) {
      const bool inside = x >= 4 && y >= 4 && x < code->width + 4 && y < code->width + 4;
      const bool want = inside && (code->data[(y - 4) * code->width + (x - 4)] & 1) != 0;
      ASSERT_EQ(parsed.dark[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)], want)
          << x << "," << y;
    }
  }
  // The top-left finder pattern: a dark 7x7 ring around a light ring around a dark 3x3.
  for (int i = 0; i < 7; ++i) {
    EXPECT_TRUE(parsed.dark[4][static_cast<std::size_t>(4 + i)]);
    EXPECT_TRUE(parsed.dark[10][static_cast<std::size_t>(4 + i)]);
  }
  EXPECT_FALSE(parsed.dark[5][5]);
  EXPECT_TRUE(parsed.dark[7][7]);
}

TEST(Qr, HasNoScriptStyleOrExternalReference) {
  const auto svg = qr_svg("<script>alert(1)</script>\" onload=\"x");
  ASSERT_TRUE(svg.has_value());
  for (const char* banned : {"<script", "onload", "href", "style", "<image", "<use", "url("}) {
    EXPECT_EQ(svg->find(banned), std::string::npos) << banned;
  }
  EXPECT_EQ(parse(*svg).size > 0, true);
}

TEST(Qr, RefusesEmptyNulAndOversizedText) {
  for (const std::string& text :
       {std::string(), std::string("ab\0cd", 5), std::string(kMaxQrTextBytes + 1, 'a')}) {
    const auto svg = qr_svg(text);
    ASSERT_FALSE(svg.has_value()) << text.size();
    EXPECT_EQ(svg.error().kind(), core::ErrorKind::invalid_input);
  }
  EXPECT_TRUE(qr_svg(std::string(kMaxQrTextBytes, 'a')).has_value());
}

}  // namespace
}  // namespace auth
