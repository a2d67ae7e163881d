#pragma once
// The staff portal's front end, embedded in the binary (cmake/EmbedPortalAssets.cmake):
// the pages of docs/PORTAL.md and the files under /portal/static/, openpgp.min.js included.
// Pages are served with every `@SRI:X.js@` placeholder replaced by the Subresource
// Integrity value of the embedded file X, so a page only runs the exact scripts it was
// built with.

#include <optional>
#include <string_view>

namespace portal_assets {

struct Asset {
  std::string_view body;  // lives as long as the program
  std::string_view content_type;
};

// A page by name: "app", "sign-in", "enrol". nullopt for any other name, and also if the
// integrity values could not be computed (fail closed: never a page without its checks).
std::optional<Asset> page(std::string_view name);

// A file under /portal/static/ by its exact name ("app.js", "portal.css",
// "openpgp.min.js", ...). nullopt for anything not embedded; names are compared as given,
// never interpreted as paths.
std::optional<Asset> static_file(std::string_view file);

// "sha384-<base64>" of an embedded static file, as the pages carry it; "" when `file` is
// not embedded (or hashing failed).
std::string_view integrity(std::string_view file);

}  // namespace portal_assets
