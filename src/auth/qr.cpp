#include "auth/qr.hpp"

#include <fmt/format.h>
#include <qrencode.h>

#include <cerrno>
#include <memory>

namespace auth {
namespace {

// ISO/IEC 18004 asks for a quiet zone of 4 modules around the symbol.
constexpr int kQuietZone = 4;

struct QrFree {
  void operator()(QRcode* code) const noexcept { QRcode_free(code); }
};

}  // namespace

core::Result<std::string> qr_svg(std::string_view text) {
  using core::ErrorKind;
  if (text.empty() || text.size() > kMaxQrTextBytes) {
    return core::fail(ErrorKind::invalid_input, "The text for the QR code is empty or too long.",
                      fmt::format("qr text of {} bytes", text.size()));
  }
  // libqrencode takes a C string: a NUL would silently cut the text short.
  if (text.find('\0') != std::string_view::npos) {
    return core::fail(ErrorKind::invalid_input, "The text for the QR code is not valid.",
                      "qr text contains NUL");
  }
  const std::string terminated(text);
  errno = 0;
  const std::unique_ptr<QRcode, QrFree> code(QRcode_encodeString(
      terminated.c_str(), /*version=*/0, QR_ECLEVEL_M, QR_MODE_8, /*casesensitive=*/1));
  if (!code) {
    return core::fail(ErrorKind::internal, "The QR code could not be made.",
                      fmt::format("QRcode_encodeString failed, errno {}", errno));
  }

  const int width = code->width;
  const int size = width + 2 * kQuietZone;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {0}\" "
      "shape-rendering=\"crispEdges\"><rect width=\"{0}\" height=\"{0}\" fill=\"#fff\"/>"
      "<path fill=\"#000\" d=\"",
      size);
  // One subpath per horizontal run of dark modules: "M x y h len v 1 h -len z".
  for (int y = 0; y < width; ++y) {
    const unsigned char* row = code->data + static_cast<std::ptrdiff_t>(y) * width;
    int x = 0;
    while (x < width) {
      if ((row[x] & 1) == 0) {
        ++x;
        continue;
      }
      const int start = x;
      while (x < width && (row[x] & 1) != 0) ++x;
      const int run = x - start;
      svg += fmt::format("M{} {}h{}v1h-{}z", start + kQuietZone, y + kQuietZone, run, run);
    }
  }
  svg += "\"/></svg>";
  return svg;
}

}  // namespace auth
