#pragma once
// The table that cmake/EmbedPortalAssets.cmake generates: the portal's files as embedded at
// build time, before any placeholder is replaced. Only portal_assets.cpp reads it.

#include <cstddef>
#include <span>
#include <string_view>

namespace portal_assets::detail {

enum class EmbeddedKind { page, static_file };

struct EmbeddedFile {
  EmbeddedKind kind;
  std::string_view name;  // page: "app", "sign-in", "enrol"; static file: "app.js", ...
  std::string_view content_type;
  const unsigned char* data;
  std::size_t size;
};

// Every embedded file, pages first, each name once per kind.
std::span<const EmbeddedFile> embedded_files();

}  // namespace portal_assets::detail
