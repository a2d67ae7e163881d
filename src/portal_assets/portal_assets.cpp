// Trust: build-time data only (this repository's web/portal/ and the pinned openpgp package).
#include "portal_assets/portal_assets.hpp"

#include <openssl/evp.h>

#include <array>
#include <string>
#include <vector>

#include "portal_assets/detail/embedded.hpp"

namespace portal_assets {
namespace {

using detail::EmbeddedFile;
using detail::EmbeddedKind;

constexpr std::string_view kPlaceholderStart = "@SRI:";
constexpr char kPlaceholderEnd = '@';
constexpr unsigned kSha384Bytes = 48;

std::string_view body_of(const EmbeddedFile& file) {
  return {reinterpret_cast<const char*>(file.data), file.size};
}

// "sha384-<base64>" of `data`, or "" if OpenSSL fails (the caller then fails closed).
std::string sri_sha384(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_len = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &digest_len, EVP_sha384(), nullptr) !=
          1 ||
      digest_len != kSha384Bytes) {
    return {};
  }
  // EVP_EncodeBlock writes 4 characters per 3 bytes and a terminating NUL.
  std::array<unsigned char, 4 * ((kSha384Bytes + 2) / 3) + 1> base64{};
  const int written = EVP_EncodeBlock(base64.data(), digest.data(), static_cast<int>(digest_len));
  if (written != static_cast<int>(base64.size() - 1)) return {};
  return "sha384-" + std::string(reinterpret_cast<const char*>(base64.data()),
                                 static_cast<std::size_t>(written));
}

struct Named {
  std::string_view name;
  std::string_view content_type;
  std::string text;
};

const Named* find(const std::vector<Named>& entries, std::string_view name) {
  for (const Named& entry : entries) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

// The page with every @SRI:name@ replaced, or nullopt when a placeholder is malformed or
// names a file without an integrity value (cmake/EmbedPortalAssets.cmake already refuses
// such a page at build time; this is the run-time guard).
std::optional<std::string> with_integrity(std::string_view html,
                                          const std::vector<Named>& integrity) {
  std::string out;
  out.reserve(html.size() + 512);
  std::size_t pos = 0;
  for (;;) {
    const std::size_t start = html.find(kPlaceholderStart, pos);
    if (start == std::string_view::npos) break;
    const std::size_t name_at = start + kPlaceholderStart.size();
    const std::size_t end = html.find(kPlaceholderEnd, name_at);
    if (end == std::string_view::npos) return std::nullopt;
    const Named* value = find(integrity, html.substr(name_at, end - name_at));
    if (value == nullptr || value->text.empty()) return std::nullopt;
    out.append(html.substr(pos, start - pos));
    out.append(value->text);
    pos = end + 1;
  }
  out.append(html.substr(pos));
  return out;
}

struct Built {
  std::vector<Named> integrity;  // one per static file
  std::vector<Named> pages;      // placeholders replaced; a page that failed is left out
};

Built build() {
  Built built;
  const auto files = detail::embedded_files();
  for (const EmbeddedFile& file : files) {
    if (file.kind == EmbeddedKind::static_file) {
      built.integrity.push_back({file.name, file.content_type, sri_sha384(body_of(file))});
    }
  }
  for (const EmbeddedFile& file : files) {
    if (file.kind != EmbeddedKind::page) continue;
    if (auto html = with_integrity(body_of(file), built.integrity)) {
      built.pages.push_back({file.name, file.content_type, std::move(*html)});
    }
  }
  return built;
}

// Computed once, on first use; C++ makes the initialisation of a function-local static
// thread-safe, and it is never written afterwards.
const Built& built() {
  static const Built instance = build();
  return instance;
}

}  // namespace

std::optional<Asset> page(std::string_view name) {
  const Named* entry = find(built().pages, name);
  if (entry == nullptr) return std::nullopt;
  return Asset{entry->text, entry->content_type};
}

std::optional<Asset> static_file(std::string_view file) {
  for (const EmbeddedFile& entry : detail::embedded_files()) {
    if (entry.kind == EmbeddedKind::static_file && entry.name == file) {
      return Asset{body_of(entry), entry.content_type};
    }
  }
  return std::nullopt;
}

std::string_view integrity(std::string_view file) {
  const Named* entry = find(built().integrity, file);
  return entry == nullptr ? std::string_view{} : std::string_view{entry->text};
}

}  // namespace portal_assets
