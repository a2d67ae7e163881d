#include "store/detail/codec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/encoding.hpp"

namespace store::detail {

core::Result<std::string> encode_strings(const std::vector<std::string>& items,
                                         std::string_view what) {
  for (const auto& item : items) {
    // nlohmann::json refuses (throws on) invalid UTF-8; refuse it here, as a value.
    if (!core::is_valid_utf8(item)) {
      return core::fail(core::ErrorKind::invalid_input,
                        fmt::format("a {} is not valid UTF-8", what), "invalid UTF-8");
    }
  }
  return nlohmann::json(items).dump();
}

core::Result<std::vector<std::string>> decode_strings(const std::string& text) {
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_array()) {
    return core::fail(core::ErrorKind::integrity, kStoreIntegrity,
                      "stored string list is not a JSON array");
  }
  std::vector<std::string> out;
  out.reserve(json.size());
  for (const auto& item : json) {
    if (!item.is_string()) {
      return core::fail(core::ErrorKind::integrity, kStoreIntegrity,
                        "stored string list holds a non-string");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::int64_t sql_limit(std::size_t limit, std::size_t cap) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min({limit, cap, kMax}));
}

}  // namespace store::detail
