#pragma once
// QR codes as SVG, for the otpauth:// URI at TOTP enrolment (served as image/svg+xml).
// Trust: `text` is ours (the URI we built), but it carries the TOTP secret: do not log the
// text or the SVG, and serve the SVG with Cache-Control: no-store.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace auth {

// An otpauth URI is ~150 bytes; 1024 leaves room for long names and bounds the symbol's size
// (and the work of making it).
inline constexpr std::size_t kMaxQrTextBytes = 1024;

// The QR code (libqrencode, error correction level M, byte mode for non-alphanumeric text,
// case-sensitive) of `text` as a standalone SVG: one white background <rect> and one <path>
// of the dark modules, a 4-module quiet zone, one user unit per module. No script, no style
// sheet, no external reference. invalid_input for empty text, text with a NUL byte or text
// over kMaxQrTextBytes.
core::Result<std::string> qr_svg(std::string_view text);

}  // namespace auth
